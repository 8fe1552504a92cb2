import { readFile } from 'node:fs/promises';
import { RequestListener, Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/** The request's path, without any way up out of the folder it is served from. */
const safePath = (url: string | undefined) => normalize(decodeURIComponent(new URL(url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');

async function listen(handler: RequestListener): Promise<StaticServer> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Serves a folder on loopback (the example frontend, as a UI's own origin). */
export function serveFolder(folder: string): Promise<StaticServer> {
  return listen((req, res) => {
    const path = safePath(req.url);
    readFile(join(folder, path === '/' ? 'index.html' : path)).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end('not found'),
    );
  });
}

/**
 * A site on loopback: `pages` by path (their HTML), and under /modules/<name>/ the files of the folder
 * `modules[name]` (an npm package's ESM build, loaded by the pages as it is published). An import
 * without the .js (or .mjs) ending is its .js file (`./lib/webauthn.errors` too), as TypeScript's ESM output writes them and bundlers resolve them.
 */
export function serveSite(pages: Record<string, string>, modules: Record<string, string>): Promise<StaticServer> {
  return listen((req, res) => {
    const path = safePath(req.url);
    if (pages[path] !== undefined) return void res.writeHead(200, { 'content-type': TYPES['.html'], 'cache-control': 'no-store' }).end(pages[path]);
    const module = /^\/modules\/([^/]+)\/(.+)$/.exec(path);
    const folder = module && modules[module[1]];
    if (!module || !folder) return void res.writeHead(404).end('not found');
    const file = /\.(m?js|map)$/.test(module[2]) ? module[2] : `${module[2]}.js`;
    readFile(join(folder, file)).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end('not found'),
    );
  });
}

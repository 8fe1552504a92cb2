import { Browser, chromium } from 'playwright-core';
import { freePort } from './built-app';
import { OidcProvider } from './oauth-providers';
import { SmtpSink } from './smtp-sink';
import { StaticServer } from './static-server';
import { TestApp, startTestApp } from './test-app';

/** The app listening on loopback for a client outside the process (a browser, fetch), with what it talks to. */
export interface LoopbackApp {
  t: TestApp;
  /** Its base URL, http://127.0.0.1:<port> (also USERS_PUBLIC_URL). */
  api: string;
  /** The SMTP sink its mails go to, when asked for. */
  smtp: SmtpSink;
  /** The OpenID Connect provider it signs in with (provider `oidc`), when asked for. */
  oidc: OidcProvider;
  close(): Promise<void>;
}

export interface LoopbackAppOptions {
  /** Mails go to a real SMTP server on loopback (EMAIL_HOST/EMAIL_PORT). */
  smtp?: boolean;
  /** Sign-in with a real OpenID Connect provider (oidc-provider) as this client, registered with our callback. */
  oidc?: { client_id: string; client_secret: string };
  /** More settings; a function of the app's URL when they name it (links, callbacks). */
  env?: Record<string, string> | ((api: string) => Record<string, string>);
}

/**
 * Starts what a test of a real client needs on loopback: an SMTP sink and an OIDC provider when asked
 * for, then the app on a free port wired to them (USERS_PUBLIC_URL its own URL). `close()` stops all.
 */
export async function startLoopbackApp(options: LoopbackAppOptions = {}): Promise<LoopbackApp> {
  const smtp = new SmtpSink();
  const oidc = new OidcProvider();
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = { USERS_PUBLIC_URL: api };
  const stopAll = async () => {
    oidc.stop();
    await smtp.stop();
  };
  try {
    if (options.smtp) {
      await smtp.start();
      Object.assign(env, { EMAIL_HOST: '127.0.0.1', EMAIL_PORT: String(smtp.port), EMAIL_RETRY_DELAY: '200ms' });
    }
    if (options.oidc) {
      const client = { ...options.oidc, redirect_uris: [`${api}/oauth/callback/oidc`] };
      await oidc.start([client]);
      Object.assign(env, { OIDC_ISSUER_URL: oidc.issuer, OIDC_CLIENT_ID: client.client_id, OIDC_CLIENT_SECRET: client.client_secret, OIDC_REDIRECT_URL: client.redirect_uris[0] });
    }
    Object.assign(env, typeof options.env === 'function' ? options.env(api) : options.env);
    const t = await startTestApp({ port, env });
    return {
      t,
      api,
      smtp,
      oidc,
      async close() {
        await t.close();
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Debian's Chromium (CHROMIUM_PATH), headless, through playwright-core. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

/** A site on loopback (the pages a browser opens), the app wired to it, and Chromium. */
export interface BrowserSetup {
  site: StaticServer;
  app: LoopbackApp;
  browser: Browser;
  close(): Promise<void>;
}

/** Starts the site (`serve`), then the app with `options` for the site's URL, then Chromium; `close()` stops all three. */
export async function startBrowserSetup(serve: () => Promise<StaticServer>, options: (site: string) => LoopbackAppOptions): Promise<BrowserSetup> {
  const site = await serve();
  let app: LoopbackApp | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await app?.close();
    await site.close();
  };
  try {
    app = await startLoopbackApp(options(site.url));
    browser = await launchChromium();
    return { site, app, browser, close };
  } catch (error) {
    await close();
    throw error;
  }
}

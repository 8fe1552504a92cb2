import { IncomingMessage, Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';

/** A span as OTLP/JSON carries it (ids in hex). */
export interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: Record<string, unknown> }[];
}

export const SPAN_KIND = { SERVER: 2, CLIENT: 3, PRODUCER: 4 };

/** An OTLP/HTTP traces endpoint (JSON, as @opentelemetry/exporter-trace-otlp-http sends it) that keeps every span. */
export class OtlpReceiver {
  readonly spans: ExportedSpan[] = [];
  readonly contentTypes = new Set<string>();
  private readonly server: Server = createServer((request, response) => void this.take(request).then(() => response.writeHead(200, { 'content-type': 'application/json' }).end('{}')));

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/traces`;
  }

  async start(): Promise<this> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    return this;
  }

  stop(): Promise<void> {
    return new Promise((done) => this.server.close(() => done()));
  }

  private async take(request: IncomingMessage): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    this.contentTypes.add(String(request.headers['content-type']));
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans: { scopeSpans: { spans: ExportedSpan[] }[] }[] };
    for (const resource of body.resourceSpans) for (const scope of resource.scopeSpans) this.spans.push(...scope.spans);
  }
}

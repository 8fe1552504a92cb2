import { Server } from 'node:http';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance } from 'fastify';
import { processLogger } from '../common/logging/logger';
import { appConfig } from '../config/app.config';
import { stopTracing } from '../tracing/trace-context';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** The application as the shutdown uses it (Nest's close passes the signal on to the shutdown hooks). */
interface ClosableApplication {
  getHttpServer(): Server;
  close(signal?: string): Promise<void>;
}

/**
 * Zero-loss shutdown on SIGTERM (or SIGINT): for USERS_SHUTDOWN_DELAY the service keeps serving while
 * readiness answers 503, so that load balancers stop sending it requests; then it stops accepting
 * connections and lets the requests in flight finish (each answer closes its connection), for at
 * most USERS_SHUTDOWN_TIMEOUT; then the application closes — the mail sender and the events relay
 * finish the batch they hold, NATS and PostgreSQL are closed — and the process exits 0.
 *
 * Nest's own shutdown hooks would destroy the modules (the database) before closing the HTTP
 * server, failing the requests still running: this replaces them.
 */
@Injectable()
export class GracefulShutdown implements OnModuleInit {
  private inFlight = 0;
  private state: 'serving' | 'draining' | 'closing' = 'serving';

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
  ) {}

  /** True from the signal on: readiness answers 503. */
  get draining(): boolean {
    return this.state !== 'serving';
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (_request, _reply, done) => {
      this.inFlight++;
      done();
    });
    fastify.addHook('onResponse', (_request, _reply, done) => {
      this.inFlight--;
      done();
    });
    // Once the server stops accepting, every answer ends its keep-alive connection, so that the
    // server closes as soon as the last request is answered.
    fastify.addHook('onSend', (_request, reply, _payload, done) => {
      if (this.state === 'closing') void reply.header('Connection', 'close');
      done();
    });
  }

  /** Runs the shutdown on the first SIGTERM or SIGINT (later ones are ignored), then exits. */
  handleSignals(application: ClosableApplication): void {
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.draining) return;
      this.shutDown(application, signal).then(
        () => exit(0),
        (error: unknown) => {
          processLogger().error({ err: error }, 'shutdown failed');
          exit(1);
        },
      );
    };
    for (const name of SIGNALS) process.on(name, onSignal);
  }

  private async shutDown(application: ClosableApplication, signal: NodeJS.Signals): Promise<void> {
    const { delayMs, timeoutMs } = this.app.shutdown;
    const logger = processLogger();
    this.state = 'draining';
    logger.info({ signal, delay_ms: delayMs, timeout_ms: timeoutMs, in_flight: this.inFlight }, 'shutting down: readiness answers 503 while requests are still served');
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    this.state = 'closing';
    const closing = { in_flight: this.inFlight, started: Date.now() };
    const cut = await this.closeServer(application.getHttpServer(), timeoutMs);
    logger.info({ in_flight_at_close: closing.in_flight, waited_ms: Date.now() - closing.started, connections_cut: cut }, 'stopped accepting; requests in flight answered');
    await application.close(signal);
    // The last requests' spans (and the relay's) are still in the batch: export them before exiting.
    await stopTracing();
  }

  /** Stops listening and waits for the open requests; true when the timeout had to cut connections. */
  private closeServer(server: Server, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      let cut = false;
      const timer = setTimeout(() => {
        cut = true;
        server.closeAllConnections();
      }, timeoutMs);
      // Also closes the idle keep-alive connections.
      server.close(() => {
        clearTimeout(timer);
        resolve(cut);
      });
    });
  }
}

/** Exits once pino has written what it holds. */
function exit(code: number): void {
  processLogger().flush(() => process.exit(code));
}

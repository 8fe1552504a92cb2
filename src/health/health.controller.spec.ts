import { Logger, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { FastifyReply, FastifyRequest } from 'fastify';
import { logRequest } from '../common/logging/logger';
import { AppConfig } from '../config/app.config';
import { DependenciesHealth, DependencyReport } from './dependencies.health';
import { GracefulShutdown } from '../shutdown/graceful-shutdown.service';
import { HealthController } from './health.controller';

const UP: HealthCheckResult = { status: 'ok', info: { database: { status: 'up' } }, error: {}, details: { database: { status: 'up' } } };
const DOWN: HealthCheckResult = { status: 'error', info: {}, error: { database: { status: 'down' } }, details: { database: { status: 'down' } } };
const REPORT: DependencyReport = { smtp: { status: 'log' }, outbox: { status: 'up', pending: 0 }, mail: { status: 'up', pending: 0, failed: 0 }, nats: { status: 'down', message: 'gone' } };

describe('HealthController readiness', () => {
  let databaseUp: boolean;
  let controller: HealthController;
  let lines: { level: string; message: string }[];
  let shutdown: { draining: boolean };

  beforeEach(() => {
    databaseUp = true;
    shutdown = { draining: false };
    lines = [];
    const health = { check: async () => (databaseUp ? UP : Promise.reject(new ServiceUnavailableException(DOWN))) } as unknown as HealthCheckService;
    const dependencies = { report: async () => REPORT } as unknown as DependenciesHealth;
    controller = new HealthController(health, {} as TypeOrmHealthIndicator, dependencies, shutdown as GracefulShutdown, {} as AppConfig);
    for (const level of ['log', 'warn', 'error'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => void lines.push({ level, message: String(args.find((a) => typeof a === 'string')) }));
    }
  });
  afterEach(() => jest.restoreAllMocks());

  const probe = async () => {
    const reply = { status: jest.fn() };
    const body = await controller.checkReadiness(reply as unknown as FastifyReply);
    return { status: reply.status.mock.calls[0]?.[0] ?? 200, body };
  };

  it('is 503 only while PostgreSQL is down; NATS down is reported in the body, not as unreadiness', async () => {
    expect(await probe()).toEqual({ status: 200, body: { ...UP, details: { database: { status: 'up' }, ...REPORT } } });
    databaseUp = false;
    expect(await probe()).toEqual({ status: 503, body: { ...DOWN, details: { database: { status: 'down' }, ...REPORT } } });
  });

  it('is 503 from SIGTERM on, with a failing `shutdown` check beside the database', async () => {
    shutdown.draining = true;
    const shutdownCheck = { status: 'down', message: 'shutting down' };
    expect(await probe()).toEqual({
      status: 503,
      body: { status: 'error', info: UP.info, error: { shutdown: shutdownCheck }, details: { database: { status: 'up' }, shutdown: shutdownCheck, ...REPORT } },
    });
  });

  it('logs a change of readiness once (warn, then info), never an error line per failed probe', async () => {
    await probe();
    databaseUp = false;
    for (let i = 0; i < 5; i++) await probe();
    databaseUp = true;
    for (let i = 0; i < 3; i++) await probe();
    expect(lines).toEqual([
      { level: 'warn', message: 'not ready: PostgreSQL does not answer' },
      { level: 'log', message: 'ready again: PostgreSQL answers' },
    ]);
  });
});

describe('request log lines', () => {
  const levels = (url: string, statusCode: number) => {
    const log = { debug: jest.fn(), info: jest.fn(), warn: jest.fn(), error: jest.fn() };
    logRequest({ url, log } as unknown as FastifyRequest, { statusCode, elapsedTime: 1 } as FastifyReply, () => undefined);
    return Object.entries(log).filter(([, fn]) => fn.mock.calls.length > 0).map(([level]) => level);
  };

  it('probes and scrapes at debug, also a 503 of readiness; other requests at info, 503 at warn, other 5xx at error', () => {
    expect(levels('/health/ready', 200)).toEqual(['debug']);
    expect(levels('/health/ready', 503)).toEqual(['debug']);
    expect(levels('/health/live', 200)).toEqual(['debug']);
    expect(levels('/health', 200)).toEqual(['debug']);
    expect(levels('/metrics', 200)).toEqual(['debug']);
    expect(levels('/health/ready', 500)).toEqual(['error']);
    expect(levels('/users/profile', 200)).toEqual(['info']);
    expect(levels('/healthy-looking-user-path', 200)).toEqual(['info']);
    expect(levels('/users', 503)).toEqual(['warn']);
    expect(levels('/users', 500)).toEqual(['error']);
  });
});

/**
 * deploy/kubernetes as an operator applies it: rendered offline by `kubectl kustomize` (the base and
 * the production overlay), every object valid against the Kubernetes schemas (npm kubernetes-models),
 * the properties a zero-downtime deployment needs, and the real built service booted with exactly
 * the rendered ConfigMap and the Secret template (filled in) — migrated by the Job's command, then
 * answering every probe path on the ports the manifests name.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { freePort, runBuiltApp } from './support/built-app';
import { dockerfileEnv } from './support/dockerfile';
import { expectEventually } from './support/eventually';
import { MACHINE_NATS, isolatedStream } from './support/nats';
import { MACHINE_REDIS, uniqueKeyPrefix } from './support/redis';
import { RUN_PREFIX_ENV, databaseEnv, dropDatabase, withAdminClient } from './support/postgres';

const REPO = join(__dirname, '..');
const DEPLOY = join(REPO, 'deploy', 'kubernetes');

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [key: string]: any };

function render(path: string): K8sObject[] {
  const yaml = execFileSync('kubectl', ['kustomize', path], { encoding: 'utf8' });
  return parseAllDocuments(yaml).map((document) => document.toJSON() as K8sObject);
}

function validate(objects: K8sObject[]): { kind: string; name: string; problem: string | null }[] {
  const output = execFileSync(process.execPath, [join(__dirname, 'support', 'validate-kubernetes.mjs')], { input: JSON.stringify(objects), encoding: 'utf8', cwd: REPO });
  return JSON.parse(output);
}

const find = (objects: K8sObject[], kind: string) => {
  const found = objects.filter((object) => object.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
};
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) => Object.entries(selector).every(([key, value]) => labels[key] === value);
const seconds = (duration: string) => Number(/^(\d+)s$/.exec(duration)?.[1] ?? NaN);

describe('deploy/kubernetes', () => {
  const base = render(DEPLOY);
  const production = render(join(DEPLOY, 'overlays', 'production'));
  const secretTemplate = parse(readFileSync(join(DEPLOY, 'base', 'secret.template.yaml'), 'utf8')) as K8sObject;

  it('renders offline into valid Kubernetes objects, the Secret template included', () => {
    const kinds = ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Job', 'NetworkPolicy', 'PodDisruptionBudget', 'Service'];
    expect(base.map((object) => object.kind).sort()).toEqual(kinds);
    expect(production.map((object) => object.kind).sort()).toEqual([...kinds, 'Namespace'].sort());
    const results = validate([...base, ...production, secretTemplate]);
    expect(results).toHaveLength(base.length + production.length + 1);
    expect(results.filter((result) => result.problem !== null)).toEqual([]);
    // The validator does refuse a wrong object (it is not a rubber stamp).
    const broken = { ...find(base, 'Deployment'), spec: { ...find(base, 'Deployment').spec, replicas: 'two' } };
    expect(validate([broken])[0].problem).toMatch(/replicas/);
  });

  it.each([
    ['base', base],
    ['production', production],
  ])('%s: the Deployment rolls out without losing capacity and shuts down within its grace period', (_name, objects) => {
    const config = find(objects, 'ConfigMap').data as Record<string, string>;
    const deployment = find(objects, 'Deployment');
    const pod = deployment.spec.template;
    const [container] = pod.spec.containers;
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(deployment.spec.strategy).toMatchObject({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } });
    expect(matches(deployment.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);

    // Probes on the service's paths and port.
    const httpPort = container.ports.find((port: { name: string }) => port.name === 'http');
    expect(String(httpPort.containerPort)).toBe(config.USERS_HTTP_PORT);
    expect(container.startupProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });

    // preStop sleep + USERS_SHUTDOWN_DELAY + USERS_SHUTDOWN_TIMEOUT, and room to close, fit in the grace period.
    const [sleep, preStopSeconds] = container.lifecycle.preStop.exec.command;
    expect(sleep).toBe('sleep');
    const delay = seconds(config.USERS_SHUTDOWN_DELAY);
    const timeout = seconds(config.USERS_SHUTDOWN_TIMEOUT);
    expect(Number(preStopSeconds)).toBeLessThanOrEqual(delay);
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(Number(preStopSeconds) + delay + timeout + 5);

    // Requests and limits, non-root, read-only root filesystem with an emptyDir where the process writes, spread.
    expect(container.resources).toMatchObject({ requests: { cpu: expect.any(String), memory: expect.any(String) }, limits: { cpu: expect.any(String), memory: expect.any(String) } });
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    const tmp = container.volumeMounts.find((mount: { mountPath: string }) => mount.mountPath === '/tmp');
    expect(pod.spec.volumes.find((volume: { name: string }) => volume.name === tmp.name).emptyDir).toBeDefined();
    expect(pod.spec.topologySpreadConstraints.map((constraint: { topologyKey: string }) => constraint.topologyKey)).toEqual(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
    for (const constraint of pod.spec.topologySpreadConstraints) expect(matches(constraint.labelSelector.matchLabels, pod.metadata.labels)).toBe(true);

    // Metrics: the annotation, the container port, the Service port and USERS_METRICS_PORT agree.
    expect(pod.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': config.USERS_METRICS_PORT, 'prometheus.io/path': '/metrics' });
    expect(container.ports.find((port: { name: string }) => port.name === 'metrics').containerPort).toBe(Number(config.USERS_METRICS_PORT));
    expect(container.envFrom).toEqual([{ configMapRef: { name: find(objects, 'ConfigMap').metadata.name } }, { secretRef: { name: secretTemplate.metadata.name } }]);
  });

  it.each([
    ['base', base],
    ['production', production],
  ])('%s: Service, disruption budget, autoscaler, network policy and migration Job fit the Deployment', (_name, objects) => {
    const deployment = find(objects, 'Deployment');
    const podLabels = deployment.spec.template.metadata.labels;
    const config = find(objects, 'ConfigMap').data as Record<string, string>;
    const job = find(objects, 'Job');
    const jobLabels = job.spec.template.metadata.labels;

    const service = find(objects, 'Service');
    expect(matches(service.spec.selector, podLabels)).toBe(true);
    expect(matches(service.spec.selector, jobLabels)).toBe(false);
    expect(service.spec.ports.map((port: { targetPort: string }) => port.targetPort).sort()).toEqual(['http', 'metrics']);

    const budget = find(objects, 'PodDisruptionBudget');
    expect(matches(budget.spec.selector.matchLabels, podLabels)).toBe(true);
    expect(budget.spec.minAvailable).toBeLessThan(deployment.spec.replicas);

    const autoscaler = find(objects, 'HorizontalPodAutoscaler');
    expect(autoscaler.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(autoscaler.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(autoscaler.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: expect.any(Number) } } }]);

    const policy = find(objects, 'NetworkPolicy');
    expect(matches(policy.spec.podSelector.matchLabels, podLabels) && matches(policy.spec.podSelector.matchLabels, jobLabels)).toBe(true);
    const inbound = policy.spec.ingress.flatMap((rule: { ports: { port: number }[] }) => rule.ports.map((port) => port.port));
    expect(inbound.sort()).toEqual([Number(config.USERS_HTTP_PORT), Number(config.USERS_METRICS_PORT)].sort());
    const outbound = policy.spec.egress.flatMap((rule: { ports: { port: number }[] }) => rule.ports.map((port) => port.port));
    expect(outbound).toEqual(expect.arrayContaining([53, Number(config.USERS_DB_PORT), Number(new URL(config.USERS_ES_URL).port), Number(config.EMAIL_PORT)]));

    const [migrate] = job.spec.template.spec.containers;
    expect(migrate.command).toEqual(['node', 'dist/src/migrate.js', 'run']);
    expect(migrate.image).toBe(deployment.spec.template.spec.containers[0].image);
    expect(migrate.envFrom).toEqual(deployment.spec.template.spec.containers[0].envFrom);
    expect(config.USERS_DB_MIGRATE_ON_BOOT).toBe('false');
  });

  describe('the built service with the production ConfigMap and the Secret template', () => {
    const stream = isolatedStream();
    // An empty database: the Job's command makes the schema.
    const database = { name: `${process.env[RUN_PREFIX_ENV]}_kubernetes_${process.pid}` };
    let app: ChildProcess & { output(): string };
    let ports: { http: number; metrics: number };

    /** The container's environment: the image's ENV, then envFrom (ConfigMap, Secret), then env. */
    function containerEnv(secrets: Record<string, string>): Record<string, string> {
      const config = find(production, 'ConfigMap').data as Record<string, string>;
      const [container] = find(production, 'Deployment').spec.template.spec.containers;
      const env = Object.fromEntries(container.env.map((variable: { name: string; value?: string }) => [variable.name, variable.value ?? 'users-7d9f8-abcde']));
      return { ...dockerfileEnv(), ...config, ...secrets, ...env };
    }
    /** Pointed at this test's PostgreSQL database, NATS stream and free ports: nothing else changes. */
    const here = () => ({
      ...databaseEnv(database.name),
      USERS_DB_SSL_MODE: 'disable',
      ...stream.env(MACHINE_NATS),
      // The machine's NATS is a single server: the ConfigMap's R3 is for a cluster (test/nats-cluster.e2e-spec.ts).
      USERS_ES_REPLICAS: '1',
      USERS_REDIS_URL: MACHINE_REDIS,
      USERS_REDIS_KEY_PREFIX: uniqueKeyPrefix(),
      USERS_HTTP_PORT: String(ports.http),
      USERS_METRICS_PORT: String(ports.metrics),
    });
    const template = () => secretTemplate.stringData as Record<string, string>;
    const filled = () => ({ ...template(), USERS_SECRET_KEY: 'kubernetes-test-secret-key-0123456789abcdef', USERS_ADMIN_PASSWORD: 'kubernetes-test-admin-password' });

    beforeAll(async () => {
      await withAdminClient((client) => client.query(`CREATE DATABASE "${database.name}"`));
      ports = { http: await freePort(), metrics: await freePort() };
    });
    afterAll(async () => {
      if (app && app.exitCode === null) {
        const exited = new Promise((resolve) => app.once('exit', resolve));
        app.kill('SIGTERM');
        await exited;
      }
      await withAdminClient((client) => dropDatabase(client, database.name));
    });

    const exitOf = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', resolve));

    it('refuses to start with the template as it is, naming the placeholder secret', async () => {
      const child = runBuiltApp({ ...containerEnv(template()), ...here() });
      expect(await exitOf(child)).toBe(1);
      expect(child.output()).toContain('USERS_SECRET_KEY must be at least 32 characters');
    });

    it('the migration Job command migrates, then the service starts and answers every probe the manifests name', async () => {
      const [migrate] = find(production, 'Job').spec.template.spec.containers;
      const env = { PATH: process.env.PATH ?? '', ...containerEnv(filled()), ...here() };
      const job = spawn(migrate.command[0] === 'node' ? process.execPath : migrate.command[0], migrate.command.slice(1), { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let jobOutput = '';
      job.stdout!.on('data', (chunk) => (jobOutput += chunk));
      job.stderr!.on('data', (chunk) => (jobOutput += chunk));
      expect({ code: await exitOf(job), jobOutput }).toEqual({ code: 0, jobOutput: expect.stringMatching(/CreateUsers\d+/) });

      app = runBuiltApp({ ...containerEnv(filled()), ...here() });
      const [container] = find(production, 'Deployment').spec.template.spec.containers;
      const portOf = (name: string) => (name === 'http' ? ports.http : ports.metrics);
      const probes = [container.startupProbe, container.livenessProbe, container.readinessProbe].map((probe) => `http://127.0.0.1:${portOf(probe.httpGet.port)}${probe.httpGet.path}`);
      await expectEventually(async () => {
        expect(app.exitCode).toBeNull();
        for (const url of probes) expect({ url, status: (await fetch(url)).status }).toEqual({ url, status: 200 });
      }, 60_000);
      const annotations = find(production, 'Deployment').spec.template.metadata.annotations;
      const metrics = await fetch(`http://127.0.0.1:${ports.metrics}${annotations['prometheus.io/path']}`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('users_http_request_duration_seconds');
      // The configuration was taken as production's, with nothing refused or warned about.
      const lines = app.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, any>);
      expect(lines.find((line) => line.msg === 'starting')).toMatchObject({ mode: 'production' });
      expect(lines.filter((line) => line.level === 'warn' || line.level === 'error')).toEqual([]);
    }, 120_000);
  });
});

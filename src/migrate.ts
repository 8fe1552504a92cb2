import 'reflect-metadata';
import { databaseConfigFrom } from './config/database.config';
import { EffectiveValue, effectiveConfiguration } from './config/effective-config';
import { loadDevelopmentEnvFile } from './config/env-file';
import { runMode } from './config/run-mode';
import { ConfigError, knownVariables } from './config/validate-config';
import { connectWithRetry, describeTarget } from './database/connect';
import { buildDataSourceOptions } from './database/data-source-options';
import { migrationStatus, revertLastMigration, runMigrations } from './database/migrate';

/**
 * The schema migrations, from the built tree (the image has no ts-node and no src/):
 *   node dist/src/migrate.js status|run|revert      (npm run migrate -- status|run|revert)
 * Same configuration as the service (USERS_DB_*; `.env` in development only), same advisory lock as
 * the migrations at startup. It loads only TypeORM and the entities, not the application.
 */
const COMMANDS = ['status', 'run', 'revert'] as const;
type Command = (typeof COMMANDS)[number];

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function source(name: string, effective: Record<string, EffectiveValue>): string {
  const { value, source } = effective[name];
  return `${name}=${String(value)} from ${source === 'default' ? 'the default' : source === 'env' ? 'the environment' : '.env'}`;
}

async function main(command: Command): Promise<void> {
  loadDevelopmentEnvFile(process.env);
  const db = databaseConfigFrom(process.env);
  const effective = effectiveConfiguration(process.env, knownVariables());
  // The target first, and where it came from: never a silent default.
  say(`target: ${describeTarget(db)} (${runMode()}; ${source('USERS_DB_DRIVER', effective)}${db.driver === 'postgres' ? `, ${source('USERS_DB_HOST', effective)}` : ''})`);
  const dataSource = await connectWithRetry(buildDataSourceOptions(db), db, ({ attempt, attempts, retryInMs, error }) =>
    say(`database not reachable (attempt ${attempt} of ${attempts}): ${error.message}${retryInMs > 0 ? `; retrying in ${retryInMs} ms` : ''}`),
  );
  try {
    if (command === 'status') {
      const migrations = await migrationStatus(dataSource);
      for (const { name, applied } of migrations) say(`${applied ? 'applied' : 'pending'}  ${name}`);
      say(`${migrations.filter((migration) => !migration.applied).length} pending of ${migrations.length}`);
    } else if (command === 'run') {
      const ran = await runMigrations(dataSource);
      for (const name of ran) say(`ran      ${name}`);
      say(ran.length > 0 ? `migrated: ${ran.length} migration(s)` : 'nothing to migrate: the schema is up to date');
    } else {
      const reverted = await revertLastMigration(dataSource);
      say(reverted ? `reverted ${reverted}` : 'nothing to revert: no migration is applied');
    }
  } finally {
    await dataSource.destroy();
  }
}

const command = process.argv[2];
if (!COMMANDS.includes(command as Command)) {
  process.stderr.write(`usage: node dist/src/migrate.js ${COMMANDS.join('|')}\n`);
  process.exit(2);
}
main(command as Command).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof ConfigError ? error.message : `migration ${command} failed: ${(error as Error).message}`}\n`);
    process.exit(1);
  },
);

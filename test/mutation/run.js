#!/usr/bin/env node
/**
 * npm run test:mutation [-- <module>...] [--incremental] [--dry-run]
 *
 * Runs StrykerJS (stryker.config.mjs) for each named module of test/mutation/modules.js, or all of
 * them, one after the other; reports go to reports/mutation/<module>.{html,json}. --incremental
 * reuses the previous run's results for the mutants whose code and specs did not change; --dry-run
 * only checks the setup (instruments, and runs the specs once, without mutants: minutes, not tens).
 * MUTATION_CONCURRENCY (default 1) is Stryker's number of test runners: each boots the app on a
 * database of its own. Exits non-zero when Stryker failed (not for surviving mutants).
 */
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const modules = require('./modules');

const args = process.argv.slice(2);
const incremental = args.includes('--incremental');
const dryRun = args.includes('--dry-run');
const unknownFlags = args.filter((arg) => arg.startsWith('-') && !['--incremental', '--dry-run'].includes(arg));
const names = args.filter((arg) => !arg.startsWith('-'));
const wrong = names.filter((name) => !modules[name]);
if (unknownFlags.length || wrong.length) {
  console.error(`usage: npm run test:mutation [-- <module>...] [--incremental] [--dry-run]\nmodules: ${Object.keys(modules).join(', ')}`);
  process.exit(2);
}

const root = path.resolve(__dirname, '../..');
// The package's exports hide its bin script from require.resolve: find it beside package.json.
const stryker = path.join(path.dirname(require.resolve('@stryker-mutator/core/package.json', { paths: [root] })), 'bin/stryker.js');
for (const name of names.length ? names : Object.keys(modules)) {
  const started = Date.now();
  console.log(`\n=== mutation testing: ${name} (${modules[name].mutate.join(', ')}) ===`);
  const run = spawnSync(process.execPath, [stryker, 'run', 'stryker.config.mjs', ...(dryRun ? ['--dryRunOnly'] : [])], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...modules[name].env, MUTATION_MODULE: name, MUTATION_INCREMENTAL: String(incremental) },
  });
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  if (run.status !== 0) {
    console.error(`=== ${name}: Stryker failed (exit ${run.status ?? run.signal}) after ${minutes} min ===`);
    process.exit(run.status || 1);
  }
  console.log(`=== ${name}: done in ${minutes} min; report: reports/mutation/${name}.html ===`);
}

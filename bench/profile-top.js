'use strict';
/**
 * Where a `node --cpu-prof` profile's time went: `node bench/profile-top.js <file.cpuprofile> [N]`.
 * Prints the self time of the top N functions (default 25) and of a few groups (GC, socket writes, ...)
 * as shares of the busy time (all samples but "(idle)"). For the app under the bench:
 * BENCH_APP_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" (one BENCH_ONLY scenario per run).
 */
const fs = require('node:fs');

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: node bench/profile-top.js <file.cpuprofile> [N]');
const { nodes, samples, timeDeltas } = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(nodes.map((n) => [n.id, n]));
const self = new Map(); // node id -> µs
samples.forEach((id, i) => self.set(id, (self.get(id) || 0) + (timeDeltas[i] || 0)));

const where = (f) => `${f.functionName || '(anonymous)'} ${(f.url || '').replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/')}:${f.lineNumber + 1}`;
const totals = new Map();
let busy = 0;
for (const [id, us] of self) {
  const f = byId.get(id).callFrame;
  if (f.functionName === '(idle)') continue;
  busy += us;
  const key = where(f);
  totals.set(key, (totals.get(key) || 0) + us);
}
const GROUPS = {
  GC: /^\(garbage collector\)/,
  'socket writes (writev/writeBuffer)': /^(writev|writeBuffer|writeUtf8String|writeLatin1String) /,
  program: /^\(program\)/,
  pino: /pino/,
  typeorm: /typeorm/,
  pg: /^\S+ (pg|pg-protocol)\//,
  passport: /passport/,
  'class-validator/transformer': /class-(validator|transformer)/,
  fastify: /fastify/,
  '@nestjs': /@nestjs/,
  'our code (dist/)': /dist\//,
};
const pct = (us) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
console.log(`busy ${(busy / 1e6).toFixed(2)} s of ${((timeDeltas.reduce((a, b) => a + b, 0)) / 1e6).toFixed(2)} s`);
for (const [name, re] of Object.entries(GROUPS)) {
  const us = [...totals].filter(([k]) => re.test(k)).reduce((a, [, v]) => a + v, 0);
  console.log(`${pct(us)}  [${name}]`);
}
console.log('');
for (const [key, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg) || 25)) console.log(`${pct(us)}  ${key}`);

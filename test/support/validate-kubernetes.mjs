// Validates Kubernetes objects (a JSON array on stdin) against the schemas of the npm package
// kubernetes-models; prints one {kind, name, problem} per object (problem null when valid).
// An ES module of its own: kubernetes-models ships only ESM, which Jest's CommonJS runtime cannot load.
import { readFileSync } from 'node:fs';

const objects = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const object of objects) {
  const { apiVersion, kind } = object;
  // `v1` is the core group (kubernetes-models/v1), `apps/v1` is kubernetes-models/apps/v1, and so on.
  const path = apiVersion.includes('/') ? apiVersion : `v1`;
  const name = object.metadata?.name;
  try {
    const module = await import(`kubernetes-models/${path}/${kind}`);
    new module[kind](object).validate();
    results.push({ kind, name, problem: null });
  } catch (error) {
    results.push({ kind, name, problem: String(error.message ?? error) });
  }
}
process.stdout.write(JSON.stringify(results));

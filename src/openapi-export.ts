import { writeFileSync } from 'node:fs';
import { createApp } from './app.factory';
import { sortKeysDeep } from './common/utils/sort-keys';
import { buildOpenApiDocument } from './openapi-document';

/** Writes openapi.json (sorted, so that diffs show real changes); a test fails when it drifts. */
async function exportOpenApi() {
  const app = await createApp({ preview: true });
  const document = sortKeysDeep(buildOpenApiDocument(app));
  writeFileSync('openapi.json', `${JSON.stringify(document, null, 2)}\n`);
  await app.close();
}

void exportOpenApi();

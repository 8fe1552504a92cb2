import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The ENV of the Dockerfile's last stage (what the image's processes run with), its `$ARG`s replaced by
 * their defaults. Handles what our Dockerfile uses: `ENV A=1 \` continuation lines and quoted values.
 */
export function dockerfileEnv(path = join(__dirname, '..', '..', 'Dockerfile')): Record<string, string> {
  const text = readFileSync(path, 'utf8').replace(/\\\n/g, ' ');
  const lastStage = text.slice(text.lastIndexOf('\nFROM '));
  const args = Object.fromEntries([...lastStage.matchAll(/^ARG (\w+)=(\S*)$/gm)].map(([, name, value]) => [name, value]));
  const env: Record<string, string> = {};
  for (const [, assignments] of lastStage.matchAll(/^ENV (.+)$/gm)) {
    for (const [, name, quoted, bare] of assignments.matchAll(/(\w+)=(?:"([^"]*)"|(\S*))/g)) {
      env[name] = (quoted ?? bare).replace(/\$(\w+)/g, (_, arg: string) => args[arg] ?? '');
    }
  }
  return env;
}

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

export interface DockerInstruction {
  keyword: string;
  args: string;
}

export interface DockerStage {
  /** `FROM … AS <name>`; the last stage is the image. */
  name?: string;
  instructions: DockerInstruction[];
}

/** The Dockerfile's stages and their instructions, continuation lines joined, comments left out. */
export function dockerfileStages(path = join(__dirname, '..', '..', 'Dockerfile')): DockerStage[] {
  const stages: DockerStage[] = [];
  const lines = readFileSync(path, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  for (const line of lines) {
    const [, keyword, args] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (!keyword) throw new Error(`unexpected Dockerfile line: ${line}`);
    if (keyword.toUpperCase() === 'FROM') stages.push({ name: /\sAS\s+(\S+)/i.exec(args)?.[1], instructions: [] });
    else stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args });
  }
  return stages;
}

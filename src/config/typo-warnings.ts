/** The prefixes of this service's variables: another variable with one of them is most likely a typo. */
const OWN_PREFIXES = /^(USERS|EMAIL|OAUTH)_/;

/** Edit distance (insertions, deletions, substitutions) between two short names. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** `USERS_DB` of `USERS_DB_PASSWORD`: the group a variable belongs to. */
const group = (name: string) => name.split('_').slice(0, 2).join('_');

/**
 * The known variable `name` most likely meant, if one is close enough (a quarter of its length, at
 * least 2 edits): one of the same group first (USERS_DB_PASSWORD → USERS_DB_PASS, not USERS_ES_PASSWORD),
 * then the closest.
 */
export function closestVariable(name: string, known: Iterable<string>): string | undefined {
  let best: { name: string; rank: [number, number] } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance > Math.max(2, Math.floor(Math.max(name.length, candidate.length) / 4))) continue;
    const rank: [number, number] = [group(candidate) === group(name) ? 0 : 1, distance];
    if (!best || rank[0] < best.rank[0] || (rank[0] === best.rank[0] && rank[1] < best.rank[1])) best = { name: candidate, rank };
  }
  return best?.name;
}

/** One warning per unknown USERS_, EMAIL_ or OAUTH_ variable that looks like a typo of a known one (it is ignored). */
export function typoWarnings(env: NodeJS.ProcessEnv, known: Set<string>): string[] {
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!OWN_PREFIXES.test(name) || known.has(name)) continue;
    const meant = closestVariable(name, known);
    if (meant) warnings.push(`${name} is not a variable of this service and is ignored; did you mean ${meant}?`);
  }
  return warnings;
}

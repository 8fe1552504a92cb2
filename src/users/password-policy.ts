import { dictionary } from '@zxcvbn-ts/language-common';
import { ErrorDetail } from '../common/errors/app-error';

/**
 * The common-password list of zxcvbn-ts (`@zxcvbn-ts/language-common`, "passwords-common"): 49,233
 * passwords ranked by how often they appear in leaked password dumps, in lower case — the 10,000 most
 * common and the next 39,000. Attackers try these first, whatever the policy's regex allows.
 */
const COMMON_PASSWORDS: ReadonlySet<string> = new Set(dictionary['passwords-common']);

/**
 * A name shorter than this is refused as the whole password but not looked for inside one: "al" or
 * "bob" occur in thousands of unrelated passwords, so refusing them would reject good passwords at
 * random while adding nothing an attacker could not try anyway; from four characters on, a password
 * that contains the account's own name is one an attacker guesses from the account itself.
 */
export const MIN_CONTAINED_NAME_LENGTH = 4;

/** What a password may not be built from: the account's e-mail address and username. */
export interface PasswordOwner {
  email?: string | null;
  username?: string | null;
}

/** Why a password is refused beyond USERS_PASS_REGEX: one problem per rule it breaks (none: acceptable). */
export function passwordProblems(password: string, owner: PasswordOwner, field: string): ErrorDetail[] {
  const lowered = password.toLowerCase();
  const problems: ErrorDetail[] = [];
  if (COMMON_PASSWORDS.has(lowered)) problems.push({ field, problem: 'is one of the most common passwords (attackers try these first)' });
  const names: [string | null | undefined, string][] = [
    [owner.email?.split('@')[0], 'must not be or contain the part of the e-mail address before the @'],
    [owner.username, 'must not be or contain the username'],
  ];
  for (const [name, problem] of names) {
    if (name && isBuiltFrom(lowered, name.toLowerCase())) problems.push({ field, problem });
  }
  return problems;
}

function isBuiltFrom(password: string, name: string): boolean {
  return password === name || (name.length >= MIN_CONTAINED_NAME_LENGTH && password.includes(name));
}

import { QueryFailedError } from 'typeorm';
import { containsPattern, uniqueViolation } from './sql';

/** PostgreSQL's LIKE semantics (backslash escape, `%` any run, `_` any one character) as a RegExp. */
function likeToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') source += escape(pattern[++i] ?? '');
    else if (c === '%') source += '[\\s\\S]*';
    else if (c === '_') source += '[\\s\\S]';
    else source += escape(c);
  }
  return new RegExp(`^${source}$`, 'i');
}
const escape = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('containsPattern', () => {
  it.each([
    ['ada', '%ada%'],
    ['', '%%'],
    ['50%', '%50\\%%'],
    ['a_b', '%a\\_b%'],
    ['back\\slash', '%back\\\\slash%'],
    ['%_\\', '%\\%\\_\\\\%'],
    ["o'brien", "%o'brien%"],
  ])('turns %j into %j', (value, pattern) => {
    expect(containsPattern(value)).toBe(pattern);
  });

  it.each([
    // value, texts that contain it literally, texts that only match if wildcards leaked through
    ['50%', ['up to 50% off', '50%'], ['500 off', '50 off', '5%']],
    ['a_b', ['xa_by', 'A_B'], ['axb', 'ab']],
    ['100\\', ['C:\\100\\'], ['100', '1000']],
    ['%', ['%'], ['', 'anything']],
    ['_', ['_'], ['x']],
    ['ada', ['Ada Lovelace', 'lovelADA'], ['ad a', 'a.d.a']],
  ])('matches the user text %j literally (case-insensitive)', (value, matching, notMatching) => {
    const like = likeToRegExp(containsPattern(value));
    for (const text of matching) expect({ text, matches: like.test(text) }).toEqual({ text, matches: true });
    for (const text of notMatching) expect({ text, matches: like.test(text) }).toEqual({ text, matches: false });
  });
});

describe('uniqueViolation', () => {
  it('names the constraint of a unique violation (SQLSTATE 23505)', () => {
    const error = new QueryFailedError('INSERT …', [], Object.assign(new Error('duplicate key'), { code: '23505', constraint: 'users_email_key' }));
    expect(uniqueViolation(error)).toBe('users_email_key');
  });

  it('is undefined for any other database error or a plain error', () => {
    expect(uniqueViolation(new QueryFailedError('INSERT …', [], Object.assign(new Error('not null'), { code: '23502' })))).toBeUndefined();
    expect(uniqueViolation(Object.assign(new Error('duplicate key'), { code: '23505', constraint: 'users_email_key' }))).toBeUndefined();
    expect(uniqueViolation(undefined)).toBeUndefined();
  });
});

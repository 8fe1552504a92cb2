import { RecoveryCodeHasher } from './recovery-codes';

describe('RecoveryCodeHasher', () => {
  it('makes ten distinct codes of 50 random bits, xxxxx-xxxxx', () => {
    const codes = RecoveryCodeHasher.generate();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/);
  });

  it('hashes with a key: case, spaces and dashes do not matter; another key gives another hash; the previous key still matches', () => {
    const current = new RecoveryCodeHasher('a'.repeat(32));
    expect(current.hash('ABCDE-12345')).toEqual(current.hash(' abcde12345 '));
    expect(new RecoveryCodeHasher('b'.repeat(32)).hash('abcde-12345')).not.toEqual(current.hash('abcde-12345'));
    const rotated = new RecoveryCodeHasher('b'.repeat(32), 'a'.repeat(32));
    expect(rotated.hashes('abcde-12345')).toContainEqual(current.hash('abcde-12345'));
  });
});

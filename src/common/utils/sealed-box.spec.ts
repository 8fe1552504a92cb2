import { SealedBox } from './sealed-box';

describe('SealedBox', () => {
  const box = new SealedBox('unit-test-secret-key-that-is-long-enough', 'mail');

  it('opens what it sealed, and seals the same text differently each time', () => {
    const text = 'https://example.com/reset?token=abc';
    const one = box.seal(text);
    expect(box.open(one)).toBe(text);
    expect(box.seal(text).equals(one)).toBe(false);
    expect(one.toString('utf8')).not.toContain('token=abc');
  });

  it('refuses a tampered box', () => {
    const sealed = box.seal('secret');
    sealed[sealed.length - 1] ^= 1;
    expect(() => box.open(sealed)).toThrow();
  });

  it('refuses a box sealed under another secret or for another purpose', () => {
    const sealed = box.seal('secret');
    expect(() => new SealedBox('another-secret-key-that-is-long-enough!', 'mail').open(sealed)).toThrow();
    expect(() => new SealedBox('unit-test-secret-key-that-is-long-enough', 'other').open(sealed)).toThrow();
  });
});

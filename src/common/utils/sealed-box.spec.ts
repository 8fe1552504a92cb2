import { SealedBox, UnopenableBoxError } from './sealed-box';

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

describe('SealedBox during a key rotation', () => {
  const OLD = 'the-secret-key-before-the-rotation-0123456789';
  const NEW = 'the-secret-key-after-the-rotation-0123456789a';

  it('opens boxes sealed with the previous secret, and seals new ones with the current secret only', () => {
    const sealedBefore = new SealedBox(OLD, 'mail').seal('old link');
    const rotated = new SealedBox(NEW, 'mail', OLD);
    expect(rotated.open(sealedBefore)).toBe('old link');
    const sealedAfter = rotated.seal('new link');
    expect(new SealedBox(NEW, 'mail').open(sealedAfter)).toBe('new link');
    expect(() => new SealedBox(OLD, 'mail').open(sealedAfter)).toThrow(UnopenableBoxError);
  });

  it('says so when no key opens a box', () => {
    const sealed = new SealedBox(OLD, 'mail').seal('lost');
    expect(() => new SealedBox(NEW, 'mail').open(sealed)).toThrow(UnopenableBoxError);
  });
});

import { parseTags } from './users.repository';

describe('parseTags', () => {
  it.each([
    ['iot', { tags: ['iot'], all: false }],
    ['iot,beta', { tags: ['iot', 'beta'], all: false }],
    ['iot+beta', { tags: ['iot', 'beta'], all: true }],
    // A `+` in a query string that was not percent-encoded arrives as a space.
    ['iot beta', { tags: ['iot', 'beta'], all: true }],
    ['iot+beta+edge', { tags: ['iot', 'beta', 'edge'], all: true }],
    [' iot , beta ', { tags: ['iot', 'beta'], all: false }],
    ['iot,,beta,', { tags: ['iot', 'beta'], all: false }],
    ['iot++beta', { tags: ['iot', 'beta'], all: true }],
    ['iot-2,beta_1', { tags: ['iot-2', 'beta_1'], all: false }],
  ])('reads %j as %j', (value, expected) => {
    expect(parseTags(value)).toEqual(expected);
  });

  it('treats a list with commas as "any of", even if a tag contains a space', () => {
    expect(parseTags('smart home,iot')).toEqual({ tags: ['smart home', 'iot'], all: false });
  });

  it('keeps tags as given (case and inner characters), without de-duplicating', () => {
    expect(parseTags('IoT,iot,IoT')).toEqual({ tags: ['IoT', 'iot', 'IoT'], all: false });
  });

  it('yields no tags for separators only', () => {
    expect(parseTags(',').tags).toEqual([]);
    expect(parseTags('+').tags).toEqual([]);
    expect(parseTags('  ').tags).toEqual([]);
  });
});

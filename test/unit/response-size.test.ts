import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_ESCAPED_BYTES_PER_UNIT, MAX_RESPONSE_BYTES, oversize } from '../../functions/core/response-size.ts';

/** What Lambda measures: the result serialized, the body escaped once more inside it. */
const lambdaBytes = (result: object) => Buffer.byteLength(JSON.stringify(result));
const resultOf = (body: string) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body });

describe('response size guard', () => {
  it('a unit of JSON text costs at most MAX_ESCAPED_BYTES_PER_UNIT bytes once escaped again (why short bodies go unmeasured)', () => {
    const awkward = fc
      .array(fc.constantFrom('"', '\\', '\u0000', '\u001f', '\ud800', '\udc00', '\u07ff', '中', '😀'))
      .map((units) => units.join(''));
    const text = fc.oneof(fc.string({ unit: 'binary' }), awkward);
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ stringUnit: 'binary' }), text), (value) => {
        const body = JSON.stringify(value) ?? '';
        const escaped = lambdaBytes({ body }) - lambdaBytes({ body: '' });
        expect(escaped).toBeLessThanOrEqual(MAX_ESCAPED_BYTES_PER_UNIT * body.length);
      }),
      { numRuns: 3_000 },
    );
  });

  it('the worst case reaches the bound: a BMP character is 3 bytes', () => {
    const body = JSON.stringify('中'.repeat(100));
    expect(lambdaBytes({ body }) - lambdaBytes({ body: '' })).toBe(3 * 100 + 2 * 2); // and its quotes, escaped
  });

  it('over the limit: the exact size Lambda would measure; within it: undefined', () => {
    const fill = (units: number) => resultOf(JSON.stringify('"'.repeat(units)));
    const fitting = Math.floor((MAX_RESPONSE_BYTES - lambdaBytes(fill(0))) / 4); // each '"' is \" in the body, \\\" once escaped
    expect(lambdaBytes(fill(fitting))).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
    expect(oversize(fill(fitting))).toBeUndefined();
    const over = fill(fitting + 1);
    expect(lambdaBytes(over)).toBeGreaterThan(MAX_RESPONSE_BYTES);
    expect(oversize(over)).toBe(lambdaBytes(over));
  });
});

/**
 * The fast path for `{"accounts": ["…"]}` bodies (functions/core/request.ts, issue 11) must answer
 * exactly as the zod schema does: the same Query, byte for byte, or the same 400 with the same detail.
 * The same accounts with `"apps": undefined` beside them always take the schema (the fast path takes a
 * body with no other key), so each body is parsed both ways and the outcomes compared.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REQUEST_LIMITS } from '../../functions/contract.ts';
import { InvalidRequestError } from '../../functions/core/problems.ts';
import { parseQueryBody } from '../../functions/core/request.ts';

const SEED = Number(process.env.FC_SEED ?? 9457);

/** The Query as JSON text, or the 400's detail: what the caller would see. */
const outcome = (body: unknown): { query: string } | { refused: string } => {
  try {
    return { query: JSON.stringify(parseQueryBody(body)) };
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    return { refused: (error as Error).message };
  }
};

const expectSameAsSchema = (accounts: unknown): void => {
  const viaSchema = outcome({ accounts, apps: undefined });
  expect(outcome({ accounts })).toEqual(viaSchema);
};

const { maxIdLength, maxItems } = REQUEST_LIMITS;
const edgeIds = fc.constantFrom(
  '',
  ' ',
  '\u00a0',
  'a\u0000b',
  'tab\there',
  'del\u007f',
  '\ud800',
  'x\udfff',
  '👍🏽',
  'a'.repeat(maxIdLength),
  'a'.repeat(maxIdLength + 1),
  '👍'.repeat(maxIdLength), // maxIdLength code points in twice as many UTF-16 units: valid, left to the schema
  '👍'.repeat(maxIdLength / 2 + 1),
  'account1',
);
const entry = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 3, arbitrary: fc.string({ maxLength: 300, unit: 'binary' }) },
  { weight: 3, arbitrary: edgeIds },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
  { weight: 1, arbitrary: fc.record({ account: fc.string({ maxLength: 5 }) }) },
);

describe('the accounts fast path answers as the schema does', () => {
  it('for arbitrary accounts lists (valid, invalid, repeated, unusual)', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 25 }), (accounts) => {
        expectSameAsSchema(accounts);
        expectSameAsSchema([...accounts, ...accounts]); // repeats, kept once in first-given order
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('for values that are not lists', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 2 }), (accounts) => {
        if (!Array.isArray(accounts)) expectSameAsSchema(accounts);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it.each([
    ['an empty list', 0],
    ['the most accounts a request takes', maxItems],
    ['one more than that', maxItems + 1],
  ])('for %s', (_what, count) => {
    expectSameAsSchema(Array.from({ length: count }, (_, i) => `user-${i % 7_000}`));
  });

  it('the fast path answers the plain body with the accounts in order, each once, of account type 0', () => {
    expect(parseQueryBody({ accounts: ['b', 'a', 'b', '👍🏽'] })).toEqual({
      kind: 'accounts',
      items: [
        { account: 'b', accountType: 0 },
        { account: 'a', accountType: 0 },
        { account: '👍🏽', accountType: 0 },
      ],
    });
  });
});

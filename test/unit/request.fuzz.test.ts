import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REQUEST_LIMITS } from '../../functions/contract.ts';
import { InvalidRequestError } from '../../functions/core/problems.ts';
import { parseAccountPath, parseQueryBody, parseTokenPath, type Query } from '../../functions/core/request.ts';

/** Fixed by default so CI is reproducible; FC_SEED=<n> explores elsewhere. */
const SEED = Number(process.env.FC_SEED ?? 9457);
const run = (numRuns: number) => ({ seed: SEED, numRuns });

/** The one acceptable way to fail: a 400 InvalidRequestError with a non-empty detail. */
const assertBadRequest = (error: unknown): void => {
  expect(error).toBeInstanceOf(InvalidRequestError);
  const e = error as InvalidRequestError;
  expect(e.status).toBe(400);
  expect(typeof e.message).toBe('string');
  expect(e.message.length).toBeGreaterThan(0);
  expect(e.toProblem().status).toBe(400);
};

const assertValidQuery = (query: Query): void => {
  expect(['accounts', 'tokens']).toContain(query.kind);
  expect(Array.isArray(query.items)).toBe(true);
  expect(query.items.length).toBeGreaterThanOrEqual(1);
  expect(query.items.length).toBeLessThanOrEqual(REQUEST_LIMITS.maxItems);
  const keys = new Set<string>();
  for (const item of query.items) {
    const [id, type] =
      query.kind === 'tokens'
        ? [item as string, -1]
        : [(item as { account: string }).account, (item as { accountType: number }).accountType];
    expect(typeof id).toBe('string');
    expect(id.length).toBeGreaterThanOrEqual(1);
    expect([...id].length, 'code points').toBeLessThanOrEqual(REQUEST_LIMITS.maxIdLength);
    if (query.kind === 'accounts') {
      expect(Object.keys(item as object).sort()).toEqual(['account', 'accountType']);
      expect(Number.isSafeInteger(type)).toBe(true);
      expect(type).toBeGreaterThanOrEqual(0);
      expect(type).toBeLessThanOrEqual(REQUEST_LIMITS.maxAccountType);
    }
    keys.add(JSON.stringify([type, id]));
  }
  expect(keys.size).toBe(query.items.length); // distinct
};

/** parseQueryBody must either give a valid Query or a 400 — never anything else. */
const checkBody = (body: unknown): Query | undefined => {
  let query: Query;
  try {
    query = parseQueryBody(body);
  } catch (error) {
    assertBadRequest(error);
    return undefined;
  }
  assertValidQuery(query);
  return query;
};

// ---- generators of valid bodies, with the Query each must give (a reference model) ----

/** An arbitrary string made a valid id, its length kept: no control characters, no lone surrogates, not only whitespace. */
const asValidId = (text: string): string => {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters is the point
  const cleaned = text.replace(/[\u0000-\u001f\u007f]/g, '?').toWellFormed();
  return /\S/.test(cleaned) ? cleaned : `x${cleaned.slice(1)}`;
};
const id = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }).map(asValidId),
  fc.constantFrom('account1', 'token1', '926@126.com', '+8613711112222', 'a', 'a', ' a', '用户\u00a0名', '👍🏽'),
  fc.string({ minLength: 1, maxLength: 256, unit: 'binary' }).map(asValidId),
);
const accountType = fc.oneof(fc.constantFrom(0, 1, 16, 991, 1002, 1005, 1015), fc.integer({ min: 0, max: REQUEST_LIMITS.maxAccountType }));

type AccountSpec = { account: string; type: number | undefined; asString: boolean };
const accountSpec: fc.Arbitrary<AccountSpec> = fc.record({
  account: id,
  type: fc.option(accountType, { nil: undefined }),
  asString: fc.boolean(),
});

const distinct = <T>(values: readonly T[], key: (value: T) => string): T[] => {
  const seen = new Set<string>();
  return values.filter((value) => {
    if (seen.has(key(value))) return false;
    seen.add(key(value));
    return true;
  });
};

const expectedAccounts = (specs: readonly AccountSpec[]) =>
  distinct(
    specs.map((s) => ({ account: s.account, accountType: s.type ?? 0 })),
    (a) => JSON.stringify([a.accountType, a.account]),
  );

const validBody: fc.Arbitrary<{ body: Record<string, unknown>; expected: Query }> = fc.oneof(
  fc.array(accountSpec, { minLength: 1, maxLength: 20 }).map((specs) => ({
    body: {
      accounts: specs.map((s) =>
        s.asString && s.type === undefined
          ? s.account
          : s.type === undefined
            ? { account: s.account }
            : { account: s.account, accountType: s.type },
      ),
    },
    expected: { kind: 'accounts' as const, items: expectedAccounts(specs) },
  })),
  fc.array(accountSpec, { minLength: 1, maxLength: 20 }).map((specs) => ({
    body: {
      operator_type: 1,
      account_list: specs.map((s) => (s.type === undefined ? { account: s.account } : { account: s.account, account_type: s.type })),
    },
    expected: { kind: 'accounts' as const, items: expectedAccounts(specs) },
  })),
  fc.array(id, { minLength: 1, maxLength: 20 }).map((tokens) => ({
    body: { tokens },
    expected: { kind: 'tokens' as const, items: distinct(tokens, (t) => t) },
  })),
  fc.array(id, { minLength: 1, maxLength: 20 }).map((tokens) => ({
    body: { operator_type: 2, token_list: tokens },
    expected: { kind: 'tokens' as const, items: distinct(tokens, (t) => t) },
  })),
);

// ---- mutations of a valid body ----

const KEYS = [
  'accounts',
  'tokens',
  'operator_type',
  'account_list',
  'token_list',
  'account',
  'accountType',
  'account_type',
  '__proto__',
  'constructor',
  'toString',
  '',
];

type Mutation = (body: unknown) => unknown;

const at = (value: unknown, path: readonly (string | number)[]): [unknown, string | number] | undefined => {
  let parent = value;
  for (let i = 0; i < path.length - 1; i++) {
    if (parent === null || typeof parent !== 'object') return undefined;
    parent = (parent as Record<string | number, unknown>)[path[i]!];
  }
  if (parent === null || typeof parent !== 'object') return undefined;
  return [parent, path[path.length - 1]!];
};

/** Every path in a JSON value, so mutations can hit nested elements too. */
const pathsOf = (value: unknown, prefix: (string | number)[] = []): (string | number)[][] => {
  if (value === null || typeof value !== 'object') return [];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...pathsOf(v, [...prefix, k])]);
};

// replace a value somewhere with any JSON value
const replaceValue: fc.Arbitrary<Mutation> = fc.tuple(fc.nat(), fc.jsonValue({ maxDepth: 2 })).map(
  ([pick, replacement]): Mutation =>
    (body) => {
      const paths = pathsOf(body);
      if (paths.length === 0) return replacement;
      const hit = at(body, paths[pick % paths.length]!);
      if (hit) (hit[0] as Record<string | number, unknown>)[hit[1]] = replacement;
      return body;
    },
);

// delete a key / element somewhere
const deleteKey: fc.Arbitrary<Mutation> = fc.nat().map(
  (pick): Mutation =>
    (body) => {
      const paths = pathsOf(body);
      if (paths.length === 0) return body;
      const hit = at(body, paths[pick % paths.length]!);
      if (hit) {
        if (Array.isArray(hit[0])) hit[0].splice(Number(hit[1]), 1);
        else delete (hit[0] as Record<string | number, unknown>)[hit[1]];
      }
      return body;
    },
);

// add a (possibly known, possibly dangerous) key to the top level or an element
const addKey: fc.Arbitrary<Mutation> = fc
  .tuple(fc.nat(), fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 6 })), fc.jsonValue({ maxDepth: 2 }))
  .map(
    ([pick, key, value]): Mutation =>
      (body) => {
        const targets = [[], ...pathsOf(body)];
        const path = targets[pick % targets.length]!;
        const target =
          path.length === 0 ? body : at(body, path) && (at(body, path)![0] as Record<string | number, unknown>)[at(body, path)![1]];
        if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
          Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
        }
        return body;
      },
  );

// number edge cases in the type / operator fields
const numberEdge: fc.Arbitrary<Mutation> = fc
  .constantFrom<unknown>(-0, -1, 0.5, 1e21, Number.MAX_SAFE_INTEGER, 2 ** 31, NaN, Infinity, '1', '0', null, true, [], {})
  .chain((value) =>
    fc.constantFrom('accountType', 'account_type', 'operator_type').map(
      (field): Mutation =>
        (body) => {
          for (const path of [[], ...pathsOf(body)]) {
            const target =
              path.length === 0
                ? body
                : (() => {
                    const hit = at(body, path);
                    return hit && (hit[0] as Record<string | number, unknown>)[hit[1]];
                  })();
            if (target !== null && typeof target === 'object' && !Array.isArray(target) && Object.hasOwn(target, field)) {
              (target as Record<string, unknown>)[field] = value;
              break;
            }
          }
          return body;
        },
    ),
  );

// grow the list toward and past the item limit (duplicates and fresh items), never beyond ~10,050
const growList: fc.Arbitrary<Mutation> = fc.tuple(fc.integer({ min: 9_950, max: 10_050 }), fc.boolean()).map(
  ([size, fresh]): Mutation =>
    (body) => {
      if (body === null || typeof body !== 'object') return body;
      for (const key of ['accounts', 'tokens', 'account_list', 'token_list']) {
        const list = (body as Record<string, unknown>)[key];
        if (!Array.isArray(list) || list.length === 0 || list.length >= size) continue;
        const grown = Array.from({ length: size }, (_, i) => {
          const item = list[i % list.length];
          if (!fresh) return item;
          return typeof item === 'string' ? `${item.slice(0, 200)}#${i}` : item;
        });
        (body as Record<string, unknown>)[key] = grown;
      }
      return body;
    },
);

// wrap or unwrap
const wrap: fc.Arbitrary<Mutation> = fc.constantFrom<Mutation>(
  (body) => [body],
  (body) => ({ body }),
  (body) => JSON.stringify(body),
  (body) => (body && typeof body === 'object' ? Object.values(body)[0] : body),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 10, arbitrary: replaceValue },
  { weight: 6, arbitrary: deleteKey },
  { weight: 6, arbitrary: addKey },
  { weight: 6, arbitrary: numberEdge },
  { weight: 3, arbitrary: wrap },
);

/** Growing to 10,000 items is expensive, so it is rarer and always the last mutation. */
const finalGrowth: fc.Arbitrary<Mutation | undefined> = fc.oneof(
  { weight: 19, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: growList },
);

describe('parseQueryBody never fails other than with a 400', () => {
  it('random JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => void checkBody(body)),
      run(4000),
    );
  });

  it('random JSON objects that use the real field names', () => {
    const fields = fc.dictionary(fc.constantFrom(...KEYS), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 });
    fc.assert(
      fc.property(fields, (body) => void checkBody(body)),
      run(3000),
    );
  });

  it('valid bodies give exactly the distinct items, in order of first appearance', () => {
    fc.assert(
      fc.property(validBody, ({ body, expected }) => {
        const query = checkBody(body);
        expect(query).toEqual(expected);
      }),
      run(2000),
    );
  });

  it('mutated valid bodies', () => {
    const outcomes = { accepted: 0, rejected: 0 };
    fc.assert(
      fc.property(validBody, fc.array(mutation, { minLength: 1, maxLength: 3 }), finalGrowth, ({ body }, mutations, grow) => {
        let mutated: unknown = structuredClone(body);
        for (const mutate of mutations) mutated = mutate(mutated);
        if (grow) mutated = grow(mutated);
        outcomes[checkBody(mutated) === undefined ? 'rejected' : 'accepted']++;
      }),
      run(4000),
    );
    // the mutations must exercise both sides, or this test proves little
    expect(outcomes.accepted).toBeGreaterThan(200);
    expect(outcomes.rejected).toBeGreaterThan(200);
  });

  it('values JSON cannot express (undefined, NaN, -0, sparse arrays, symbols as values)', () => {
    const odd = fc.constantFrom<unknown>(
      undefined,
      NaN,
      -0,
      Infinity,
      Symbol('x'),
      10n,
      () => 1,
      new Date(0),
      Object.assign(new Array(2), { 1: 'a' }), // sparse: index 0 is a hole
      Object.create(null),
    );
    const body = fc.oneof(
      odd,
      odd.map((v) => ({ tokens: [v] })),
      odd.map((v) => ({ accounts: [v] })),
      odd.map((v) => ({ accounts: [{ account: 'a', accountType: v }] })),
      odd.map((v) => ({ operator_type: v, token_list: ['t'] })),
      odd.map((v) => ({ tokens: v })),
    );
    fc.assert(
      fc.property(body, (b) => void checkBody(b)),
      run(500),
    );
  });
});

describe('path parameters never fail other than with a 400', () => {
  const raw = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.string({ maxLength: 40, unit: 'binary' }),
    fc
      .array(fc.constantFrom('%', '%2', '%2B', '%40', '%E0%A4', '%FF', '%C3%A9', 'a', '+', '/', ' ', '%00'), { maxLength: 30 })
      .map((parts) => parts.join('')),
  );
  const typeParam = fc.option(
    fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.integer().map(String),
      fc.constantFrom('1002', '01', '-0', '2147483647', '2147483648', '1e3'),
    ),
    {
      nil: undefined,
    },
  );

  it('parseAccountPath', () => {
    fc.assert(
      fc.property(fc.option(raw, { nil: undefined }), typeParam, (account, type) => {
        let query: Query;
        try {
          query = parseAccountPath(account, type);
        } catch (error) {
          assertBadRequest(error);
          return;
        }
        assertValidQuery(query);
        expect(query.items).toHaveLength(1);
        if (type !== undefined) expect(query.items[0]).toMatchObject({ accountType: Number(type) });
      }),
      run(3000),
    );
  });

  it('parseTokenPath', () => {
    fc.assert(
      fc.property(fc.option(raw, { nil: undefined }), (token) => {
        let query: Query;
        try {
          query = parseTokenPath(token);
        } catch (error) {
          assertBadRequest(error);
          return;
        }
        assertValidQuery(query);
        expect(query.items).toHaveLength(1);
      }),
      run(3000),
    );
  });
});

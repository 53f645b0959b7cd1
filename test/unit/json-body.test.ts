import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { REQUEST_LIMITS } from '../../functions/contract.ts';
import { BODY_LIMITS, type BoundsViolation, type JsonBounds, readJsonBody, scanJsonBounds } from '../../functions/core/json-body.ts';
import { InvalidRequestError, ProblemError, UnsupportedMediaTypeError } from '../../functions/core/problems.ts';

/** Fixed by default so CI is reproducible; FC_SEED=<n> explores elsewhere. */
const SEED = Number(process.env.FC_SEED ?? 9457);
const run = (numRuns: number) => ({ seed: SEED, numRuns });

/** The reference: how deep a parsed value nests ([] is 1) and its longest array. */
const measure = (value: unknown): { depth: number; longest: number } => {
  if (value === null || typeof value !== 'object') return { depth: 0, longest: 0 };
  const children = Array.isArray(value) ? value : Object.values(value);
  let depth = 0;
  let longest = Array.isArray(value) ? value.length : 0;
  for (const child of children) {
    const inner = measure(child);
    depth = Math.max(depth, inner.depth);
    longest = Math.max(longest, inner.longest);
  }
  return { depth: depth + 1, longest };
};

/** The scan's verdict must be the reference's: a violation exactly when a bound is exceeded, of a kind that is. */
const expectAgreement = (text: string, bounds: JsonBounds) => {
  const { depth, longest } = measure(JSON.parse(text));
  const violation = scanJsonBounds(text, bounds);
  const tooDeep = depth > bounds.maxDepth;
  const tooLong = longest > bounds.maxItems;
  expect(violation === undefined, `${text} → ${JSON.stringify(violation)}`).toBe(!tooDeep && !tooLong);
  if (violation?.kind === 'depth') expect(tooDeep).toBe(true);
  if (violation?.kind === 'items') expect(tooLong).toBe(true);
};

/** Strings full of what could fool a scanner: quotes, backslashes, brackets, commas. */
const trickyUnit = fc.constantFrom('"', '\\', '[', ']', '{', '}', ',', ':', 'a', ' ', '\n', 'é', '\u2028', '😀', '\\"', '\\\\');
const bounds = fc.record({ maxDepth: fc.integer({ min: 0, max: 5 }), maxItems: fc.integer({ min: 1, max: 5 }) });

describe('scanJsonBounds agrees with JSON.parse and a measure of the parsed value', () => {
  it('on arbitrary JSON, compact or indented', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6, stringUnit: trickyUnit }), bounds, fc.constantFrom(0, 1, '\t'), (value, limits, indent) => {
        expectAgreement(JSON.stringify(value, null, indent), limits);
      }),
      run(3000),
    );
  });

  it('on arbitrary JSON with long strings (escaped quotes far from where the string opens)', () => {
    const lengthen = (value: unknown): unknown =>
      typeof value === 'string'
        ? `${'x'.repeat(30)}${value}`.repeat(2)
        : Array.isArray(value)
          ? value.map(lengthen)
          : value !== null && typeof value === 'object'
            ? Object.fromEntries(Object.entries(value).map(([k, v]) => [lengthen(k), lengthen(v)]))
            : value;
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6, stringUnit: trickyUnit }), bounds, (value, limits) => {
        expectAgreement(JSON.stringify(lengthen(value)), limits);
      }),
      run(2000),
    );
  });

  it('on long arrays and deep nesting near the bounds', () => {
    const nested = fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 8 }), fc.boolean()).map(([depth, items, objects]) => {
      let value: unknown = Array.from({ length: items }, (_, i) => (i % 2 ? '],[' : { '"[': i }));
      for (let level = 1; level < depth; level++) value = objects && level % 2 ? { k: value } : [value, '{'];
      return value;
    });
    fc.assert(
      fc.property(nested, bounds, (value, limits) => expectAgreement(JSON.stringify(value), limits)),
      run(2000),
    );
  });

  it('never throws on arbitrary text, and when JSON.parse accepts it, agrees', () => {
    const text = fc.oneof(
      fc.string({ unit: trickyUnit, maxLength: 60 }),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.json({ stringUnit: trickyUnit }).chain((json) => fc.nat(json.length).map((cut) => json.slice(0, cut))),
    );
    fc.assert(
      fc.property(text, bounds, (candidate, limits) => {
        const violation = scanJsonBounds(candidate, limits);
        expect(violation === undefined || violation.kind === 'depth' || violation.kind === 'items').toBe(true);
        let parses = true;
        try {
          JSON.parse(candidate);
        } catch {
          parses = false;
        }
        if (parses) expectAgreement(candidate, limits);
      }),
      run(3000),
    );
  });
});

describe('scanJsonBounds with the service bounds', () => {
  const scan = (text: string): BoundsViolation | undefined => scanJsonBounds(text, BODY_LIMITS);

  it(`allows exactly the contract's depth: object → array → object (${BODY_LIMITS.maxDepth})`, () => {
    expect(BODY_LIMITS.maxDepth).toBe(3);
    expect(scan('{"accounts": [{"account": "a", "accountType": 1}]}')).toBeUndefined();
    expect(scan('{"operator_type": 1, "account_list": [{"account": "a"}]}')).toBeUndefined();
    expect(scan('{"accounts": [{"account": ["a"]}]}')).toEqual({ kind: 'depth' });
    expect(scan('[[[[]]]]')).toEqual({ kind: 'depth' });
  });

  it('is not fooled by brackets, commas and escaped quotes inside strings', () => {
    expect(scan(JSON.stringify({ tokens: ['[[[[{{{{', '\\"[[[[', '"]]]]"', 'a\\', '\\\\"{'] }))).toBeUndefined();
    expect(scan(JSON.stringify({ tokens: [','.repeat(REQUEST_LIMITS.maxItems * 2)] }))).toBeUndefined();
    expect(scan(`{"tokens": ["${'\\\\'.repeat(100)}", "${'\\"'.repeat(100)}[[[[[["]}`)).toBeUndefined();
    expect(scan(`{"tokens": ["${'x'.repeat(1000)}\\\\"], "x": [[[[1]]]]}`)).toEqual({ kind: 'depth' });
  });

  it(`allows ${REQUEST_LIMITS.maxItems} items and refuses one more, naming the list`, () => {
    const tokens = (n: number) => JSON.stringify({ tokens: Array.from({ length: n }, (_, i) => `t${i}`) });
    expect(scan(tokens(REQUEST_LIMITS.maxItems))).toBeUndefined();
    expect(scan(tokens(REQUEST_LIMITS.maxItems + 1))).toEqual({ kind: 'items', path: 'tokens' });
    const accounts = JSON.stringify({ operator_type: 1, account_list: Array.from({ length: 10_001 }, () => ({ account: 'a' })) });
    expect(scan(accounts)).toEqual({ kind: 'items', path: 'account_list' });
  });

  it('names an inner list by its index, and the body itself by an empty path', () => {
    const inner = JSON.stringify({ accounts: ['a', 'b', Array.from({ length: 10_001 }, () => 0)] });
    expect(scan(inner)).toEqual({ kind: 'items', path: 'accounts[2]' });
    expect(scan(JSON.stringify(Array.from({ length: 10_001 }, () => 1)))).toEqual({ kind: 'items', path: '' });
  });

  it('does not spell out a key that is not a plain name', () => {
    const body = JSON.stringify({ 'a b': Array.from({ length: 10_001 }, () => 1) });
    expect(scan(body)).toEqual({ kind: 'items', path: undefined });
    expect(scan(`{"x${'y'.repeat(100)}": [${'1,'.repeat(10_000)}1]}`)).toEqual({ kind: 'items', path: undefined });
  });

  it('counts elements, not members of the objects inside', () => {
    const body = JSON.stringify({ accounts: [Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i]))] });
    expect(scan(body)).toBeUndefined();
  });

  it('stops at the first bracket too deep: 2.8 million nested arrays cost microseconds, not JSON.parse', () => {
    const depth = 2_800_000;
    const text = '['.repeat(depth) + ']'.repeat(depth);
    const started = performance.now();
    expect(scan(text)).toEqual({ kind: 'depth' });
    expect(performance.now() - started).toBeLessThan(50);
  });
});

// ── readJsonBody ─────────────────────────────────────────────────────────────────────────

const event = (contentType: string | undefined, body: string | undefined, isBase64Encoded = false) => ({
  headers: contentType === undefined ? {} : { 'content-type': contentType },
  body,
  isBase64Encoded,
});

const thrown = (fn: () => unknown): ProblemError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProblemError);
    return error as ProblemError;
  }
  throw new Error('expected a problem');
};

const BODY = '{"tokens": ["t1"]}';

describe('readJsonBody: media types', () => {
  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON ; charset=UTF-8',
    'APPLICATION/JSON',
    'application/json;charset="utf-8"',
    'application/json; CHARSET=Utf8',
    'application/json;',
    'application/json; version=2',
    '  application/json  ',
    'application/vnd.api+json',
    'application/merge-patch+json; charset=utf-8',
    'application/problem+JSON',
  ])('%s is JSON', (contentType) => {
    expect(readJsonBody(event(contentType, BODY))).toEqual({ tokens: ['t1'] });
  });

  it('reads a Content-Type header not lower-cased (direct invocations)', () => {
    expect(readJsonBody({ headers: { 'Content-Type': 'application/json' }, body: BODY, isBase64Encoded: false })).toEqual({
      tokens: ['t1'],
    });
  });

  it.each([
    undefined,
    '',
    'text/plain',
    'text/json',
    'application/jsonx',
    'application/+json',
    'application/x-www-form-urlencoded',
    'application/json, text/plain',
    'multipart/form-data; boundary=x',
    'json',
  ])('%s is a 415', (contentType) => {
    const problem = thrown(() => readJsonBody(event(contentType, BODY)));
    expect(problem).toBeInstanceOf(UnsupportedMediaTypeError);
    expect(problem.toProblem()).toMatchObject({ status: 415, type: 'urn:tpns-bindings:problem:unsupported-media-type' });
    expect(problem.message).toMatch(/application\/json/);
  });

  it.each(['gbk', 'GB2312', 'utf-16', 'UTF-16LE', 'iso-8859-1', 'us-ascii', '"big5"', ''])('charset=%s is a 415 naming it', (charset) => {
    const problem = thrown(() => readJsonBody(event(`application/json; charset=${charset}`, BODY)));
    expect(problem.status).toBe(415);
    expect(problem.slug).toBe('unsupported-media-type');
    expect(problem.message).toContain(`charset ${JSON.stringify(charset.replaceAll('"', ''))}`);
    expect(problem.message).toMatch(/UTF-8/);
  });
});

describe('readJsonBody: encoding', () => {
  const base64 = (bytes: number[] | string) => (typeof bytes === 'string' ? Buffer.from(bytes) : Buffer.from(bytes)).toString('base64');

  it('decodes a base64 body as UTF-8', () => {
    expect(readJsonBody(event('application/json', base64('{"tokens": ["用户", "😀"]}'), true))).toEqual({ tokens: ['用户', '😀'] });
  });

  it.each([
    ['a lone continuation byte', [0x80]],
    ['GBK for 用户', [0xd3, 0xc3, 0xbb, 0xa7]],
    ['a truncated sequence', [0xe7, 0x94]],
    ['an overlong "/"', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['Latin-1 é', [0xe9]],
  ])('bytes that are not UTF-8 (%s) are a 400, not U+FFFD', (_, bytes) => {
    const body = [...Buffer.from('{"tokens": ["'), ...bytes, ...Buffer.from('"]}')];
    const problem = thrown(() => readJsonBody(event('application/json', base64(body), true)));
    expect(problem).toBeInstanceOf(InvalidRequestError);
    expect(problem.message).toBe('the body is not valid UTF-8');
  });

  it('drops a leading byte order mark, in text and in base64', () => {
    expect(readJsonBody(event('application/json', `\ufeff${BODY}`))).toEqual({ tokens: ['t1'] });
    expect(readJsonBody(event('application/json', base64([0xef, 0xbb, 0xbf, ...Buffer.from(BODY)]), true))).toEqual({ tokens: ['t1'] });
    // one, not two
    expect(() => readJsonBody(event('application/json', base64([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf, ...Buffer.from(BODY)]), true))).toThrow(
      /not valid JSON/,
    );
  });
});

describe('readJsonBody: bounds before JSON.parse, then JSON.parse', () => {
  afterEach(() => vi.restoreAllMocks());

  it('a body nested too deep is a 400 saying so, and JSON.parse never sees it', () => {
    const parse = vi.spyOn(JSON, 'parse');
    const problem = thrown(() => readJsonBody(event('application/json', `{"tokens": [${'['.repeat(100_000)}${']'.repeat(100_000)}]}`)));
    expect(problem).toBeInstanceOf(InvalidRequestError);
    expect(problem.message).toMatch(/^the body nests deeper than 3 levels/);
    expect(parse).not.toHaveBeenCalled();
  });

  it(`an array over ${REQUEST_LIMITS.maxItems} items is a 400 naming it, and JSON.parse never sees the body`, () => {
    const parse = vi.spyOn(JSON, 'parse');
    const text = `{"tokens": [${'"t",'.repeat(REQUEST_LIMITS.maxItems)}"t"]}`;
    const problem = thrown(() => readJsonBody(event('application/json', text)));
    expect(problem.message).toBe('tokens lists more than 10000 items; at most 10000 per request');
    // only the key, to name the list
    expect(parse.mock.calls.map(([argument]) => argument)).toEqual(['"tokens"']);
  });

  it('another array is named as such', () => {
    const problem = thrown(() => readJsonBody(event('application/json', `{"a b": [${'1,'.repeat(REQUEST_LIMITS.maxItems)}1]}`)));
    expect(problem.message).toMatch(/^an array in the body lists more than 10000 items/);
  });

  it.each([
    ['truncated', '{"tokens": ["t1"'],
    ['not JSON', 'tokens=t1'],
    ['single quotes', "{'tokens': ['t1']}"],
    ['empty string', ''],
  ])('malformed JSON (%s) is a 400 with the reason', (_, body) => {
    const problem = thrown(() => readJsonBody(event('application/json', body)));
    expect(problem).toBeInstanceOf(InvalidRequestError);
    expect(problem.message).toMatch(/^the body is not valid JSON \(.+\)$/);
  });

  it('no body at all is a 400', () => {
    const problem = thrown(() => readJsonBody(event('application/json', undefined)));
    expect(problem).toBeInstanceOf(InvalidRequestError);
    expect(problem.message).toMatch(/empty/);
  });

  it('the media type is checked first: a 415 even for a body too deep', () => {
    expect(thrown(() => readJsonBody(event('text/plain', '[[[[[[]]]]]]'))).status).toBe(415);
  });
});

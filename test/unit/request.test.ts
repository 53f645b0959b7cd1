import { describe, expect, it } from 'vitest';
import { REQUEST_LIMITS } from '../../functions/contract.ts';
import { ProblemError } from '../../functions/core/problems.ts';
import { parseAccountPath, parseQueryBody, parseQueryParameters, parseTokenPath, QUERY_PARAMETERS } from '../../functions/core/request.ts';
import { fixture, rejection } from './_fixtures.ts';

const rejectBody = (body: unknown): string => rejection(() => parseQueryBody(body));

describe('parseQueryBody: the three accepted forms', () => {
  it('{"accounts"}: strings and objects, accountType defaulting to 0', () => {
    expect(parseQueryBody({ accounts: ['a1', { account: 'a2', accountType: 1 }, { account: 'a3' }] })).toEqual({
      kind: 'accounts',
      items: [
        { account: 'a1', accountType: 0 },
        { account: 'a2', accountType: 1 },
        { account: 'a3', accountType: 0 },
      ],
    });
  });

  it('{"tokens"}', () => {
    expect(parseQueryBody({ tokens: ['t1', 't2'] })).toEqual({ kind: 'tokens', items: ['t1', 't2'] });
  });

  it('TPNS-native operator_type 1 with account_type', () => {
    expect(parseQueryBody({ operator_type: 1, account_list: [{ account: 'a1' }, { account: 'a2', account_type: 1005 }] })).toEqual({
      kind: 'accounts',
      items: [
        { account: 'a1', accountType: 0 },
        { account: 'a2', accountType: 1005 },
      ],
    });
  });

  it('TPNS-native operator_type 2', () => {
    expect(parseQueryBody({ operator_type: 2, token_list: ['t1'] })).toEqual({ kind: 'tokens', items: ['t1'] });
  });

  it('accepts large documented account types (1002 phone, 1015 LinkedIn) and the int32 maximum', () => {
    expect(parseQueryBody({ accounts: [{ account: '+8613711112222', accountType: 1002 }] }).items).toEqual([
      { account: '+8613711112222', accountType: 1002 },
    ]);
    expect(parseQueryBody({ accounts: [{ account: 'a', accountType: REQUEST_LIMITS.maxAccountType }] }).items).toEqual([
      { account: 'a', accountType: 2_147_483_647 },
    ]);
  });

  it('accepts ids of exactly 256 characters and exactly 10,000 items', () => {
    const long = 'x'.repeat(256);
    expect(parseQueryBody({ tokens: [long] }).items).toEqual([long]);
    const many = Array.from({ length: 10_000 }, (_, i) => `t${i}`);
    const query = parseQueryBody({ tokens: many });
    expect(query.items).toHaveLength(10_000);
    expect(query.items[9_999]).toBe('t9999');
  });

  it('keeps ids as given (no trimming, no case folding, no decoding)', () => {
    expect(parseQueryBody({ tokens: [' T1 ', 't1', 'a%40b'] }).items).toEqual([' T1 ', 't1', 'a%40b']);
  });
});

describe('parseQueryBody: both seed sample requests, verbatim', () => {
  it('English page, operator_type 1', () => {
    expect(parseQueryBody(fixture('seed-en-request-accounts.json'))).toEqual({
      kind: 'accounts',
      items: [
        { account: 'account1', accountType: 0 },
        { account: 'account2', accountType: 0 },
      ],
    });
  });

  it('Chinese page, operator_type 1 with "account_type": 1 on account2', () => {
    expect(parseQueryBody(fixture('seed-zh-request-accounts.json'))).toEqual({
      kind: 'accounts',
      items: [
        { account: 'account1', accountType: 0 },
        { account: 'account2', accountType: 1 },
      ],
    });
  });

  it.each(['seed-en-request-tokens.json', 'seed-zh-request-tokens.json'])('%s, operator_type 2', (name) => {
    expect(parseQueryBody(fixture(name))).toEqual({ kind: 'tokens', items: ['token1', 'token2'] });
  });
});

describe('parseQueryBody: distinct items in order of first appearance', () => {
  it('drops a repeated account, keeping the first position', () => {
    expect(parseQueryBody({ accounts: ['b', 'a', 'b', { account: 'a' }, { account: 'a', accountType: 0 }, 'c'] }).items).toEqual([
      { account: 'b', accountType: 0 },
      { account: 'a', accountType: 0 },
      { account: 'c', accountType: 0 },
    ]);
  });

  it('keeps the same account under two types as two items', () => {
    expect(parseQueryBody({ accounts: ['a', { account: 'a', accountType: 1 }, { account: 'a', accountType: 1 }, 'a'] }).items).toEqual([
      { account: 'a', accountType: 0 },
      { account: 'a', accountType: 1 },
    ]);
  });

  it('native form: a missing account_type equals 0 for dedupe, another type does not', () => {
    expect(
      parseQueryBody({
        operator_type: 1,
        account_list: [{ account: 'a' }, { account: 'a', account_type: 0 }, { account: 'a', account_type: 1005 }],
      }).items,
    ).toEqual([
      { account: 'a', accountType: 0 },
      { account: 'a', accountType: 1005 },
    ]);
  });

  it('does not confuse accounts whose ids only differ by what a naive key join would merge', () => {
    expect(
      parseQueryBody({
        accounts: [
          { account: '1:a', accountType: 0 },
          { account: 'a', accountType: 1 },
        ],
      }).items,
    ).toHaveLength(2);
    expect(
      parseQueryBody({
        accounts: [
          { account: '0a', accountType: 1 },
          { account: 'a', accountType: 10 },
        ],
      }).items,
    ).toHaveLength(2);
  });

  it('drops repeated tokens (both forms), keeping the first position', () => {
    expect(parseQueryBody({ tokens: ['t2', 't1', 't2', 't1', 't3'] }).items).toEqual(['t2', 't1', 't3']);
    expect(parseQueryBody({ operator_type: 2, token_list: ['x', 'x'] }).items).toEqual(['x']);
  });
});

describe('parseQueryBody: 400 for every malformed body', () => {
  it.each([
    ['a number', 1],
    ['a string', 'accounts'],
    ['a boolean', true],
    ['an array', [{ accounts: ['a'] }]],
    ['an empty array', []],
    ['null', null],
    ['undefined', undefined],
  ])('not an object: %s', (_, body) => {
    expect(rejectBody(body)).toBe('the body must be a JSON object with "accounts", "tokens" or "operator_type"');
  });

  it('neither accounts, tokens nor operator_type', () => {
    expect(rejectBody({})).toMatch(/one of "accounts", "tokens" or "operator_type"/);
    expect(rejectBody({ account_list: [{ account: 'a' }] })).toMatch(/"accounts", "tokens" or "operator_type"/);
  });

  it.each([
    [{ accounts: ['a'], tokens: ['t'] }, /"accounts" and "tokens"/],
    [{ accounts: ['a'], operator_type: 1 }, /"accounts" and "operator_type"/],
    [{ tokens: ['t'], operator_type: 2, token_list: ['t'] }, /"tokens" and "operator_type"/],
  ])('more than one form: %j', (body, message) => {
    expect(rejectBody(body)).toMatch(message);
  });

  it.each([0, 3, -1, 1.5, '1', '2', null, true, [1]])('unknown operator_type %j', (operatorType) => {
    expect(rejectBody({ operator_type: operatorType, account_list: [{ account: 'a' }], token_list: ['t'] })).toMatch(/operator_type/);
  });

  it("operator_type with the other type's list", () => {
    const m1 = rejectBody({ operator_type: 1, token_list: ['t'] });
    expect(m1).toMatch(/account_list/);
    expect(m1).toMatch(/unknown field "token_list"/);
    const m2 = rejectBody({ operator_type: 2, account_list: [{ account: 'a' }] });
    expect(m2).toMatch(/token_list/);
    expect(m2).toMatch(/unknown field "account_list"/);
  });

  it('operator_type with both lists', () => {
    expect(rejectBody({ operator_type: 1, account_list: [{ account: 'a' }], token_list: ['t'] })).toMatch(/unknown field "token_list"/);
  });

  it.each([
    [{ accounts: [] }, 'accounts must list at least one account'],
    [{ tokens: [] }, 'tokens must list at least one token'],
    [{ operator_type: 1, account_list: [] }, 'account_list must list at least one account'],
    [{ operator_type: 2, token_list: [] }, 'token_list must list at least one token'],
  ])('empty list %j', (body, message) => {
    expect(rejectBody(body)).toBe(message);
  });

  it.each([
    ['accounts', { accounts: Array.from({ length: 10_001 }, (_, i) => `a${i}`) }],
    ['tokens', { tokens: Array.from({ length: 10_001 }, (_, i) => `t${i}`) }],
    ['account_list', { operator_type: 1, account_list: Array.from({ length: 10_001 }, (_, i) => ({ account: `a${i}` })) }],
    ['token_list', { operator_type: 2, token_list: Array.from({ length: 10_001 }, (_, i) => `t${i}`) }],
  ])('over 10,000 items in %s', (path, body) => {
    const message = rejectBody(body);
    expect(message.startsWith(`${path} `)).toBe(true);
    expect(message).toMatch(/at most 10000/);
  });

  it.each([
    [{ accounts: ['a', ''] }, 'accounts[1].account', /empty/],
    [{ accounts: ['a', { account: '' }] }, 'accounts[1].account', /empty/],
    [{ tokens: ['t', 't2', ''] }, 'tokens[2]', /empty/],
    [{ operator_type: 1, account_list: [{ account: '' }] }, 'account_list[0].account', /empty/],
    [{ operator_type: 2, token_list: ['', 't'] }, 'token_list[0]', /empty/],
  ])('empty id %j names %s', (body, path, message) => {
    const text = rejectBody(body);
    expect(text).toContain(path);
    expect(text).toMatch(message);
  });

  it.each([
    ['accounts[1].account', { accounts: ['a', 'x'.repeat(257)] }],
    ['accounts[0].account', { accounts: [{ account: 'x'.repeat(257), accountType: 1 }] }],
    ['tokens[0]', { tokens: ['x'.repeat(257)] }],
    ['account_list[1].account', { operator_type: 1, account_list: [{ account: 'ok' }, { account: 'y'.repeat(300) }] }],
    ['token_list[1]', { operator_type: 2, token_list: ['ok', 'z'.repeat(1000)] }],
  ])('id over 256 characters names %s', (path, body) => {
    const text = rejectBody(body);
    expect(text).toContain(path);
    expect(text).toMatch(/at most 256/);
  });

  it.each([
    ['negative', -1, 'must be a non-negative account type'],
    ['float', 1.5, 'must be an integer account type'],
    ['string', '1', 'must be an integer account type'],
    ['null', null, 'must be an integer account type'],
    ['boolean', true, 'must be an integer account type'],
    ['object', { value: 1 }, 'must be an integer account type'],
    ['over int32', 2_147_483_648, 'must be at most 2147483647'],
  ])('accountType %s names accounts[1].accountType and what is wrong', (_, accountType, problem) => {
    expect(rejectBody({ accounts: ['a', { account: 'b', accountType }] })).toBe(`accounts[1].accountType ${problem}`);
  });

  it('accountType huge names accounts[1].accountType', () => {
    const text = rejectBody({ accounts: ['a', { account: 'b', accountType: 1e300 }] });
    expect(text.startsWith('accounts[1].accountType ')).toBe(true);
    expect(text).toMatch(/account type|at most/);
  });

  it.each([
    ['negative', -5],
    ['float', 0.5],
    ['string', '0'],
  ])('native account_type %s names account_list[0].account_type', (_, accountType) => {
    expect(rejectBody({ operator_type: 1, account_list: [{ account: 'a', account_type: accountType }] })).toContain(
      'account_list[0].account_type',
    );
  });

  it.each([
    [{ accounts: ['a'], region: 'shanghai' }, /unknown field "region"/],
    [{ tokens: ['t'], extra: 1, more: 2 }, /unknown fields "extra", "more"/],
    [{ accounts: [{ account: 'a', account_type: 1 }] }, /unknown field "account_type" in accounts\[0\]/],
    [{ accounts: ['a', { account: 'b', type: 1 }] }, /unknown field "type" in accounts\[1\]/],
    [{ operator_type: 1, account_list: [{ account: 'a', accountType: 1 }] }, /unknown field "accountType" in account_list\[0\]/],
    [{ operator_type: 2, token_list: ['t'], platform: 'android' }, /unknown field "platform"/],
  ])('unknown field %j', (body, message) => {
    expect(rejectBody(body)).toMatch(message);
  });

  it.each([
    [{ accounts: 'a' }, 'accounts', /^accounts must be an array of accounts$/],
    [{ accounts: { account: 'a' } }, 'accounts', /array/],
    [{ tokens: 't' }, 'tokens', /^tokens must be an array of tokens$/],
    [{ tokens: null }, 'tokens', /array/],
    [{ tokens: ['t', 1] }, 'tokens[1]', /must be a string/],
    [{ tokens: [['t']] }, 'tokens[0]', /must be a string/],
    [{ accounts: ['a', 1] }, 'accounts[1]', /account string or/],
    [{ accounts: [null] }, 'accounts[0]', /account string or/],
    [{ accounts: [['a']] }, 'accounts[0]', /account string or/],
    [{ accounts: [{ account: 42 }] }, 'accounts[0].account', /string/],
    [{ accounts: [{}] }, 'accounts[0].account', /string/],
    [{ operator_type: 1, account_list: ['a'] }, 'account_list[0]', /"account"/],
    [{ operator_type: 1, account_list: [{ account: null }] }, 'account_list[0].account', /string/],
    [{ operator_type: 1, account_list: 'a' }, 'account_list', /^account_list must be an array of accounts$/],
    [{ operator_type: 2, token_list: [{ token: 't' }] }, 'token_list[0]', /must be a string/],
  ])('wrong element type %j names %s', (body, path, message) => {
    const text = rejectBody(body);
    // the first reported problem is the offending path followed by what is wrong with it
    expect(text.startsWith(`${path} `)).toBe(true);
    expect(text).toMatch(message);
  });

  it('reports several problems but caps the list', () => {
    const text = rejectBody({ tokens: ['', '', '', '', '', '', ''] });
    for (let i = 0; i < 5; i++) expect(text).toContain(`tokens[${i}]`);
    expect(text).not.toContain('tokens[5]');
    expect(text).toMatch(/and 2 more problem/);
  });

  it('names five unknown fields without "and 0 more", and a name of 64 characters whole', () => {
    expect(rejectBody({ tokens: ['t'], a: 1, b: 1, c: 1, d: 1, e: 1 })).toBe('unknown fields "a", "b", "c", "d", "e"');
    const name = 'n'.repeat(64);
    expect(rejectBody({ tokens: ['t'], [name]: 1 })).toBe(`unknown field "${name}"`);
  });

  it('names a few unknown fields, each cut short: a hostile body cannot make the answer huge', () => {
    const many = Object.fromEntries([['tokens', ['t']], ...Array.from({ length: 400_000 }, (_, i) => [`k${i}`, 1])]);
    expect(rejectBody(many)).toBe('unknown fields "k0", "k1", "k2", "k3", "k4" and 399995 more');
    const long = rejectBody({ tokens: ['t'], ['\u0001'.repeat(1_000_000)]: 1 });
    expect(long).toBe(`unknown field ${JSON.stringify(`${'\u0001'.repeat(64)}…`)}`);
  });

  it('problems are separated by "; ", and only a cut list says how many more there are', () => {
    const empty = (i: number) => `tokens[${i}] must not be empty`;
    expect(rejectBody({ tokens: ['', 'ok', ''] })).toBe(`${empty(0)}; ${empty(2)}`);
    expect(rejectBody({ tokens: ['', '', '', '', ''] })).toBe([0, 1, 2, 3, 4].map(empty).join('; '));
    expect(rejectBody({ tokens: ['', '', '', '', '', ''] })).toBe(`${[0, 1, 2, 3, 4].map(empty).join('; ')}; and 1 more problem(s)`);
  });

  it('the message never echoes the offending ids', () => {
    const secretish = 'S3CR3T-'.repeat(40);
    expect(rejectBody({ tokens: [secretish] })).not.toContain('S3CR3T');
  });
});

describe('ids that cannot be accounts or tokens: 400 naming the field', () => {
  it.each([
    [{ accounts: ['a', 'b', 'c', 'x\u0000y'] }, 'accounts[3].account'],
    [{ accounts: [{ account: 'a\tb', accountType: 1 }] }, 'accounts[0].account'],
    [{ tokens: ['t\u007f'] }, 'tokens[0]'],
    [{ tokens: ['ok', 'line\nbreak'] }, 'tokens[1]'],
    [{ operator_type: 1, account_list: [{ account: '\u001f' }] }, 'account_list[0].account'],
    [{ operator_type: 2, token_list: ['ok', '\r'] }, 'token_list[1]'],
  ])('control characters: %j names %s', (body, path) => {
    expect(rejectBody(body)).toBe(`${path} must not contain control characters`);
  });

  it.each([
    [{ tokens: ['\ud800'] }, 'tokens[0]'],
    [{ accounts: ['a\udc00b'] }, 'accounts[0].account'],
    [{ accounts: [{ account: 'emoji cut \ud83d' }] }, 'accounts[0].account'],
    [{ operator_type: 2, token_list: ['\ude00\ud83d'] }, 'token_list[0]'],
    [{ operator_type: 1, account_list: [{ account: 'x\udfff' }] }, 'account_list[0].account'],
  ])('lone surrogates: %j names %s', (body, path) => {
    expect(rejectBody(body)).toMatch(new RegExp(`^${path.replace(/[[\].]/g, '\\$&')} must not contain lone surrogates`));
  });

  it.each([
    [{ tokens: [' '] }, 'tokens[0]'],
    [{ accounts: ['a', '   '] }, 'accounts[1].account'],
    [{ accounts: [{ account: '\u00a0' }] }, 'accounts[0].account'],
    [{ operator_type: 1, account_list: [{ account: '\u3000\u2003' }] }, 'account_list[0].account'],
    [{ operator_type: 2, token_list: ['\ufeff'] }, 'token_list[0]'],
  ])('only whitespace: %j names %s', (body, path) => {
    expect(rejectBody(body)).toBe(`${path} must not be only whitespace`);
  });

  it('one message per id, the first that applies', () => {
    expect(rejectBody({ tokens: ['\t\t'] })).toBe('tokens[0] must not contain control characters');
    expect(rejectBody({ tokens: ['\u0000'.repeat(300)] })).toMatch(/^tokens\[0\] must be at most 256 characters \(Unicode code points\)$/);
    expect(rejectBody({ tokens: [''] })).toBe('tokens[0] must not be empty');
  });

  it('the same in an event detail', () => {
    expect(rejection(() => parseQueryBody({ accounts: ['\u0007'] }, 'the detail'))).toBe(
      'accounts[0].account must not contain control characters',
    );
  });

  it('accepts inner and outer spaces, C1 characters, paired surrogates and other scripts', () => {
    const ids = [' a ', 'a b', 'x\u0085y', '👍🏽', '用户', 'ümlaut', '\u00a0a'];
    expect(parseQueryBody({ tokens: ids }).items).toEqual(ids);
  });

  it('counts length in Unicode code points, not UTF-16 code units: an emoji outside the BMP counts 1', () => {
    expect('😀'.repeat(256)).toHaveLength(512);
    expect(parseQueryBody({ tokens: ['😀'.repeat(256)] }).items).toHaveLength(1);
    expect(rejectBody({ tokens: [`${'😀'.repeat(256)}x`] })).toBe('tokens[0] must be at most 256 characters (Unicode code points)');
    expect(parseQueryBody({ tokens: ['é'.repeat(256), '👍🏽'.repeat(128)] }).items).toHaveLength(2);
    expect(rejectBody({ tokens: [`${'👍🏽'.repeat(128)}x`] })).toMatch(/at most 256/);
  });

  it.each([
    ['a%00b', /control characters/],
    ['%09', /control characters/],
    ['%7F', /control characters/],
    ['%20%20', /only whitespace/],
    ['%C2%A0', /only whitespace/],
  ])('in a path: %s', (raw, message) => {
    const account = rejection(() => parseAccountPath(raw, undefined));
    expect(account).toMatch(/^the account in the path must/);
    expect(account).toMatch(message);
    const token = rejection(() => parseTokenPath(raw));
    expect(token).toMatch(/^the token in the path must/);
    expect(token).toMatch(message);
  });
});

describe('parseQueryParameters: one list per route', () => {
  const { tokensOfAccount, accountsOfToken } = QUERY_PARAMETERS;

  it('gives the allowed parameters, and nothing for none', () => {
    expect(parseQueryParameters({ accountType: '1002' }, 'accountType=1002', tokensOfAccount)).toEqual({ accountType: '1002' });
    expect(parseQueryParameters(undefined, '', tokensOfAccount)).toEqual({});
    expect(parseQueryParameters(undefined, undefined, accountsOfToken)).toEqual({});
    expect(parseQueryParameters({}, '', accountsOfToken)).toEqual({});
  });

  it.each([
    [{ accounttype: '1' }, tokensOfAccount, 'unknown query parameter "accounttype" (this route takes only accountType, app)'],
    [{ accountType: '1', verbose: 'x' }, tokensOfAccount, 'unknown query parameter "verbose" (this route takes only accountType, app)'],
    [{ accountType: '1' }, accountsOfToken, 'unknown query parameter "accountType" (this route takes only app)'],
    [{ a: '', b: '2' }, accountsOfToken, 'unknown query parameters "a", "b" (this route takes only app)'],
    [{ ['__proto__']: '1' }, tokensOfAccount, 'unknown query parameter "__proto__" (this route takes only accountType, app)'],
    [{ constructor: '1' }, accountsOfToken, 'unknown query parameter "constructor" (this route takes only app)'],
  ])('%j is a 400 naming the parameter', (parameters, allowed, message) => {
    const own = Object.fromEntries(Object.entries(parameters)); // "__proto__" as an own key, as API Gateway's JSON gives it
    expect(rejection(() => parseQueryParameters(own, '', allowed))).toBe(message);
  });

  it('a repeated parameter (API Gateway joins its values with commas) is a 400; a literal comma is a value', () => {
    expect(rejection(() => parseQueryParameters({ accountType: '1,2' }, 'accountType=1&accountType=2', tokensOfAccount))).toBe(
      'query parameter "accountType" is given more than once; give it once',
    );
    expect(parseQueryParameters({ accountType: '1,2' }, 'accountType=1%2C2', tokensOfAccount)).toEqual({ accountType: '1,2' });
  });

  it('a route taking several parameters lists them all', () => {
    expect(rejection(() => parseQueryParameters({ c: '1' }, 'c=1', ['a', 'b'] as const))).toBe(
      'unknown query parameter "c" (this route takes only a, b)',
    );
  });

  it('does not read a parameter off the prototype', () => {
    expect(parseQueryParameters({}, '', ['toString'] as const)).toEqual({});
  });
});

describe('parseAccountPath', () => {
  it.each([
    ['926%40126.com', '926@126.com'],
    ['%2B8613711112222', '+8613711112222'],
    ['%E7%94%A8%E6%88%B7', '用户'],
    ['a%2Fb', 'a/b'],
    ['a+b', 'a+b'],
    ['926@126.com', '926@126.com'],
  ])('URL-decodes %s to %s', (raw, decoded) => {
    expect(parseAccountPath(raw, undefined)).toEqual({ kind: 'accounts', items: [{ account: decoded, accountType: 0 }] });
  });

  it.each(['100%', '%E0%A4%A', '50%off', '%zz', '%'])('keeps a malformed escape %s as it is', (raw) => {
    expect(parseAccountPath(raw, undefined).items).toEqual([{ account: raw, accountType: 0 }]);
  });

  it.each([
    ['0', 0],
    ['1', 1],
    ['1002', 1002],
    ['2147483647', 2_147_483_647],
  ])('accountType=%s', (param, type) => {
    expect(parseAccountPath('%2B8613711112222', param).items).toEqual([{ account: '+8613711112222', accountType: type }]);
  });

  it.each(['-1', '1.5', '1e3', 'abc', '', ' 1', '0x10', '2147483648', '99999999999', 'NaN'])('rejects accountType=%j', (param) => {
    expect(rejection(() => parseAccountPath('a', param))).toMatch(/accountType/);
  });

  it('applies the length limit to the decoded account', () => {
    expect(parseAccountPath('%41'.repeat(256), undefined).items).toEqual([{ account: 'A'.repeat(256), accountType: 0 }]);
    expect(rejection(() => parseAccountPath('a'.repeat(257), undefined))).toMatch(/at most 256/);
  });

  it.each([
    ['an empty', ''],
    ['a missing', undefined],
    ['an over-long', 'a'.repeat(257)],
  ])('rejects %s account with a message about the account, not "body"', (_, raw) => {
    const text = rejection(() => parseAccountPath(raw, undefined));
    expect(text).toMatch(/account/);
    // A path parameter is not "the body": the detail must point at the account in the path.
    expect(text).not.toMatch(/\bbody\b/);
  });
});

describe('parseTokenPath', () => {
  it.each([
    ['abc%2Fdef', 'abc/def'],
    ['t%3D%3D', 't=='],
    ['plain', 'plain'],
  ])('URL-decodes %s', (raw, decoded) => {
    expect(parseTokenPath(raw)).toEqual({ kind: 'tokens', items: [decoded] });
  });

  it.each(['%', '100%', '%E0%A4%A'])('keeps a malformed escape %s as it is', (raw) => {
    expect(parseTokenPath(raw).items).toEqual([raw]);
  });

  it('rejects over-long tokens', () => {
    expect(rejection(() => parseTokenPath('t'.repeat(257)))).toMatch(/at most 256/);
  });

  it.each([
    ['an empty', ''],
    ['a missing', undefined],
    ['an over-long', 't'.repeat(257)],
  ])('rejects %s token with a message about the token, not "body"', (_, raw) => {
    const text = rejection(() => parseTokenPath(raw));
    expect(text).toMatch(/token/);
    expect(text).not.toMatch(/\bbody\b/);
  });
});

describe('errors are ProblemErrors', () => {
  it('InvalidRequestError is a ProblemError with status 400', () => {
    let error: unknown;
    try {
      parseQueryBody({});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProblemError);
    expect((error as ProblemError).status).toBe(400);
  });
});

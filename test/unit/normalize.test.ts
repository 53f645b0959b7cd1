import { describe, expect, it } from 'vitest';
import { type AccountKey, alignEntries, normalizeAccountTokens, normalizeTokenAccounts } from '../../functions/core/normalize.ts';
import { parseQueryBody } from '../../functions/core/request.ts';
import { parseQueryResponse, type TpnsQueryResponse } from '../../functions/core/tpns/client.ts';
import { fixture, fixtureText } from './_fixtures.ts';

/** A TPNS answer as text, through the client's parser, as production sees it. */
const answer = (body: unknown, itemCount: number): TpnsQueryResponse =>
  parseQueryResponse(200, typeof body === 'string' ? body : JSON.stringify(body), itemCount, 'guangzhou');

const accountsOf = (body: unknown): AccountKey[] => {
  const query = parseQueryBody(body);
  if (query.kind !== 'accounts') throw new Error('not an accounts query');
  return query.items;
};

const tokensOf = (body: unknown): string[] => {
  const query = parseQueryBody(body);
  if (query.kind !== 'tokens') throw new Error('not a tokens query');
  return query.items;
};

describe('seed responses, verbatim, through parseQueryResponse + normalize', () => {
  it('old shape (English page): tokens by account', () => {
    const items = accountsOf(fixture('seed-en-request-accounts.json'));
    const response = answer(fixtureText('seed-en-response-accounts.json'), items.length);
    expect(response.codes).toEqual([0, 0]);
    expect(response.tokenAccounts).toEqual([]); // sibling field absent
    expect(normalizeAccountTokens(items, response)).toEqual([
      { account: 'account1', accountType: 0, status: 'ok', tokens: ['token1', 'token2'] },
      { account: 'account2', accountType: 0, status: 'ok', tokens: ['token2', 'token3'] },
    ]);
  });

  it('old shape (English page): accounts by token, without accountType or boundAt', () => {
    const tokens = tokensOf(fixture('seed-en-request-tokens.json'));
    const response = answer(fixtureText('seed-en-response-tokens.json'), tokens.length);
    expect(response.accountTokens).toEqual([]);
    const normalized = normalizeTokenAccounts(tokens, response);
    expect(normalized).toEqual([
      { token: 'token1', status: 'ok', accounts: [{ account: '926@126.com' }, { account: '1527000000' }] },
      { token: 'token2', status: 'ok', accounts: [{ account: '926@163.com' }, { account: '1527000001' }] },
    ]);
    for (const bound of normalized.flatMap((entry) => entry.accounts)) {
      expect(bound).not.toHaveProperty('accountType');
      expect(bound).not.toHaveProperty('boundAt');
    }
  });

  it('new shape (Chinese page): tokens by account; account2 asked with type 1 and echoed as 0 still aligns', () => {
    const items = accountsOf(fixture('seed-zh-request-accounts.json'));
    expect(items).toEqual([
      { account: 'account1', accountType: 0 },
      { account: 'account2', accountType: 1 },
    ]);
    const response = answer(fixtureText('seed-zh-response-accounts.json'), items.length);
    expect(response.tokenAccounts).toEqual([]); // sibling field null
    expect(normalizeAccountTokens(items, response)).toEqual([
      { account: 'account1', accountType: 0, status: 'ok', tokens: ['token1', 'token2'] },
      // the type the caller asked for, not TPNS's echo
      { account: 'account2', accountType: 1, status: 'ok', tokens: ['token2', 'token3'] },
    ]);
  });

  it('new shape (Chinese page): accounts by token, with accountType and boundAt', () => {
    const tokens = tokensOf(fixture('seed-zh-request-tokens.json'));
    const response = answer(fixtureText('seed-zh-response-tokens.json'), tokens.length);
    expect(response.accountTokens).toEqual([]);
    expect(normalizeTokenAccounts(tokens, response)).toEqual([
      {
        token: 'token1',
        status: 'ok',
        accounts: [
          { account: '926@126.com', accountType: 0, boundAt: '2023-08-10T08:31:11.000Z' },
          { account: '1527000000', accountType: 0, boundAt: '2023-08-10T08:31:12.000Z' },
        ],
      },
      {
        token: 'token2',
        status: 'ok',
        accounts: [
          { account: '926@163.com', accountType: 0, boundAt: '2023-08-10T08:31:11.000Z' },
          { account: '1527000001', accountType: 0, boundAt: '2023-08-10T08:31:11.000Z' },
        ],
      },
    ]);
  });

  it('the old-shape tokens response read as an accounts query gives empty lists, not a crash', () => {
    const items = accountsOf({ accounts: ['token1', 'token2'] });
    const response = answer(fixtureText('seed-en-response-tokens.json'), 2);
    expect(normalizeAccountTokens(items, response).map((entry) => entry.tokens)).toEqual([[], []]);
  });
});

describe('per-item codes', () => {
  // Computed inside each test, not while the file is collected: a failure is that test's, and
  // mutation testing can tell which tests cover the code.
  const tokens = ['t0', 't1', 't2', 't3', 't4', 't5'];
  const normalized = () =>
    normalizeTokenAccounts(
      tokens,
      answer(
        {
          retCode: 0,
          errMsg: 'NO_ERROR',
          result: ['0', '10110008', '1008006', '1008029', '1008026', '1008004'],
          token_accounts: [{ token: 't0', account_list: [{ account: 'a', account_type: 0, timestamp: 1691656271 }] }],
        },
        tokens.length,
      ),
    );

  it('0 → ok without a code', () => {
    expect(normalized()[0]).toEqual({
      token: 't0',
      status: 'ok',
      accounts: [{ account: 'a', accountType: 0, boundAt: '2023-08-10T08:31:11.000Z' }],
    });
    expect(normalized()[0]).not.toHaveProperty('code');
  });

  it('10110008 → not_found with the code', () => {
    expect(normalized()[1]).toEqual({ token: 't1', status: 'not_found', code: 10110008, accounts: [] });
  });

  it('1008006 and 1008029 → invalid with the code', () => {
    expect(normalized()[2]).toEqual({ token: 't2', status: 'invalid', code: 1008006, accounts: [] });
    expect(normalized()[3]).toEqual({ token: 't3', status: 'invalid', code: 1008029, accounts: [] });
  });

  it('any other code → error with the code', () => {
    expect(normalized()[4]).toEqual({ token: 't4', status: 'error', code: 1008026, accounts: [] });
    expect(normalized()[5]).toEqual({ token: 't5', status: 'error', code: 1008004, accounts: [] });
  });

  it('numeric codes in result are accepted too', () => {
    const r = answer({ retCode: 0, result: [0, 10110008], account_tokens: [{ account: 'a', token_list: ['t'] }] }, 2);
    expect(
      normalizeAccountTokens(
        [
          { account: 'a', accountType: 0 },
          { account: 'b', accountType: 0 },
        ],
        r,
      ),
    ).toEqual([
      { account: 'a', accountType: 0, status: 'ok', tokens: ['t'] },
      { account: 'b', accountType: 0, status: 'not_found', code: 10110008, tokens: [] },
    ]);
  });

  it('the same codes apply to accounts', () => {
    const items: AccountKey[] = [
      { account: 'a', accountType: 0 },
      { account: 'zz', accountType: 0 },
      { account: 'x', accountType: 5 },
    ];
    const r = answer(
      { retCode: 0, errMsg: 'ok', result: ['0', '10110008', '1008007'], account_tokens: [{ account: 'a', token_list: ['t1', 't2'] }] },
      3,
    );
    expect(normalizeAccountTokens(items, r)).toEqual([
      { account: 'a', accountType: 0, status: 'ok', tokens: ['t1', 't2'] },
      { account: 'zz', accountType: 0, status: 'not_found', code: 10110008, tokens: [] },
      { account: 'x', accountType: 5, status: 'error', code: 1008007, tokens: [] },
    ]);
  });
});

describe('unbound items: omitted, or present with an empty or null list', () => {
  const items: AccountKey[] = [
    { account: 'a1', accountType: 0 },
    { account: 'zz', accountType: 0 },
    { account: 'a3', accountType: 0 },
  ];
  const expected = [
    { account: 'a1', accountType: 0, status: 'ok', tokens: ['t1'] },
    { account: 'zz', accountType: 0, status: 'not_found', code: 10110008, tokens: [] },
    { account: 'a3', accountType: 0, status: 'ok', tokens: ['t3', 't4'] },
  ];
  const result = ['0', '10110008', '0'];

  it('not-found entry omitted: later entries do not shift onto it', () => {
    const r = answer(
      {
        retCode: 0,
        result,
        account_tokens: [
          { account: 'a1', token_list: ['t1'] },
          { account: 'a3', token_list: ['t3', 't4'] },
        ],
      },
      3,
    );
    expect(normalizeAccountTokens(items, r)).toEqual(expected);
  });

  it.each([
    ['an empty list', []],
    ['a null list', null],
  ])('not-found entry present with %s', (_, list) => {
    const r = answer(
      {
        retCode: 0,
        result,
        account_tokens: [
          { account: 'a1', token_list: ['t1'] },
          { account: 'zz', token_list: list },
          { account: 'a3', token_list: ['t3', 't4'] },
        ],
      },
      3,
    );
    expect(normalizeAccountTokens(items, r)).toEqual(expected);
  });

  it('not-found entry present without a token_list at all', () => {
    const r = answer(
      {
        retCode: 0,
        result,
        account_tokens: [{ account: 'a1', token_list: ['t1'] }, { account: 'zz' }, { account: 'a3', token_list: ['t3', 't4'] }],
      },
      3,
    );
    expect(normalizeAccountTokens(items, r)).toEqual(expected);
  });

  it('an ok item that TPNS lists with a null token_list has no tokens', () => {
    const r = answer({ retCode: 0, result: ['0'], account_tokens: [{ account: 'a1', token_list: null }] }, 1);
    expect(normalizeAccountTokens([items[0]!], r)).toEqual([{ account: 'a1', accountType: 0, status: 'ok', tokens: [] }]);
  });

  it('an ok item that TPNS omits has no tokens', () => {
    const r = answer({ retCode: 0, result: ['0', '0'], account_tokens: [{ account: 'a3', token_list: ['t3'] }] }, 2);
    expect(normalizeAccountTokens([items[0]!, items[2]!], r)).toEqual([
      { account: 'a1', accountType: 0, status: 'ok', tokens: [] },
      { account: 'a3', accountType: 0, status: 'ok', tokens: ['t3'] },
    ]);
  });

  it('tokens: null account_list, absent account_list and omitted entries', () => {
    const tokens = ['t1', 't2', 't3', 't4'];
    const r = answer(
      {
        retCode: 0,
        errMsg: 'NO_ERROR',
        result: ['0', '0', '10110008', '0'],
        account_tokens: null,
        token_accounts: [{ token: 't1', account_list: null }, { token: 't2' }, { token: 't4', account_list: [{ account: 'x' }] }],
      },
      4,
    );
    expect(normalizeTokenAccounts(tokens, r)).toEqual([
      { token: 't1', status: 'ok', accounts: [] },
      { token: 't2', status: 'ok', accounts: [] },
      { token: 't3', status: 'not_found', code: 10110008, accounts: [] },
      { token: 't4', status: 'ok', accounts: [{ account: 'x' }] },
    ]);
  });

  it('everything not found and both lists null', () => {
    const r = answer({ retCode: 0, errMsg: 'NO_ERROR', result: ['10110008', '10110008'], account_tokens: null, token_accounts: null }, 2);
    expect(normalizeTokenAccounts(['a', 'b'], r)).toEqual([
      { token: 'a', status: 'not_found', code: 10110008, accounts: [] },
      { token: 'b', status: 'not_found', code: 10110008, accounts: [] },
    ]);
  });
});

describe('the same account under two types', () => {
  const items = (): AccountKey[] => accountsOf({ accounts: ['a', { account: 'a', accountType: 1005 }] });

  it('old shape (no account_type): matched by position', () => {
    const r = answer(
      {
        retCode: 0,
        errMsg: 'ok',
        result: ['0', '0'],
        account_tokens: [
          { account: 'a', token_list: ['t0'] },
          { account: 'a', token_list: ['t1005'] },
        ],
      },
      2,
    );
    expect(normalizeAccountTokens(items(), r)).toEqual([
      { account: 'a', accountType: 0, status: 'ok', tokens: ['t0'] },
      { account: 'a', accountType: 1005, status: 'ok', tokens: ['t1005'] },
    ]);
  });

  it('new shape echoing account_type 0 for both: still by position, never by type', () => {
    const r = answer(
      {
        retCode: 0,
        errMsg: 'NO_ERROR',
        result: ['0', '0'],
        account_tokens: [
          { account: 'a', account_type: 0, token_list: ['t0'] },
          { account: 'a', account_type: 0, token_list: ['t1005'] },
        ],
        token_accounts: null,
      },
      2,
    );
    expect(normalizeAccountTokens(items(), r).map((entry) => entry.tokens)).toEqual([['t0'], ['t1005']]);
  });

  it('first type not found and omitted: the single entry goes to the second', () => {
    const r = answer({ retCode: 0, result: ['10110008', '0'], account_tokens: [{ account: 'a', token_list: ['t1005'] }] }, 2);
    expect(normalizeAccountTokens(items(), r)).toEqual([
      { account: 'a', accountType: 0, status: 'not_found', code: 10110008, tokens: [] },
      { account: 'a', accountType: 1005, status: 'ok', tokens: ['t1005'] },
    ]);
  });

  it('first type not found but listed, empty: every entry stays in its position', () => {
    const r = answer(
      {
        retCode: 0,
        result: ['10110008', '0'],
        account_tokens: [
          { account: 'a', token_list: [] },
          { account: 'a', token_list: ['t1005'] },
        ],
      },
      2,
    );
    expect(normalizeAccountTokens(items(), r)).toEqual([
      { account: 'a', accountType: 0, status: 'not_found', code: 10110008, tokens: [] },
      { account: 'a', accountType: 1005, status: 'ok', tokens: ['t1005'] },
    ]);
  });

  it('second type not found and omitted: the single entry goes to the first', () => {
    const r = answer({ retCode: 0, result: ['0', '10110008'], account_tokens: [{ account: 'a', token_list: ['t0'] }] }, 2);
    expect(normalizeAccountTokens(items(), r)).toEqual([
      { account: 'a', accountType: 0, status: 'ok', tokens: ['t0'] },
      { account: 'a', accountType: 1005, status: 'not_found', code: 10110008, tokens: [] },
    ]);
  });
});

describe('entry and value hygiene', () => {
  it('drops entries without a string key and non-string tokens', () => {
    const r = answer(
      {
        retCode: 0,
        result: ['0'],
        account_tokens: [
          null,
          7,
          'a',
          { token_list: ['zz'] },
          { account: 5, token_list: ['yy'] },
          { account: 'a', token_list: ['t1', 2, null, 't2', { t: 3 }] },
        ],
      },
      1,
    );
    expect(r.accountTokens).toHaveLength(1);
    expect(normalizeAccountTokens([{ account: 'a', accountType: 0 }], r)).toEqual([
      { account: 'a', accountType: 0, status: 'ok', tokens: ['t1', 't2'] },
    ]);
  });

  it('a token_list that is not an array gives no tokens', () => {
    const r = answer({ retCode: 0, result: ['0'], account_tokens: [{ account: 'a', token_list: 't1' }] }, 1);
    expect(normalizeAccountTokens([{ account: 'a', accountType: 0 }], r)[0]!.tokens).toEqual([]);
  });

  it('bound accounts: malformed ones dropped, unusable account_type/timestamp omitted', () => {
    const r = answer(
      {
        retCode: 0,
        result: ['0'],
        token_accounts: [
          {
            token: 't',
            account_list: [
              null,
              'plain',
              { account_type: 0 },
              { account: 1 },
              { account: 'ok', account_type: 1005, timestamp: 1 },
              { account: 'str-type', account_type: '0', timestamp: '1691656271' },
              { account: 'zero-time', timestamp: 0 },
              { account: 'negative-time', timestamp: -5 },
              { account: 'huge-time', timestamp: 1e20 },
              { account: 'nan-time', timestamp: null },
            ],
          },
        ],
      },
      1,
    );
    expect(normalizeTokenAccounts(['t'], r)[0]!.accounts).toEqual([
      { account: 'ok', accountType: 1005, boundAt: '1970-01-01T00:00:01.000Z' },
      { account: 'str-type' },
      { account: 'zero-time' },
      { account: 'negative-time' },
      { account: 'huge-time' },
      { account: 'nan-time' },
    ]);
  });

  it('an account_list that is an object is no accounts', () => {
    const r = answer({ retCode: 0, result: ['0'], token_accounts: [{ token: 't', account_list: { account: 'x' } }] }, 1);
    expect(normalizeTokenAccounts(['t'], r)[0]!.accounts).toEqual([]);
  });

  it('entries are matched by key, so a reordered answer is put back in request order', () => {
    const r = answer(
      {
        retCode: 0,
        result: ['0', '0', '0'],
        token_accounts: [
          { token: 'c', account_list: [{ account: 'C' }] },
          { token: 'a', account_list: [{ account: 'A' }] },
          { token: 'b', account_list: [{ account: 'B' }] },
        ],
      },
      3,
    );
    expect(normalizeTokenAccounts(['a', 'b', 'c'], r).map((entry) => entry.accounts[0]!.account)).toEqual(['A', 'B', 'C']);
  });

  it('an entry for an item that was not asked is ignored', () => {
    const r = answer({ retCode: 0, result: ['0'], token_accounts: [{ token: 'other', account_list: [{ account: 'X' }] }] }, 1);
    expect(normalizeTokenAccounts(['t'], r)).toEqual([{ token: 't', status: 'ok', accounts: [] }]);
  });
});

describe('alignEntries', () => {
  const key = (entry: { k: string }) => entry.k;
  const e = (k: string, n: number) => ({ k, n });

  it('positional when every entry matches its item: the list itself, not a copy (issue 11: one less array per chunk)', () => {
    const entries = [e('a', 1), e('b', 2), e('a', 3)];
    expect(alignEntries(['a', 'b', 'a'], [0, 0, 0], entries, key)).toBe(entries);
  });

  it('positional even for non-ok items when TPNS lists every item', () => {
    expect(alignEntries(['a', 'b'], [10110008, 0], [e('a', 1), e('b', 2)], key)).toEqual([e('a', 1), e('b', 2)]);
  });

  it('entries for the ok items only, in order', () => {
    expect(alignEntries(['a', 'b', 'c', 'd'], [0, 10110008, 1008006, 0], [e('a', 1), e('d', 2)], key)).toEqual([
      e('a', 1),
      undefined,
      undefined,
      e('d', 2),
    ]);
  });

  it('entries for the ok items only: one slot per item, trailing items without an entry included', () => {
    const aligned = alignEntries(['a', 'b', 'c'], [0, 10110008, 10110008], [e('a', 1)], key);
    expect(aligned).toHaveLength(3);
    expect(aligned).toEqual([e('a', 1), undefined, undefined]);
  });

  it('ok-only entries where the same key is asked twice and only the second is ok', () => {
    expect(alignEntries(['a', 'a'], [10110008, 0], [e('a', 9)], key)).toEqual([undefined, e('a', 9)]);
  });

  it('by key in order when the order differs', () => {
    expect(alignEntries(['a', 'b', 'c'], [0, 10110008, 0], [e('c', 1), e('b', 2), e('a', 3)], key)).toEqual([
      e('a', 3),
      e('b', 2),
      e('c', 1),
    ]);
  });

  it('by key: repeated keys are taken in order of appearance', () => {
    expect(alignEntries(['a', 'b', 'a'], [0, 0, 0], [e('a', 1), e('a', 2), e('b', 3)], key)).toEqual([e('a', 1), e('b', 3), e('a', 2)]);
  });

  it('by key: ok items claim entries before non-ok items with the same key', () => {
    // a not-found "a" listed first must not steal the entry of the ok "a"
    expect(alignEntries(['a', 'x', 'a'], [10110008, 0, 0], [e('a', 1), e('x', 2)], key)).toEqual([undefined, e('x', 2), e('a', 1)]);
  });

  it('by key: non-ok items take what is left', () => {
    expect(alignEntries(['b', 'a'], [10110008, 0], [e('a', 1), e('b', 2), e('z', 3)], key)).toEqual([e('b', 2), e('a', 1)]);
  });

  it('no entry matches: all undefined, same length as the items', () => {
    expect(alignEntries(['a', 'b'], [0, 0], [e('x', 1), e('y', 2)], key)).toEqual([undefined, undefined]);
  });

  it('no entries at all', () => {
    expect(alignEntries(['a', 'b'], [0, 10110008], [], key)).toEqual([undefined, undefined]);
  });

  it('more entries than items (duplicates from TPNS) does not lengthen the answer', () => {
    const aligned = alignEntries(['a'], [0], [e('a', 1), e('a', 2)], key);
    expect(aligned).toEqual([e('a', 1)]);
  });
});

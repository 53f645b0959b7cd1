import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AppItems, mergeAccounts, mergeTokens } from '../../functions/core/merge.ts';
import type { AccountTokens, BoundAccount, TokenAccounts } from '../../functions/core/normalize.ts';
import type { ItemStatus } from '../../functions/core/tpns/codes.ts';

/**
 * The merge of several apps' answers to one item (issue 10): the statuses of every combination of
 * per-app answers, the union of bindings, and each app's own entry.
 */

const STATUSES: readonly ItemStatus[] = ['ok', 'not_found', 'invalid', 'error'];
/** What an app answers per status: the code TPNS gives, and for a failure the reason. */
const OUTCOMES = {
  ok: {},
  not_found: { code: 10110008 },
  invalid: { code: 1008006 },
  error: { code: 1008031, reason: 'app_unavailable' },
} as const;

const accountAnswer = (app: string, status: ItemStatus): AccountTokens => ({
  account: 'a1',
  accountType: 0,
  status,
  ...OUTCOMES[status],
  tokens: status === 'ok' ? [`${app}-token`] : [],
});

/** Every combination of per-app statuses for `apps` apps. */
const combinations = (apps: number): ItemStatus[][] =>
  apps === 0 ? [[]] : combinations(apps - 1).flatMap((rest) => STATUSES.map((status) => [...rest, status]));

/** The rule, spelled out: ok if any app answered ok; else error if any failed; else invalid if any said so; else not_found. */
const expectedStatus = (statuses: readonly ItemStatus[]): ItemStatus =>
  statuses.includes('ok') ? 'ok' : statuses.includes('error') ? 'error' : statuses.includes('invalid') ? 'invalid' : 'not_found';

describe('the item status over every combination of per-app statuses', () => {
  const cases = [...combinations(2), ...combinations(3)];

  it.each(cases.map((statuses) => [statuses.join(' + '), statuses] as const))('%s', (_name, statuses) => {
    const apps = statuses.map((_, i) => `app${i}`);
    const [item] = mergeAccounts(apps.map((app, i) => ({ app, items: [accountAnswer(app, statuses[i] as ItemStatus)] })));
    const status = expectedStatus(statuses);
    expect(item).toEqual({
      account: 'a1',
      accountType: 0,
      status,
      ...OUTCOMES[status],
      tokens: apps.filter((_, i) => statuses[i] === 'ok').map((app) => `${app}-token`),
      apps: apps.map((app, i) => {
        const { account: _a, accountType: _t, ...entry } = accountAnswer(app, statuses[i] as ItemStatus);
        return { app, ...entry };
      }),
    });
  });

  it('not_found only when every app says so, with TPNS code 10110008', () => {
    const [item] = mergeAccounts(['android', 'ios'].map((app) => ({ app, items: [accountAnswer(app, 'not_found')] })));
    expect(item).toMatchObject({ status: 'not_found', code: 10110008, tokens: [] });
  });

  it('the code and reason on top come from the first failing app, in app order', () => {
    const failing = (code: number, reason: 'timeout' | 'credentials_rejected'): AccountTokens => ({
      account: 'a1',
      accountType: 0,
      status: 'error',
      code,
      reason,
      tokens: [],
    });
    const [item] = mergeAccounts([
      { app: 'android', items: [accountAnswer('android', 'not_found')] },
      { app: 'ios', items: [failing(1008003, 'credentials_rejected')] },
      { app: 'web', items: [failing(1008004, 'timeout')] },
    ]);
    expect(item).toMatchObject({ status: 'error', code: 1008003, reason: 'credentials_rejected' });
  });
});

describe('bindings: the union on top, each app its own in `apps`', () => {
  it('tokens: in app order, each once, and the key order of the answer', () => {
    const perApp: AppItems<AccountTokens>[] = [
      { app: 'android', items: [{ account: 'a1', accountType: 0, status: 'ok', tokens: ['t1', 't2'] }] },
      { app: 'ios', items: [{ account: 'a1', accountType: 0, status: 'ok', tokens: ['t9', 't1'] }] },
    ];
    const [item] = mergeAccounts(perApp);
    expect(JSON.stringify(item)).toBe(
      JSON.stringify({
        account: 'a1',
        accountType: 0,
        status: 'ok',
        tokens: ['t1', 't2', 't9'],
        apps: [
          { app: 'android', status: 'ok', tokens: ['t1', 't2'] },
          { app: 'ios', status: 'ok', tokens: ['t9', 't1'] },
        ],
      }),
    );
  });

  const token = (status: ItemStatus, accounts: BoundAccount[] = []): TokenAccounts => ({
    token: 't9',
    status,
    ...OUTCOMES[status],
    accounts,
  });

  it("a token known to exactly one app names it on top (the issue's example, key for key)", () => {
    const [item] = mergeTokens([
      { app: 'android', items: [token('not_found')] },
      { app: 'ios', items: [token('ok', [{ account: 'a1', accountType: 0 }])] },
    ]);
    expect(JSON.stringify(item)).toBe(
      JSON.stringify({
        token: 't9',
        status: 'ok',
        app: 'ios',
        accounts: [{ account: 'a1', accountType: 0 }],
        apps: [
          { app: 'android', status: 'not_found', code: 10110008, accounts: [] },
          { app: 'ios', status: 'ok', accounts: [{ account: 'a1', accountType: 0 }] },
        ],
      }),
    );
  });

  it('no top-level app when no app, or more than one, knows the token', () => {
    const none = mergeTokens([
      { app: 'android', items: [token('not_found')] },
      { app: 'ios', items: [token('error')] },
    ]);
    const both = mergeTokens([
      { app: 'android', items: [token('ok', [{ account: 'a1', accountType: 0 }])] },
      { app: 'ios', items: [token('ok', [{ account: 'a2', accountType: 0 }])] },
    ]);
    expect(none[0]).not.toHaveProperty('app');
    expect(both[0]).not.toHaveProperty('app');
    expect(both[0]?.accounts).toEqual([
      { account: 'a1', accountType: 0 },
      { account: 'a2', accountType: 0 },
    ]);
  });

  it('property: the union holds every binding of every app once, first appearance first, and items stay in query order', () => {
    const tokenList = fc.array(fc.constantFrom('t1', 't2', 't3', 't4', 't5'), { maxLength: 5 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.array(fc.array(tokenList)), (apps, items, lists) => {
        const perApp = Array.from({ length: apps }, (_, a) => ({
          app: `app${a}`,
          items: Array.from(
            { length: items },
            (_, i): AccountTokens => ({ account: `a${i}`, accountType: i, status: 'ok', tokens: lists[a]?.[i] ?? [] }),
          ),
        }));
        const merged = mergeAccounts(perApp);
        expect(merged.map(({ account, accountType }) => ({ account, accountType }))).toEqual(
          perApp[0]?.items.map(({ account, accountType }) => ({ account, accountType })),
        );
        merged.forEach((item, i) => {
          const all = perApp.flatMap(({ items }) => items[i]?.tokens ?? []);
          expect(item.tokens).toEqual(all.filter((t, at) => all.indexOf(t) === at));
          expect(item.apps?.map(({ app, tokens }) => ({ app, tokens }))).toEqual(
            perApp.map(({ app, items }) => ({ app, tokens: items[i]?.tokens })),
          );
        });
      }),
    );
  });
});

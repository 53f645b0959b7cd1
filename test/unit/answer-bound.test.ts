import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeAccounts, mergeTokens } from '../../functions/core/merge.ts';
import type { AccountTokens, TokenAccounts } from '../../functions/core/normalize.ts';
import { AnswerBound } from '../../functions/core/query/answer-bound.ts';

const id = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });
const status = fc.constantFrom('ok', 'not_found', 'error') as fc.Arbitrary<'ok' | 'not_found' | 'error'>;
const apps = fc.constantFrom(['default'], ['android', 'ios']);
const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('AnswerBound: a lower bound of the answer, however its items and apps come out', () => {
  it('accounts: never more than the bytes of the answer built from the same answers, single-app or merged', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(id, { minLength: 1, maxLength: 8 }),
        apps,
        fc.array(fc.array(id, { maxLength: 4 })),
        status,
        (accounts, names, tokenLists, itemStatus) => {
          const items = accounts.map((account) => ({ account, accountType: 0 }));
          const bound = new AnswerBound({ kind: 'accounts', items }, Number.POSITIVE_INFINITY);
          const perApp = names.map((app, a) => {
            const answers: AccountTokens[] = items.map((item, i) => ({
              ...item,
              status: itemStatus,
              tokens: tokenLists[(a + i) % (tokenLists.length || 1)] ?? [],
            }));
            bound.add('accounts', answers);
            return { app, items: answers };
          });
          const answer = perApp.length > 1 ? mergeAccounts(perApp) : perApp[0]!.items;
          expect(bound.atLeastBytes).toBeLessThanOrEqual(bytes({ accounts: answer }));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('tokens: never more than the bytes of the answer built from the same answers, single-app or merged', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(id, { minLength: 1, maxLength: 8 }),
        apps,
        fc.array(fc.array(id, { maxLength: 4 })),
        status,
        (tokens, names, accountLists, itemStatus) => {
          const bound = new AnswerBound({ kind: 'tokens', items: tokens }, Number.POSITIVE_INFINITY);
          const perApp = names.map((app, a) => {
            const answers: TokenAccounts[] = tokens.map((token, i) => ({
              token,
              status: itemStatus,
              accounts: (accountLists[(a + i) % (accountLists.length || 1)] ?? []).map((account) => ({ account })),
            }));
            bound.add('tokens', answers);
            return { app, items: answers };
          });
          const answer = perApp.length > 1 ? mergeTokens(perApp) : perApp[0]!.items;
          expect(bound.atLeastBytes).toBeLessThanOrEqual(bytes({ tokens: answer }));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('is exceeded only past maxBytes', () => {
    const bound = new AnswerBound({ kind: 'tokens', items: ['t1', 't2'] }, 10);
    expect(bound.exceeded).toBe(false);
    bound.add('tokens', [{ token: 't1', status: 'ok', accounts: [{ account: 'abcdef' }] }]);
    expect(bound.atLeastBytes).toBe(10);
    expect(bound.exceeded).toBe(false);
    bound.add('tokens', [{ token: 't2', status: 'ok', accounts: [{ account: 'g' }] }]);
    expect(bound.exceeded).toBe(true);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeAccounts, mergeTokens } from '../../functions/core/merge.ts';
import type { AccountTokens, TokenAccounts } from '../../functions/core/normalize.ts';
import { AnswerBound } from '../../functions/core/query/answer-bound.ts';

const id = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });
type ItemStatus = 'ok' | 'not_found' | 'error';
const status = fc.constantFrom<ItemStatus>('ok', 'not_found', 'error');
const apps = fc.constantFrom(['default'], ['android', 'ios']);
const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** Each app's answers to `ids` (bindings drawn from `lists`), added to a bound; the answer built from them. */
const boundAndAnswer = (
  kind: 'accounts' | 'tokens',
  ids: string[],
  names: readonly string[],
  lists: string[][],
  itemStatus: ItemStatus,
) => {
  const bindingsOf = (a: number, i: number) => lists[(a + i) % (lists.length || 1)] ?? [];
  if (kind === 'accounts') {
    const items = ids.map((account) => ({ account, accountType: 0 }));
    const bound = new AnswerBound({ kind, items }, Number.POSITIVE_INFINITY);
    const perApp = names.map((app, a) => {
      const answers: AccountTokens[] = items.map((item, i) => ({ ...item, status: itemStatus, tokens: bindingsOf(a, i) }));
      bound.add(kind, answers);
      return { app, items: answers };
    });
    return { bound, answer: { accounts: perApp.length > 1 ? mergeAccounts(perApp) : perApp[0]?.items } };
  }
  const bound = new AnswerBound({ kind, items: ids }, Number.POSITIVE_INFINITY);
  const perApp = names.map((app, a) => {
    const answers: TokenAccounts[] = ids.map((token, i) => ({
      token,
      status: itemStatus,
      accounts: bindingsOf(a, i).map((account) => ({ account })),
    }));
    bound.add(kind, answers);
    return { app, items: answers };
  });
  return { bound, answer: { tokens: perApp.length > 1 ? mergeTokens(perApp) : perApp[0]?.items } };
};

describe('AnswerBound: a lower bound of the answer, however its items and apps come out', () => {
  it.each(['accounts', 'tokens'] as const)(
    '%s: never more than the bytes of the answer built from the same answers, single-app or merged',
    (kind) => {
      fc.assert(
        fc.property(
          fc.uniqueArray(id, { minLength: 1, maxLength: 8 }),
          apps,
          fc.array(fc.array(id, { maxLength: 4 })),
          status,
          (ids, names, lists, itemStatus) => {
            const { bound, answer } = boundAndAnswer(kind, ids, names, lists, itemStatus);
            expect(bound.atLeastBytes).toBeLessThanOrEqual(bytes(answer));
          },
        ),
        { numRuns: 500 },
      );
    },
  );

  it('counts each id once and each binding of each app once, in UTF-16 units', () => {
    const bound = new AnswerBound({ kind: 'accounts', items: [{ account: 'acc', accountType: 0 }] }, 100);
    expect(bound.atLeastBytes).toBe(3);
    const answers: AccountTokens[] = [{ account: 'acc', accountType: 0, status: 'ok', tokens: ['t1', 't22'] }];
    bound.add('accounts', answers);
    bound.add('accounts', answers); // a second app with the same tokens: they appear again, in its entry
    expect(bound.atLeastBytes).toBe(3 + 2 * (2 + 3));
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

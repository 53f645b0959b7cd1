import type { AccountTokens, AppEntry, BoundAccount, ItemOutcome, TokenAccounts } from './normalize.ts';
import type { ItemStatus } from './tpns/codes.ts';

/** Each queried app's answers to the same items, in the same order; apps in the secret's order. */
export interface AppItems<Item> {
  app: string;
  items: readonly Item[];
}

/** The item's status is the first of these that any app answered: one app's answer is enough, a failure says "maybe". */
const STATUS_PRECEDENCE: readonly ItemStatus[] = ['ok', 'error', 'invalid', 'not_found'];

/** The merged status, with the code and reason of the first app (in the secret's order) that answered it. */
const mergedOutcome = (entries: readonly ItemOutcome[]): ItemOutcome => {
  for (const status of STATUS_PRECEDENCE) {
    const first = entries.find((entry) => entry.status === status);
    if (first === undefined) continue;
    return {
      status,
      ...(first.code === undefined ? {} : { code: first.code }),
      ...(first.reason === undefined ? {} : { reason: first.reason }),
    };
  }
  throw new Error('an item with no app entries');
};

/** The item's outcome and bindings as one app's entry, in the answer's key order. */
const entryOf = <Bindings extends object>(app: string, { status, code, reason }: ItemOutcome, bindings: Bindings): AppEntry<Bindings> =>
  ({
    app,
    status,
    ...(code === undefined ? {} : { code }),
    ...(reason === undefined ? {} : { reason }),
    ...bindings,
  }) as AppEntry<Bindings>;

/** Each binding once, the first app's first. */
const union = <T>(lists: readonly (readonly T[])[], keyOf: (value: T) => string): T[] => {
  const seen = new Map<string, T>();
  for (const list of lists) for (const value of list) if (!seen.has(keyOf(value))) seen.set(keyOf(value), value);
  return [...seen.values()];
};

const accountKey = ({ account, accountType }: BoundAccount): string => `${accountType ?? ''}\u0000${account}`;

/** One item per queried account: every app's tokens (their union on top, each app's in `apps`). */
export const mergeAccounts = (perApp: readonly AppItems<AccountTokens>[]): AccountTokens[] =>
  (perApp[0]?.items ?? []).map(({ account, accountType }, i) => {
    const answers = perApp.map(({ app, items }) => ({ app, item: items[i] as AccountTokens }));
    return {
      account,
      accountType,
      ...mergedOutcome(answers.map(({ item }) => item)),
      tokens: union(
        answers.map(({ item }) => item.tokens),
        (token) => token,
      ),
      apps: answers.map(({ app, item }) => entryOf(app, item, { tokens: item.tokens })),
    };
  });

/** One item per queried token: every app's accounts, and `app` when exactly one app knows the token. */
export const mergeTokens = (perApp: readonly AppItems<TokenAccounts>[]): TokenAccounts[] =>
  (perApp[0]?.items ?? []).map(({ token }, i) => {
    const answers = perApp.map(({ app, items }) => ({ app, item: items[i] as TokenAccounts }));
    const knownBy = answers.filter(({ item }) => item.status === 'ok');
    return {
      token,
      ...mergedOutcome(answers.map(({ item }) => item)),
      ...(knownBy.length === 1 ? { app: (knownBy[0] as { app: string }).app } : {}),
      accounts: union(
        answers.map(({ item }) => item.accounts),
        accountKey,
      ),
      apps: answers.map(({ app, item }) => entryOf(app, item, { accounts: item.accounts })),
    };
  });

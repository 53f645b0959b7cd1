import type { TpnsAccountTokens, TpnsQueryResponse } from './tpns/client.ts';
import { type ItemStatus, itemStatus } from './tpns/codes.ts';
import type { FailureReason } from './tpns/failures.ts';
import type { Region } from './tpns/regions.ts';

export interface AccountKey {
  account: string;
  accountType: number;
}

export interface ItemOutcome {
  status: ItemStatus;
  /** The TPNS per-item (or whole-call) code, on every item that is not `ok`. */
  code?: number;
  reason?: FailureReason;
}

/** One app's answer for an item, in an answer over an `apps` secret (merge.ts). */
export type AppEntry<Bindings> = { app: string } & ItemOutcome & Bindings;

export interface AccountTokens extends ItemOutcome {
  account: string;
  accountType: number;
  tokens: string[];
  apps?: AppEntry<{ tokens: string[] }>[];
}

export interface BoundAccount {
  account: string;
  accountType?: number;
  boundAt?: string;
}

export interface TokenAccounts extends ItemOutcome {
  token: string;
  /** The one app that knows the token, when exactly one does (an `apps` secret). */
  app?: string;
  accounts: BoundAccount[];
  apps?: AppEntry<{ accounts: BoundAccount[] }>[];
}

const outcome = (code: number): ItemOutcome => {
  const status = itemStatus(code);
  return status === 'ok' ? { status } : { status, code };
};

/**
 * Pairs each queried item with its entry in TPNS's list. `result` is positional, but the
 * lists are not documented to be: an unknown item may be omitted or listed empty, and the old
 * response shape carries no account_type (the newer one may echo 0 for a typed query), so
 * entries are matched by position when that is consistent, else by key in order — never by type.
 */
export const alignEntries = <E>(
  keys: readonly string[],
  codes: readonly number[],
  entries: readonly E[],
  keyOf: (entry: E) => string,
): readonly (E | undefined)[] => {
  if (entries.length === keys.length && entries.every((entry, i) => keyOf(entry) === keys[i])) return entries;
  const okIndexes: number[] = [];
  for (let i = 0; i < codes.length; i++) if (codes[i] === 0) okIndexes.push(i);
  const aligned = new Array<E | undefined>(keys.length).fill(undefined);
  if (entries.length === okIndexes.length && entries.every((entry, j) => keyOf(entry) === keys[okIndexes[j] as number])) {
    okIndexes.forEach((i, j) => {
      aligned[i] = entries[j];
    });
    return aligned;
  }
  const byKey = new Map<string, E[]>();
  for (const entry of entries) {
    const queue = byKey.get(keyOf(entry));
    if (queue) queue.push(entry);
    else byKey.set(keyOf(entry), [entry]);
  }
  // Items TPNS answered "ok" claim entries first; the rest take what is left.
  for (const i of okIndexes) aligned[i] = byKey.get(keys[i] as string)?.shift();
  keys.forEach((key, i) => {
    if (codes[i] !== 0) aligned[i] = byKey.get(key)?.shift();
  });
  return aligned;
};

const isString = (value: unknown): value is string => typeof value === 'string';

/** TPNS's own list when it holds only strings, as it does (no copy per item); else its strings. */
const stringsOf = (list: unknown): string[] => {
  if (!Array.isArray(list)) return [];
  for (const value of list) if (!isString(value)) return list.filter(isString);
  return list;
};

/** TPNS listed one entry per item, in order (what it does): checked without building a list of keys. */
const listedInOrder = (items: readonly AccountKey[], entries: readonly TpnsAccountTokens[]): boolean => {
  if (entries.length !== items.length) return false;
  for (let i = 0; i < items.length; i++) if ((entries[i] as TpnsAccountTokens).account !== (items[i] as AccountKey).account) return false;
  return true;
};

export const normalizeAccountTokens = (items: readonly AccountKey[], response: TpnsQueryResponse): AccountTokens[] => {
  const { codes, accountTokens } = response;
  const entries = listedInOrder(items, accountTokens)
    ? accountTokens
    : alignEntries(
        items.map((item) => item.account),
        codes,
        accountTokens,
        (entry) => entry.account,
      );
  // Built whole, in a plain loop, not spread from outcome(): a 10,000-account answer makes 10,000 of these (issue 11).
  const answers = new Array<AccountTokens>(items.length);
  for (let i = 0; i < items.length; i++) {
    const { account, accountType } = items[i] as AccountKey;
    const code = codes[i] as number;
    const status = itemStatus(code);
    const tokens = stringsOf(entries[i]?.token_list);
    answers[i] = status === 'ok' ? { account, accountType, status, tokens } : { account, accountType, status, code, tokens };
  }
  return answers;
};

/** Beyond this, Date cannot represent the binding time; TPNS's value is then not a time. */
const MAX_UNIX_SECONDS = 8.64e12;

const boundAccount = (entry: unknown): BoundAccount | undefined => {
  if (entry === null || typeof entry !== 'object') return undefined;
  const { account, account_type: accountType, timestamp } = entry as Record<string, unknown>;
  if (typeof account !== 'string') return undefined;
  const bound: BoundAccount = { account };
  if (typeof accountType === 'number') bound.accountType = accountType;
  if (typeof timestamp === 'number' && timestamp > 0 && timestamp < MAX_UNIX_SECONDS) {
    bound.boundAt = new Date(timestamp * 1000).toISOString();
  }
  return bound;
};

export const normalizeTokenAccounts = (tokens: readonly string[], response: TpnsQueryResponse): TokenAccounts[] => {
  const entries = alignEntries(tokens, response.codes, response.tokenAccounts, (entry) => entry.token);
  return tokens.map((token, i) => {
    const list = entries[i]?.account_list;
    return {
      token,
      ...outcome(response.codes[i] as number),
      accounts: Array.isArray(list) ? list.map(boundAccount).filter((a): a is BoundAccount => a !== undefined) : [],
    };
  });
};

/**
 * Where the answer came from: the access point of a single-app secret, or of each queried app
 * (by name) whose access point is known, for an `apps` secret.
 */
export type AccessPoints = { region: Region } | { regions: Record<string, Region> };

/** A whole query's answer: every queried item, in order, and whether some chunk (or app) failed. */
export type QueryResult = { accessPoints: AccessPoints; partial: boolean } & (
  | { kind: 'accounts'; accounts: AccountTokens[] }
  | { kind: 'tokens'; tokens: TokenAccounts[] }
);

/** The answered items, whichever direction the query asked. */
export const itemsOf = (result: QueryResult): readonly (AccountTokens | TokenAccounts)[] =>
  result.kind === 'accounts' ? result.accounts : result.tokens;

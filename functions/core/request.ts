// zod/mini: the same validation as classic zod at a fraction of the bundle and cold-start cost.
import * as z from 'zod/mini';
import { type HTTP_ROUTES, REQUEST_LIMITS } from '../contract.ts';
import type { AccountKey } from './normalize.ts';
import { InvalidRequestError } from './problems.ts';

/** One validated lookup: distinct items, in the order first given. */
export type Query = { kind: 'accounts'; items: AccountKey[] } | { kind: 'tokens'; items: string[] };

/** C0 controls and DEL: no account or token holds them, and logs and terminals would act on them. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what it is for
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
const NOT_WHITESPACE = /\S/;

/**
 * Accounts and tokens, wherever they come from (bodies, paths, event details). Each check aborts, so an
 * id gets one message, the first that applies. zod counts a string's length in Unicode code points
 * (a surrogate pair is one), not in JavaScript's UTF-16 code units.
 */
const id = z.string({ error: 'must be a string' }).check(
  z.minLength(1, { error: 'must not be empty', abort: true }),
  z.maxLength(REQUEST_LIMITS.maxIdLength, {
    error: `must be at most ${REQUEST_LIMITS.maxIdLength} characters (Unicode code points)`,
    abort: true,
  }),
  z.refine((value: string) => !CONTROL_CHARACTER.test(value), { error: 'must not contain control characters', abort: true }),
  z.refine((value: string) => value.isWellFormed(), { error: 'must not contain lone surrogates (malformed UTF-16)', abort: true }),
  z.refine((value: string) => NOT_WHITESPACE.test(value), { error: 'must not be only whitespace', abort: true }),
);

const accountType = z
  .number({ error: 'must be an integer account type' })
  .check(
    z.int({ error: 'must be an integer account type' }),
    z.minimum(0, { error: 'must be a non-negative account type' }),
    z.maximum(REQUEST_LIMITS.maxAccountType, { error: `must be at most ${REQUEST_LIMITS.maxAccountType}` }),
  );

const list = <T extends z.ZodMiniType>(item: T, what: string) =>
  z
    .array(item, { error: `must be an array of ${what}` })
    .check(
      z.minLength(1, { error: `must list at least one ${what.replace(/s$/, '')}` }),
      z.maxLength(REQUEST_LIMITS.maxItems, { error: `must list at most ${REQUEST_LIMITS.maxItems} ${what} per request` }),
    );

const accountObject = z.strictObject(
  { account: id, accountType: z.optional(accountType) },
  { error: 'must be an account string or {"account": string, "accountType"?: integer}' },
);

const nativeAccountObject = z.strictObject(
  { account: id, account_type: z.optional(accountType) },
  { error: 'must be {"account": string, "account_type"?: integer}' },
);

/** `"a1"` is shorthand for `{"account": "a1"}`. */
const accountEntry = z.pipe(
  z.transform((value: unknown) => (typeof value === 'string' ? { account: value } : value)),
  accountObject,
);

const schemas = {
  accounts: z.strictObject({ accounts: list(accountEntry, 'accounts') }),
  tokens: z.strictObject({ tokens: list(id, 'tokens') }),
  nativeAccounts: z.strictObject({ operator_type: z.literal(1), account_list: list(nativeAccountObject, 'accounts') }),
  nativeTokens: z.strictObject({ operator_type: z.literal(2), token_list: list(id, 'tokens') }),
};

const MAX_REPORTED_ISSUES = 5;
/** Unknown names quoted in a detail: a few, each cut short, so a hostile body cannot echo megabytes back. */
const MAX_REPORTED_NAMES = 5;
const MAX_NAME_LENGTH = 64;

/** `"a", "b"` (and how many more): names of unknown fields or query parameters, bounded. */
const quoteNames = (names: readonly string[]): string => {
  const quoted = names
    .slice(0, MAX_REPORTED_NAMES)
    .map((name) => JSON.stringify(name.length > MAX_NAME_LENGTH ? `${name.slice(0, MAX_NAME_LENGTH)}…` : name));
  const more = names.length - MAX_REPORTED_NAMES;
  return quoted.join(', ') + (more > 0 ? ` and ${more} more` : '');
};

const formatIssues = (error: z.core.$ZodError, root: string): string => {
  const lines = error.issues.slice(0, MAX_REPORTED_ISSUES).map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const where = issue.path.length ? ` in ${pathOf(issue.path, root)}` : '';
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${quoteNames(issue.keys)}${where}`;
    }
    return `${pathOf(issue.path, root)} ${issue.message}`;
  });
  const more = error.issues.length - MAX_REPORTED_ISSUES;
  return lines.join('; ') + (more > 0 ? `; and ${more} more problem(s)` : '');
};

const pathOf = (path: readonly PropertyKey[], root: string): string =>
  path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)), '') ||
  root;

/** `root` names the input when the problem is the input itself: the body, or a path parameter. */
const parseWith = <T>(schema: z.ZodMiniType<T>, input: unknown, root: string): T => {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new InvalidRequestError(formatIssues(parsed.error, root));
  return parsed.data;
};

const distinctAccounts = (entries: readonly { account: string; accountType?: number | undefined }[]): AccountKey[] => {
  const seen = new Set<string>();
  const items: AccountKey[] = [];
  for (const { account, accountType = 0 } of entries) {
    const key = `${accountType}\u0000${account}`;
    if (seen.has(key)) continue;
    seen.add(key);
    items.push({ account, accountType });
  }
  return items;
};

const distinctTokens = (tokens: readonly string[]): string[] => [...new Set(tokens)];

/**
 * The three accepted request bodies — `{"accounts"}`, `{"tokens"}` and TPNS's own
 * `{"operator_type", "account_list" | "token_list"}` — to one Query. `subject` names the
 * input in messages: the HTTP body, or an event's detail.
 */
export const parseQueryBody = (body: unknown, subject = 'the body'): Query => {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidRequestError(`${subject} must be a JSON object with "accounts", "tokens" or "operator_type"`);
  }
  const has = (key: string) => Object.hasOwn(body, key);
  const forms = ['accounts', 'tokens', 'operator_type'].filter(has);
  if (forms.length === 0) {
    throw new InvalidRequestError(`${subject} must have one of "accounts", "tokens" or "operator_type"`);
  }
  if (forms.length > 1) {
    throw new InvalidRequestError(`${subject} must have only one of ${forms.map((f) => `"${f}"`).join(' and ')}`);
  }
  if (has('accounts')) {
    return { kind: 'accounts', items: distinctAccounts(parseWith(schemas.accounts, body, subject).accounts) };
  }
  if (has('tokens')) {
    return { kind: 'tokens', items: distinctTokens(parseWith(schemas.tokens, body, subject).tokens) };
  }
  const operatorType = (body as { operator_type: unknown }).operator_type;
  if (operatorType === 1) {
    const { account_list } = parseWith(schemas.nativeAccounts, body, subject);
    return { kind: 'accounts', items: distinctAccounts(account_list.map((a) => ({ account: a.account, accountType: a.account_type }))) };
  }
  if (operatorType === 2) {
    return { kind: 'tokens', items: distinctTokens(parseWith(schemas.nativeTokens, body, subject).token_list) };
  }
  throw new InvalidRequestError('operator_type must be 1 (tokens by account) or 2 (accounts by token)');
};

/** Path parameters arrive percent-encoded from some front doors and decoded from others. */
const decodePathParameter = (value: string | undefined): string | undefined => {
  if (value === undefined) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return value; // already decoded and it holds a literal '%'
  }
};

/**
 * The query parameters each GET route takes, one list per route (HTTP_ROUTES' names); any other is a
 * 400, like an unknown body field, rather than silently ignored.
 */
export const QUERY_PARAMETERS = {
  tokensOfAccount: ['accountType'],
  accountsOfToken: [],
} as const satisfies Record<Exclude<keyof typeof HTTP_ROUTES, 'query'>, readonly string[]>;

/**
 * The query parameters of a GET, checked against the route's list. API Gateway (payload 2.0) joins a
 * repeated parameter's values with commas, which a value could hold itself; the raw query string tells
 * the two apart, and a parameter given more than once is a 400 rather than a guess at which one counts.
 */
export const parseQueryParameters = <Name extends string>(
  parameters: Readonly<Record<string, string | undefined>> | undefined,
  rawQueryString: string | undefined,
  allowed: readonly Name[],
): Partial<Record<Name, string>> => {
  const names = Object.keys(parameters ?? {});
  const unknown = names.filter((name) => !(allowed as readonly string[]).includes(name));
  if (unknown.length) {
    const takes = allowed.length ? `this route takes only ${allowed.join(', ')}` : 'this route takes none';
    throw new InvalidRequestError(`unknown query parameter${unknown.length > 1 ? 's' : ''} ${quoteNames(unknown)} (${takes})`);
  }
  if (rawQueryString) {
    const seen = new Set<string>();
    for (const name of new URLSearchParams(rawQueryString).keys()) {
      if (seen.has(name)) throw new InvalidRequestError(`query parameter ${quoteNames([name])} is given more than once; give it once`);
      seen.add(name);
    }
  }
  const values: Partial<Record<Name, string>> = {};
  for (const name of allowed) if (parameters && Object.hasOwn(parameters, name)) values[name] = parameters[name];
  return values;
};

export const parseAccountPath = (account: string | undefined, accountTypeParam: string | undefined): Query => {
  const accountId = parseWith(id, decodePathParameter(account), 'the account in the path');
  let type = 0;
  if (accountTypeParam !== undefined) {
    if (!/^\d{1,10}$/.test(accountTypeParam) || Number(accountTypeParam) > REQUEST_LIMITS.maxAccountType) {
      throw new InvalidRequestError('accountType must be a non-negative integer');
    }
    type = Number(accountTypeParam);
  }
  return { kind: 'accounts', items: [{ account: accountId, accountType: type }] };
};

export const parseTokenPath = (token: string | undefined): Query => ({
  kind: 'tokens',
  items: [parseWith(id, decodePathParameter(token), 'the token in the path')],
});

// zod/mini: the same validation as classic zod at a fraction of the bundle and cold-start cost.
import * as z from 'zod/mini';
import { APP_NAME, type HTTP_ROUTES, REQUEST_LIMITS, SECRET_LIMITS } from '../contract.ts';
import type { AccountKey } from './normalize.ts';
import { InvalidRequestError } from './problems.ts';

/**
 * One validated lookup: distinct items, in the order first given, and the apps it names (`field`: the
 * body's `apps` or a GET's `app`), if any; only the secret, read later, says whether they exist.
 */
export type Query = ({ kind: 'accounts'; items: AccountKey[] } | { kind: 'tokens'; items: string[] }) & {
  apps?: { names: readonly string[]; field: 'apps' | 'app' };
};

/** C0 controls and DEL: no account or token holds them, and logs and terminals would act on them. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what it is for
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
const NOT_WHITESPACE = /\S/;

/** The checks of an id past its length, in order; each aborts, so an id gets the first message that applies. */
const ID_CHECKS: readonly { ok: (value: string) => boolean; error: string }[] = [
  { ok: (value) => !CONTROL_CHARACTER.test(value), error: 'must not contain control characters' },
  { ok: (value) => value.isWellFormed(), error: 'must not contain lone surrogates (malformed UTF-16)' },
  { ok: (value) => NOT_WHITESPACE.test(value), error: 'must not be only whitespace' },
];

/**
 * The request schemas, built on first use (issue 11, measured): building them at init cost about 4 ms
 * of every cold start, and the common body takes the fast path below without them.
 */
const buildSchemas = () => {
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
    ...ID_CHECKS.map(({ ok, error }) => z.refine<string>(ok, { error, abort: true })),
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

  const appName = z
    .string({ error: 'must be an app name (a string)' })
    .check(z.regex(APP_NAME.pattern, { error: `must be an app name: ${APP_NAME.says}` }));

  /** The apps to ask, by name; whether the secret holds them is checked once it is read (query.ts). */
  const appNames = z
    .array(appName, { error: 'must be an array of app names' })
    .check(
      z.minLength(1, { error: 'must list at least one app (leave "apps" out to ask every app)' }),
      z.maxLength(SECRET_LIMITS.maxApps, { error: `must list at most ${SECRET_LIMITS.maxApps} apps` }),
    );

  const bodies = {
    accounts: z.strictObject({ accounts: list(accountEntry, 'accounts'), apps: z.optional(appNames) }),
    tokens: z.strictObject({ tokens: list(id, 'tokens'), apps: z.optional(appNames) }),
    nativeAccounts: z.strictObject({
      operator_type: z.literal(1),
      account_list: list(nativeAccountObject, 'accounts'),
      apps: z.optional(appNames),
    }),
    nativeTokens: z.strictObject({ operator_type: z.literal(2), token_list: list(id, 'tokens'), apps: z.optional(appNames) }),
  };

  return { ...bodies, id, accountType, accountEntry } as const;
};
let built: ReturnType<typeof buildSchemas> | undefined;

/**
 * The schemas, for what describes the API and its events (answer-schemas.ts: the OpenAPI document,
 * the event schemas) and for a bulk export's rows (export/rows.ts): one source for what is accepted.
 * `accountEntry` also takes a bare id string.
 */
export const requestSchemas = (): ReturnType<typeof buildSchemas> => {
  built ??= buildSchemas();
  return built;
};

/** Names valid one by one, and each given once; `where(i)` names the i-th in a message. */
const distinctApps = (names: readonly string[], field: 'apps' | 'app', where: (i: number) => string): Query['apps'] => {
  const repeated = names.findIndex((name, i) => names.indexOf(name) !== i);
  if (repeated >= 0) throw new InvalidRequestError(`${where(repeated)} repeats "${names[repeated]}"; name each app once`);
  return { names, field };
};

const withApps = <Q extends Query>(query: Q, names: readonly string[] | undefined): Q =>
  names === undefined ? query : { ...query, apps: distinctApps(names, 'apps', (i) => `apps[${i}]`) };

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

/** The accounts seen, by account type: no key string built per item (issue 11: a tenth of the request's CPU). */
const distinctAccounts = (entries: readonly { account: string; accountType?: number | undefined }[]): AccountKey[] => {
  const seenByType = new Map<number, Set<string>>();
  const items: AccountKey[] = [];
  for (const { account, accountType = 0 } of entries) {
    const seen = seenByType.get(accountType) ?? new Set<string>();
    if (seen.has(account)) continue;
    if (seen.size === 0) seenByType.set(accountType, seen);
    seen.add(account);
    items.push({ account, accountType });
  }
  return items;
};

const distinctTokens = (tokens: readonly string[]): string[] => [...new Set(tokens)];

const FIRST_PRINTABLE = 0x21;
const LAST_PRINTABLE = 0x7e;

/** Printable ASCII and no space: passes every ID_CHECKS check, in one pass with no regex. */
const printableAscii = (value: string): boolean => {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < FIRST_PRINTABLE || c > LAST_PRINTABLE) return false;
  }
  return true;
};

/**
 * The fast path for the most common body, `{"accounts": ["a1", …]}` (issue 11: zod's per-item work was
 * a sixth of a 10,000-account request's CPU). It takes a body only when the schema surely accepts it,
 * with the schema's own id checks (ID_CHECKS); anything else, wrong or merely unusual, goes to the
 * schema, which then accepts or explains. An id of at most maxIdLength UTF-16 units has at most as
 * many code points; a longer one may still fit and is left to the schema to count. The set is asked
 * once per id (its size says whether `add` found it new): hashing each id twice was a tenth of this.
 */
const plainAccounts = (body: object): AccountKey[] | undefined => {
  for (const key in body) if (key !== 'accounts') return undefined;
  const { accounts } = body as { accounts: unknown };
  if (!Array.isArray(accounts) || accounts.length < 1 || accounts.length > REQUEST_LIMITS.maxItems) return undefined;
  const seen = new Set<string>();
  const items = new Array<AccountKey>(accounts.length);
  let distinct = 0;
  // An indexed loop: `for…of` calls the array iterator per id until the function is optimized.
  for (let i = 0; i < accounts.length; i++) {
    const account: unknown = accounts[i];
    if (typeof account !== 'string' || account.length < 1 || account.length > REQUEST_LIMITS.maxIdLength) return undefined;
    if (!printableAscii(account)) for (const { ok } of ID_CHECKS) if (!ok(account)) return undefined;
    seen.add(account);
    if (seen.size === distinct) continue;
    items[distinct++] = { account, accountType: 0 };
  }
  items.length = distinct;
  return items;
};

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
    const plain = plainAccounts(body);
    if (plain) return { kind: 'accounts', items: plain };
    const { accounts, apps } = parseWith(requestSchemas().accounts, body, subject);
    return withApps({ kind: 'accounts', items: distinctAccounts(accounts) }, apps);
  }
  if (has('tokens')) {
    const { tokens, apps } = parseWith(requestSchemas().tokens, body, subject);
    return withApps({ kind: 'tokens', items: distinctTokens(tokens) }, apps);
  }
  const operatorType = (body as { operator_type: unknown }).operator_type;
  if (operatorType === 1) {
    const { account_list, apps } = parseWith(requestSchemas().nativeAccounts, body, subject);
    const items = distinctAccounts(account_list.map((a) => ({ account: a.account, accountType: a.account_type })));
    return withApps({ kind: 'accounts', items }, apps);
  }
  if (operatorType === 2) {
    const { token_list, apps } = parseWith(requestSchemas().nativeTokens, body, subject);
    return withApps({ kind: 'tokens', items: distinctTokens(token_list) }, apps);
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
  tokensOfAccount: ['accountType', 'app'],
  accountsOfToken: ['app'],
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
    throw new InvalidRequestError(
      `unknown query parameter${unknown.length > 1 ? 's' : ''} ${quoteNames(unknown)} (this route takes only ${allowed.join(', ')})`,
    );
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

/** The GET's lookup, asking only the apps `?app=` names, if it names any. */
export const withAppParameter = (query: Query, app: string | undefined): Query => {
  const apps = parseAppParameter(app);
  return apps === undefined ? query : { ...query, apps };
};

export const parseAccountPath = (account: string | undefined, accountTypeParam: string | undefined): Query => {
  const accountId = parseWith(requestSchemas().id, decodePathParameter(account), 'the account in the path');
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
  items: [parseWith(requestSchemas().id, decodePathParameter(token), 'the token in the path')],
});

/**
 * A GET's `?app=`: one app name, or several separated by commas (`?app=android,ios`). A name holds
 * no comma, and API Gateway hands a repeated parameter over joined by commas anyway.
 */
export const parseAppParameter = (value: string | undefined): Query['apps'] => {
  if (value === undefined) return undefined;
  const names = value.split(',');
  if (names.length > SECRET_LIMITS.maxApps || !names.every((name) => APP_NAME.pattern.test(name))) {
    throw new InvalidRequestError(`app must be up to ${SECRET_LIMITS.maxApps} app names separated by commas, each ${APP_NAME.says}`);
  }
  return distinctApps(names, 'app', () => 'app');
};

/**
 * The typed client of the tpns-bindings HTTP API: SigV4-signed (service `execute-api`) with AWS's own
 * signer, path ids encoded so that any id reaches the handler intact, 503s and network errors retried
 * (bounded), more than 10,000 items split into requests whose answers are merged in order, problems
 * thrown as `TpnsBindingsProblem`. Runtime dependencies: AWS's signing and credential packages only
 * (the types come from the service's own schemas, erased at run time).
 */
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { FAILED_DETAIL_TYPE, HTTP_ROUTES, REQUEST_LIMITS, RESOLVED_DETAIL_TYPE, RESULT_SOURCE } from '../functions/contract.ts';
import type {
  AccountAnswer,
  AccountsAnswer,
  FailedDetail,
  ProblemBody,
  QueryRequestedDetail,
  ResolvedDetail,
  TokenAnswer,
  TokensAnswer,
} from '../functions/core/answer-schemas.ts';

export type {
  AccountAnswer,
  AccountsAnswer,
  AccountTokens,
  FailedDetail,
  ProblemBody,
  ResolvedDetail,
  TokenAccounts,
  TokenAnswer,
  TokensAnswer,
} from '../functions/core/answer-schemas.ts';

/** Retries of a 503 or a network error, and how long they may wait. */
export interface RetryOptions {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
}

export const RETRY_DEFAULTS: Readonly<RetryOptions> = {
  maxAttempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  /** A longer `Retry-After` is not waited for: the problem is thrown. */
  maxRetryAfterMs: 20_000,
};

/** A body of POST /v1/bindings/query (the `correlationId` belongs to events only). */
export type QueryBody = Omit<QueryRequestedDetail, 'correlationId'>;
export type AccountRef = string | { account: string; accountType?: number };

export interface ClientOptions {
  /** The API's base URL (the stack's `ApiUrl` output, or `npm start`'s URL). */
  baseUrl: string;
  /** The API's region, for the signature. */
  region: string;
  /** Default: the AWS SDK's default chain (environment, SSO, profile, container, instance), resolved on first use. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  retry?: Partial<RetryOptions>;
  /** Injectable for tests: the wait between attempts, and the jitter's random source. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface LookupOptions {
  /** Only these apps of the deployment (its `apps` secret); default every app. */
  apps?: readonly string[];
}

/** Every answer merged from several requests keeps each request's id. */
export type Merged<Answer> = Omit<Answer, 'requestId'> & { requestIds: string[] };

/** An RFC 9457 problem the API answered with, or API Gateway's own refusal (403, 413, 5xx: `type` "about:blank"). */
export class TpnsBindingsProblem extends Error {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly requestId: string | undefined;
  readonly tpnsCode: number | undefined;
  /** The whole body: a GET's 404 also carries the item's fields (`code`, `tokens`, ...). */
  readonly problem: ProblemBody;
  /** Seconds the API asked to wait (`Retry-After`), when it did. */
  readonly retryAfterSeconds: number | undefined;

  constructor(problem: ProblemBody, retryAfterSeconds?: number) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`);
    this.name = 'TpnsBindingsProblem';
    this.type = problem.type;
    this.title = problem.title;
    this.status = problem.status;
    this.detail = problem.detail;
    this.requestId = problem.requestId;
    this.tpnsCode = problem.tpnsCode;
    this.problem = problem;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * A path segment for an id. API Gateway decodes the path once before routing and the handler decodes
 * what is left, so the id is encoded twice: `a/b` → `a%252Fb`, `926@126.com` → `926%2540126.com`. Dots are
 * encoded too, or an id `..` would be a path step.
 */
export const pathSegment = (id: string): string => encodeURIComponent(encodeURIComponent(id).replaceAll('.', '%2E'));

const retryAfterMs = (header: string | null, now: number): number | undefined => {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (header.trim() !== '' && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
};

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** The answer as a problem: problem+json as it is, anything else (API Gateway's `{"message"}`) as about:blank. */
const problemOf = (status: number, statusText: string, text: string): ProblemBody => {
  const body = parseJson(text) as Partial<ProblemBody> & { message?: unknown };
  if (body && typeof body.type === 'string' && typeof body.detail === 'string') return body as ProblemBody;
  const message = typeof body?.message === 'string' ? body.message : text.slice(0, 500);
  return { type: 'about:blank', title: statusText || `HTTP ${status}`, status, detail: message };
};

const chunksOf = <T>(items: readonly T[], size: number): T[][] => {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
};

/** Items once each, first wins, as the API itself dedupes within one request; so chunks merge into one answer. */
const distinct = <T>(items: readonly T[], keyOf: (item: T) => string): T[] => {
  const seen = new Set<string>();
  return items.filter((item) => !seen.has(keyOf(item)) && seen.add(keyOf(item)));
};

const accountKey = (ref: AccountRef): string => (typeof ref === 'string' ? `0\u0000${ref}` : `${ref.accountType ?? 0}\u0000${ref.account}`);

type ListAnswer = AccountsAnswer | TokensAnswer;

/** Several answers of one lookup, in order: items concatenated, `partial` if any is, access points united. */
const mergeAnswers = <A extends ListAnswer>(answers: readonly A[], key: 'accounts' | 'tokens'): Merged<A> => {
  const items = answers.flatMap((answer) => (answer as Record<string, unknown>)[key] as unknown[]);
  const accessPoints = answers.some((answer) => 'regions' in answer)
    ? { regions: Object.assign({}, ...answers.map((answer) => ('regions' in answer ? answer.regions : {}))) }
    : { region: (answers[0] as { region: string }).region };
  return {
    [key]: items,
    partial: answers.some((answer) => answer.partial),
    ...accessPoints,
    requestIds: [...new Set(answers.map((answer) => answer.requestId))],
  } as unknown as Merged<A>;
};

export class TpnsBindingsClient {
  readonly #base: URL;
  readonly #signer: SignatureV4;
  readonly #retry: RetryOptions;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;

  constructor({ baseUrl, region, credentials, retry, sleep, random }: ClientOptions) {
    this.#base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    this.#signer = new SignatureV4({ service: 'execute-api', region, credentials: credentials ?? defaultCredentials(), sha256: Sha256 });
    this.#retry = { ...RETRY_DEFAULTS, ...retry };
    this.#sleep = sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = random ?? Math.random;
  }

  /** The tokens bound to each account (`accountType` 0 unless given), one entry per distinct account, in order. */
  async tokensOf(accounts: readonly AccountRef[], options: LookupOptions = {}): Promise<Merged<AccountsAnswer>> {
    const chunks = chunksOf(distinct(accounts, accountKey), REQUEST_LIMITS.maxItems);
    const answers: AccountsAnswer[] = [];
    for (const chunk of chunks) answers.push((await this.query({ accounts: chunk, ...appsOf(options) })) as AccountsAnswer);
    return mergeAnswers(answers, 'accounts');
  }

  /** The accounts bound to each token, one entry per distinct token, in order. */
  async accountsOf(tokens: readonly string[], options: LookupOptions = {}): Promise<Merged<TokensAnswer>> {
    const chunks = chunksOf(
      distinct(tokens, (token) => token),
      REQUEST_LIMITS.maxItems,
    );
    const answers: TokensAnswer[] = [];
    for (const chunk of chunks) answers.push((await this.query({ tokens: chunk, ...appsOf(options) })) as TokensAnswer);
    return mergeAnswers(answers, 'tokens');
  }

  /** POST /v1/bindings/query with any of its bodies, as it is (at most 10,000 items). */
  query(body: QueryBody): Promise<AccountsAnswer | TokensAnswer> {
    return this.#send('POST', HTTP_ROUTES.query.path, {}, body);
  }

  /** GET /v1/accounts/{account}/tokens: an account TPNS does not know is a 404 problem. */
  tokensOfAccount(account: string, accountType?: number, options: LookupOptions = {}): Promise<AccountAnswer> {
    const path = HTTP_ROUTES.tokensOfAccount.path.replace('{account}', pathSegment(account));
    return this.#send('GET', path, {
      ...(accountType === undefined ? {} : { accountType: String(accountType) }),
      ...appParameter(options),
    });
  }

  /** GET /v1/tokens/{token}/accounts: a token TPNS does not know is a 404 problem. */
  accountsOfToken(token: string, options: LookupOptions = {}): Promise<TokenAnswer> {
    return this.#send('GET', HTTP_ROUTES.accountsOfToken.path.replace('{token}', pathSegment(token)), appParameter(options));
  }

  async #send<Answer>(method: 'GET' | 'POST', route: string, query: Record<string, string>, body?: unknown): Promise<Answer> {
    const url = new URL(route.slice(1), this.#base);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(url, await this.#signed(method, url, payload));
      } catch (error) {
        // No answer at all (refused, reset, DNS): worth another attempt while attempts are left.
        if (attempt >= this.#retry.maxAttempts) throw error;
        await this.#sleep(this.#backoffMs(attempt));
        continue;
      }
      const text = await response.text();
      if (response.ok) return JSON.parse(text) as Answer;
      const wait = retryAfterMs(response.headers.get('retry-after'), Date.now());
      const problem = new TpnsBindingsProblem(problemOf(response.status, response.statusText, text), wait && wait / 1000);
      if (response.status !== 503 || attempt >= this.#retry.maxAttempts || (wait ?? 0) > this.#retry.maxRetryAfterMs) throw problem;
      await this.#sleep(wait ?? this.#backoffMs(attempt));
    }
  }

  /** Full-jitter exponential backoff, capped. */
  #backoffMs(attempt: number): number {
    return Math.floor(this.#random() * Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (attempt - 1)));
  }

  /** A fresh signature per attempt: each carries its own date. */
  async #signed(method: string, url: URL, body: string | undefined): Promise<RequestInit> {
    const headers: Record<string, string> = { host: url.host, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    const signed = await this.#signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      body,
    });
    // fetch sets Host from the URL itself, to the value signed.
    const { host: _host, ...sent } = signed.headers;
    return { method, headers: sent, ...(body === undefined ? {} : { body }) };
  }
}

const appsOf = ({ apps }: LookupOptions) => (apps === undefined ? {} : { apps: [...apps] });
const appParameter = ({ apps }: LookupOptions): Record<string, string> => (apps === undefined ? {} : { app: apps.join(',') });

/** The AWS SDK's default credential chain, loaded only when no credentials are given, and resolved once. */
const defaultCredentials = (): AwsCredentialIdentityProvider => {
  let provider: Promise<AwsCredentialIdentityProvider> | undefined;
  return async (options) => {
    provider ??= import('@aws-sdk/credential-provider-node').then(({ defaultProvider }) => defaultProvider());
    return (await provider)(options);
  };
};

// ── Events ────────────────────────────────────────────────────────────────────────────────
/** A result event as a rule delivers it (only the fields these helpers read are typed). */
export interface ResultEvent<Detail = unknown> {
  source: string;
  'detail-type': string;
  detail: Detail;
}

export const isResolvedEvent = (event: ResultEvent): event is ResultEvent<ResolvedDetail> =>
  event.source === RESULT_SOURCE && event['detail-type'] === RESOLVED_DETAIL_TYPE;

/** A "TPNS Bindings Query Failed" event: its detail is the problem, with `correlationId`. */
export const isFailedEvent = (event: ResultEvent): event is ResultEvent<FailedDetail> =>
  event.source === RESULT_SOURCE && event['detail-type'] === FAILED_DETAIL_TYPE;

/** A whole answer from its Resolved parts: the items of every part in `part` order, `partial` if any part is. */
export type Assembled = Merged<AccountsAnswer> | Merged<TokensAnswer>;

export interface PartsCollector {
  /** Adds one Resolved event's detail; returns the whole answer when this part completes it, once. */
  add(detail: ResolvedDetail): (Assembled & { correlationId: string }) | undefined;
  /** Correlation ids with parts still missing. */
  pending(): string[];
}

/**
 * Reassembles Resolved parts, which arrive in any order and at least once: keyed on (`correlationId`,
 * `part`) within one `requestId` (a retried query may publish its answer again, sliced differently), and
 * complete at `parts` distinct parts. A completed correlation id is remembered, so late duplicates are ignored.
 */
export const collectParts = (): PartsCollector => {
  const open = new Map<string, Map<string, Map<number, ResolvedDetail>>>();
  const done = new Set<string>();
  return {
    add(detail) {
      const { correlationId, requestId, part, parts } = detail;
      if (done.has(correlationId)) return undefined;
      const byRequest = open.get(correlationId) ?? new Map<string, Map<number, ResolvedDetail>>();
      open.set(correlationId, byRequest);
      const received = byRequest.get(requestId) ?? new Map<number, ResolvedDetail>();
      byRequest.set(requestId, received);
      if (!received.has(part)) received.set(part, detail);
      if (received.size < parts) return undefined;
      open.delete(correlationId);
      done.add(correlationId);
      const ordered = [...received.values()].sort((a, b) => a.part - b.part);
      const key = 'accounts' in detail ? 'accounts' : 'tokens';
      return { correlationId, ...mergeAnswers(ordered as unknown as ListAnswer[], key) } as Assembled & { correlationId: string };
    },
    pending: () => [...open.keys()],
  };
};

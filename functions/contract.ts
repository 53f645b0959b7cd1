/**
 * The service's contract, in one module without side effects: what the handlers, the CDK construct,
 * the local tools and the benchmark share, and what callers and operators build on (README).
 * Change a name here and every part follows; nothing else spells these values.
 */

// ── HTTP API ──────────────────────────────────────────────────────────────────────────────
/** The routes the HTTP function serves; it answers any other path itself (404/405 problem+json). */
export const HTTP_ROUTES = {
  query: { method: 'POST', path: '/v1/bindings/query' },
  tokensOfAccount: { method: 'GET', path: '/v1/accounts/{account}/tokens' },
  accountsOfToken: { method: 'GET', path: '/v1/tokens/{token}/accounts' },
} as const;

/** API Gateway HTTP APIs cut an integration off at 30 s, whatever the function timeout. */
export const API_GATEWAY_TIMEOUT_MS = 30_000;

/**
 * Lambda refuses a synchronous invoke's response over 6 MB (API Gateway then answers a bare 500).
 * It measures the serialized result — the body escaped once more inside it — not the body.
 */
export const LAMBDA_RESPONSE_LIMIT_BYTES = 6_291_456;

// ── EventBridge ───────────────────────────────────────────────────────────────────────────
/** The query event in (from any source the rule allows; only `queryPublishers` decides who may send it)… */
export const QUERY_DETAIL_TYPE = 'TPNS Bindings Query Requested';
/** …and the result events out, all from this source. */
export const RESULT_SOURCE = 'tpns.bindings';
export const RESOLVED_DETAIL_TYPE = 'TPNS Bindings Resolved';
export const FAILED_DETAIL_TYPE = 'TPNS Bindings Query Failed';

/**
 * Bulk export (README: Bulk export): the request that starts an export (detail `{"input", "output"}`,
 * both `s3://` URIs)… */
export const EXPORT_REQUESTED_DETAIL_TYPE = 'TPNS Bindings Export Requested';
/** …and its outcome, from RESULT_SOURCE: the manifest, or `{"exportId", "input", "output", "error", "cause"}`. */
export const EXPORT_COMPLETED_DETAIL_TYPE = 'TPNS Bindings Export Completed';
export const EXPORT_FAILED_DETAIL_TYPE = 'TPNS Bindings Export Failed';

// ── Functions ─────────────────────────────────────────────────────────────────────────────
/**
 * The deployed timeouts; each handler derives its deadline from the time Lambda says is left.
 * - http: below API Gateway's 30 s, with 5 s for cold start and API Gateway's own overhead; the
 *   handler answers (with what it has, or a 504 problem) a second before its own timeout.
 * - events: no client waits, so a large query may take longer (several rounds of chunks, with
 *   retries); 60 s bounds the cost of a hung TPNS. Chunks the deadline leaves unanswered are items
 *   with reason "timeout" in a partial Resolved event; with nothing answered at all, the query is
 *   thrown, not published as Failed: Lambda's async retries, then the dead-letter queue, take the event.
 */
export const FUNCTION_TIMEOUTS_MS = { http: 25_000, events: 60_000 } as const;

/** Powertools' service name (the `service` log key and metric dimension) and the metrics namespace. */
export const SERVICE_NAME = 'tpns-bindings';
export const METRICS_NAMESPACE = 'TpnsBindings';

/** Every metric the handlers emit (namespace METRICS_NAMESPACE, dimension `service`). */
export const METRICS = {
  /** Each TPNS call attempt, ms. */
  callLatency: 'TpnsCallLatency',
  /** TPNS calls a request needed, halved chunks included, retries not. */
  chunksPerRequest: 'ChunksPerRequest',
  /** Retried calls, with a `reason` dimension (the failure kind). */
  retries: 'TpnsRetries',
  /** Items answered per status, one name per status of the API contract. */
  items: { ok: 'ItemsOk', not_found: 'ItemsNotFound', invalid: 'ItemsInvalid', error: 'ItemsError' },
  /** Re-reads of the secret after TPNS refused what it said. */
  secretRefreshes: 'SecretRefreshes',
  /** HTTP answers that are problems, by class. */
  serverErrors: 'ServerErrors',
  clientErrors: 'ClientErrors',
  /** Result events (Resolved parts or Failed) accepted by PutEvents. */
  eventsPublished: 'EventsPublished',
  /** PutEvents calls that re-sent refused entries. */
  putEventsRetries: 'PutEventsRetries',
  /** Queries answered with a Failed event. */
  queriesFailed: 'QueriesFailed',
  /** TPNS calls the adaptive limit lets in flight per app (dimension `app`: the AccessId), after each change. */
  concurrencyLimit: 'TpnsConcurrencyLimit',
  /** Circuit-breaker state changes per app (dimensions `app` and `state`: open, half_open, closed). */
  breakerTransitions: 'TpnsBreakerTransitions',
} as const;

// ── Configuration (environment of both functions) ───────────────────────────────────────
/** Defaults an operator can override per deployment (README: Configuration). */
export const CONFIG_DEFAULTS = {
  /** Items per TPNS call (TPNS_MAX_BATCH). TPNS documents no maximum; 100 keeps each call small and a refusal cheap. */
  maxBatch: 100,
  /** TPNS calls in flight per invocation (TPNS_CONCURRENCY). */
  concurrency: 8,
  /**
   * TPNS_ADAPTIVE_CONCURRENCY. When TPNS rate limits an app, send fewer of its calls at once, and
   * more again as it answers (query/limiter.ts); false keeps TPNS_CONCURRENCY whatever TPNS says.
   */
  adaptiveConcurrency: true,
  /**
   * TPNS_SECRET_REREAD_COOLDOWN_MS. After a re-read found the refused secret unchanged, refused
   * requests do not read it again for this long, unless TPNS has accepted the secret since: a key
   * changed in TPNS but not yet in the secret costs a container one read per cool-down, not one per
   * request. A secret that changed before TPNS refused the old key heals the first refused request.
   */
  secretRereadCooldownMs: 10_000,
  /**
   * TPNS_BREAKER_FAILURES. This many failed TPNS calls of one app in a row (unreachable, 5xx, timed
   * out; query/breaker.ts says how close together), and the container stops calling that app's TPNS
   * for a cool-down. High enough that a blip on one request's calls in flight does not open it.
   */
  breakerFailures: 10,
  /** TPNS_BREAKER_COOLDOWN_MS. How long an open breaker answers at once (503, Retry-After) before one probe call may go. */
  breakerCooldownMs: 5_000,
} as const;

/** The accepted ranges: the handlers refuse to start outside them, and the construct refuses to synth. */
export const CONFIG_LIMITS = {
  maxBatch: { min: 1, max: 10_000 },
  concurrency: { min: 1, max: 64 },
  secretRereadCooldownMs: { min: 0, max: 300_000 },
  breakerFailures: { min: 1, max: 1_000 },
  breakerCooldownMs: { min: 100, max: 300_000 },
} as const;

// ── Secret ────────────────────────────────────────────────────────────────────────────────
/** The `{"apps": [...]}` form of the secret (README: Configuration). */
export const SECRET_LIMITS = { maxApps: 10 } as const;
/** An app's name, in the secret and in a request's `apps` (or `?app=`). */
export const APP_NAME = { pattern: /^[a-z0-9_-]{1,32}$/, says: '1 to 32 characters of a-z, 0-9, "_" and "-"' } as const;
/** The one app of a single-app secret (`{"accessId", "secretKey", ...}`), as the `apps` filter names it. */
export const SINGLE_APP_NAME = 'default';

// ── Requests ──────────────────────────────────────────────────────────────────────────────
/** Our own bounds, not Tencent's (it documents none for this call); README: Limits. */
export const REQUEST_LIMITS = {
  maxItems: 10_000,
  maxIdLength: 256,
  maxAccountType: 2_147_483_647,
} as const;

import { setTimeout as sleep } from 'node:timers/promises';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS } from '../contract.ts';
import { logger, metrics } from '../observability.ts';
import { backoffDelayMs } from './backoff.ts';
import type { Config } from './config.ts';
import type { CredentialSource, TpnsSecret } from './credentials.ts';
import {
  type AccountTokens,
  type FailureReason,
  normalizeAccountTokens,
  normalizeTokenAccounts,
  type QueryResult,
  type TokenAccounts,
} from './normalize.ts';
import { TpnsCallError } from './problems.ts';
import type { Query } from './request.ts';
import { CLIENT_DEFAULTS, queryAccountBindings, type TpnsQueryRequest, type TpnsQueryResponse } from './tpns/client.ts';
import { type FailureKind, isTransient, TPNS_CODE } from './tpns/codes.ts';
import { DEFAULT_REGION, REGIONS, type Region } from './tpns/regions.ts';
import type { Dispatcher } from './tpns/undici.ts';

export const RETRY_DEFAULTS = {
  /** Retries of one call after its first attempt. */
  maxRetries: 3,
  /** Backoff before retry n (0-based) is uniform in [0, min(maxDelayMs, baseDelayMs × 2^n)]: full jitter. */
  baseDelayMs: 50,
  maxDelayMs: 1_000,
  /** No call starts with less time than this before the deadline. */
  minCallMs: 100,
} as const;

export interface QueryOptions {
  credentials: CredentialSource;
  /** Epoch ms by which the answer must be ready (taken from the Lambda context). */
  deadline: number;
  config: Pick<Config, 'endpoint' | 'maxBatch' | 'concurrency'>;
  dispatcher?: Dispatcher;
}

/** Failures that no other chunk, region or key would fix: the whole request fails with them. */
const FATAL: ReadonlySet<FailureKind> = new Set(['credentials_rejected', 'wrong_access_point', 'app_unavailable', 'request_rejected']);

/** What a failed item says about why it has no answer; a refused item (1008007) carries only its code. */
const FAILURE_REASON: Partial<Record<FailureKind, FailureReason>> = {
  timeout: 'timeout',
  rate_limited: 'rate_limited',
  unavailable: 'unavailable',
  upstream_error: 'unavailable',
  bad_response: 'unavailable',
};

/** Access points found by discovery, per AccessId, for the life of the container. */
const discoveredRegions = new Map<string, Region>();

type Item = Query['items'][number];

/** Items [start, end) of the query. */
interface Chunk {
  start: number;
  end: number;
}

const requestBody = (query: Query, { start, end }: Chunk): TpnsQueryRequest =>
  query.kind === 'accounts'
    ? {
        operator_type: 1,
        account_list: query.items.slice(start, end).map((item) => ({ account: item.account, account_type: item.accountType })),
      }
    : { operator_type: 2, token_list: query.items.slice(start, end) };

const normalizeChunk = (query: Query, { start, end }: Chunk, response: TpnsQueryResponse) =>
  query.kind === 'accounts'
    ? normalizeAccountTokens(query.items.slice(start, end), response)
    : normalizeTokenAccounts(query.items.slice(start, end), response);

const failedItem = (item: Item, error: TpnsCallError): AccountTokens | TokenAccounts => {
  const reason = FAILURE_REASON[error.kind];
  const failure = {
    status: 'error' as const,
    ...(error.code === undefined ? {} : { code: error.code }),
    ...(reason === undefined ? {} : { reason }),
  };
  return typeof item === 'string'
    ? { token: item, ...failure, accounts: [] }
    : { account: item.account, accountType: item.accountType, ...failure, tokens: [] };
};

const sameSecret = (a: TpnsSecret, b: TpnsSecret) =>
  a.accessId === b.accessId && a.secretKey === b.secretKey && a.auth === b.auth && a.region === b.region;

/** One query run: its key, its access point and its chunk size can change along the way. */
class QueryRun {
  secret: TpnsSecret;
  region: Region | undefined;
  /** The first failure no other chunk could avoid: no call starts after it. */
  fatal: TpnsCallError | undefined;
  readonly retries = new Map<FailureKind, number>();
  readonly options: QueryOptions;

  constructor(options: QueryOptions) {
    this.options = options;
    this.secret = options.credentials.current;
    this.region = this.secret.region ?? discoveredRegions.get(this.secret.accessId);
  }

  /**
   * One call with backoff on transient failures, and one re-read of the secret when TPNS refuses
   * what the secret says: the key (1008003), or the access point it names (1008035).
   */
  async call(body: TpnsQueryRequest, probeRegion?: Region): Promise<TpnsQueryResponse> {
    let refreshed = false;
    for (let retry = 0; ; ) {
      if (this.fatal) throw this.fatal;
      const region = probeRegion ?? this.region!;
      const remaining = this.options.deadline - Date.now();
      if (remaining < RETRY_DEFAULTS.minCallMs) {
        throw new TpnsCallError('timeout', region, 'the deadline was reached before TPNS answered');
      }
      const secret = this.secret;
      const started = performance.now();
      try {
        return await queryAccountBindings(
          { region, endpoint: this.options.config.endpoint, credentials: secret, auth: secret.auth },
          body,
          { timeoutMs: Math.min(CLIENT_DEFAULTS.callTimeoutMs, remaining), dispatcher: this.options.dispatcher },
        );
      } catch (error) {
        if (!(error instanceof TpnsCallError)) throw error;
        const secretRefused = error.kind === 'credentials_rejected' || (error.kind === 'wrong_access_point' && probeRegion === undefined);
        if (secretRefused && !refreshed) {
          refreshed = true;
          // `secret` is the one this call used: a chunk that another chunk already refreshed for gets its result, not a re-read.
          const fresh = await this.options.credentials.refresh(secret);
          if (!sameSecret(fresh, secret)) {
            if (this.secret === secret)
              logger.info('TPNS refused what the secret said; retrying with the re-read secret', { reason: error.kind });
            this.secret = fresh;
            this.region = fresh.region ?? this.region;
            continue;
          }
          throw error;
        }
        const delay = backoffDelayMs(retry, RETRY_DEFAULTS);
        const retryable =
          isTransient(error.kind) &&
          retry < RETRY_DEFAULTS.maxRetries &&
          Date.now() + delay + RETRY_DEFAULTS.minCallMs < this.options.deadline;
        if (!retryable) throw error;
        retry++;
        this.retries.set(error.kind, (this.retries.get(error.kind) ?? 0) + 1);
        logger.warn('retrying a TPNS call', { reason: error.kind, tpnsCode: error.code, retry });
        await sleep(delay);
      } finally {
        metrics.addMetric(METRICS.callLatency, MetricUnit.Milliseconds, performance.now() - started);
      }
    }
  }

  /**
   * With no region in the secret and none remembered, the first item probes the access
   * points in turn; 1008035 means "not this one". Not possible when TPNS_ENDPOINT sends
   * every region to one host (no `{region}` in it).
   */
  async resolveRegion(query: Query): Promise<Region> {
    if (this.region) return this.region;
    const { endpoint } = this.options.config;
    const candidates = endpoint === undefined || endpoint.includes('{region}') ? REGIONS : [DEFAULT_REGION];
    for (const region of candidates) {
      try {
        await this.call(requestBody(query, { start: 0, end: 1 }), region);
      } catch (error) {
        if (error instanceof TpnsCallError && error.kind === 'wrong_access_point') continue;
        throw error;
      }
      discoveredRegions.set(this.secret.accessId, region);
      logger.info('discovered the TPNS access point', { region });
      return (this.region = region);
    }
    throw new TpnsCallError(
      'wrong_access_point',
      candidates[0]!,
      `no TPNS access point accepts this AccessId (tried ${candidates.join(', ')}); check "accessId" in the secret`,
      { code: TPNS_CODE.WRONG_ACCESS_POINT },
    );
  }

  /** Retries go out as one metric with a `reason` dimension: one EMF line per reason seen, none on a clean run. */
  publishRetries(): void {
    for (const [reason, count] of this.retries) {
      metrics.singleMetric().addDimension('reason', reason).addMetric(METRICS.retries, MetricUnit.Count, count);
    }
  }
}

/**
 * Runs a query: chunks of at most `maxBatch` items, at most `concurrency` calls in flight on
 * the shared pool, merged back in input order. A chunk TPNS refuses with 1008007 is split in
 * halves, down to single items. A chunk that still fails after its retries marks its items as
 * errors and the result as partial; if no chunk succeeds, the first failure is thrown.
 */
export const runQuery = async (query: Query, options: QueryOptions): Promise<QueryResult> => {
  const run = new QueryRun(options);
  let calls = 0;
  try {
    await run.resolveRegion(query);
    const total = query.items.length;
    const results = new Array<AccountTokens | TokenAccounts>(total);
    const pending: Chunk[] = [];
    for (let start = 0; start < total; start += options.config.maxBatch) {
      pending.push({ start, end: Math.min(total, start + options.config.maxBatch) });
    }

    // 1008007 is TPNS's "invalid parameter" for a list too long and for an id it refuses alike.
    // A refused size above any size it accepted in this run lowers the chunk size for the rest of
    // the run; a refusal at a size it already accepted is about the ids, so only that chunk is split.
    let chunkLimit = options.config.maxBatch;
    let largestAccepted = 0;
    let firstFailure: TpnsCallError | undefined;
    let answered = 0;
    let unexpected: { error: unknown } | undefined;

    const take = (): Chunk => {
      const chunk = pending.shift()!;
      if (chunk.end - chunk.start <= chunkLimit) return chunk;
      pending.unshift({ start: chunk.start + chunkLimit, end: chunk.end });
      return { start: chunk.start, end: chunk.start + chunkLimit };
    };

    const send = async (chunk: Chunk): Promise<void> => {
      calls++;
      const size = chunk.end - chunk.start;
      try {
        const answers = normalizeChunk(query, chunk, await run.call(requestBody(query, chunk)));
        for (let i = 0; i < size; i++) results[chunk.start + i] = answers[i]!;
        answered++;
        largestAccepted = Math.max(largestAccepted, size);
      } catch (error) {
        if (!(error instanceof TpnsCallError)) {
          unexpected ??= { error }; // a bug: stop, and let the handler answer 500 once nothing is in flight
          return;
        }
        if (error.kind === 'batch_too_large' && size > 1) {
          const half = Math.ceil(size / 2);
          if (size > largestAccepted) chunkLimit = Math.min(chunkLimit, half);
          logger.warn('TPNS refused a chunk as an invalid parameter; splitting it', { chunkSize: size, chunkLimit });
          pending.unshift({ start: chunk.start, end: chunk.start + half }, { start: chunk.start + half, end: chunk.end });
        } else if (FATAL.has(error.kind)) {
          run.fatal ??= error;
        } else {
          firstFailure ??= error;
          for (let i = chunk.start; i < chunk.end; i++) results[i] = failedItem(query.items[i]!, error);
        }
      }
    };

    // A bounded pool rather than fixed workers: split chunks re-enter the queue while others are in flight.
    const inFlight = new Set<Promise<void>>();
    while (pending.length > 0 || inFlight.size > 0) {
      while (pending.length > 0 && inFlight.size < options.config.concurrency && run.fatal === undefined && !unexpected) {
        const sending: Promise<void> = send(take()).finally(() => inFlight.delete(sending));
        inFlight.add(sending);
      }
      if (inFlight.size === 0) break;
      await Promise.race(inFlight);
    }

    if (unexpected) throw unexpected.error;
    if (run.fatal) throw run.fatal;
    if (firstFailure && answered === 0) throw firstFailure;

    const counts = { ok: 0, not_found: 0, invalid: 0, error: 0 };
    for (const item of results) counts[item.status]++;
    for (const [status, count] of Object.entries(counts) as [keyof typeof counts, number][]) {
      if (count) metrics.addMetric(METRICS.items[status], MetricUnit.Count, count);
    }

    const partial = firstFailure !== undefined;
    const region = run.region!;
    logger.info('query answered', { kind: query.kind, items: total, calls, partial, region });
    return query.kind === 'accounts'
      ? { kind: 'accounts', region, partial, accounts: results as AccountTokens[] }
      : { kind: 'tokens', region, partial, tokens: results as TokenAccounts[] };
  } finally {
    if (calls > 0) metrics.addMetric(METRICS.chunksPerRequest, MetricUnit.Count, calls);
    run.publishRetries();
  }
};

import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS } from '../contract.ts';
import { logger, metrics } from '../observability.ts';
import { type Clock, systemClock } from './clock.ts';
import type { Config } from './config.ts';
import { type CredentialSource, sameSecret, type TpnsSecret } from './credentials.ts';
import { type AccountTokens, normalizeAccountTokens, normalizeTokenAccounts, type QueryResult, type TokenAccounts } from './normalize.ts';
import { callBudget } from './query/budget.ts';
import { type Chunk, ChunkQueue, type ChunkSizes } from './query/chunks.ts';
import { drain } from './query/pool.ts';
import { RETRY_DEFAULTS, retryDelayMs } from './query/retry.ts';
import type { Query } from './request.ts';
import { CLIENT_DEFAULTS, queryAccountBindings, type TpnsQueryRequest, type TpnsQueryResponse } from './tpns/client.ts';
import { TPNS_CODE } from './tpns/codes.ts';
import { FAILURES, type FailureKind, TpnsError } from './tpns/failures.ts';
import { DEFAULT_REGION, REGIONS, type Region } from './tpns/regions.ts';
import type { Dispatcher } from './tpns/undici.ts';

export interface QueryOptions {
  credentials: CredentialSource;
  /** Epoch ms, on `clock`, by which the answer must be ready (from the Lambda context). */
  deadline: number;
  config: Pick<Config, 'endpoint' | 'maxBatch' | 'concurrency'>;
  dispatcher?: Dispatcher;
  clock?: Clock;
}

/** Access points found by discovery, per AccessId, for the life of the container. */
const discoveredRegions = new Map<string, Region>();
/**
 * Chunk sizes TPNS refused and accepted, per AccessId, so that a warm container does not relearn
 * them request after request; forgotten after a while, so that neither a refusal caused by one id
 * nor a limit TPNS has since changed stays with the container for good.
 */
const learnedChunkSizes = new Map<string, { sizes: ChunkSizes; since: number }>();
export const CHUNK_SIZES_TTL_MS = 10 * 60_000;

const chunkSizesFor = (accessId: string, now: number): ChunkSizes => {
  const learned = learnedChunkSizes.get(accessId);
  if (learned !== undefined && now - learned.since < CHUNK_SIZES_TTL_MS) return learned.sizes;
  const sizes = { limit: Number.POSITIVE_INFINITY, largestAccepted: 0 };
  learnedChunkSizes.set(accessId, { sizes, since: now });
  return sizes;
};

type Item = Query['items'][number];
type Answer = AccountTokens | TokenAccounts;

const requestBody = (query: Query, { start, end }: Chunk): TpnsQueryRequest =>
  query.kind === 'accounts'
    ? {
        operator_type: 1,
        account_list: query.items.slice(start, end).map((item) => ({ account: item.account, account_type: item.accountType })),
      }
    : { operator_type: 2, token_list: query.items.slice(start, end) };

const normalizeChunk = (query: Query, { start, end }: Chunk, response: TpnsQueryResponse): Answer[] =>
  query.kind === 'accounts'
    ? normalizeAccountTokens(query.items.slice(start, end), response)
    : normalizeTokenAccounts(query.items.slice(start, end), response);

const failedItem = (item: Item, error: TpnsError): Answer => {
  const { reason } = FAILURES[error.kind];
  const failure = {
    status: 'error' as const,
    ...(error.code === undefined ? {} : { code: error.code }),
    ...(reason === undefined ? {} : { reason }),
  };
  return typeof item === 'string'
    ? { token: item, ...failure, accounts: [] }
    : { account: item.account, accountType: item.accountType, ...failure, tokens: [] };
};

/** One query run: its key, its access point and its chunk size can change along the way. */
class QueryRun {
  secret: TpnsSecret;
  /** Where the calls go; a placeholder until `regionKnown`. */
  region: Region;
  regionKnown: boolean;
  /** The first failure no other chunk could avoid: no call starts after it. */
  fatal: TpnsError | undefined;
  /** TPNS calls this run may still make (query/budget.ts). */
  callsLeft = 0;
  readonly retries = new Map<FailureKind, number>();
  readonly options: QueryOptions;
  readonly clock: Clock;

  constructor(options: QueryOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.secret = options.credentials.current;
    const known = this.secret.region ?? discoveredRegions.get(this.secret.accessId);
    this.region = known ?? DEFAULT_REGION;
    this.regionKnown = known !== undefined;
  }

  /**
   * One call, as the retry policy allows: backoff on transient failures, never past the deadline,
   * and one re-read of the secret when TPNS refuses what it says (`probeRegion`: a discovery probe).
   */
  async call(body: TpnsQueryRequest, probeRegion?: Region): Promise<TpnsQueryResponse> {
    let reread = false;
    for (let retry = 0; ; ) {
      if (this.fatal) throw this.fatal;
      const region = probeRegion ?? this.region;
      const remaining = this.options.deadline - this.clock.now();
      if (remaining < RETRY_DEFAULTS.minCallMs) {
        throw new TpnsError('timeout', region, 'the deadline was reached before TPNS answered');
      }
      if (this.callsLeft <= 0) {
        throw new TpnsError('call_budget_spent', region, 'the request spent its budget of TPNS calls before this chunk was answered');
      }
      this.callsLeft--;
      const secret = this.secret;
      try {
        const response = await this.attempt(region, secret, body, remaining);
        this.options.credentials.accepted(secret);
        return response;
      } catch (error) {
        if (!(error instanceof TpnsError)) throw error;
        if (!reread && this.refusesSecret(error, probeRegion)) {
          reread = true;
          if (await this.reread(secret, error.kind)) continue;
          throw error;
        }
        const delay = retryDelayMs(error.kind, retry, this.clock.now(), this.options.deadline, this.clock.random);
        if (delay === undefined) throw error;
        retry++;
        this.retries.set(error.kind, (this.retries.get(error.kind) ?? 0) + 1);
        logger.warn('retrying a TPNS call', { reason: error.kind, tpnsCode: error.code, retry });
        await this.clock.sleep(delay);
      }
    }
  }

  private async attempt(region: Region, secret: TpnsSecret, body: TpnsQueryRequest, remaining: number): Promise<TpnsQueryResponse> {
    const started = performance.now();
    try {
      return await queryAccountBindings({ region, endpoint: this.options.config.endpoint, credentials: secret, auth: secret.auth }, body, {
        timeoutMs: Math.min(CLIENT_DEFAULTS.callTimeoutMs, remaining),
        dispatcher: this.options.dispatcher,
      });
    } finally {
      metrics.addMetric(METRICS.callLatency, MetricUnit.Milliseconds, performance.now() - started);
    }
  }

  /** TPNS refused the key (1008003), or the access point the secret names (1008035; a probe expects that). */
  private refusesSecret(error: TpnsError, probeRegion: Region | undefined): boolean {
    return error.kind === 'credentials_rejected' || (error.kind === 'wrong_access_point' && probeRegion === undefined);
  }

  /**
   * Re-reads the secret `used` came from; true when it changed, and the call should go again.
   * A chunk whose refusal another chunk already re-read for gets that result, not a second read.
   */
  private async reread(used: TpnsSecret, reason: FailureKind): Promise<boolean> {
    const fresh = await this.options.credentials.refresh(used);
    if (sameSecret(fresh, used)) return false;
    if (this.secret === used) logger.info('TPNS refused what the secret said; retrying with the re-read secret', { reason });
    this.secret = fresh;
    this.region = fresh.region ?? this.region;
    return true;
  }

  /**
   * With no region in the secret and none remembered, the first item probes the access
   * points in turn; 1008035 means "not this one". Not possible when TPNS_ENDPOINT sends
   * every region to one host (no `{region}` in it).
   */
  async resolveRegion(query: Query): Promise<void> {
    if (this.regionKnown) return;
    const { endpoint } = this.options.config;
    const candidates = endpoint === undefined || endpoint.includes('{region}') ? REGIONS : [DEFAULT_REGION];
    for (const region of candidates) {
      try {
        await this.call(requestBody(query, { start: 0, end: 1 }), region);
      } catch (error) {
        if (error instanceof TpnsError && error.kind === 'wrong_access_point') continue;
        throw error;
      }
      discoveredRegions.set(this.secret.accessId, region);
      logger.info('discovered the TPNS access point', { region });
      this.region = region;
      this.regionKnown = true;
      return;
    }
    throw new TpnsError(
      'wrong_access_point',
      DEFAULT_REGION,
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

const countItems = (results: readonly Answer[]): void => {
  const counts = { ok: 0, not_found: 0, invalid: 0, error: 0 };
  for (const item of results) counts[item.status]++;
  for (const [status, count] of Object.entries(counts) as [keyof typeof counts, number][]) {
    if (count) metrics.addMetric(METRICS.items[status], MetricUnit.Count, count);
  }
};

/**
 * Runs a query: chunks of at most `maxBatch` items, at most `concurrency` calls in flight,
 * merged back in input order. A chunk TPNS refuses with 1008007 is split in halves, down to
 * single items. A chunk that still fails after its retries marks its items as errors and the
 * result as partial; if no chunk succeeds, the first failure is thrown.
 */
export const runQuery = async (query: Query, options: QueryOptions): Promise<QueryResult> => {
  const run = new QueryRun(options);
  const chunks = new ChunkQueue(query.items.length, options.config.maxBatch, chunkSizesFor(run.secret.accessId, run.clock.now()));
  run.callsLeft = callBudget(chunks.initialCount);
  const results = new Array<Answer>(query.items.length);
  let calls = 0;
  let answered = 0;
  let firstFailure: TpnsError | undefined;
  let unexpected: { error: unknown } | undefined;

  const send = async (chunk: Chunk): Promise<void> => {
    calls++;
    try {
      const answers = normalizeChunk(query, chunk, await run.call(requestBody(query, chunk)));
      answers.forEach((answer, i) => {
        results[chunk.start + i] = answer;
      });
      chunks.accepted(chunk);
      answered++;
    } catch (error) {
      if (!(error instanceof TpnsError)) {
        unexpected ??= { error }; // a bug: stop, and let the handler answer 500 once nothing is in flight
      } else if (error.kind === 'batch_too_large' && chunks.split(chunk)) {
        logger.warn('TPNS refused a chunk as an invalid parameter; splitting it', {
          chunkSize: chunk.end - chunk.start,
          chunkLimit: chunks.chunkLimit,
        });
      } else if (FAILURES[error.kind].fatal) {
        run.fatal ??= error;
      } else {
        firstFailure ??= error;
        for (let i = chunk.start; i < chunk.end; i++) results[i] = failedItem(query.items[i] as Item, error);
      }
    }
  };

  try {
    await run.resolveRegion(query);
    await drain(chunks.next, options.config.concurrency, send, () => run.fatal !== undefined || unexpected !== undefined);
    if (unexpected) throw unexpected.error;
    if (run.fatal) throw run.fatal;
    if (firstFailure && answered === 0) throw firstFailure;

    countItems(results);
    const partial = firstFailure !== undefined;
    const { region } = run;
    logger.info('query answered', { kind: query.kind, items: query.items.length, calls, partial, region });
    return query.kind === 'accounts'
      ? { kind: 'accounts', region, partial, accounts: results as AccountTokens[] }
      : { kind: 'tokens', region, partial, tokens: results as TokenAccounts[] };
  } finally {
    if (calls > 0) metrics.addMetric(METRICS.chunksPerRequest, MetricUnit.Count, calls);
    run.publishRetries();
  }
};

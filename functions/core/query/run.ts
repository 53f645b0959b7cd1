import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { CONFIG_DEFAULTS, METRICS } from '../../contract.ts';
import { logger, metrics } from '../../observability.ts';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { type AppSecret, type CredentialSource, sameSecret } from '../credentials.ts';
import { type AccountTokens, normalizeAccountTokens, normalizeTokenAccounts, type TokenAccounts } from '../normalize.ts';
import type { Query } from '../request.ts';
import { CLIENT_DEFAULTS, queryAccountBindings, type TpnsQueryRequest, type TpnsQueryResponse } from '../tpns/client.ts';
import { TPNS_CODE } from '../tpns/codes.ts';
import { FAILURES, type FailureKind, TpnsError } from '../tpns/failures.ts';
import { DEFAULT_REGION, REGIONS, type Region } from '../tpns/regions.ts';
import type { Dispatcher } from '../tpns/undici.ts';
import type { AnswerBound } from './answer-bound.ts';
import { breakerFor, type CircuitBreaker } from './breaker.ts';
import { callBudget } from './budget.ts';
import { type Chunk, ChunkQueue, type ChunkSizes } from './chunks.ts';
import { type ConcurrencyLimiter, limiterFor } from './limiter.ts';
import type { CallRate } from './rate.ts';
import { RETRY_DEFAULTS, retryDelayMs } from './retry.ts';

/** What every app's run of one request shares. */
export interface RunOptions {
  credentials: CredentialSource;
  /** Epoch ms, on `clock`, by which the answer must be ready (from the Lambda context). */
  deadline: number;
  /** Self-protection's settings default to CONFIG_DEFAULTS'. */
  config: Pick<Config, 'endpoint' | 'maxBatch' | 'concurrency'> &
    Partial<Pick<Config, 'adaptiveConcurrency' | 'breakerFailures' | 'breakerCooldownMs'>>;
  dispatcher?: Dispatcher;
  clock: Clock;
  /** A bulk export's call rate (rate.ts): every call, retries included, waits for its turn. */
  callRate?: CallRate;
  /** Aborts every call still in flight when the deadline comes (query.ts). */
  deadlineSignal?: AbortSignal;
  /** What the answers so far say of the answer's size (answer-bound.ts). */
  answerBound?: AnswerBound;
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
export type Answer = AccountTokens | TokenAccounts;

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

export const failedItem = (item: Item, error: TpnsError): Answer => {
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

/** The next thing an app's run has to do: find its access point, or send a chunk. */
export type Task = 'discover' | Chunk;

/** One app's answers, or the failure that answered none of them (its items then say so). */
export interface AppOutcome {
  app: string;
  items: Answer[];
  failure: TpnsError | undefined;
  partial: boolean;
}

/**
 * One app's run of a query: its key, its access point and its chunk size can change along the way;
 * its chunks, call budget and retries are its own. Its tasks go to the request's one pool (query.ts).
 */
export class QueryRun {
  app: AppSecret;
  /** Where the calls go; a placeholder until `regionKnown`. */
  region: Region;
  regionKnown: boolean;
  private discovering = false;
  /** The first failure no other chunk of this app could avoid, or its access point not found: none of its calls starts after it. */
  fatal: TpnsError | undefined;
  /** A chunk that failed after its retries: its items say why. */
  private firstFailure: TpnsError | undefined;
  private answered = 0;
  calls = 0;
  /** TPNS calls this run may still make (query/budget.ts). */
  private callsLeft: number;
  private readonly chunks: ChunkQueue;
  private readonly results: Answer[];
  private readonly retries = new Map<FailureKind, number>();
  private readonly query: Query;
  private readonly options: RunOptions;
  /** The container's adaptive limit and circuit breaker for this app (limiter.ts, breaker.ts). */
  private limiter: ConcurrencyLimiter;
  private breaker: CircuitBreaker;
  /** This run's chunks in flight: at most the limiter's limit. */
  private sending = 0;

  constructor(app: AppSecret, query: Query, options: RunOptions) {
    this.app = app;
    this.query = query;
    this.options = options;
    this.limiter = this.limiterOf(app);
    this.breaker = this.breakerOf(app);
    const known = app.region ?? discoveredRegions.get(app.accessId);
    this.region = known ?? DEFAULT_REGION;
    this.regionKnown = known !== undefined;
    this.chunks = new ChunkQueue(query.items.length, options.config.maxBatch, chunkSizesFor(app.accessId, options.clock.now()));
    this.callsLeft = callBudget(this.chunks.initialCount);
    this.results = new Array<Answer>(query.items.length);
  }

  /** What to do next, or undefined when nothing can start now: finished, failed, or its access point still being found. */
  next = (): Task | undefined => {
    if (this.fatal) return undefined;
    if (this.regionKnown) {
      if (this.sending >= this.limiter.limit) return undefined;
      const chunk = this.chunks.next();
      if (chunk !== undefined) this.sending++;
      return chunk;
    }
    if (this.discovering) return undefined;
    this.discovering = true;
    return 'discover';
  };

  /** Does `task`; a TPNS failure is recorded in the run, anything else (a bug) is thrown. */
  async perform(task: Task): Promise<void> {
    try {
      if (task === 'discover') await this.resolveRegion();
      else await this.send(task);
    } catch (error) {
      if (!(error instanceof TpnsError)) throw error;
      if (task === 'discover') {
        this.fatal ??= error; // no access point, no calls
      } else if (error.kind === 'batch_too_large' && this.chunks.split(task)) {
        logger.warn('TPNS refused a chunk as an invalid parameter; splitting it', {
          app: this.app.name,
          chunkSize: task.end - task.start,
          chunkLimit: this.chunks.chunkLimit,
        });
      } else if (FAILURES[error.kind].fatal) {
        this.fatal ??= error;
      } else {
        this.firstFailure ??= error;
        for (let i = task.start; i < task.end; i++) this.results[i] = failedItem(this.query.items[i] as Item, error);
      }
    } finally {
      if (task !== 'discover') this.sending--;
    }
  }

  private async send(chunk: Chunk): Promise<void> {
    this.calls++;
    const answers = normalizeChunk(this.query, chunk, await this.call(requestBody(this.query, chunk)));
    for (let i = 0; i < answers.length; i++) this.results[chunk.start + i] = answers[i] as Answer;
    this.options.answerBound?.add(this.query.kind, answers);
    this.chunks.accepted(chunk);
    this.answered++;
  }

  /** Once nothing is in flight: the app's answers, or what stopped it (every item then an error saying why). */
  outcome(): AppOutcome {
    const failure = this.fatal ?? (this.answered === 0 ? this.firstFailure : undefined);
    const items = this.fatal ? this.query.items.map((item) => failedItem(item, this.fatal as TpnsError)) : this.results;
    return { app: this.app.name, items, failure, partial: failure !== undefined || this.firstFailure !== undefined };
  }

  /**
   * One call, as the retry policy allows: backoff on transient failures, never past the deadline,
   * and one re-read of the secret when TPNS refuses what it says (`probeRegion`: a discovery probe).
   */
  private async call(body: TpnsQueryRequest, probeRegion?: Region): Promise<TpnsQueryResponse> {
    const { clock, deadline } = this.options;
    let reread = false;
    for (let retry = 0; ; ) {
      if (this.fatal) throw this.fatal;
      if (this.options.callRate) await this.options.callRate.take();
      const region = probeRegion ?? this.region;
      const remaining = deadline - clock.now();
      if (remaining < RETRY_DEFAULTS.minCallMs) {
        throw new TpnsError('timeout', region, 'the deadline was reached before TPNS answered');
      }
      if (this.callsLeft <= 0) {
        throw new TpnsError('call_budget_spent', region, 'the request spent its budget of TPNS calls before this chunk was answered');
      }
      // Admitted, a call must reach attempt(), which settles it: a half-open breaker waits for its one probe.
      const coolingMs = this.breaker.admit(clock.now());
      if (coolingMs > 0) {
        throw new TpnsError('circuit_open', region, 'TPNS failed this app too often of late; no call until the cool-down ends', {
          retryAfterSeconds: Math.ceil(coolingMs / 1_000),
        });
      }
      this.callsLeft--;
      const app = this.app;
      try {
        const response = await this.attempt(region, app, body, remaining);
        this.options.credentials.accepted(app);
        return response;
      } catch (error) {
        if (!(error instanceof TpnsError)) throw error;
        if (!reread && this.refusesSecret(error, probeRegion)) {
          reread = true;
          if (await this.reread(app, error.kind)) continue;
          throw error;
        }
        const delay = retryDelayMs(error.kind, retry, clock.now(), deadline, clock.random);
        if (delay === undefined) throw error;
        retry++;
        this.retries.set(error.kind, (this.retries.get(error.kind) ?? 0) + 1);
        logger.warn('retrying a TPNS call', { app: this.app.name, reason: error.kind, tpnsCode: error.code, retry });
        await clock.sleep(delay);
      }
    }
  }

  /** One call the breaker admitted: whatever it ends with, the breaker and the limiter learn of it. */
  private async attempt(region: Region, app: AppSecret, body: TpnsQueryRequest, remaining: number): Promise<TpnsQueryResponse> {
    const { breaker, limiter } = this;
    const epoch = limiter.epoch;
    const started = performance.now();
    let outage = false;
    try {
      const response = await queryAccountBindings(
        { region, endpoint: this.options.config.endpoint, credentials: app, auth: app.auth },
        body,
        {
          timeoutMs: Math.min(CLIENT_DEFAULTS.callTimeoutMs, remaining),
          dispatcher: this.options.dispatcher,
          signal: this.options.deadlineSignal,
        },
      );
      limiter.answered();
      return response;
    } catch (error) {
      if (error instanceof TpnsError) {
        outage = FAILURES[error.kind].outage;
        if (error.kind === 'rate_limited') limiter.rateLimited(epoch);
      }
      throw error;
    } finally {
      breaker.settle(outage, this.options.clock.now());
      metrics.addMetric(METRICS.callLatency, MetricUnit.Milliseconds, performance.now() - started);
    }
  }

  private limiterOf(app: AppSecret): ConcurrencyLimiter {
    const { concurrency, adaptiveConcurrency = CONFIG_DEFAULTS.adaptiveConcurrency } = this.options.config;
    return limiterFor(app.accessId, concurrency, adaptiveConcurrency);
  }

  private breakerOf(app: AppSecret): CircuitBreaker {
    const { breakerFailures = CONFIG_DEFAULTS.breakerFailures, breakerCooldownMs = CONFIG_DEFAULTS.breakerCooldownMs } =
      this.options.config;
    return breakerFor(app.accessId, { failures: breakerFailures, cooldownMs: breakerCooldownMs });
  }

  /** TPNS refused the key (1008003), or the access point the secret names (1008035; a probe expects that). */
  private refusesSecret(error: TpnsError, probeRegion: Region | undefined): boolean {
    return error.kind === 'credentials_rejected' || (error.kind === 'wrong_access_point' && probeRegion === undefined);
  }

  /**
   * Re-reads the secret `used` came from; true when this app's entry changed, and the call should go
   * again. A chunk whose refusal another chunk (of any app) already re-read for gets that result, not a second read.
   */
  private async reread(used: AppSecret, reason: FailureKind): Promise<boolean> {
    const fresh = await this.options.credentials.refresh(used);
    if (sameSecret(fresh, used)) return false;
    if (this.app === used) logger.info('TPNS refused what the secret said; retrying with the re-read secret', { app: used.name, reason });
    this.app = fresh;
    this.region = fresh.region ?? this.region;
    if (fresh.accessId !== used.accessId) {
      this.limiter = this.limiterOf(fresh);
      this.breaker = this.breakerOf(fresh);
    }
    return true;
  }

  /**
   * With no region in the secret and none remembered, the first item probes the access
   * points in turn; 1008035 means "not this one". Not possible when TPNS_ENDPOINT sends
   * every region to one host (no `{region}` in it).
   */
  private async resolveRegion(): Promise<void> {
    const { endpoint } = this.options.config;
    const candidates = endpoint === undefined || endpoint.includes('{region}') ? REGIONS : [DEFAULT_REGION];
    for (const region of candidates) {
      try {
        await this.call(requestBody(this.query, { start: 0, end: 1 }), region);
      } catch (error) {
        if (error instanceof TpnsError && error.kind === 'wrong_access_point') continue;
        throw error;
      }
      discoveredRegions.set(this.app.accessId, region);
      logger.info('discovered the TPNS access point', { app: this.app.name, region });
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

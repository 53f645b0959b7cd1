import { setTimeout as sleep } from 'node:timers/promises';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Dispatcher } from 'undici';
import { logger, metrics } from '../observability.ts';
import type { Config } from './config.ts';
import type { CredentialSource, TpnsSecret } from './credentials.ts';
import {
  type AccountTokens,
  type FailureReason,
  normalizeAccountTokens,
  normalizeTokenAccounts,
  type TokenAccounts,
} from './normalize.ts';
import { TpnsCallError } from './problems.ts';
import type { Query } from './request.ts';
import { CLIENT_DEFAULTS, queryAccountBindings, type TpnsQueryRequest, type TpnsQueryResponse } from './tpns/client.ts';
import { type FailureKind, isTransient, TPNS_CODE } from './tpns/codes.ts';
import { DEFAULT_REGION, type Region, REGIONS } from './tpns/regions.ts';

export const RETRY_DEFAULTS = {
  maxRetries: 3,
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

export type QueryResult = { region: Region; partial: boolean } & (
  | { kind: 'accounts'; accounts: AccountTokens[] }
  | { kind: 'tokens'; tokens: TokenAccounts[] }
);

/** Failures that no other chunk, region or key would fix: the whole request fails with them. */
const FATAL: ReadonlySet<FailureKind> = new Set([
  'credentials_rejected',
  'wrong_access_point',
  'app_unavailable',
  'request_rejected',
]);

/** Access points found by discovery, per AccessId, for the life of the container. */
const discoveredRegions = new Map<string, Region>();

type Item = Query['items'][number];

const requestBody = (query: Query, start: number, end: number): TpnsQueryRequest =>
  query.kind === 'accounts'
    ? {
        operator_type: 1,
        account_list: query.items.slice(start, end).map((item) => ({ account: item.account, account_type: item.accountType })),
      }
    : { operator_type: 2, token_list: query.items.slice(start, end) };

const normalizeChunk = (query: Query, start: number, end: number, response: TpnsQueryResponse) =>
  query.kind === 'accounts'
    ? normalizeAccountTokens(query.items.slice(start, end), response)
    : normalizeTokenAccounts(query.items.slice(start, end), response);

const failedItem = (item: Item, error: TpnsCallError): AccountTokens | TokenAccounts => {
  const failure = { status: 'error' as const, ...(error.code === undefined ? {} : { code: error.code }), reason: error.kind as FailureReason };
  return typeof item === 'string'
    ? { token: item, ...failure, accounts: [] }
    : { account: item.account, accountType: item.accountType, ...failure, tokens: [] };
};

/** One query run: its key, its access point and its chunk size can change along the way. */
class QueryRun {
  secret: TpnsSecret;
  region: Region | undefined;
  readonly options: QueryOptions;

  constructor(options: QueryOptions) {
    this.options = options;
    this.secret = options.credentials.current;
    this.region = this.secret.region ?? discoveredRegions.get(this.secret.accessId);
  }

  /** One call with backoff on transient failures and one key refresh on 1008003. */
  async call(body: TpnsQueryRequest, region: Region): Promise<TpnsQueryResponse> {
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      const remaining = this.options.deadline - Date.now();
      if (remaining < RETRY_DEFAULTS.minCallMs) {
        throw new TpnsCallError('timeout', region, 'the deadline was reached before TPNS answered');
      }
      const started = performance.now();
      try {
        return await queryAccountBindings(
          { region, endpoint: this.options.config.endpoint, credentials: this.secret, auth: this.secret.auth },
          body,
          { timeoutMs: Math.min(CLIENT_DEFAULTS.callTimeoutMs, remaining), dispatcher: this.options.dispatcher },
        );
      } catch (error) {
        if (!(error instanceof TpnsCallError)) throw error;
        if (error.kind === 'credentials_rejected' && !refreshed) {
          refreshed = true;
          const fresh = await this.options.credentials.refresh(this.secret);
          if (fresh.accessId !== this.secret.accessId || fresh.secretKey !== this.secret.secretKey || fresh.auth !== this.secret.auth) {
            logger.info('TPNS rejected the key; retrying with the re-read secret');
            this.secret = fresh;
            attempt--;
            continue;
          }
          throw error;
        }
        const delay = Math.random() * Math.min(RETRY_DEFAULTS.maxDelayMs, RETRY_DEFAULTS.baseDelayMs * 2 ** attempt);
        const retry =
          isTransient(error.kind) &&
          attempt < RETRY_DEFAULTS.maxRetries &&
          Date.now() + delay + RETRY_DEFAULTS.minCallMs < this.options.deadline;
        if (!retry) throw error;
        metrics.addMetric(`retries_${error.kind}`, MetricUnit.Count, 1);
        logger.warn('retrying a TPNS call', { reason: error.kind, tpnsCode: error.code, attempt: attempt + 1 });
        await sleep(delay);
      } finally {
        metrics.addMetric('tpnsCallLatency', MetricUnit.Milliseconds, performance.now() - started);
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
        await this.call(requestBody(query, 0, 1), region);
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
}

/**
 * Runs a query: chunks of at most `maxBatch` items, at most `concurrency` in flight on the
 * shared pool, merged back in input order. A chunk that still fails after its retries marks
 * its items as errors and the result as partial; if every chunk fails, the first failure is thrown.
 */
export const runQuery = async (query: Query, options: QueryOptions): Promise<QueryResult> => {
  const run = new QueryRun(options);
  const region = await run.resolveRegion(query);
  const total = query.items.length;
  const results = new Array<AccountTokens | TokenAccounts>(total);
  const pending: [number, number][] = [];
  let chunkLimit = options.config.maxBatch;
  for (let start = 0; start < total; start += chunkLimit) pending.push([start, Math.min(total, start + chunkLimit)]);

  let fatal: TpnsCallError | undefined;
  let firstFailure: TpnsCallError | undefined;
  let succeeded = 0;
  let calls = 0;

  const worker = async (): Promise<void> => {
    while (pending.length > 0 && fatal === undefined) {
      let [start, end] = pending.shift()!;
      if (end - start > chunkLimit) {
        pending.unshift([start + chunkLimit, end]);
        end = start + chunkLimit;
      }
      calls++;
      try {
        const response = await run.call(requestBody(query, start, end), region);
        const chunk = normalizeChunk(query, start, end, response);
        for (let i = 0; i < chunk.length; i++) results[start + i] = chunk[i]!;
        succeeded++;
      } catch (error) {
        if (!(error instanceof TpnsCallError)) throw error;
        if (error.kind === 'batch_too_large' && end - start > 1) {
          chunkLimit = Math.min(chunkLimit, Math.ceil((end - start) / 2));
          logger.warn('TPNS refused a chunk as invalid; halving the chunk size', { chunkSize: end - start, chunkLimit });
          pending.unshift([start, end]);
        } else if (FATAL.has(error.kind)) {
          fatal ??= error;
        } else {
          firstFailure ??= error;
          for (let i = start; i < end; i++) results[i] = failedItem(query.items[i]!, error);
        }
      }
    }
  };

  await Promise.all(Array.from({ length: Math.min(options.config.concurrency, pending.length) }, worker));
  metrics.addMetric('chunksPerRequest', MetricUnit.Count, calls);
  if (fatal) throw fatal;
  if (firstFailure && succeeded === 0) throw firstFailure;

  const counts = { ok: 0, not_found: 0, invalid: 0, error: 0 };
  for (const item of results) counts[item.status]++;
  for (const [status, count] of Object.entries(counts)) if (count) metrics.addMetric(`items_${status}`, MetricUnit.Count, count);

  const partial = firstFailure !== undefined;
  return query.kind === 'accounts'
    ? { kind: 'accounts', region, partial, accounts: results as AccountTokens[] }
    : { kind: 'tokens', region, partial, tokens: results as TokenAccounts[] };
};

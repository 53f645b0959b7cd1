import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS } from '../contract.ts';
import { logger, metrics } from '../observability.ts';
import { type Clock, systemClock } from './clock.ts';
import type { AppSecret, CredentialSource, TpnsSecret } from './credentials.ts';
import { mergeAccounts, mergeTokens } from './merge.ts';
import type { AccessPoints, AccountTokens, QueryResult, TokenAccounts } from './normalize.ts';
import { InvalidRequestError } from './problems.ts';
import { AnswerBound } from './query/answer-bound.ts';
import { drain, roundRobin } from './query/pool.ts';
import type { CallRate } from './query/rate.ts';
import { type Answer, type AppOutcome, QueryRun, type RunOptions, type Task } from './query/run.ts';
import type { Query } from './request.ts';
import { answerTooLarge } from './response-size.ts';
import { FAILURES, TpnsError } from './tpns/failures.ts';
import type { Region } from './tpns/regions.ts';
import type { Dispatcher } from './tpns/undici.ts';

export interface QueryOptions {
  credentials: CredentialSource;
  /** Epoch ms, on `clock`, by which the answer must be ready (from the Lambda context). */
  deadline: number;
  config: RunOptions['config'];
  dispatcher?: Dispatcher;
  clock?: Clock;
  /** A bulk export's TPNS call rate, shared by all its queries (query/rate.ts). */
  callRate?: CallRate;
  /** The largest answer the caller can return: once it is surely larger, no more calls, and a 413 (query/answer-bound.ts). */
  maxAnswerBytes?: number;
}

/**
 * The apps the query names, in the secret's order; every app when it names none. The names' shape
 * was checked with the request; whether they exist only the secret, read since, can say.
 */
const selectApps = (secret: TpnsSecret, selection: Query['apps']): AppSecret[] => {
  if (selection === undefined) return [...secret.apps];
  const configured = secret.apps.map((app) => app.name);
  selection.names.forEach((name, i) => {
    if (!configured.includes(name)) {
      const field = selection.field === 'apps' ? `apps[${i}]` : selection.field;
      throw new InvalidRequestError(`${field} "${name}" is not an app of this deployment (${configured.join(', ')})`);
    }
  });
  return secret.apps.filter((app) => selection.names.includes(app.name));
};

const countItems = (results: readonly Answer[]): void => {
  const counts = { ok: 0, not_found: 0, invalid: 0, error: 0 };
  for (let i = 0; i < results.length; i++) counts[(results[i] as Answer).status]++;
  for (const [status, count] of Object.entries(counts) as [keyof typeof counts, number][]) {
    if (count) metrics.addMetric(METRICS.items[status], MetricUnit.Count, count);
  }
};

/**
 * Every queried app failed: the request fails as it would with that one app. A failure a retry may
 * fix goes first, so that the events path leaves the query to Lambda's retries rather than publish it as failed.
 */
const allFailed = (outcomes: readonly AppOutcome[], appsForm: boolean): TpnsError => {
  const failures = outcomes.map(({ app, failure }) => ({ app, failure: failure as TpnsError }));
  const { app, failure } = failures.find(({ failure }) => !FAILURES[failure.kind].permanent) ?? (failures[0] as (typeof failures)[0]);
  if (!appsForm) return failure;
  const others = failures.length > 1 ? ` (every queried app failed: ${failures.map((f) => `${f.app} ${f.failure.kind}`).join(', ')})` : '';
  return new TpnsError(failure.kind, failure.region, `app "${app}": ${failure.message}${others}`, { code: failure.code, cause: failure });
};

const callsOf = (runs: readonly QueryRun[]): number => runs.reduce((sum, run) => sum + run.calls, 0);

const merged = (query: Query, outcomes: readonly AppOutcome[]): Answer[] =>
  query.kind === 'accounts'
    ? mergeAccounts(outcomes.map(({ app, items }) => ({ app, items: items as AccountTokens[] })))
    : mergeTokens(outcomes.map(({ app, items }) => ({ app, items: items as TokenAccounts[] })));

/**
 * One timer per query, not one per call (issue 11: an AbortSignal.timeout per call cost 1.7 % of a
 * 10,000-item query's instructions): at the deadline every call still in flight is aborted as a
 * `timeout`. Before it, each call's own bound is undici's headers and body timeouts (client.ts).
 */
const deadlineSignal = (deadline: number, clock: Clock): AbortSignal => AbortSignal.timeout(Math.max(0, deadline - clock.now()));

/**
 * Runs a query over each queried app: chunks of at most `maxBatch` items, every app's chunks in ONE
 * pool of at most `concurrency` calls in flight, taken from the apps in turn so that none waits for
 * another to finish. A chunk TPNS refuses with 1008007 is split in halves, down to single items. A
 * chunk that still fails after its retries marks its items as errors and the result as partial.
 * An app whose failure no chunk can avoid (its key refused, its access point wrong, its service
 * suspended), or whose chunks all failed, is failed as a whole: with a single-app secret, or when
 * every queried app failed, that failure is thrown; otherwise its items say so and the answer is partial.
 */
export const runQuery = async (query: Query, options: QueryOptions): Promise<QueryResult> => {
  const clock = options.clock ?? systemClock;
  const secret = options.credentials.current;
  const answerBound = options.maxAnswerBytes === undefined ? undefined : new AnswerBound(query, options.maxAnswerBytes);
  const runOptions = { ...options, clock, deadlineSignal: deadlineSignal(options.deadline, clock), answerBound };
  const runs = selectApps(secret, query.apps).map((app) => new QueryRun(app, query, runOptions));
  let unexpected: { error: unknown } | undefined;
  const next = roundRobin(
    runs.map((run) => () => {
      const task = run.next();
      return task === undefined ? undefined : { run, task };
    }),
  );
  const work = ({ run, task }: { run: QueryRun; task: Task }) =>
    run.perform(task).catch((error: unknown) => {
      unexpected ??= { error }; // a bug: stop, and let the handler answer 500 once nothing is in flight
    });

  try {
    await drain(next, options.config.concurrency, work, () => unexpected !== undefined || answerBound?.exceeded === true);
    if (unexpected) throw unexpected.error;
    if (answerBound?.exceeded) throw answerTooLarge(query.items.length, answerBound.atLeastBytes, 'at least');
    const outcomes = runs.map((run) => run.outcome());
    if (outcomes.every(({ failure }) => failure !== undefined)) throw allFailed(outcomes, secret.appsForm);

    const items = secret.appsForm ? merged(query, outcomes) : (outcomes[0] as AppOutcome).items;
    countItems(items);
    const partial = outcomes.some((outcome) => outcome.partial);
    const accessPoints: AccessPoints = secret.appsForm
      ? {
          regions: Object.fromEntries(runs.filter((run) => run.regionKnown).map((run) => [run.app.name, run.region])) as Record<
            string,
            Region
          >,
        }
      : { region: (runs[0] as QueryRun).region };
    logger.info('query answered', { kind: query.kind, items: query.items.length, calls: callsOf(runs), partial, ...accessPoints });
    return query.kind === 'accounts'
      ? { kind: 'accounts', accessPoints, partial, accounts: items as AccountTokens[] }
      : { kind: 'tokens', accessPoints, partial, tokens: items as TokenAccounts[] };
  } finally {
    const calls = callsOf(runs);
    if (calls > 0) metrics.addMetric(METRICS.chunksPerRequest, MetricUnit.Count, calls);
    for (const run of runs) run.publishRetries();
  }
};

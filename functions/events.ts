import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import middy, { type MiddlewareObj } from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import { FAILED_DETAIL_TYPE, METRICS, RESOLVED_DETAIL_TYPE } from './contract.ts';
import { awsClientOptions } from './core/aws-client.ts';
import { readConfig } from './core/config.ts';
import { type CredentialsContext, tpnsCredentials } from './core/credentials.ts';
import { toProblemError } from './core/problems.ts';
import { putEntries } from './core/publish.ts';
import { runQuery } from './core/query.ts';
import {
  correlationIdOf,
  failedEntry,
  isOwnEvent,
  isPermanentFailure,
  parseQueryEvent,
  type ResultEntry,
  resolvedEntries,
} from './core/query-events.ts';
import type { Query } from './core/request.ts';
import { LOGGER_CONTEXT_OPTIONS, logger, metrics } from './observability.ts';

/**
 * Time kept back from the function's remaining time for publishing the result: a few PutEvents
 * calls, a refused entry's retries (under 1 s of backoff), or one silent endpoint (the SDK's 3
 * attempts × requestTimeout). No client waits on this function, so there is no other cap.
 */
export const PUBLISH_MARGIN_MS = 10_000;

/**
 * The SDK's defaults wait on a silent endpoint forever (0 = no timeout), and its requestTimeout
 * only logs a warning unless throwOnRequestTimeout is set. One PutEvents call takes well under a second.
 */
const EVENTBRIDGE_TIMEOUTS = { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true } as const;

const config = readConfig();
const credentials = tpnsCredentials(config.secretId, { cooldownMs: config.secretRereadCooldownMs });
/** Unset (local use): nothing is published; the handler returns the events instead. */
const eventBusName = process.env.EVENT_BUS_NAME || undefined;
/** One client per container; region, credentials (as values: aws-client.ts) and AWS_ENDPOINT_URL_EVENTBRIDGE come from the environment. */
const eventBridge = new EventBridgeClient({ ...awsClientOptions(), requestHandler: EVENTBRIDGE_TIMEOUTS });

type Event = EventBridgeEvent<string, unknown>;
/** The query, validated before anything is spent on it. */
type QueryContext = CredentialsContext & { query: Query };

/** An event as a rule on the bus would deliver it to a consumer. */
export interface ResultEvent {
  source: string;
  'detail-type': string;
  detail: Record<string, unknown>;
}

export type EventsOutcome =
  | { published: true; eventBusName: string; correlationId: string; detailType: string; entries: number; calls: number }
  | { published: false; correlationId: string; detailType: string; events: ResultEvent[] }
  | { published: false; ignored: string };

/** Publishes to EVENT_BUS_NAME, or — with none configured — returns what it would have published. */
const deliver = async (correlationId: string, detailType: string, entries: ResultEntry[]): Promise<EventsOutcome> => {
  if (eventBusName === undefined) {
    const events = entries.map((e) => ({ source: e.Source, 'detail-type': e.DetailType, detail: JSON.parse(e.Detail) }));
    return { published: false, correlationId, detailType, events };
  }
  const { calls, retries } = await putEntries(
    eventBridge,
    entries.map((entry) => ({ ...entry, EventBusName: eventBusName })),
  );
  metrics.addMetric(METRICS.eventsPublished, MetricUnit.Count, entries.length);
  if (retries > 0) metrics.addMetric(METRICS.putEventsRetries, MetricUnit.Count, retries);
  logger.info('published', { detailType, entries: entries.length, calls, retries });
  return { published: true, eventBusName, correlationId, detailType, entries: entries.length, calls };
};

/** Validates before credentials are read: a bad event never costs a Secrets Manager call. */
const parseQuery: MiddlewareObj<Event, EventsOutcome, Error, QueryContext> = {
  before: (request) => {
    if (isOwnEvent(request.event)) {
      logger.warn('ignored one of our own result events; check the rule that routed it here', { detailType: request.event['detail-type'] });
      return { published: false, ignored: 'a result event of this function' };
    }
    logger.appendKeys({ correlationId: correlationIdOf(request.event, request.context.awsRequestId) });
    request.context.query = parseQueryEvent(request.event);
    return undefined;
  },
};

/**
 * A failure no retry can fix (invalid event, TPNS refusing the key or the AccessId) becomes a
 * Failed event and a normal return. Anything else — TPNS unavailable, the deadline, the secret
 * unreadable or invalid (an operator fixes the secret; the retries may then succeed), PutEvents —
 * is left thrown, so Lambda's async retries and then the dead-letter queue take the event.
 */
const publishFailures: MiddlewareObj<Event, EventsOutcome, Error, QueryContext> = {
  onError: async (request) => {
    const { error, event, context } = request;
    if (!isPermanentFailure(error)) {
      logger.error('query failed; leaving it to Lambda retries', { error: error ?? undefined });
      return;
    }
    const problem = toProblemError(error);
    // Type, not detail: an invalid event's detail can quote caller-chosen text (an unknown field's name).
    logger.info('query failed for good; publishing the failure', { status: problem.status, type: problem.slug });
    metrics.addMetric(METRICS.queriesFailed, MetricUnit.Count, 1);
    const correlationId = correlationIdOf(event, context.awsRequestId);
    request.response = await deliver(correlationId, FAILED_DETAIL_TYPE, [failedEntry(correlationId, problem, context.awsRequestId)]);
  },
};

export const handler = middy<Event, EventsOutcome, Error, QueryContext>()
  .use(injectLambdaContext(logger, LOGGER_CONTEXT_OPTIONS))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use(publishFailures)
  .use(parseQuery)
  .use(credentials)
  .handler(async (event, context) => {
    const correlationId = correlationIdOf(event, context.awsRequestId);
    const deadline = Date.now() + context.getRemainingTimeInMillis() - PUBLISH_MARGIN_MS;
    const result = await runQuery(context.query, { credentials: context.tpnsCredentials, deadline, config });
    return deliver(correlationId, RESOLVED_DETAIL_TYPE, resolvedEntries(correlationId, result, context.awsRequestId));
  });

import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { FAILED_DETAIL_TYPE, QUERY_DETAIL_TYPE, REQUEST_LIMITS, RESOLVED_DETAIL_TYPE, RESULT_SOURCE } from '../contract.ts';
import { itemsOf, type QueryResult } from './normalize.ts';
import { InvalidRequestError, type ProblemError } from './problems.ts';
import { splitIntoEntries } from './publish.ts';
import { parseQueryBody, type Query } from './request.ts';
import { FAILURES, TpnsError } from './tpns/failures.ts';

/** A Failed event's `detail` text stops here: an unknown field's name can be nearly as long as the event. */
export const MAX_FAILURE_DETAIL_CHARS = 1_000;

const isCorrelationId = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= REQUEST_LIMITS.maxIdLength;

/** `detail.correlationId` when it is usable, else the event's `id`, else `fallback` (an event that is no envelope). */
export const correlationIdOf = (event: unknown, fallback: string): string => {
  const { id, detail } = (event ?? {}) as { id?: unknown; detail?: unknown };
  const given = (detail as { correlationId?: unknown } | null | undefined)?.correlationId;
  if (isCorrelationId(given)) return given;
  return typeof id === 'string' && id !== '' ? id : fallback;
};

/** The query in a "TPNS Bindings Query Requested" event: its detail is a POST /v1/bindings/query body plus `correlationId`. */
export const parseQueryEvent = (event: unknown): Query => {
  const { 'detail-type': detailType, detail } = (event ?? {}) as { 'detail-type'?: unknown; detail?: unknown };
  if (detailType !== QUERY_DETAIL_TYPE) {
    throw new InvalidRequestError(`detail-type must be "${QUERY_DETAIL_TYPE}"`);
  }
  if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
    throw new InvalidRequestError('detail must be a JSON object with "accounts", "tokens" or "operator_type"');
  }
  const { correlationId, ...body } = detail as Record<string, unknown>;
  if (correlationId !== undefined && !isCorrelationId(correlationId)) {
    throw new InvalidRequestError(`correlationId must be a string of 1 to ${REQUEST_LIMITS.maxIdLength} characters`);
  }
  return parseQueryBody(body, 'detail');
};

/** Our own result events, should a rule ever route them back here: answering them would loop. */
export const isOwnEvent = (event: unknown): boolean => (event as { source?: unknown } | null)?.source === RESULT_SOURCE;

/** Failures a retry cannot fix: the caller hears about them in a Failed event; everything else is thrown. */
export const isPermanentFailure = (error: unknown): error is InvalidRequestError | TpnsError =>
  error instanceof InvalidRequestError || (error instanceof TpnsError && FAILURES[error.kind].permanent);

/**
 * "TPNS Bindings Resolved": the HTTP API's answer plus `correlationId`, `part` and `parts`. A result
 * over one event's limit is spread over several, each with a slice of the items, in order.
 */
/** A result event as PutEvents takes it, every field ours to set. */
export type ResultEntry = Required<Pick<PutEventsRequestEntry, 'Source' | 'DetailType' | 'Detail'>>;

export const resolvedEntries = (correlationId: string, result: QueryResult, requestId: string): ResultEntry[] => {
  const { kind, partial, accessPoints } = result;
  const items = itemsOf(result);
  return splitIntoEntries({ Source: RESULT_SOURCE, DetailType: RESOLVED_DETAIL_TYPE }, items, (slice, part, parts) => ({
    correlationId,
    part,
    parts,
    [kind]: slice,
    partial,
    ...accessPoints,
    requestId,
  })) as ResultEntry[];
};

/** "TPNS Bindings Query Failed": the problem the HTTP API would answer with, plus `correlationId`. */
export const failedEntry = (correlationId: string, problem: ProblemError, requestId: string): ResultEntry => {
  const detail =
    problem.message.length > MAX_FAILURE_DETAIL_CHARS ? `${problem.message.slice(0, MAX_FAILURE_DETAIL_CHARS - 1)}…` : problem.message;
  return {
    Source: RESULT_SOURCE,
    DetailType: FAILED_DETAIL_TYPE,
    Detail: JSON.stringify({ correlationId, ...problem.toProblem(), detail, requestId }),
  };
};

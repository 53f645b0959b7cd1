import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import * as z from 'zod/mini';
import { REQUEST_LIMITS } from './contract.ts';
import { systemClock } from './core/clock.ts';
import { readConfig } from './core/config.ts';
import { type CredentialsContext, tpnsCredentials } from './core/credentials.ts';
import { exportBatch, type IndexedRow, type StatusCounts } from './core/export/batch.ts';
import { batchKeys, exportS3Client, JSON_LINES, outputPrefix, putText, type S3Location } from './core/export/s3.ts';
import { InvalidRequestError } from './core/problems.ts';
import { CallRate } from './core/query/rate.ts';
import { LOGGER_CONTEXT_OPTIONS, logger, metrics } from './observability.ts';

/** Time kept back from the function's remaining time for writing the batch's two objects. */
export const WRITE_MARGIN_MS = 10_000;

const config = readConfig();
const credentials = tpnsCredentials(config.secretId, { cooldownMs: config.secretRereadCooldownMs });
const s3 = exportS3Client();

/** A child workflow's input: the Distributed Map's batch of rows and its BatchInput. */
const batchEvent = z.object({
  Items: z
    .array(z.object({ index: z.number().check(z.int(), z.minimum(0)), row: z.unknown() }))
    .check(z.minLength(1), z.maxLength(REQUEST_LIMITS.maxItems)),
  BatchInput: z.object({
    exportId: z.string().check(z.minLength(1)),
    output: z.string(),
    callsPerSecond: z.number().check(z.positive()),
  }),
});

interface Batch {
  rows: IndexedRow[];
  exportId: string;
  output: S3Location;
  callsPerSecond: number;
}
type BatchContext = CredentialsContext & { batch: Batch };

/** What the map's ResultWriter keeps for this batch, and the finisher adds up. */
export interface BatchResult {
  part: string;
  firstIndex: number;
  rows: number;
  counts: StatusCounts;
  calls: number;
  failedRows: number;
  failedKey: string | null;
}

/** Checks the batch before anything is spent on it: no secret read, no TPNS call for a malformed one. */
const parseBatch: MiddlewareObj<unknown, BatchResult, Error, BatchContext> = {
  before: (request) => {
    const parsed = batchEvent.safeParse(request.event);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InvalidRequestError(`the batch is not a Distributed Map batch: ${issue?.path.join('.')} ${issue?.message}`);
    }
    const { Items, BatchInput } = parsed.data;
    let output: S3Location;
    try {
      output = outputPrefix(BatchInput.output, 'BatchInput.output');
    } catch (error) {
      throw new InvalidRequestError((error as Error).message);
    }
    logger.appendKeys({ exportId: BatchInput.exportId, firstIndex: Items[0]?.index });
    request.context.batch = { rows: Items, exportId: BatchInput.exportId, output, callsPerSecond: BatchInput.callsPerSecond };
  },
};

/**
 * One batch of a bulk export (a child workflow of the Distributed Map): every row answered as the
 * HTTP API answers it, at most `callsPerSecond` TPNS calls per second, written to
 * `<output>parts/<first index>.jsonl`; rows answered `error` also to `<output>failed/<first index>.jsonl`.
 * The keys depend only on the batch: a retried batch overwrites what an earlier attempt wrote.
 */
export const handler = middy<unknown, BatchResult, Error, BatchContext>()
  .use(injectLambdaContext(logger, LOGGER_CONTEXT_OPTIONS))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use(parseBatch)
  .use(credentials)
  .handler(async (_event, context) => {
    const { rows, output, callsPerSecond } = context.batch;
    const callRate = new CallRate(callsPerSecond, systemClock);
    const deadline = Date.now() + context.getRemainingTimeInMillis() - WRITE_MARGIN_MS;
    const result = await exportBatch(rows, { credentials: context.tpnsCredentials, deadline, config, callRate });
    const firstIndex = (rows[0] as IndexedRow).index;
    const keys = batchKeys(output, firstIndex);
    const failed = result.failedRows.length > 0;
    await Promise.all([
      putText(s3, keys.part, result.lines.join(''), JSON_LINES),
      failed ? putText(s3, keys.failed, result.failedRows.join(''), JSON_LINES) : undefined,
    ]);
    logger.info('batch exported', { rows: rows.length, counts: result.counts, calls: callRate.calls });
    return {
      part: keys.part.key,
      firstIndex,
      rows: rows.length,
      counts: result.counts,
      calls: callRate.calls,
      failedRows: result.failedRows.length,
      failedKey: failed ? keys.failed.key : null,
    };
  });

/**
 * The bulk export's Step Functions definition (JSONata), README: Bulk export.
 *
 *   ReadRequest → Locate → CheckRequest ─┬─ .csv   → CsvExport   (Distributed Map) ─┐
 *                                        ├─ .jsonl → JsonlExport (Distributed Map) ─┴→ Finish → PublishCompleted → Done
 *                                        └─ else   → RejectRequest ─┐
 *   any unhandled error (Catch) ────────────────────────────────────┴→ PublishFailed → ExportFailed
 *
 * JSONata rather than JSONPath: the request's `s3://bucket/key` URIs are checked against the bucket and
 * prefixes and split into key and prefix with string functions JSONPath's intrinsics do not have.
 * A Map state reads one input format (ItemReader.ReaderConfig.InputType is fixed), so CSV and JSON Lines
 * each get a map of their own, chosen by the object's extension; their children are built by one function.
 * Created directly in `scope` (the TpnsBindingsExport construct).
 */
import { Duration } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { EXPORT_COMPLETED_DETAIL_TYPE, EXPORT_FAILED_DETAIL_TYPE, RESULT_SOURCE } from '../../functions/contract.ts';

/** Retries of a task: attempts after the first, the first wait, and its growth factor. */
export interface TaskRetry {
  readonly maxAttempts: number;
  readonly interval: Duration;
  readonly backoffRate: number;
}

export interface ExportDefinitionOptions {
  /** The bucket's name (a token is fine): input and output live in it. */
  readonly bucketName: string;
  /** Key prefixes (ending in '/') the request's input and output must be under. */
  readonly inputPrefix: string;
  readonly outputPrefix: string;
  readonly batchFunction: lambda.IFunction;
  readonly finishFunction: lambda.IFunction;
  readonly eventBus: events.IEventBus;
  /** Ids per child workflow (ItemBatcher.MaxItemsPerBatch), and the byte cap of one batch. */
  readonly maxItemsPerBatch: number;
  readonly maxInputBytesPerBatch: number;
  /** Children running at once (MaxConcurrency) and the TPNS call rate of each (BatchInput.callsPerSecond). */
  readonly maxConcurrency: number;
  readonly childCallsPerSecond: number;
  readonly toleratedFailurePercentage: number;
  readonly batchRetry: TaskRetry;
  readonly finishRetry: TaskRetry;
  readonly publishRetry: TaskRetry;
}

/**
 * ResultWriterV2 grants s3:PutObject/GetObject/multipart actions on the whole bucket (or, given only a
 * bucket name, on `*`). The construct grants them itself on the output prefix only, so this writer
 * contributes no statements.
 */
class OutputPrefixResultWriter extends sfn.ResultWriterV2 {
  override providePolicyStatements() {
    return [];
  }
}

const retried = <T extends sfn.TaskStateBase>(task: T, retry: TaskRetry): T => {
  task.addRetry({ errors: [sfn.Errors.ALL], ...retry, jitterStrategy: sfn.JitterType.FULL });
  return task;
};

/** A JSONata string literal (the prefixes are checked at synth to hold no quote). */
const literal = (s: string) => `'${s}'`;

export function exportDefinition(scope: Construct, o: ExportDefinitionOptions): sfn.IChainable {
  const bucketUri = literal(`s3://${o.bucketName}/`);
  const inputRoot = literal(`s3://${o.bucketName}/${o.inputPrefix}`);
  const outputRoot = literal(`s3://${o.bucketName}/${o.outputPrefix}`);
  const under = (variable: string, root: string) =>
    `$substring(${variable}, 0, $length(${root})) = ${root} and $length(${variable}) > $length(${root})`;
  const validRequest = `${under('$input', inputRoot)} and ${under('$output', outputRoot)} and $substring($output, -1) = '/'`;

  /** One result event (source RESULT_SOURCE) on the bindings' bus, its detail a JSONata expression. */
  const publish = (id: string, detailType: string, detail: string, options: { outputs?: string } = {}) =>
    retried(
      tasks.EventBridgePutEvents.jsonata(scope, id, {
        entries: [{ eventBus: o.eventBus, source: RESULT_SOURCE, detailType, detail: sfn.TaskInput.fromText(detail) }],
        ...options,
      }),
      o.publishRetry,
    );

  // ── Failure: one event, then the execution fails with the same error and cause.
  const exportFailed = sfn.Fail.jsonata(scope, 'ExportFailed', { error: '{% $error %}', cause: '{% $cause %}' });
  const publishFailed = publish(
    'PublishFailed',
    EXPORT_FAILED_DETAIL_TYPE,
    '{% {"exportId": $exportId, "input": $input, "output": $output, "error": $error, "cause": $cause} %}',
  );
  publishFailed.addCatch(exportFailed).next(exportFailed);
  // Error and cause of whatever failed; Cause may be absent, and an undefined value would fail the Assign itself.
  const catchAll: sfn.CatchProps = {
    errors: [sfn.Errors.ALL],
    assign: {
      error: '{% $states.errorOutput.Error %}',
      cause: "{% $exists($states.errorOutput.Cause) ? $states.errorOutput.Cause : '' %}",
    },
  };

  // ── The request: `{"input": "s3://…", "output": "s3://…/"}` (a missing or non-string field reads as '').
  const readRequest = sfn.Pass.jsonata(scope, 'ReadRequest', {
    comment: 'Keeps the request and the execution facts in variables (the maps and the finisher read them)',
    assign: {
      exportId: '{% $states.context.Execution.Name %}',
      startedAt: '{% $states.context.Execution.StartTime %}',
      input: "{% $type($states.input.input) = 'string' ? $states.input.input : '' %}",
      output: "{% $type($states.input.output) = 'string' ? $states.input.output : '' %}",
    },
  });
  const locate = sfn.Pass.jsonata(scope, 'Locate', {
    comment: 'The keys in the bucket (meaningful only once CheckRequest has found both URIs in it)',
    assign: {
      inputKey: `{% $substring($input, $length(${bucketUri})) %}`,
      outputKey: `{% $substring($output, $length(${bucketUri})) %}`,
    },
  });
  const rejectRequest = sfn.Pass.jsonata(scope, 'RejectRequest', {
    assign: {
      error: 'InvalidRequest',
      cause:
        `{% 'input must be an s3:// URI under ' & ${inputRoot} & ' ending in .csv or .jsonl, and output one under ' & ` +
        `${outputRoot} & ' ending in /' %}`,
    },
  });

  // ── The maps: one child workflow per batch of ids.
  const map = (id: string, itemReader: sfn.IItemReader) => {
    // Express children: a child is one Lambda task (at most maxItemsPerBatch ids) whose attempts, timeouts
    // and backoff are bounded to fit Express's 5 minutes (asserted in test/infra/bulk-export.test.ts), and
    // the batch is idempotent (it overwrites its own keys), so Standard's exactly-once start and per-child
    // history buy nothing; Express costs less (10,000 children of ~4 transitions each would be ~$1 of
    // Standard transitions per 10 million ids, against cents of Express duration) and starts faster. A failed
    // child still shows in the ResultWriter's FAILED_ files, with its input: the finisher lists those rows.
    const batch = retried(
      tasks.LambdaInvoke.jsonata(scope, `${id}Batch`, {
        lambdaFunction: o.batchFunction,
        // The child's whole input: {"Items": [{"index", "row"}, …], "BatchInput": {…}}.
        payload: sfn.TaskInput.fromText('{% $states.input %}'),
        outputs: '{% $states.result.Payload %}',
        // Our own retrier below covers the Lambda service errors too.
        retryOnServiceExceptions: false,
      }),
      o.batchRetry,
    );
    return sfn.DistributedMap.jsonata(scope, id, {
      itemReader,
      // Each row keeps its 0-based position in the input.
      jsonataItemSelector: '{% {"index": $states.context.Map.Item.Index, "row": $states.context.Map.Item.Value} %}',
      itemBatcher: new sfn.ItemBatcher({
        maxItemsPerBatch: o.maxItemsPerBatch,
        maxInputBytesPerBatch: o.maxInputBytesPerBatch,
        batchInput: { exportId: '{% $exportId %}', output: '{% $output %}', callsPerSecond: o.childCallsPerSecond },
      }),
      maxConcurrency: o.maxConcurrency,
      toleratedFailurePercentage: o.toleratedFailurePercentage,
      mapExecutionType: sfn.StateMachineType.EXPRESS,
      resultWriterV2: new OutputPrefixResultWriter({ bucketNamePath: o.bucketName, prefix: "{% $outputKey & 'results' %}" }),
      assign: { resultWriterDetails: '{% $states.result.ResultWriterDetails %}' },
    })
      .itemProcessor(batch)
      .addCatch(publishFailed, catchAll);
  };
  const readerProps = { bucketNamePath: o.bucketName, key: '{% $inputKey %}' };
  const csvExport = map('CsvExport', new sfn.S3CsvItemReader({ ...readerProps, csvHeaders: sfn.CsvHeaders.useFirstRow() }));
  const jsonlExport = map('JsonlExport', new sfn.S3JsonLItemReader(readerProps));

  // ── The end: the finisher's manifest, published and returned as the execution's output.
  const finish = retried(
    tasks.LambdaInvoke.jsonata(scope, 'Finish', {
      lambdaFunction: o.finishFunction,
      payload: sfn.TaskInput.fromObject({
        exportId: '{% $exportId %}',
        input: '{% $input %}',
        output: '{% $output %}',
        startedAt: '{% $startedAt %}',
        resultWriterDetails: '{% $resultWriterDetails %}',
      }),
      outputs: '{% $states.result.Payload %}',
      retryOnServiceExceptions: false,
    }),
    o.finishRetry,
  ).addCatch(publishFailed, catchAll);
  const publishCompleted = publish('PublishCompleted', EXPORT_COMPLETED_DETAIL_TYPE, '{% $states.input %}', {
    outputs: '{% $states.input %}',
  }).addCatch(publishFailed, catchAll);
  const done = sfn.Succeed.jsonata(scope, 'Done');
  csvExport.next(finish);
  jsonlExport.next(finish);
  finish.next(publishCompleted).next(done);
  rejectRequest.next(publishFailed);

  const checkRequest = sfn.Choice.jsonata(scope, 'CheckRequest')
    .when(sfn.Condition.jsonata(`{% ${validRequest} and $lowercase($substring($input, -4)) = '.csv' %}`), csvExport)
    .when(sfn.Condition.jsonata(`{% ${validRequest} and $lowercase($substring($input, -6)) = '.jsonl' %}`), jsonlExport)
    .otherwise(rejectRequest);
  return readRequest.next(locate).next(checkRequest);
}

/** How long an Express child may run: its batch task's attempts and waits must fit in it. */
export const EXPRESS_MAX_DURATION = Duration.minutes(5);

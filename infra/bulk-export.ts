/**
 * TpnsBindingsExport — the bulk export (issue 14, README: Bulk export): the bindings of up to millions
 * of accounts or tokens, on a Step Functions Distributed Map over an S3 object.
 *
 *   StartExecution {"input": "s3://BUCKET/in/….csv|.jsonl", "output": "s3://BUCKET/out/…/"}
 *   or the event "TPNS Bindings Export Requested" (rule → state machine)
 *     → Distributed Map: ItemReader (the input object) → ItemBatcher → Express child per batch
 *         → batch function (functions/export-batch.ts): <output>parts/…, <output>failed/…
 *       ResultWriter → <output>results/
 *     → finish function (functions/export-finish.ts): <output>manifest.json
 *     → "TPNS Bindings Export Completed" (the manifest) or "… Export Failed"
 *
 * Buckets and prefixes: one bucket (created, or given with `bucket`) with an input prefix (`in/`) and an
 * output prefix (`out/`). The state machine checks every request against them, and IAM holds everyone
 * to them: the state machine reads only under the input prefix and writes only under the output prefix;
 * the batch function only writes under the output prefix; the finisher reads and writes only there.
 *
 * Rate (prop `callsPerSecond`, context `exportCallsPerSecond`): TPNS calls per second for the whole export.
 *   maxConcurrency      = min(maxChildren = 10,000, max(1, floor(callsPerSecond / childCallsPerSecondTarget = 20)))
 *   childCallsPerSecond = callsPerSecond / maxConcurrency, rounded down to 3 decimals
 * (EXPORT_DEFAULTS below)
 * so maxConcurrency × childCallsPerSecond ≤ callsPerSecond: the map never runs more children than that,
 * and each child's batch function keeps under its own share (BatchInput.callsPerSecond).
 */
import { Duration, Fn, Names, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2 } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { EXPORT_REQUESTED_DETAIL_TYPE } from '../functions/contract.ts';
import { exportDefinition } from './parts/export-state-machine.ts';
import { createFunction } from './parts/function.ts';
import type { TpnsBindings } from './tpns-bindings.ts';

/** Defaults for every optional prop, and the fixed settings, in one place. */
export const EXPORT_DEFAULTS = {
  /**
   * TPNS calls per second for the whole export. TPNS publishes no rate limit for the account query;
   * 50/s is the HTTP API's own default stage rate: raise it once TPNS has been seen to take more.
   */
  callsPerSecond: 50,
  /** The rate each child aims at: 8 calls in flight (TPNS_CONCURRENCY) at up to 400 ms each. */
  childCallsPerSecondTarget: 20,
  /** Distributed Map's ceiling for MaxConcurrency. */
  maxChildren: 10_000,
  /** Ids per child (ItemBatcher.MaxItemsPerBatch). */
  maxItemsPerBatch: 1_000,
  /**
   * Bytes per batch: Step Functions caps a child's input at 256 KiB; 1,000 ids of up to 256 characters
   * would not fit, so a batch of long ids is cut smaller instead of failing. Leaves room for BatchInput.
   */
  maxInputBytesPerBatch: 240_000,
  /** Batches that may fail (after their retries) before the map fails; their rows go to failed/. */
  toleratedFailurePercentage: 5,
  inputPrefix: 'in/',
  outputPrefix: 'out/',
  /**
   * Batch function timeout and retries: 3 attempts × 85 s + 2 s + 4 s of backoff (at most, with full
   * jitter) = 261 s, inside an Express child's 5 minutes (asserted in test/infra/bulk-export.test.ts).
   */
  batchTimeout: Duration.seconds(85),
  batchRetry: { maxAttempts: 2, interval: Duration.seconds(2), backoffRate: 2 },
  /** The finisher reads one result entry per batch (up to 10,000) and writes failed rows: minutes, not seconds. */
  finishTimeout: Duration.minutes(5),
  finishRetry: { maxAttempts: 3, interval: Duration.seconds(5), backoffRate: 2 },
  publishRetry: { maxAttempts: 3, interval: Duration.seconds(1), backoffRate: 2 },
  /** EventBridge delivery retries (rule → state machine) before the request goes to the dead-letter queue. */
  targetRetryAttempts: 4,
  targetMaxEventAge: Duration.hours(1),
} as const;

export interface TpnsBindingsExportProps {
  /** The service construct: its secret, bus, dead-letter queue and function settings are reused. */
  readonly bindings: TpnsBindings;
  /**
   * The bucket holding the input and output objects.
   * @default - a new bucket: SSE-S3, TLS only, no public access
   */
  readonly bucket?: s3.IBucket;
  /** Key prefix of the input objects (ends in '/'). @default 'in/' */
  readonly inputPrefix?: string;
  /** Key prefix of the outputs (ends in '/'; not overlapping the input prefix). @default 'out/' */
  readonly outputPrefix?: string;
  /** TPNS calls per second for the whole export (see the formula above). @default 50 */
  readonly callsPerSecond?: number;
  /** Ids per child workflow. @default 1000 */
  readonly maxItemsPerBatch?: number;
  /** Percentage of batches that may fail before the export fails. @default 5 */
  readonly toleratedFailurePercentage?: number;
}

/** The map's concurrency and each child's call rate for a whole-export rate (formula in the header). */
export function exportRate(callsPerSecond: number): { maxConcurrency: number; childCallsPerSecond: number } {
  if (!Number.isFinite(callsPerSecond) || callsPerSecond <= 0) {
    throw new Error(`TpnsBindingsExport: callsPerSecond must be a positive number, got ${callsPerSecond}`);
  }
  const d = EXPORT_DEFAULTS;
  const maxConcurrency = Math.min(d.maxChildren, Math.max(1, Math.floor(callsPerSecond / d.childCallsPerSecondTarget)));
  const childCallsPerSecond = Math.floor((callsPerSecond / maxConcurrency) * 1000) / 1000;
  if (childCallsPerSecond <= 0) throw new Error(`TpnsBindingsExport: callsPerSecond ${callsPerSecond} is below 0.001 per child`);
  return { maxConcurrency, childCallsPerSecond };
}

const PREFIX = /^(?:[A-Za-z0-9_.-]+\/)+$/;

function validatedProps(props: TpnsBindingsExportProps) {
  const d = EXPORT_DEFAULTS;
  const inputPrefix = props.inputPrefix ?? d.inputPrefix;
  const outputPrefix = props.outputPrefix ?? d.outputPrefix;
  for (const [name, prefix] of [
    ['inputPrefix', inputPrefix],
    ['outputPrefix', outputPrefix],
  ] as const) {
    if (!PREFIX.test(prefix)) {
      throw new Error(
        `TpnsBindingsExport: ${name} must be path segments of A-Z, a-z, 0-9, "_", "." and "-", each ending in "/", got "${prefix}"`,
      );
    }
  }
  if (inputPrefix.startsWith(outputPrefix) || outputPrefix.startsWith(inputPrefix)) {
    throw new Error(`TpnsBindingsExport: inputPrefix "${inputPrefix}" and outputPrefix "${outputPrefix}" overlap`);
  }
  const maxItemsPerBatch = props.maxItemsPerBatch ?? d.maxItemsPerBatch;
  if (!Number.isInteger(maxItemsPerBatch) || maxItemsPerBatch < 1 || maxItemsPerBatch > 100_000_000) {
    throw new Error(`TpnsBindingsExport: maxItemsPerBatch must be a positive integer, got ${maxItemsPerBatch}`);
  }
  const toleratedFailurePercentage = props.toleratedFailurePercentage ?? d.toleratedFailurePercentage;
  if (!(toleratedFailurePercentage >= 0 && toleratedFailurePercentage <= 100)) {
    throw new Error(`TpnsBindingsExport: toleratedFailurePercentage must be from 0 to 100, got ${toleratedFailurePercentage}`);
  }
  const rate = exportRate(props.callsPerSecond ?? d.callsPerSecond);
  // A batch needs at least ceil(ids / ids per call) TPNS calls (one app); at the child's rate they must
  // take at most half the function's timeout, the other half being for latency and the S3 writes.
  const callsPerBatch = Math.ceil(maxItemsPerBatch / props.bindings.functionDefaults.maxBatch);
  const batchSeconds = callsPerBatch / rate.childCallsPerSecond;
  if (batchSeconds > d.batchTimeout.toSeconds() / 2) {
    throw new Error(
      `TpnsBindingsExport: at ${rate.childCallsPerSecond} calls/s per child, a batch of ${maxItemsPerBatch} ids ` +
        `(${callsPerBatch} calls) takes ${batchSeconds.toFixed(0)} s, more than half the batch timeout ` +
        `(${d.batchTimeout.toSeconds()} s): raise callsPerSecond or lower maxItemsPerBatch`,
    );
  }
  return { inputPrefix, outputPrefix, maxItemsPerBatch, toleratedFailurePercentage, ...rate };
}

export class TpnsBindingsExport extends Construct {
  readonly bucket: s3.IBucket;
  readonly stateMachine: sfn.StateMachine;
  readonly batchFunction: NodejsFunction;
  readonly finishFunction: NodejsFunction;
  readonly requestRule: events.Rule;
  /** The map's MaxConcurrency and each child's TPNS calls per second (from `callsPerSecond`). */
  readonly maxConcurrency: number;
  readonly childCallsPerSecond: number;

  constructor(scope: Construct, id: string, props: TpnsBindingsExportProps) {
    super(scope, id);
    // ResultWriterV2 (Arguments with a JSONata Prefix) is what the L2 renders only under this feature flag;
    // set here, before any child exists, so it holds whatever the app's cdk.json says.
    this.node.setContext(STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2, true);
    const d = EXPORT_DEFAULTS;
    const p = validatedProps(props);
    const { bindings } = props;
    const defaults = bindings.functionDefaults;
    this.maxConcurrency = p.maxConcurrency;
    this.childCallsPerSecond = p.childCallsPerSecond;

    this.bucket = props.bucket ?? this.createBucket();
    const objectsUnder = (prefix: string) => this.bucket.arnForObjects(`${prefix}*`);

    this.batchFunction = createFunction(this, 'ExportBatch', {
      entry: 'export-batch.ts',
      description: 'TPNS bulk export: one batch of ids → <output>parts/ and failed/',
      timeout: d.batchTimeout,
      memorySize: defaults.memorySize,
      reservedConcurrentExecutions: undefined,
      environment: defaults.environment,
      logRetention: defaults.logRetention,
      logLevel: defaults.logLevel,
      // It calls TPNS: from the fixed egress IPs when there are some.
      network: defaults.network,
    });
    this.finishFunction = createFunction(this, 'ExportFinish', {
      entry: 'export-finish.ts',
      description: 'TPNS bulk export: sums the batches, lists failed ids, writes <output>manifest.json',
      timeout: d.finishTimeout,
      memorySize: defaults.memorySize,
      reservedConcurrentExecutions: undefined,
      environment: defaults.environment,
      logRetention: defaults.logRetention,
      logLevel: defaults.logLevel,
      // S3 only, no TPNS: outside the VPC.
      network: undefined,
    });
    // The batch function calls TPNS (the secret) and writes its part and failed rows; the finisher
    // reads the ResultWriter's files and writes failed rows and the manifest, all under the output prefix.
    bindings.secret.grantRead(this.batchFunction);
    this.batchFunction.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'WriteOutput', actions: ['s3:PutObject'], resources: [objectsUnder(p.outputPrefix)] }),
    );
    this.finishFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadAndWriteOutput',
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [objectsUnder(p.outputPrefix)],
      }),
    );

    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', {
      // Step Functions logs to a group under /aws/vendedlogs/ without adding it to the account's CloudWatch Logs
      // resource policy, which has a 5,120-character limit that enough other log groups would exhaust.
      logGroupName: `/aws/vendedlogs/states/${Names.uniqueResourceName(this, { maxLength: 200, separator: '-' })}`,
      retention: defaults.logRetention,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'TPNS bindings bulk export: S3 ids → Distributed Map of batch functions → S3 JSON Lines and a manifest',
      queryLanguage: sfn.QueryLanguage.JSONATA,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(
        exportDefinition(this, {
          bucketName: this.bucket.bucketName,
          inputPrefix: p.inputPrefix,
          outputPrefix: p.outputPrefix,
          batchFunction: this.batchFunction,
          finishFunction: this.finishFunction,
          eventBus: bindings.eventBus,
          maxItemsPerBatch: p.maxItemsPerBatch,
          maxInputBytesPerBatch: d.maxInputBytesPerBatch,
          maxConcurrency: p.maxConcurrency,
          childCallsPerSecond: p.childCallsPerSecond,
          toleratedFailurePercentage: p.toleratedFailurePercentage,
          batchRetry: d.batchRetry,
          finishRetry: d.finishRetry,
          publishRetry: d.publishRetry,
        }),
      ),
      tracingEnabled: true,
      // Every state's events, but without their input and output: those carry the queried ids.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    // The ItemReader reads the input object; the ResultWriter writes (multipart) under the output prefix
    // and reads back what it wrote.
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'ReadInput', actions: ['s3:GetObject'], resources: [objectsUnder(p.inputPrefix)] }),
    );
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'WriteResults',
        actions: ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
        resources: [objectsUnder(p.outputPrefix)],
      }),
    );

    // With queryPublishers, the bus's policy lets only the query publishers request exports and only this
    // state machine (besides the events function) publish results.
    bindings.addBusClient(this.stateMachine.role, EXPORT_REQUESTED_DETAIL_TYPE);

    // The request event starts an execution with its detail as the input; the state machine checks it.
    this.requestRule = new events.Rule(this, 'RequestRule', {
      eventBus: bindings.eventBus,
      description: `Starts a TPNS bindings export for each "${EXPORT_REQUESTED_DETAIL_TYPE}" event`,
      // The export's own events (Completed / Failed) have other detail-types: no loop.
      eventPattern: { detailType: [EXPORT_REQUESTED_DETAIL_TYPE] },
      targets: [
        new SfnStateMachine(this.stateMachine, {
          input: events.RuleTargetInput.fromEventPath('$.detail'),
          deadLetterQueue: bindings.deadLetterQueue,
          retryAttempts: d.targetRetryAttempts,
          maxEventAge: d.targetMaxEventAge,
        }),
      ],
    });

    this.acknowledgeFindings(p);
  }

  private createBucket(): s3.Bucket {
    const bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // The ResultWriter uploads in parts; an export that fails midway leaves none behind for long.
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Only the export roles of this construct (and whoever the operator grants) use this bucket; object-level ' +
        'auditing is CloudTrail data events, which an operator can enable for it. A server-access-log bucket would ' +
        'itself be flagged for the same rule.',
    });
    return bucket;
  }

  /** Each one on the construct it is about, with the reason it is acceptable. */
  private acknowledgeFindings(p: { inputPrefix: string; outputPrefix: string }): void {
    const objects = (prefix: string) => `AwsSolutions-IAM5[Resource::${nagResource(this, this.bucket.arnForObjects(`${prefix}*`))}]`;
    const perRequestKeys =
      'The export writes keys chosen per request at run time (parts/, failed/, results/, manifest.json under the ' +
      "request's output), so the statement names every object under the construct's output prefix; nothing names " +
      'the bucket as a whole, and the input prefix is not writable.';
    for (const fn of [this.batchFunction, this.finishFunction]) {
      if (!fn.role) throw new Error('TpnsBindingsExport: a function has no role');
      Validations.of(fn.role).acknowledge({ id: objects(p.outputPrefix), reason: perRequestKeys });
    }
    const machine = this.stateMachine;
    const acknowledge = (id: string, reason: string) => Validations.of(machine.role).acknowledge({ id, reason });
    acknowledge(objects(p.outputPrefix), perRequestKeys);
    acknowledge(
      objects(p.inputPrefix),
      "The input object is chosen per request at run time; the statement is s3:GetObject on the input prefix only, which the state machine checks every request's input against.",
    );
    acknowledge(
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray (PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and CloudWatch Logs ' +
        'vended-log delivery (CreateLogDelivery, PutResourcePolicy, …) support no resource-level permissions; ' +
        'aws-cdk-lib adds exactly these for tracing and logging.',
    );
    for (const fn of [this.batchFunction, this.finishFunction]) {
      acknowledge(
        `AwsSolutions-IAM5[Resource::${nagResource(this, fn.functionArn)}:*]`,
        "lambda:InvokeFunction on this function's versions and aliases (`ARN:*`), which the LambdaInvoke task adds beside the plain ARN; no other function.",
      );
    }
    const mapPolicy = machine.node.findChild('DistributedMapPolicy');
    const executions = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${nagResource(this, Fn.select(6, Fn.split(':', machine.stateMachineArn)))}`;
    const reason =
      "The Distributed Map describes, stops and redrives its own child executions, whose names Step Functions generates: the statement names this state machine's executions (`execution:NAME:*`, `execution:NAME/*:*`) and no other.";
    Validations.of(mapPolicy).acknowledge({ id: `AwsSolutions-IAM5[Resource::${executions}:*]`, reason });
    Validations.of(mapPolicy).acknowledge({ id: `AwsSolutions-IAM5[Resource::${executions}/*:*]`, reason });
  }
}

/**
 * A resource as cdk-nag names it in a finding id: the resolved value with `<LogicalId.Attr>` for GetAtt,
 * `<Name>` for Ref, Fn::Join joined, and any other intrinsic as JSON.
 */
function nagResource(scope: Construct, value: string): string {
  const render = (v: unknown): string => {
    if (typeof v === 'string') return v;
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.Ref === 'string') return `<${o.Ref}>`;
      const getAtt = o['Fn::GetAtt'];
      if (Array.isArray(getAtt)) return `<${getAtt.join('.')}>`;
      const join = o['Fn::Join'];
      if (Array.isArray(join)) return (join[1] as unknown[]).map(render).join(join[0] as string);
    }
    return JSON.stringify(v);
  };
  return render(Stack.of(scope).resolve(value));
}

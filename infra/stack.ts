/**
 * The deployable stack: a thin shell over the TpnsBindings construct that maps CDK
 * context (`cdk deploy -c key=value` or cdk.json "context") to construct props and
 * adds the stack outputs. Explicit `bindings` props win over context.
 *
 * Context keys (all optional):
 *   secretName, tpnsEndpoint, maxBatch, concurrency, adaptiveConcurrency (true/false), breakerFailures,
 *   breakerCooldownMs, httpReservedConcurrency,
 *   eventsReservedConcurrency, throttlingRateLimit, throttlingBurstLimit,
 *   logRetentionDays, logLevel, memorySize, eventBusName, alarmTopicArn, sourceMapStackTraces,
 *   allowedSources, queryPublishers (comma-separated; queryPublishers: account ids and IAM role/user ARNs),
 *   alarmEmail, dashboard (true/false), fixedEgressIp (true/false/per-az)
 *   bulkExport (true/false, default true: the TpnsBindingsExport construct), exportCallsPerSecond (TPNS calls
 *   per second for a whole export, a positive number)
 */

import type { StackProps } from 'aws-cdk-lib';
import { CfnOutput, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct, Node } from 'constructs';
import type { TpnsBindingsExportProps } from './bulk-export.ts';
import { TpnsBindingsExport } from './bulk-export.ts';
import type { LogLevel, TpnsBindingsProps } from './tpns-bindings.ts';
import { TpnsBindings } from './tpns-bindings.ts';

export interface TpnsBindingsStackProps extends StackProps {
  /** Construct props; override the context keys. */
  readonly bindings?: TpnsBindingsProps;
  /** Bulk export props (override the context keys), or false for none. */
  readonly bulkExport?: false | Omit<TpnsBindingsExportProps, 'bindings'>;
}

export class TpnsBindingsStack extends Stack {
  readonly bindings: TpnsBindings;
  /** Absent with context bulkExport=false (or prop bulkExport: false). */
  readonly bulkExport?: TpnsBindingsExport;

  constructor(scope: Construct, id: string, props: TpnsBindingsStackProps = {}) {
    super(scope, id, {
      description: 'TPNS account/token binding lookups: HTTP API (SigV4) and EventBridge, backed by Lambda',
      ...props,
    });

    this.bindings = new TpnsBindings(this, 'TpnsBindings', {
      ...propsFromContext(this, this.node),
      ...definedOnly(props.bindings ?? {}),
    });

    const b = this.bindings;
    new CfnOutput(this, 'ApiUrl', {
      value: b.apiUrl,
      description: 'Base URL of the HTTP API; sign requests with SigV4 (service execute-api)',
    });
    new CfnOutput(this, 'HttpApiId', { value: b.httpApi.apiId });
    new CfnOutput(this, 'HttpFunctionName', { value: b.httpFunction.functionName });
    new CfnOutput(this, 'EventsFunctionName', { value: b.eventsFunction.functionName });
    new CfnOutput(this, 'EventBusName', {
      value: b.eventBus.eventBusName,
      description: 'Bus for "TPNS Bindings Query Requested" events and the result events',
    });
    new CfnOutput(this, 'QueryRuleArn', { value: b.queryRule.ruleArn });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: b.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'SecretName', {
      value: b.secret.secretName,
      description: 'Secrets Manager secret holding the TPNS credentials',
    });
    new CfnOutput(this, 'AlarmNotifications', {
      value:
        b.alarmTopics.length === 0
          ? 'none: the alarms notify no one (deploy with -c alarmEmail=... or -c alarmTopicArn=...)'
          : b.alarmTopics.map((topic) => topic.topicArn).join(', '),
      description: 'SNS topics the alarms notify',
    });
    if (b.egressIps.length > 0) {
      new CfnOutput(this, 'EgressIps', {
        value: b.egressIps.join(', '),
        description: 'Addresses the calls to TPNS come from: whitelist them in the TPNS console',
      });
    }
    if (b.dashboardUrl) new CfnOutput(this, 'DashboardUrl', { value: b.dashboardUrl, description: 'CloudWatch dashboard' });

    const exportProps = props.bulkExport ?? exportPropsFromContext(this.node);
    if (exportProps !== false) {
      this.bulkExport = new TpnsBindingsExport(this, 'BulkExport', { ...exportProps, bindings: b });
      new CfnOutput(this, 'ExportStateMachineArn', {
        value: this.bulkExport.stateMachine.stateMachineArn,
        description: 'Bulk export: StartExecution with {"input": "s3://…", "output": "s3://…/"} (README: Bulk export)',
      });
      new CfnOutput(this, 'ExportBucketName', {
        value: this.bulkExport.bucket.bucketName,
        description: 'Bulk export bucket: inputs under in/, outputs under out/',
      });
    }
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Context bulkExport (default true) and exportCallsPerSecond. */
function exportPropsFromContext(node: Node): false | Omit<TpnsBindingsExportProps, 'bindings'> {
  const enabled = String(node.tryGetContext('bulkExport') ?? 'true');
  if (enabled !== 'true' && enabled !== 'false') throw new Error(`context bulkExport must be true or false, got "${enabled}"`);
  if (enabled === 'false') return false;
  const rate: unknown = node.tryGetContext('exportCallsPerSecond');
  if (rate === undefined || rate === null || rate === '') return {};
  const callsPerSecond = Number(rate);
  if (!(callsPerSecond > 0) || !Number.isFinite(callsPerSecond)) {
    throw new Error(`context exportCallsPerSecond must be a positive number, got "${String(rate)}"`);
  }
  return { callsPerSecond };
}

/** Reads the documented context keys. Values given with `-c` arrive as strings. */
function propsFromContext(scope: Construct, node: Node): TpnsBindingsProps {
  const str = (key: string): string | undefined => {
    const v: unknown = node.tryGetContext(key);
    return v === undefined || v === null || v === '' ? undefined : String(v);
  };
  const int = (key: string): number | undefined => {
    const v = str(key);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`context ${key} must be a non-negative integer, got "${v}"`);
    return n;
  };

  // Comma-separated; the construct checks the entries (an empty one is an error there, not dropped here).
  const list = (key: string): string[] | undefined =>
    str(key)
      ?.split(',')
      .map((entry) => entry.trim());

  const logRetentionDays = int('logRetentionDays');
  if (logRetentionDays !== undefined && !Object.values(logs.RetentionDays).includes(logRetentionDays)) {
    throw new Error(`context logRetentionDays=${logRetentionDays} is not a CloudWatch Logs retention value`);
  }
  const logLevel = str('logLevel')?.toUpperCase();
  if (logLevel !== undefined && !['DEBUG', 'INFO', 'WARN', 'ERROR'].includes(logLevel)) {
    throw new Error(`context logLevel must be DEBUG, INFO, WARN or ERROR, got "${logLevel}"`);
  }
  const fixedEgressIp = str('fixedEgressIp');
  if (fixedEgressIp !== undefined && !['true', 'false', 'per-az'].includes(fixedEgressIp)) {
    throw new Error(`context fixedEgressIp must be true, false or per-az, got "${fixedEgressIp}"`);
  }
  const eventBusName = str('eventBusName');
  const alarmTopicArn = str('alarmTopicArn');
  const bool = (key: string): boolean | undefined => {
    const v = str(key);
    if (v !== undefined && v !== 'true' && v !== 'false') throw new Error(`context ${key} must be true or false, got "${v}"`);
    return v === undefined ? undefined : v === 'true';
  };

  return {
    secretName: str('secretName'),
    tpnsEndpoint: str('tpnsEndpoint'),
    maxBatch: int('maxBatch'),
    concurrency: int('concurrency'),
    adaptiveConcurrency: bool('adaptiveConcurrency'),
    breakerFailures: int('breakerFailures'),
    breakerCooldownMs: int('breakerCooldownMs'),
    httpReservedConcurrency: int('httpReservedConcurrency'),
    eventsReservedConcurrency: int('eventsReservedConcurrency'),
    throttlingRateLimit: int('throttlingRateLimit'),
    throttlingBurstLimit: int('throttlingBurstLimit'),
    logRetention: logRetentionDays as logs.RetentionDays | undefined,
    logLevel: logLevel as LogLevel | undefined,
    memorySize: int('memorySize'),
    sourceMapStackTraces: bool('sourceMapStackTraces'),
    eventSchemas: bool('eventSchemas'),
    allowedSources: list('allowedSources'),
    queryPublishers: list('queryPublishers'),
    eventBus: eventBusName === undefined ? undefined : events.EventBus.fromEventBusName(scope, 'ContextEventBus', eventBusName),
    alarmTopic: alarmTopicArn === undefined ? undefined : sns.Topic.fromTopicArn(scope, 'ContextAlarmTopic', alarmTopicArn),
    alarmEmail: str('alarmEmail'),
    dashboard: bool('dashboard'),
    fixedEgressIp: fixedEgressIp === 'per-az' ? fixedEgressIp : fixedEgressIp === undefined ? undefined : fixedEgressIp === 'true',
  };
}

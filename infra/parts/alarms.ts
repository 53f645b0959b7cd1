/**
 * CloudWatch alarms on the functions, the API stage, the dead-letter queue and the service's own
 * metrics (infra/parts/service-metrics.ts), notifying the given SNS topics (alarm and OK); and the
 * encrypted topic that e-mails them (prop alarmEmail). Created directly in `scope` (the TpnsBindings
 * construct), so the logical IDs do not change.
 */
import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { METRICS } from '../../functions/contract.ts';
import { itemMetrics, retryMetrics, serviceMetric } from './service-metrics.ts';

export interface AlarmsOptions {
  readonly httpFunction: lambda.IFunction;
  readonly eventsFunction: lambda.IFunction;
  readonly stage: apigwv2.IHttpStage;
  readonly deadLetterQueue: sqs.IQueue;
  /** Topics notified of every alarm and its return to OK; none: alarms without actions. */
  readonly alarmTopics: sns.ITopic[];
  /** Thresholds per 5 minutes. */
  readonly httpErrorsThreshold: number;
  readonly eventsErrorsThreshold: number;
  readonly api5xxThreshold: number;
  /** Share of the items answered `error`, percent, once at least `itemsErrorMinItems` items were answered. */
  readonly itemsErrorPercentThreshold: number;
  readonly itemsErrorMinItems: number;
  readonly retriesThreshold: number;
  /** TPNS call latency p99, ms, three periods in a row. */
  readonly callLatencyP99ThresholdMs: number;
}

export function createAlarms(scope: Construct, options: AlarmsOptions): cloudwatch.Alarm[] {
  const { httpFunction, eventsFunction, alarmTopics } = options;
  const alarms: cloudwatch.Alarm[] = [];
  const alarm = (alarmId: string, metric: cloudwatch.IMetric, threshold: number, description: string, evaluationPeriods = 1) => {
    const a = new cloudwatch.Alarm(scope, alarmId, {
      metric,
      threshold,
      evaluationPeriods,
      // A threshold of 0 means "any at all": > 0. Otherwise the threshold is the first count that alarms.
      comparisonOperator:
        threshold === 0
          ? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
          : cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    for (const topic of alarmTopics) {
      a.addAlarmAction(new SnsAction(topic));
      a.addOkAction(new SnsAction(topic));
    }
    alarms.push(a);
  };
  const fiveMinutes = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };

  // HTTP: the handler answers every failure with problem+json, so an invocation error is a
  // crash, an init failure (bad configuration) or a timeout: alarm on the first one.
  alarm(
    'HttpFunctionErrors',
    httpFunction.metricErrors(fiveMinutes),
    options.httpErrorsThreshold,
    'HTTP function invocation errors (crash, init failure or timeout)',
  );
  // Events: transient failures (TPNS down, the deadline reached with nothing answered, secret
  // unreadable, PutEvents) are thrown on purpose so that Lambda retries them; alarm on a sustained
  // rate. Events that never succeed are reported by the dead-letter queue alarm below.
  alarm(
    'EventsFunctionErrors',
    eventsFunction.metricErrors(fiveMinutes),
    options.eventsErrorsThreshold,
    `Events function: >= ${options.eventsErrorsThreshold} failed invocations in 5 minutes (retried by Lambda)`,
  );
  for (const [name, fn] of [
    ['Http', httpFunction],
    ['Events', eventsFunction],
  ] as const) {
    alarm(
      `${name}FunctionThrottles`,
      fn.metricThrottles(fiveMinutes),
      1,
      `${name} function throttled (reserved concurrency or account limit reached)`,
    );
  }
  // The handler maps TPNS outages and deadlines to 502/503/504 problem+json, so a single
  // upstream blip produces a 5xx; alarm on a sustained rate rather than on one.
  alarm(
    'Api5xx',
    options.stage.metricServerError(fiveMinutes),
    options.api5xxThreshold,
    `HTTP API answered >= ${options.api5xxThreshold} 5xx in 5 minutes`,
  );
  alarm(
    'DeadLetterQueueNotEmpty',
    options.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(1),
      statistic: cloudwatch.Stats.MAXIMUM,
    }),
    0,
    'Query events failed delivery or processing and are waiting in the dead-letter queue',
  );

  // The service's own metrics. Items in `error` are those TPNS did not answer after the retries
  // (timeouts, outages, rate limiting): a share, not a count, so that traffic does not move it, and
  // only over enough items that one failed chunk of a small query does not page anyone.
  const items = itemMetrics();
  const itemsTotal = Object.keys(items)
    .map((id) => `FILL(${id}, 0)`)
    .join(' + ');
  alarm(
    'ItemsErrorShare',
    new cloudwatch.MathExpression({
      expression: `IF((${itemsTotal}) >= ${options.itemsErrorMinItems}, 100 * FILL(items_error, 0) / (${itemsTotal}), 0)`,
      usingMetrics: items,
      label: 'Items answered "error", % of all items',
      period: Duration.minutes(5),
    }),
    options.itemsErrorPercentThreshold,
    `>= ${options.itemsErrorPercentThreshold}% of the items answered in 5 minutes have status "error" (TPNS did not answer them)`,
  );
  // A healthy TPNS answers the first time; retries in numbers mean rate limiting or an outage that
  // lasts, and each retry spends time and TPNS quota.
  const retries = retryMetrics();
  alarm(
    'TpnsRetrySurge',
    new cloudwatch.MathExpression({
      expression: `SUM([${Object.keys(retries).join(', ')}])`,
      usingMetrics: retries,
      label: 'TPNS calls retried',
      period: Duration.minutes(5),
    }),
    options.retriesThreshold,
    `>= ${options.retriesThreshold} TPNS calls retried in 5 minutes (rate limiting, outage or timeouts; dashboard: retries by reason)`,
  );
  // Slow for 15 minutes, not one slow burst: as p99 nears the call timeout, chunks start timing out.
  alarm(
    'TpnsCallLatencyP99',
    serviceMetric(METRICS.callLatency, { statistic: cloudwatch.Stats.p(99) }),
    options.callLatencyP99ThresholdMs,
    `TPNS call latency p99 >= ${options.callLatencyP99ThresholdMs} ms for 15 minutes`,
    3,
  );
  // A re-read follows a key TPNS refused. A rotation makes each warm container re-read once, in one
  // period; re-reads in three periods in a row mean TPNS keeps refusing the key the secret holds.
  alarm(
    'SecretRereads',
    serviceMetric(METRICS.secretRefreshes),
    1,
    'The secret was re-read after TPNS refused its key in each of 15 minutes: the key in the secret is not the one TPNS accepts',
    3,
  );
  return alarms;
}

/**
 * A topic that e-mails `email` every alarm and OK (the recipient confirms the subscription first).
 * Encrypted with a key of its own: CloudWatch cannot publish to a topic under the AWS-managed aws/sns
 * key, whose policy cannot be changed to let it use the key.
 */
export function createAlarmEmailTopic(scope: Construct, email: string): sns.Topic {
  const key = new kms.Key(scope, 'AlarmTopicKey', {
    description: 'Encrypts the TPNS bindings alarm topic',
    enableKeyRotation: true,
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
    }),
  );
  const topic = new sns.Topic(scope, 'AlarmEmailTopic', {
    displayName: 'TPNS bindings alarms',
    masterKey: key,
    enforceSSL: true,
  });
  topic.addSubscription(new EmailSubscription(email));
  return topic;
}

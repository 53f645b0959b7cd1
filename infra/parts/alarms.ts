/**
 * CloudWatch alarms on the functions, the API stage and the dead-letter queue, optionally
 * notifying an SNS topic (alarm and OK). Created directly in `scope` (the TpnsBindings
 * construct), so the logical IDs do not change.
 */
import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

export interface AlarmsOptions {
  readonly httpFunction: lambda.IFunction;
  readonly eventsFunction: lambda.IFunction;
  readonly stage: apigwv2.IHttpStage;
  readonly deadLetterQueue: sqs.IQueue;
  readonly alarmTopic: sns.ITopic | undefined;
  /** Thresholds per 5 minutes. */
  readonly httpErrorsThreshold: number;
  readonly eventsErrorsThreshold: number;
  readonly api5xxThreshold: number;
}

export function createAlarms(scope: Construct, options: AlarmsOptions): cloudwatch.Alarm[] {
  const { httpFunction, eventsFunction, alarmTopic } = options;
  const alarms: cloudwatch.Alarm[] = [];
  const alarm = (alarmId: string, metric: cloudwatch.IMetric, threshold: number, description: string) => {
    const a = new cloudwatch.Alarm(scope, alarmId, {
      metric,
      threshold,
      evaluationPeriods: 1,
      // A threshold of 0 means "any at all": > 0. Otherwise the threshold is the first count that alarms.
      comparisonOperator:
        threshold === 0
          ? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
          : cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    if (alarmTopic) {
      a.addAlarmAction(new SnsAction(alarmTopic));
      a.addOkAction(new SnsAction(alarmTopic));
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
  return alarms;
}

/**
 * One CloudWatch dashboard for an operator: the API, the functions, the TPNS calls, the items, the
 * events and the dead-letter queue. The service's own metrics come from infra/parts/service-metrics.ts,
 * the names the handlers emit (functions/contract.ts METRICS). Created directly in `scope` (the
 * TpnsBindings construct), so the logical IDs do not change.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { METRICS } from '../../functions/contract.ts';
import { coldStartMetric, itemMetrics, retryMetrics, searchServiceMetric, serviceMetric } from './service-metrics.ts';

export interface DashboardOptions {
  readonly httpFunction: lambda.IFunction;
  readonly eventsFunction: lambda.IFunction;
  readonly stage: apigwv2.IHttpStage;
  readonly deadLetterQueue: sqs.IQueue;
}

const PERIOD = Duration.minutes(5);
const WIDTH = 8; // three widgets to a row of 24
const HEIGHT = 6;
const { SUM, AVERAGE, MAXIMUM } = cloudwatch.Stats;
const P50 = cloudwatch.Stats.p(50);
const P99 = cloudwatch.Stats.p(99);

const graph = (title: string, left: cloudwatch.IMetric[], extra: Partial<cloudwatch.GraphWidgetProps> = {}) =>
  new cloudwatch.GraphWidget({ title, left, width: WIDTH, height: HEIGHT, period: PERIOD, ...extra });

export function createDashboard(scope: Construct, options: DashboardOptions): cloudwatch.Dashboard {
  const { httpFunction, eventsFunction, stage, deadLetterQueue } = options;
  const functions = [
    ['http', httpFunction],
    ['events', eventsFunction],
  ] as const;
  const perFunction = (metric: (fn: lambda.IFunction) => cloudwatch.Metric, what: string) =>
    functions.map(([name, fn]) => metric(fn).with({ label: `${name} ${what}` }));

  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', { defaultInterval: Duration.hours(3) });
  dashboard.addWidgets(
    graph('API requests, 4xx and 5xx', [
      stage.metricCount({ statistic: SUM, label: 'requests' }),
      stage.metricClientError({ statistic: SUM, label: '4xx' }),
      stage.metricServerError({ statistic: SUM, label: '5xx' }),
    ]),
    graph('API latency p50 / p99 (ms)', [
      stage.metricLatency({ statistic: P50, label: 'latency p50' }),
      stage.metricLatency({ statistic: P99, label: 'latency p99' }),
      stage.metricIntegrationLatency({ statistic: P50, label: 'integration p50' }),
      stage.metricIntegrationLatency({ statistic: P99, label: 'integration p99' }),
    ]),
    graph('Problems answered by the HTTP function', [
      serviceMetric(METRICS.serverErrors, { label: '5xx problems' }),
      serviceMetric(METRICS.clientErrors, { label: '4xx problems' }),
    ]),
  );
  dashboard.addWidgets(
    graph(
      'Function invocations',
      perFunction((fn) => fn.metricInvocations({ statistic: SUM }), 'invocations'),
    ),
    graph('Function errors and throttles', [
      ...perFunction((fn) => fn.metricErrors({ statistic: SUM }), 'errors'),
      ...perFunction((fn) => fn.metricThrottles({ statistic: SUM }), 'throttles'),
    ]),
    graph(
      'Function duration p99 (ms) and cold starts',
      perFunction((fn) => fn.metricDuration({ statistic: P99 }), 'duration p99'),
      {
        right: functions.map(([name, fn]) => coldStartMetric(fn, `${name} cold starts`)),
      },
    ),
  );
  dashboard.addWidgets(
    graph('TPNS call latency p50 / p99 (ms)', [
      serviceMetric(METRICS.callLatency, { statistic: P50, label: 'p50' }),
      serviceMetric(METRICS.callLatency, { statistic: P99, label: 'p99' }),
    ]),
    graph('TPNS retries by reason', Object.values(retryMetrics()), { stacked: true }),
    graph(
      'TPNS calls per request and secret re-reads',
      [
        serviceMetric(METRICS.chunksPerRequest, { statistic: AVERAGE, label: 'calls per request (avg)' }),
        serviceMetric(METRICS.chunksPerRequest, { statistic: MAXIMUM, label: 'calls per request (max)' }),
      ],
      { right: [serviceMetric(METRICS.secretRefreshes, { label: 'secret re-reads' })] },
    ),
  );
  dashboard.addWidgets(
    graph('TPNS concurrency limit per app (adaptive)', [searchServiceMetric(METRICS.concurrencyLimit, ['app'], 'Minimum')]),
    graph('TPNS circuit-breaker state changes per app', [searchServiceMetric(METRICS.breakerTransitions, ['app', 'state'], 'Sum')]),
    graph('Items by status', Object.values(itemMetrics()), { stacked: true }),
  );
  dashboard.addWidgets(
    graph('Result events', [
      serviceMetric(METRICS.eventsPublished, { label: 'published' }),
      serviceMetric(METRICS.queriesFailed, { label: 'queries failed' }),
      serviceMetric(METRICS.putEventsRetries, { label: 'PutEvents retries' }),
    ]),
    graph('Dead-letter queue depth', [
      deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: MAXIMUM, label: 'messages waiting' }),
    ]),
  );
  return dashboard;
}

/** The dashboard in the CloudWatch console of the stack's region. */
export function dashboardUrl(dashboard: cloudwatch.Dashboard): string {
  const region = Stack.of(dashboard).region;
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${dashboard.dashboardName}`;
}

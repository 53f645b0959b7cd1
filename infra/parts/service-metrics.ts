/**
 * The service's own metrics (functions/contract.ts METRICS) as CloudWatch stores them, for the dashboard
 * and the alarms. Powertools Metrics (functions/observability.ts) emits them in namespace
 * METRICS_NAMESPACE with the dimension `service` = SERVICE_NAME on every metric; a metric with more
 * dimensions is another metric to CloudWatch, so each one here carries exactly what the handlers add:
 * `reason` on retries, `function_name` on Powertools' cold-start metric, `app` (and `state`) on the
 * adaptive-concurrency and breaker metrics.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { METRICS, METRICS_NAMESPACE, SERVICE_NAME } from '../../functions/contract.ts';
import { FAILURES, type FailureKind } from '../../functions/core/tpns/failures.ts';

/** Powertools' own metric for `logMetrics(metrics, { captureColdStartMetric: true })`, one per cold start. */
export const COLD_START_METRIC = 'ColdStart';

/** The `reason` values of METRICS.retries: the failure kinds the retry policy retries (functions/core/query/retry.ts). */
export const RETRY_REASONS = (Object.keys(FAILURES) as FailureKind[]).filter((kind) => FAILURES[kind].transient);

const FIVE_MINUTES = Duration.minutes(5);

/** One of the service's metrics: its namespace, the `service` dimension and any further dimensions. */
export function serviceMetric(metricName: string, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    period: FIVE_MINUTES,
    statistic: cloudwatch.Stats.SUM,
    ...options,
    dimensionsMap: { service: SERVICE_NAME, ...options.dimensionsMap },
  });
}

/** Items answered, one metric per status, keyed by a metric-math id (`items_ok`, …). */
export function itemMetrics(): Record<string, cloudwatch.Metric> {
  return Object.fromEntries(
    Object.entries(METRICS.items).map(([status, name]) => [`items_${status}`, serviceMetric(name, { label: status })]),
  );
}

/** Retried TPNS calls, one metric per reason, keyed by a metric-math id (`retries_rate_limited`, …). */
export function retryMetrics(): Record<string, cloudwatch.Metric> {
  return Object.fromEntries(
    RETRY_REASONS.map((reason) => [`retries_${reason}`, serviceMetric(METRICS.retries, { dimensionsMap: { reason }, label: reason })]),
  );
}

/** Cold starts of one function (Powertools adds the function's name as `function_name`). */
export function coldStartMetric(fn: lambda.IFunction, label: string): cloudwatch.Metric {
  return serviceMetric(COLD_START_METRIC, { dimensionsMap: { function_name: fn.functionName }, label });
}

/**
 * A metric per value of the dimensions `perDimensions` besides `service` (per app, say): values only
 * known at run time, so a SEARCH expression finds them (dashboards only; alarms cannot search).
 */
export function searchServiceMetric(metricName: string, perDimensions: string[], statistic: string): cloudwatch.MathExpression {
  const schema = [METRICS_NAMESPACE, 'service', ...perDimensions].join(',');
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${schema}} MetricName="${metricName}" service="${SERVICE_NAME}"', '${statistic}', 60)`,
    // No label: each series found is named by its dimension values (the app).
    period: Duration.minutes(1),
  });
}

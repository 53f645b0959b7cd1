/**
 * TpnsBindings — the whole product as one reusable CDK construct:
 *
 *   HTTP API (IAM auth) ──► http function ──┐
 *                                           ├──► TPNS (credentials from Secrets Manager)
 *   EventBridge rule ─────► events function ┘──► PutEvents: "TPNS Bindings Resolved" / "... Query Failed"
 *        │ delivery failures                  │ async-invoke failures
 *        └──────────────► SQS dead-letter queue ◄┘
 *
 * Plus log groups with retention, X-Ray, and CloudWatch alarms (optionally to an SNS topic).
 * infra/stack.ts is a thin shell around it; other CDK apps can import it as is.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  CONFIG_DEFAULTS,
  CONFIG_LIMITS,
  FUNCTION_TIMEOUTS_MS,
  HTTP_ROUTES,
  METRICS_NAMESPACE,
  QUERY_DETAIL_TYPE,
  RESULT_SOURCE,
  SERVICE_NAME,
} from '../functions/contract.ts';
import { nodejsFunctionBundling } from './bundling.ts';

// The event contract (functions/contract.ts), re-exported for the rules of apps that import the construct.
export { FAILED_DETAIL_TYPE, QUERY_DETAIL_TYPE, RESOLVED_DETAIL_TYPE, RESULT_SOURCE } from '../functions/contract.ts';

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** Defaults for every optional prop, in one place. */
export const TPNS_BINDINGS_DEFAULTS = {
  /** Secrets Manager secret (name) holding `{"accessId","secretKey","region"?,"auth"?}`. */
  secretName: 'tpns/credentials',
  /** Items per TPNS call (TPNS_MAX_BATCH) and parallel TPNS calls per invocation (TPNS_CONCURRENCY): the handlers' defaults. */
  maxBatch: CONFIG_DEFAULTS.maxBatch,
  concurrency: CONFIG_DEFAULTS.concurrency,
  /** Stage throttling: steady-state requests per second and burst, for the whole API. */
  throttlingRateLimit: 50,
  throttlingBurstLimit: 100,
  /** Retention of the function and access log groups. */
  logRetention: logs.RetentionDays.ONE_MONTH,
  logLevel: 'INFO' as LogLevel,
  sourceMapStackTraces: false,
  /** Function timeouts: why these values, in functions/contract.ts. */
  httpTimeout: Duration.millis(FUNCTION_TIMEOUTS_MS.http),
  eventsTimeout: Duration.millis(FUNCTION_TIMEOUTS_MS.events),
  /**
   * 512 MB: the work is I/O-bound (HTTPS to TPNS) but Lambda allocates CPU in
   * proportion to memory, and cold start (module init, TLS handshakes, JSON of up to
   * a few hundred KB) is CPU-bound. 512 MB on arm64 keeps p99 cold start low at a
   * small cost; raise it with the prop if profiling says so.
   */
  memorySize: 512,
  /** Lambda async-invoke retries of a failed events invocation (0-2) and max age before it goes to the DLQ. */
  asyncRetryAttempts: 2,
  asyncMaxEventAge: Duration.hours(1),
  /** EventBridge delivery retries (rule → function) and max age before the event goes to the DLQ. */
  targetRetryAttempts: 4,
  targetMaxEventAge: Duration.hours(1),
  /** Dead-letter queue retention (the SQS maximum: time to notice the alarm and redrive). */
  dlqRetention: Duration.days(14),
  /** Alarm thresholds per 5 minutes (see the alarms for why they differ). */
  httpErrorsThreshold: 1,
  eventsErrorsThreshold: 5,
  api5xxThreshold: 5,
} as const;

export interface TpnsBindingsProps {
  /**
   * Name of an existing Secrets Manager secret with the TPNS credentials. Imported by
   * name; the functions may read exactly this secret.
   * @default 'tpns/credentials'
   */
  readonly secretName?: string;
  /**
   * An existing secret object instead of `secretName`, e.g. one encrypted with a
   * customer-managed KMS key (grantRead then also grants kms:Decrypt on that key).
   * @default - imported by `secretName`
   */
  readonly secret?: secretsmanager.ISecret;
  /**
   * TPNS base URL override (TPNS_ENDPOINT), e.g. a regional access point or a stand-in.
   * @default - derived by the handler from the secret's `region`
   */
  readonly tpnsEndpoint?: string;
  /** @default 100 */
  readonly maxBatch?: number;
  /** @default 8 */
  readonly concurrency?: number;
  /**
   * Reserved concurrency of the HTTP function. Caps parallel calls into TPNS at
   * httpReservedConcurrency × concurrency (plus the events function's share).
   * @default - unreserved (uses the account pool). Not reserved by default because a
   * reservation fails to deploy in accounts whose unreserved pool would drop below 100.
   */
  readonly httpReservedConcurrency?: number;
  /** Reserved concurrency of the events function. @default - unreserved */
  readonly eventsReservedConcurrency?: number;
  /** Stage steady-state rate limit (requests/s). @default 50 */
  readonly throttlingRateLimit?: number;
  /** Stage burst limit (requests). @default 100 */
  readonly throttlingBurstLimit?: number;
  /** Retention of all log groups. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** POWERTOOLS_LOG_LEVEL. @default 'INFO' */
  readonly logLevel?: LogLevel;
  /**
   * Map stack traces in logs back to the TypeScript sources (NODE_OPTIONS=--enable-source-maps).
   * Off by default: loading the source map adds ~25 ms to every cold start; the .map file ships
   * with the bundle either way, so a minified trace can still be mapped after the fact.
   * @default false
   */
  readonly sourceMapStackTraces?: boolean;
  /** Function memory (MB), both functions. @default 512 */
  readonly memorySize?: number;
  /**
   * Bus the query rule listens on and the results are published to.
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;
  /**
   * Event sources allowed to send queries. Unset, the rule takes the query detail-type from any
   * source on the bus: whoever may put events on it can run lookups, and the results (account↔token
   * bindings) go back to the same bus. Set it — and prefer a dedicated bus with a restrictive
   * resource policy — when the bus is shared.
   * @default - any source
   */
  readonly allowedSources?: string[];
  /**
   * Topic that receives alarm and OK notifications.
   * @default - alarms are created without actions
   */
  readonly alarmTopic?: sns.ITopic;
}

function intInRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`TpnsBindings: ${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

// Paths relative to this file, not to the current directory, so that the construct also works
// when another CDK app (with its own cwd and lock file) imports it.
const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
const FUNCTIONS_DIR = join(PROJECT_ROOT, 'functions');

export class TpnsBindings extends Construct {
  readonly httpFunction: NodejsFunction;
  readonly eventsFunction: NodejsFunction;
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly eventBus: events.IEventBus;
  readonly queryRule: events.Rule;
  readonly deadLetterQueue: sqs.Queue;
  readonly secret: secretsmanager.ISecret;
  readonly alarms: cloudwatch.Alarm[] = [];

  /** Base URL of the API (ends with '/'). */
  get apiUrl(): string {
    return this.stage.url;
  }

  constructor(scope: Construct, id: string, props: TpnsBindingsProps = {}) {
    super(scope, id);
    const d = TPNS_BINDINGS_DEFAULTS;
    const logRetention = props.logRetention ?? d.logRetention;

    // ── Secret ────────────────────────────────────────────────────────────────
    // Imported, never created: key material never appears in the template.
    // fromSecretNameV2 yields the partial ARN `...:secret:NAME-??????` (Secrets Manager
    // appends 6 random characters): grants match exactly that secret, not a `*`.
    // The ARN with `??????` is not a valid SecretId, so the functions get the *name*.
    const secretName = props.secretName ?? d.secretName;
    this.secret = props.secret ?? secretsmanager.Secret.fromSecretNameV2(this, 'TpnsSecret', secretName);
    const secretId = props.secret ? (props.secret.secretFullArn ?? props.secret.secretName) : secretName;

    this.eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');

    // The handlers' bounds (functions/core/config.ts) and Lambda's / API Gateway's: an out-of-range
    // value fails here, at synth, instead of at deploy or at every function init after it.
    const { maxBatch: batchLimits, concurrency: concurrencyLimits } = CONFIG_LIMITS;
    const maxBatch = intInRange('maxBatch', props.maxBatch ?? d.maxBatch, batchLimits.min, batchLimits.max);
    const concurrency = intInRange('concurrency', props.concurrency ?? d.concurrency, concurrencyLimits.min, concurrencyLimits.max);
    const memorySize = intInRange('memorySize', props.memorySize ?? d.memorySize, 128, 10_240);
    const rateLimit = intInRange('throttlingRateLimit', props.throttlingRateLimit ?? d.throttlingRateLimit, 1, 1_000_000);
    const burstLimit = intInRange('throttlingBurstLimit', props.throttlingBurstLimit ?? d.throttlingBurstLimit, 1, 1_000_000);
    const reserved = (name: string, value: number | undefined) => (value === undefined ? undefined : intInRange(name, value, 0, 1_000_000));
    const allowedSources = props.allowedSources;
    if (allowedSources !== undefined) {
      if (allowedSources.length === 0 || allowedSources.some((source) => typeof source !== 'string' || source.trim() === '')) {
        throw new Error('TpnsBindings: allowedSources must list at least one non-empty source');
      }
      if (allowedSources.includes(RESULT_SOURCE)) {
        throw new Error(`TpnsBindings: allowedSources must not include "${RESULT_SOURCE}", the source of the results (a loop)`);
      }
    }
    const httpReservedConcurrency = reserved('httpReservedConcurrency', props.httpReservedConcurrency);
    const eventsReservedConcurrency = reserved('eventsReservedConcurrency', props.eventsReservedConcurrency);

    const commonEnv: Record<string, string> = {
      TPNS_SECRET_ID: secretId,
      TPNS_MAX_BATCH: String(maxBatch),
      TPNS_CONCURRENCY: String(concurrency),
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: props.logLevel ?? d.logLevel,
      // Reading the .map at load costs ~25 ms of cold start (README: Performance), so it is opt-in.
      ...((props.sourceMapStackTraces ?? d.sourceMapStackTraces) ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
      ...(props.tpnsEndpoint ? { TPNS_ENDPOINT: props.tpnsEndpoint } : {}),
    };

    // ── Dead-letter queue ─────────────────────────────────────────────────────
    // One queue for both failure paths of the events flow: EventBridge could not
    // deliver to the function (target DLQ), or the function failed after its async
    // retries (onFailure destination). SSE-SQS rather than a KMS key: EventBridge can
    // write to SSE-SQS queues without a key policy, and the AWS-managed aws/sqs key
    // cannot grant events.amazonaws.com.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: d.dlqRetention,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue (EventBridge target DLQ and Lambda onFailure destination); ' +
        'nothing consumes it automatically, so it needs no DLQ of its own. Its depth is alarmed.',
    });

    // ── Functions ─────────────────────────────────────────────────────────────
    const makeFunction = (
      name: 'Http' | 'Events',
      entry: string,
      description: string,
      timeout: Duration,
      reservedConcurrentExecutions: number | undefined,
      environment: Record<string, string>,
    ): NodejsFunction => {
      const logGroup = new logs.LogGroup(this, `${name}FunctionLogs`, { retention: logRetention });
      // Own role instead of the default one with the AWSLambdaBasicExecutionRole managed
      // policy (logs:CreateLogGroup etc. on `*`): this role may only write to its own log group.
      const role = new iam.Role(this, `${name}FunctionRole`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `Execution role of the TPNS bindings ${name.toLowerCase()} function`,
      });
      logGroup.grantWrite(role);
      const fn = new NodejsFunction(this, `${name}Function`, {
        entry: join(FUNCTIONS_DIR, entry),
        handler: 'handler',
        projectRoot: PROJECT_ROOT,
        depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
        description,
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize,
        timeout,
        reservedConcurrentExecutions,
        tracing: lambda.Tracing.ACTIVE,
        logGroup,
        role,
        environment,
        bundling: nodejsFunctionBundling,
        // Lambda stops an SQS/SNS/Lambda → Lambda loop after ~16 rounds; our own result
        // events are not matched by the rule anyway (see the rule below).
        recursiveLoop: lambda.RecursiveLoop.TERMINATE,
      });
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Active X-Ray tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which do not support ' +
          'resource-level permissions. No other statement of this role has a `*` resource (asserted in test/infra).',
      });
      return fn;
    };

    this.httpFunction = makeFunction(
      'Http',
      'http.ts',
      'TPNS account/token binding lookups behind the HTTP API',
      d.httpTimeout,
      httpReservedConcurrency,
      commonEnv,
    );
    this.eventsFunction = makeFunction(
      'Events',
      'events.ts',
      `TPNS binding lookups for "${QUERY_DETAIL_TYPE}" events; publishes the results`,
      d.eventsTimeout,
      eventsReservedConcurrency,
      { ...commonEnv, EVENT_BUS_NAME: this.eventBus.eventBusName },
    );

    // Read access to exactly this secret (GetSecretValue, DescribeSecret).
    this.secret.grantRead(this.httpFunction);
    this.secret.grantRead(this.eventsFunction);
    // Publish results to this bus only.
    this.eventBus.grantPutEventsTo(this.eventsFunction);

    // Async invocations (from EventBridge) that still fail after Lambda's retries land in the DLQ,
    // with the request and the error (a Lambda invocation record).
    this.eventsFunction.configureAsyncInvoke({
      onFailure: new SqsDestination(this.deadLetterQueue),
      retryAttempts: d.asyncRetryAttempts,
      maxEventAge: d.asyncMaxEventAge,
    });

    // ── HTTP API ──────────────────────────────────────────────────────────────
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: logRetention });
    // Every route, including $default, requires SigV4 (IAM). Callers need
    // execute-api:Invoke on the API's ARN.
    const iamAuthorizer = new HttpIamAuthorizer();
    const integration = new HttpLambdaIntegration('HttpIntegration', this.httpFunction, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
    });
    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      description: 'TPNS account/token binding lookups (SigV4-signed requests only)',
      defaultAuthorizer: iamAuthorizer,
      // `$default` goes to the same function: for a signed request to an unknown path or
      // a wrong method, callers get the function's 404/405 problem+json instead of API
      // Gateway's bare {"message":"Not Found"}. It is IAM-authorized like the rest, so
      // only authorized callers can make the function run.
      defaultIntegration: integration,
      // No default stage: it cannot have access logs. The stage below replaces it.
      createDefaultStage: false,
    });
    for (const route of Object.values(HTTP_ROUTES)) {
      this.httpApi.addRoutes({ path: route.path, methods: [apigwv2.HttpMethod[route.method]], integration, authorizer: iamAuthorizer });
    }
    this.stage = new apigwv2.HttpStage(this, 'Stage', {
      httpApi: this.httpApi,
      stageName: '$default', // URL without a stage path segment
      autoDeploy: true,
      throttle: {
        rateLimit,
        burstLimit,
      },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            caller: '$context.identity.caller',
            userArn: '$context.identity.userArn',
            accountId: '$context.identity.accountId',
            // No $context.path: GET paths carry account ids (emails, phone numbers); the route key names the route.
            routeKey: '$context.routeKey',
            httpMethod: '$context.httpMethod',
            protocol: '$context.protocol',
            status: '$context.status',
            responseLength: '$context.responseLength',
            responseLatency: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            error: '$context.error.message',
            xrayTraceId: '$context.xrayTraceId',
          }),
        ),
      },
    });

    // ── EventBridge ───────────────────────────────────────────────────────────
    this.queryRule = new events.Rule(this, 'QueryRule', {
      eventBus: this.eventBus,
      description: `Routes "${QUERY_DETAIL_TYPE}" events to the TPNS bindings events function`,
      // Matches on detail-type only. The function's own result events ("TPNS Bindings
      // Resolved" / "TPNS Bindings Query Failed", source tpns.bindings) have other
      // detail-types, so publishing them can never re-trigger the rule (no loop).
      eventPattern: { detailType: [QUERY_DETAIL_TYPE], ...(allowedSources ? { source: allowedSources } : {}) },
      targets: [
        new LambdaTarget(this.eventsFunction, {
          // Covers delivery only (EventBridge → Lambda); function errors follow the
          // async-invoke settings above. Both end in the same queue.
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: d.targetRetryAttempts,
          maxEventAge: d.targetMaxEventAge,
        }),
      ],
    });

    // ── Alarms ────────────────────────────────────────────────────────────────
    const alarm = (alarmId: string, metric: cloudwatch.IMetric, threshold: number, description: string) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator:
          threshold === 0
            ? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
            : cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (props.alarmTopic) {
        a.addAlarmAction(new SnsAction(props.alarmTopic));
        a.addOkAction(new SnsAction(props.alarmTopic));
      }
      this.alarms.push(a);
      return a;
    };
    const fiveMinutes = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };
    // HTTP: the handler answers every failure with problem+json, so an invocation error is a
    // crash, an init failure (bad configuration) or a timeout: alarm on the first one.
    alarm(
      'HttpFunctionErrors',
      this.httpFunction.metricErrors(fiveMinutes),
      d.httpErrorsThreshold,
      'HTTP function invocation errors (crash, init failure or timeout)',
    );
    // Events: transient failures (TPNS down, secret unreadable, PutEvents) are thrown on purpose
    // so that Lambda retries them; alarm on a sustained rate. Events that never succeed are
    // reported by the dead-letter queue alarm below.
    alarm(
      'EventsFunctionErrors',
      this.eventsFunction.metricErrors(fiveMinutes),
      d.eventsErrorsThreshold,
      `Events function: >= ${d.eventsErrorsThreshold} failed invocations in 5 minutes (retried by Lambda)`,
    );
    for (const [name, fn] of [
      ['Http', this.httpFunction],
      ['Events', this.eventsFunction],
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
      this.stage.metricServerError(fiveMinutes),
      d.api5xxThreshold,
      `HTTP API answered >= ${d.api5xxThreshold} 5xx in 5 minutes`,
    );
    alarm(
      'DeadLetterQueueNotEmpty',
      this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      0,
      'Query events failed delivery or processing and are waiting in the dead-letter queue',
    );
  }
}

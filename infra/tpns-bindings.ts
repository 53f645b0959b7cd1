/**
 * TpnsBindings — the whole product as one reusable CDK construct:
 *
 *   HTTP API (IAM auth) ──► http function ──┐
 *                                           ├──► TPNS (credentials from Secrets Manager)
 *   EventBridge rule ─────► events function ┘──► PutEvents: "TPNS Bindings Resolved" / "... Query Failed"
 *        │ delivery failures                  │ async-invoke failures
 *        └──────────────► SQS dead-letter queue ◄┘
 *
 * Plus log groups with retention, X-Ray, a CloudWatch dashboard, and CloudWatch alarms (to an SNS topic
 * and/or an e-mail address, or to no one).
 * infra/stack.ts is a thin shell around it; other CDK apps can import it as is.
 *
 * This file holds the public surface (props, defaults, validation) and wires the parts:
 *   infra/parts/function.ts   a function with its own role and log group
 *   infra/parts/http-api.ts   HTTP API, IAM authorizer, routes, stage with access logs
 *   infra/parts/events.ts     dead-letter queue, query rule and target, async-invoke settings
 *   infra/parts/query-bus.ts  the dedicated bus and its resource policy (prop queryPublishers)
 *   infra/parts/alarms.ts     CloudWatch alarms, and the encrypted topic that e-mails them (prop alarmEmail)
 *   infra/parts/dashboard.ts  the CloudWatch dashboard (prop dashboard)
 *   infra/parts/egress.ts     VPC, NAT gateway(s) with Elastic IPs, interface endpoints (prop fixedEgressIp)
 *   infra/parts/service-metrics.ts  the handlers' own metrics as CloudWatch stores them (dashboard, alarms)
 */
import { Annotations, Duration, Token } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  CONFIG_DEFAULTS,
  CONFIG_LIMITS,
  FAILED_DETAIL_TYPE,
  FUNCTION_TIMEOUTS_MS,
  METRICS_NAMESPACE,
  QUERY_DETAIL_TYPE,
  RESOLVED_DETAIL_TYPE,
  RESULT_SOURCE,
  SERVICE_NAME,
} from '../functions/contract.ts';
import { createAlarmEmailTopic, createAlarms } from './parts/alarms.ts';
import { createDashboard, dashboardUrl } from './parts/dashboard.ts';
import { createFixedEgress, type FixedEgressIp, type FunctionNetwork } from './parts/egress.ts';
import { createEventSchemas } from './parts/event-schemas.ts';
import { createDeadLetterQueue, wireQueryEvents } from './parts/events.ts';
import { createFunction } from './parts/function.ts';
import { createHttpApi } from './parts/http-api.ts';
import type { QueryPublishers } from './parts/query-bus.ts';
import { createQueryBus, parseQueryPublishers, restrictQueryBus } from './parts/query-bus.ts';

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
  /** The events' JSON Schemas in a schema registry (parts/event-schemas.ts). */
  eventSchemas: true,
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
  /** Alarms on the service's own metrics (infra/parts/alarms.ts says why each). */
  itemsErrorPercentThreshold: 5,
  itemsErrorMinItems: 20,
  retriesThreshold: 50,
  /** Well above a TPNS round trip from outside China (~0.3–1 s), well below the 8 s call timeout. */
  callLatencyP99ThresholdMs: 3_000,
  dashboard: true,
  fixedEgressIp: false,
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
  /** TPNS_ADAPTIVE_CONCURRENCY: fewer calls in flight while TPNS rate-limits (README: Self-protection). @default true */
  readonly adaptiveConcurrency?: boolean;
  /** TPNS_BREAKER_FAILURES: failed calls close together that open an app's circuit breaker. @default 10 */
  readonly breakerFailures?: number;
  /** TPNS_BREAKER_COOLDOWN_MS: how long an open breaker answers at once before one probe call. @default 5000 */
  readonly breakerCooldownMs?: number;
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
   * Bus the query rule listens on and the results are published to. Not with `queryPublishers`,
   * which makes the construct create its own bus.
   * @default - the account's default event bus (or, with `queryPublishers`, a bus of its own)
   */
  readonly eventBus?: events.IEventBus;
  /**
   * Event sources the query rule accepts. A filter, not an authentication: whoever may put events on
   * the bus chooses the `source` of what it puts, so it can claim any allowed source, and it can just as
   * well publish forged results (source `tpns.bindings`). Use it to keep other teams' events out of the
   * rule; to decide who may send queries and publish results, use `queryPublishers`.
   * @default - any source
   */
  readonly allowedSources?: string[];
  /**
   * Who may send query events: 12-digit AWS account ids (any principal of the account that its own IAM
   * policy lets put events on the bus) and IAM role or user ARNs (`arn:aws:iam::123456789012:role/NAME`;
   * for a session of a role, the role). Set, the construct creates its own event bus (not with
   * `eventBus`) whose resource policy denies the query detail-type to everyone else and the results'
   * source (`tpns.bindings`) to everyone but the events function, and lets the listed accounts and
   * principals of other accounts put query events on it. The results are published to that bus: create
   * the rules that receive them there (stack output `EventBusName`).
   * @default - no own bus, no resource policy: whoever may put events on the bus can send queries and forge results
   */
  readonly queryPublishers?: string[];
  /**
   * Registers the three event detail-types' JSON Schemas in an EventBridge schema registry of the stack
   * (`AWS::EventSchemas::Registry`, one `AWS::EventSchemas::Schema` each, JSONSchemaDraft4).
   * @default true
   */
  readonly eventSchemas?: boolean;
  /**
   * Topic that receives alarm and OK notifications.
   * @default - alarms are created without actions
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * E-mail address that receives alarm and OK notifications, through an SNS topic the construct
   * creates, encrypted with a KMS key of its own (the address confirms the subscription first).
   * Both this and `alarmTopic` may be set; with neither, the alarms notify no one (a synth warning says so).
   * @default - no e-mail topic
   */
  readonly alarmEmail?: string;
  /**
   * A CloudWatch dashboard of the API, the functions, the TPNS calls, the items, the events and the
   * dead-letter queue (`dashboard`, `dashboardUrl`).
   * @default true
   */
  readonly dashboard?: boolean;
  /**
   * Call TPNS from fixed addresses, for a TPNS app that accepts API calls only from whitelisted IPs:
   * both functions run in a VPC of their own (two availability zones) whose traffic to TPNS leaves
   * through a NAT gateway with an Elastic IP (`egressIps`, stack output EgressIps), and whose calls to
   * Secrets Manager and EventBridge stay private through interface endpoints. `true`: one NAT gateway
   * and one address (if its zone fails, calls fail until it is back); `'per-az'`: one NAT gateway and
   * one address per zone, two addresses to whitelist. Costs money while deployed (README: Deploy).
   * @default false
   */
  readonly fixedEgressIp?: FixedEgressIp;
}

// What SNS would accept as an e-mail endpoint, roughly: a typo fails synth rather than the deploy.
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

function intInRange(name: string, value: number, min: number, max: number): number {
  // A token (a CfnParameter's valueAsNumber, say) is only known at deploy: CloudFormation and the
  // service check it then. As a number it is a huge negative sentinel, which no range here admits.
  if (Token.isUnresolved(value)) return value;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`TpnsBindings: ${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/**
 * The props with their defaults, validated against the handlers' bounds (functions/contract.ts
 * CONFIG_LIMITS, enforced again by functions/core/config.ts) and Lambda's / API Gateway's: an
 * out-of-range value fails here, at synth, instead of at deploy or at every function init after it.
 */
function validatedProps(props: TpnsBindingsProps) {
  const d = TPNS_BINDINGS_DEFAULTS;
  const { maxBatch: batchLimits, concurrency: concurrencyLimits } = CONFIG_LIMITS;
  const maxBatch = intInRange('maxBatch', props.maxBatch ?? d.maxBatch, batchLimits.min, batchLimits.max);
  const concurrency = intInRange('concurrency', props.concurrency ?? d.concurrency, concurrencyLimits.min, concurrencyLimits.max);
  const optionalInRange = (name: 'breakerFailures' | 'breakerCooldownMs', value: number | undefined) =>
    value === undefined ? undefined : intInRange(name, value, CONFIG_LIMITS[name].min, CONFIG_LIMITS[name].max);
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
  if (props.queryPublishers !== undefined && props.eventBus !== undefined) {
    throw new Error(
      'TpnsBindings: queryPublishers and eventBus exclude each other: with queryPublishers the construct creates its own bus ' +
        '(its resource policy is what restricts the publishers); drop eventBus (context eventBusName)',
    );
  }
  if (props.fixedEgressIp !== undefined && ![true, false, 'per-az'].includes(props.fixedEgressIp)) {
    throw new Error(`TpnsBindings: fixedEgressIp must be true, false or 'per-az', got ${JSON.stringify(props.fixedEgressIp)}`);
  }
  if (props.alarmEmail !== undefined && !Token.isUnresolved(props.alarmEmail) && !EMAIL.test(props.alarmEmail)) {
    throw new Error(`TpnsBindings: alarmEmail must be an e-mail address, got "${props.alarmEmail}"`);
  }
  const queryPublishers: QueryPublishers | undefined =
    props.queryPublishers === undefined ? undefined : parseQueryPublishers(props.queryPublishers);
  return {
    maxBatch,
    concurrency,
    memorySize,
    rateLimit,
    burstLimit,
    allowedSources,
    queryPublishers,
    breakerFailures: optionalInRange('breakerFailures', props.breakerFailures),
    breakerCooldownMs: optionalInRange('breakerCooldownMs', props.breakerCooldownMs),
    httpReservedConcurrency: reserved('httpReservedConcurrency', props.httpReservedConcurrency),
    eventsReservedConcurrency: reserved('eventsReservedConcurrency', props.eventsReservedConcurrency),
  };
}

/** The settings the construct's functions share: their TPNS/secret environment, memory, log retention, batch size. */
export interface FunctionDefaults {
  readonly environment: Record<string, string>;
  readonly memorySize: number;
  readonly logRetention: logs.RetentionDays;
  /** Items per TPNS call (TPNS_MAX_BATCH in `environment`). */
  readonly maxBatch: number;
  /** POWERTOOLS_LOG_LEVEL in `environment`, for Lambda's log filter. */
  readonly logLevel: LogLevel;
  /** With `fixedEgressIp`: the VPC network whose calls to TPNS leave from the Elastic IPs. */
  readonly network: FunctionNetwork | undefined;
}

export class TpnsBindings extends Construct {
  readonly httpFunction: NodejsFunction;
  readonly eventsFunction: NodejsFunction;
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly eventBus: events.IEventBus;
  readonly queryRule: events.Rule;
  readonly deadLetterQueue: sqs.Queue;
  readonly secret: secretsmanager.ISecret;
  readonly alarms: cloudwatch.Alarm[];
  /** The topics the alarms notify (`alarmTopic`, the `alarmEmail` topic); empty: no one. */
  readonly alarmTopics: sns.ITopic[];
  /** The topic that e-mails `alarmEmail`. */
  readonly alarmEmailTopic?: sns.Topic;
  /** With `dashboard` (the default). */
  readonly dashboard?: cloudwatch.Dashboard;
  /** With `fixedEgressIp`: the functions' VPC. */
  readonly vpc?: ec2.Vpc;
  /** With `fixedEgressIp`: the addresses the calls to TPNS come from (to whitelist in TPNS); else empty. */
  readonly egressIps: string[];

  /** What another function on the same secret and TPNS settings needs (the bulk export's functions). */
  readonly functionDefaults: FunctionDefaults;

  /** Who besides the events function publishes results, and which request types only the publishers may send. */
  private readonly busClients: { resultPublishers: iam.IRole[]; requestDetailTypes: string[] } = {
    resultPublishers: [],
    requestDetailTypes: [QUERY_DETAIL_TYPE],
  };

  /**
   * Lets `grantee` (a caller's role, say) call the API: `execute-api:Invoke` on every route of the
   * stage. Every route requires SigV4, so this is what a caller needs.
   */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [this.httpApi.arnForExecuteApi('*', '/*', this.stage.stageName)],
    });
  }

  /** Console URL of the dashboard, if there is one. */
  get dashboardUrl(): string | undefined {
    return this.dashboard && dashboardUrl(this.dashboard);
  }

  /**
   * Lets another part of the app use the bus as the events function does: `role` may publish events
   * with source RESULT_SOURCE, and events of `requestDetailType` are, like queries, for the
   * `queryPublishers` only. Matters only with `queryPublishers` (the bus's resource policy).
   */
  addBusClient(role: iam.IRole, requestDetailType: string): void {
    this.busClients.resultPublishers.push(role);
    this.busClients.requestDetailTypes.push(requestDetailType);
  }

  /** Base URL of the API (ends with '/'). */
  get apiUrl(): string {
    return this.stage.url;
  }

  // Every part creates its resources directly in this construct, not in a child construct of its own:
  // a logical ID includes the construct path, so a new level would rename every resource and make
  // CloudFormation replace them on the next deploy. The order of the calls is the order of the
  // resources in the template.
  constructor(scope: Construct, id: string, props: TpnsBindingsProps = {}) {
    super(scope, id);
    const d = TPNS_BINDINGS_DEFAULTS;
    const p = validatedProps(props);
    const logRetention = props.logRetention ?? d.logRetention;
    const logLevel = props.logLevel ?? d.logLevel;

    // Imported, never created: key material never appears in the template.
    // fromSecretNameV2 yields the partial ARN `...:secret:NAME-??????` (Secrets Manager
    // appends 6 random characters): grants match exactly that secret, not a `*`.
    // The ARN with `??????` is not a valid SecretId, so the functions get the *name*.
    const secretName = props.secretName ?? d.secretName;
    this.secret = props.secret ?? secretsmanager.Secret.fromSecretNameV2(this, 'TpnsSecret', secretName);
    const secretId = props.secret ? (props.secret.secretFullArn ?? props.secret.secretName) : secretName;

    // With queryPublishers, a bus of our own: its policy (added once the events function's role exists)
    // is what decides who may send queries and publish results.
    const ownBus = p.queryPublishers ? createQueryBus(this) : undefined;
    this.eventBus = ownBus ?? props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');

    this.deadLetterQueue = createDeadLetterQueue(this, d.dlqRetention);

    const fixedEgressIp = props.fixedEgressIp ?? d.fixedEgressIp;
    const egress = fixedEgressIp ? createFixedEgress(this, { perAz: fixedEgressIp === 'per-az', logRetention }) : undefined;
    this.vpc = egress?.vpc;
    this.egressIps = egress?.egressIps ?? [];

    const commonEnv: Record<string, string> = {
      TPNS_SECRET_ID: secretId,
      TPNS_MAX_BATCH: String(p.maxBatch),
      TPNS_CONCURRENCY: String(p.concurrency),
      // Self-protection: set only when given, so the handlers' own defaults (functions/contract.ts) apply.
      ...(props.adaptiveConcurrency === undefined ? {} : { TPNS_ADAPTIVE_CONCURRENCY: String(props.adaptiveConcurrency) }),
      ...(p.breakerFailures === undefined ? {} : { TPNS_BREAKER_FAILURES: String(p.breakerFailures) }),
      ...(p.breakerCooldownMs === undefined ? {} : { TPNS_BREAKER_COOLDOWN_MS: String(p.breakerCooldownMs) }),
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: logLevel,
      // Reading the .map at load costs ~25 ms of cold start (README: Performance), so it is opt-in.
      ...((props.sourceMapStackTraces ?? d.sourceMapStackTraces) ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
      ...(props.tpnsEndpoint ? { TPNS_ENDPOINT: props.tpnsEndpoint } : {}),
    };
    this.functionDefaults = {
      environment: commonEnv,
      memorySize: p.memorySize,
      logRetention,
      maxBatch: p.maxBatch,
      logLevel,
      network: egress,
    };
    this.httpFunction = createFunction(this, 'Http', {
      entry: 'http.ts',
      description: 'TPNS account/token binding lookups behind the HTTP API',
      timeout: d.httpTimeout,
      memorySize: p.memorySize,
      reservedConcurrentExecutions: p.httpReservedConcurrency,
      environment: commonEnv,
      logRetention,
      logLevel,
      network: egress,
    });
    this.eventsFunction = createFunction(this, 'Events', {
      entry: 'events.ts',
      description: `TPNS binding lookups for "${QUERY_DETAIL_TYPE}" events; publishes the results`,
      timeout: d.eventsTimeout,
      memorySize: p.memorySize,
      reservedConcurrentExecutions: p.eventsReservedConcurrency,
      environment: { ...commonEnv, EVENT_BUS_NAME: this.eventBus.eventBusName },
      logRetention,
      logLevel,
      network: egress,
    });

    // Read access to exactly this secret (GetSecretValue, DescribeSecret).
    this.secret.grantRead(this.httpFunction);
    this.secret.grantRead(this.eventsFunction);
    // Publish results to this bus only, and only result events: a bug or injected input in the events
    // function cannot put queries (or anything else) on the bus. ForAllValues: one call carries up to 10
    // entries, each must be a result; it is vacuously true when the key is absent, hence the Null check.
    this.eventsFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [this.eventBus.eventBusArn],
        conditions: {
          'ForAllValues:StringEquals': {
            'events:source': [RESULT_SOURCE],
            'events:detail-type': [RESOLVED_DETAIL_TYPE, FAILED_DETAIL_TYPE],
          },
          Null: { 'events:source': 'false', 'events:detail-type': 'false' },
        },
      }),
    );
    if (ownBus && p.queryPublishers) {
      const resultPublisher = this.eventsFunction.role;
      if (!resultPublisher) throw new Error('TpnsBindings: the events function has no role');
      this.busClients.resultPublishers.push(resultPublisher);
      restrictQueryBus(ownBus, { publishers: p.queryPublishers, ...this.busClients });
    }

    const api = createHttpApi(this, { handler: this.httpFunction, rateLimit: p.rateLimit, burstLimit: p.burstLimit, logRetention });
    this.httpApi = api.httpApi;
    this.stage = api.stage;

    this.queryRule = wireQueryEvents(this, {
      eventBus: this.eventBus,
      handler: this.eventsFunction,
      deadLetterQueue: this.deadLetterQueue,
      allowedSources: p.allowedSources,
      asyncRetryAttempts: d.asyncRetryAttempts,
      asyncMaxEventAge: d.asyncMaxEventAge,
      targetRetryAttempts: d.targetRetryAttempts,
      targetMaxEventAge: d.targetMaxEventAge,
    });

    this.alarmEmailTopic = props.alarmEmail === undefined ? undefined : createAlarmEmailTopic(this, props.alarmEmail);
    this.alarmTopics = [props.alarmTopic, this.alarmEmailTopic].filter((topic) => topic !== undefined);
    if (this.alarmTopics.length === 0) {
      Annotations.of(this).addWarningV2(
        'tpns-bindings:alarms-notify-no-one',
        'The alarms notify no one: set alarmEmail (context alarmEmail) or alarmTopic (context alarmTopicArn)',
      );
    }
    this.alarms = createAlarms(this, {
      httpFunction: this.httpFunction,
      eventsFunction: this.eventsFunction,
      stage: this.stage,
      deadLetterQueue: this.deadLetterQueue,
      alarmTopics: this.alarmTopics,
      httpErrorsThreshold: d.httpErrorsThreshold,
      eventsErrorsThreshold: d.eventsErrorsThreshold,
      api5xxThreshold: d.api5xxThreshold,
      itemsErrorPercentThreshold: d.itemsErrorPercentThreshold,
      itemsErrorMinItems: d.itemsErrorMinItems,
      retriesThreshold: d.retriesThreshold,
      callLatencyP99ThresholdMs: d.callLatencyP99ThresholdMs,
    });

    if (props.eventSchemas ?? d.eventSchemas) createEventSchemas(this);
    if (props.dashboard ?? d.dashboard) {
      this.dashboard = createDashboard(this, {
        httpFunction: this.httpFunction,
        eventsFunction: this.eventsFunction,
        stage: this.stage,
        deadLetterQueue: this.deadLetterQueue,
      });
    }
  }
}

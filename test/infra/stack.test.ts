/**
 * The synthesized template with default settings: every property the security
 * review and issue 4 ask for, asserted on the CloudFormation JSON.
 */

import type { Template } from 'aws-cdk-lib/assertions';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { API_GATEWAY_TIMEOUT_MS, FUNCTION_TIMEOUTS_MS } from '../../functions/contract.ts';
import {
  FAILED_DETAIL_TYPE,
  QUERY_DETAIL_TYPE,
  RESOLVED_DETAIL_TYPE,
  RESULT_SOURCE,
  TPNS_BINDINGS_DEFAULTS,
} from '../../infra/tpns-bindings.ts';
import type { Synthesized } from './synth.ts';
import { actionsOf, breaches, conditionsHold, iamStatements, matchesEventPattern, resourcesOf, statementsFor, synth } from './synth.ts';

let s: Synthesized;
let t: Template;
let httpFn: string;
let eventsFn: string;
let dlq: string;
let rule: string;
let api: string;

const getAtt = (id: string, attr = 'Arn') => ({ 'Fn::GetAtt': [id, attr] });
const fnProps = (id: string) => t.toJSON().Resources[id].Properties;
const roleOf = (fnId: string): string => fnProps(fnId).Role['Fn::GetAtt'][0];

beforeAll(() => {
  s = synth();
  t = s.template;
  const b = s.stack.bindings;
  httpFn = s.id(b.httpFunction);
  eventsFn = s.id(b.eventsFunction);
  dlq = s.id(b.deadLetterQueue);
  rule = s.id(b.queryRule);
  api = s.id(b.httpApi);
});

describe('functions', () => {
  it('are exactly two, nodejs24.x on arm64 with active X-Ray tracing and the bundled ESM handler', () => {
    t.resourceCountIs('AWS::Lambda::Function', 2);
    for (const id of [httpFn, eventsFn]) {
      expect(fnProps(id)).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
        MemorySize: 512,
      });
    }
  });

  it('log JSON through Lambda at the level Powertools logs at (logLevel)', () => {
    for (const id of [httpFn, eventsFn]) {
      const { LoggingConfig, Environment } = fnProps(id);
      expect(LoggingConfig).toMatchObject({ LogFormat: 'JSON', ApplicationLogLevel: TPNS_BINDINGS_DEFAULTS.logLevel });
      expect(Environment.Variables.POWERTOOLS_LOG_LEVEL).toBe(LoggingConfig.ApplicationLogLevel);
    }
  });

  describe('timeouts follow the contract (functions/contract.ts) and the handlers’ margins', () => {
    // The margins the handlers keep back from their remaining time (http: to answer, events: to publish).
    let margins: { http: number; events: number };
    beforeAll(async () => {
      // The handler modules read their configuration at import.
      vi.stubEnv('TPNS_SECRET_ID', 'tpns/credentials');
      try {
        const [http, events] = await Promise.all([import('../../functions/http.ts'), import('../../functions/events.ts')]);
        margins = { http: http.DEADLINE_MARGIN_MS, events: events.PUBLISH_MARGIN_MS };
      } finally {
        vi.unstubAllEnvs();
      }
    });
    const timeoutMs = (id: string): number => fnProps(id).Timeout * 1000;

    it('are the contract’s', () => {
      expect(timeoutMs(httpFn)).toBe(FUNCTION_TIMEOUTS_MS.http);
      expect(timeoutMs(eventsFn)).toBe(FUNCTION_TIMEOUTS_MS.events);
    });

    it('HTTP: Lambda ends the invocation before API Gateway gives up on it, by at least the handler’s margin', () => {
      // So a slow TPNS gets the handler's 504 problem+json, never API Gateway's bare timeout answer.
      expect(timeoutMs(httpFn)).toBeLessThanOrEqual(API_GATEWAY_TIMEOUT_MS - margins.http);
      // The integration keeps the HTTP API default (API_GATEWAY_TIMEOUT_MS), i.e. longer than the function.
      const integrations = Object.values(t.findResources('AWS::ApiGatewayV2::Integration'));
      expect(integrations).toHaveLength(1);
      expect(integrations[0]!.Properties.TimeoutInMillis ?? API_GATEWAY_TIMEOUT_MS).toBeGreaterThan(timeoutMs(httpFn));
    });

    it('events: longer than HTTP, and so is the time the query gets once the publishing margin is kept back', () => {
      expect(timeoutMs(eventsFn)).toBeGreaterThan(timeoutMs(httpFn));
      expect(timeoutMs(eventsFn) - margins.events).toBeGreaterThan(timeoutMs(httpFn) - margins.http);
    });
  });

  it('log to an explicit log group each, with retention', () => {
    for (const id of [httpFn, eventsFn]) {
      const logGroup = fnProps(id).LoggingConfig.LogGroup.Ref as string;
      expect(t.toJSON().Resources[logGroup]).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: 30 },
      });
    }
    // Function log groups + the API access log group, all with retention.
    const groups = Object.values(t.findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(3);
    for (const g of groups) expect(g.Properties.RetentionInDays).toBe(30);
  });

  it('carry the secret id and settings in the environment', () => {
    const common = {
      TPNS_SECRET_ID: 'tpns/credentials',
      TPNS_MAX_BATCH: '100',
      TPNS_CONCURRENCY: '8',
      POWERTOOLS_SERVICE_NAME: 'tpns-bindings',
      POWERTOOLS_METRICS_NAMESPACE: 'TpnsBindings',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    };
    expect(fnProps(httpFn).Environment.Variables).toEqual(common);
    expect(fnProps(eventsFn).Environment.Variables).toEqual({ ...common, EVENT_BUS_NAME: 'default' });
  });

  it('have no reserved concurrency unless configured', () => {
    expect(fnProps(httpFn).ReservedConcurrentExecutions).toBeUndefined();
    expect(fnProps(eventsFn).ReservedConcurrentExecutions).toBeUndefined();
  });

  it('use their own roles: no managed policies, logs only to their own log group', () => {
    for (const id of [httpFn, eventsFn]) {
      const role = roleOf(id);
      expect(t.toJSON().Resources[role].Properties.ManagedPolicyArns).toBeUndefined();
      const logs = statementsFor(t, 'logs').filter((st) => st.roles.includes(role));
      expect(logs).toHaveLength(1);
      expect(actionsOf(logs[0]!).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(logs[0]!.Resource).toEqual(getAtt(fnProps(id).LoggingConfig.LogGroup.Ref));
    }
  });
});

describe('secret', () => {
  it('is imported, never created: no secret resource and no key material in the template', () => {
    t.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(JSON.stringify(t.toJSON())).not.toMatch(/secretKey|accessId/);
  });

  it('read access is scoped to exactly that secret’s ARN (no `*` resource)', () => {
    const statements = statementsFor(t, 'secretsmanager');
    // One grant per function, on their own roles.
    expect(statements.flatMap((st) => st.roles).sort()).toEqual([roleOf(httpFn), roleOf(eventsFn)].sort());
    for (const st of statements) {
      expect(actionsOf(st).sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
      const resources = resourcesOf(st);
      expect(resources).toHaveLength(1);
      expect(resources[0]).not.toBe('*');
      // The partial ARN fromSecretNameV2 produces: NAME + '-' + 6 single-character wildcards.
      expect(resources[0]).toEqual({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':secretsmanager:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':secret:tpns/credentials-??????',
          ],
        ],
      });
    }
  });
});

describe('IAM', () => {
  it('the only `*` resources are X-Ray’s (which has no resource-level permissions)', () => {
    const wildcard = iamStatements(t).filter((st) => st.Effect === 'Allow' && resourcesOf(st).includes('*'));
    expect(wildcard.length).toBeGreaterThan(0);
    for (const st of wildcard) {
      expect(actionsOf(st).sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    }
  });

  it('no wildcard actions anywhere in identity policies', () => {
    const statements = iamStatements(t);
    expect(statements.length).toBeGreaterThan(0);
    for (const st of statements) for (const a of actionsOf(st)) expect(a).not.toContain('*');
  });

  it('events:PutEvents is granted to the events function only, on the bus only', () => {
    const statements = statementsFor(t, 'events');
    expect(statements).toHaveLength(1);
    expect(statements[0]!.roles).toEqual([roleOf(eventsFn)]);
    expect(actionsOf(statements[0]!)).toEqual(['events:PutEvents']);
    expect(statements[0]!.Resource).toEqual({
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':event-bus/default'],
      ],
    });
  });

  it('the events function may put result events only, every entry of a call', () => {
    const [statement] = statementsFor(t, 'events');
    const result = (detailType: string) => ({ source: RESULT_SOURCE, 'detail-type': detailType });
    const allowed = (...entries: { source: string; 'detail-type': string }[]) => conditionsHold(statement!, { entries });
    expect(allowed(result(RESOLVED_DETAIL_TYPE), result(FAILED_DETAIL_TYPE))).toBe(true);
    expect(allowed({ source: 'my.app', 'detail-type': QUERY_DETAIL_TYPE })).toBe(false);
    expect(allowed(result(QUERY_DETAIL_TYPE))).toBe(false);
    expect(allowed(result(RESOLVED_DETAIL_TYPE), { source: 'my.app', 'detail-type': RESOLVED_DETAIL_TYPE })).toBe(false);
    expect(allowed()).toBe(false);
  });
});

describe('HTTP API', () => {
  it('has the three routes plus $default, all to the HTTP function', () => {
    const routes = Object.values(t.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual([
      '$default',
      'GET /v1/accounts/{account}/tokens',
      'GET /v1/tokens/{token}/accounts',
      'POST /v1/bindings/query',
    ]);
    t.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
    const [integrationId, integration] = Object.entries(t.findResources('AWS::ApiGatewayV2::Integration'))[0]!;
    expect(integration.Properties).toMatchObject({
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: getAtt(httpFn),
    });
    for (const r of routes) {
      expect(r.Properties.Target).toEqual({ 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] });
    }
  });

  it('requires IAM (SigV4) authorization on every route', () => {
    const routes = Object.values(t.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes).toHaveLength(4);
    for (const r of routes) expect(r.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('has one explicit $default stage with throttling and JSON access logs', () => {
    t.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    const stage = Object.values(t.findResources('AWS::ApiGatewayV2::Stage'))[0]!;
    expect(stage.Properties).toMatchObject({
      ApiId: { Ref: api },
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
    const { DestinationArn, Format } = stage.Properties.AccessLogSettings;
    const logGroup = DestinationArn['Fn::GetAtt'][0];
    expect(t.toJSON().Resources[logGroup]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
    const format = JSON.parse(Format);
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
      userArn: '$context.identity.userArn',
      // The function's request id, which callers see as `requestId` in every body.
      integrationRequestId: '$context.integration.requestId',
    });
  });

  it('lets API Gateway invoke the HTTP function only from this API', () => {
    const perms = Object.values(t.findResources('AWS::Lambda::Permission')).filter(
      (p) => p.Properties.Principal === 'apigateway.amazonaws.com',
    );
    expect(perms.length).toBeGreaterThan(0);
    for (const p of perms) {
      expect(p.Properties.FunctionName).toEqual(getAtt(httpFn));
      expect(JSON.stringify(p.Properties.SourceArn)).toContain(`{"Ref":"${api}"}`);
    }
  });
});

describe('EventBridge', () => {
  it('rule on the default bus matches the query detail-type only, so never the product’s own result events (no loop)', () => {
    const r = fnRule();
    expect(r.Properties.EventBusName).toBe('default');
    const pattern = r.Properties.EventPattern;
    expect(pattern).toEqual({ 'detail-type': [QUERY_DETAIL_TYPE] });
    // The pattern as EventBridge would apply it: a query from any source matches, a result event does not.
    expect(matchesEventPattern(pattern, { source: 'com.example.jobs', 'detail-type': QUERY_DETAIL_TYPE })).toBe(true);
    for (const detailType of [RESOLVED_DETAIL_TYPE, FAILED_DETAIL_TYPE]) {
      expect(matchesEventPattern(pattern, { source: RESULT_SOURCE, 'detail-type': detailType }), detailType).toBe(false);
    }
  });

  it('targets the events function with a retry policy and the DLQ', () => {
    const targets = fnRule().Properties.Targets;
    expect(targets).toHaveLength(1);
    expect(targets[0]).toMatchObject({
      Arn: getAtt(eventsFn),
      RetryPolicy: {
        MaximumRetryAttempts: TPNS_BINDINGS_DEFAULTS.targetRetryAttempts,
        MaximumEventAgeInSeconds: TPNS_BINDINGS_DEFAULTS.targetMaxEventAge.toSeconds(),
      },
      DeadLetterConfig: { Arn: getAtt(dlq) },
    });
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'events.amazonaws.com',
      FunctionName: getAtt(eventsFn),
      SourceArn: getAtt(rule),
    });
  });

  it('events function sends async-invoke failures to the same DLQ', () => {
    t.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: eventsFn },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: getAtt(dlq) } },
    });
    // ... and may write to it.
    const sqs = statementsFor(t, 'sqs');
    expect(sqs).toHaveLength(1);
    expect(sqs[0]!.roles).toEqual([roleOf(eventsFn)]);
    expect(actionsOf(sqs[0]!)).toContain('sqs:SendMessage');
    expect(sqs[0]!.Resource).toEqual(getAtt(dlq));
  });
});

describe('dead-letter queue', () => {
  it('is encrypted (SSE-SQS), keeps messages 14 days and may be no other queue’s dead-letter queue', () => {
    t.resourceCountIs('AWS::SQS::Queue', 1);
    expect(t.toJSON().Resources[dlq].Properties).toEqual({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
      RedriveAllowPolicy: { redrivePermission: 'denyAll' },
    });
  });

  it('enforces SSL and lets only the rule send to it', () => {
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: dlq }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': getAtt(rule) } },
          }),
        ]),
      },
    });
  });
});

describe('alarms', () => {
  const alarms = () => Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
  const find = (metric: string, dimValue?: unknown) =>
    alarms().filter(
      (a) =>
        a.MetricName === metric &&
        (dimValue === undefined || a.Dimensions.some((d: { Value: unknown }) => JSON.stringify(d.Value) === JSON.stringify(dimValue))),
    );

  it('exist for function errors and throttles of both functions', () => {
    const expected = [
      [httpFn, 'Errors', TPNS_BINDINGS_DEFAULTS.httpErrorsThreshold],
      [eventsFn, 'Errors', TPNS_BINDINGS_DEFAULTS.eventsErrorsThreshold],
      [httpFn, 'Throttles', 1],
      [eventsFn, 'Throttles', 1],
    ] as const;
    for (const [fn, metric, threshold] of expected) {
      const found = find(metric, { Ref: fn });
      expect(found, `${metric} alarm for ${fn}`).toHaveLength(1);
      expect(found[0]).toMatchObject({
        Namespace: 'AWS/Lambda',
        Statistic: 'Sum',
        Period: 300,
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('fire on the first HTTP function error or throttle, but only on a sustained rate of events function errors', () => {
    const one = (fn: string, metric: string) => {
      const found = find(metric, { Ref: fn });
      expect(found).toHaveLength(1);
      return found[0];
    };
    // HTTP: any invocation error is a crash, an init failure or a timeout.
    expect(breaches(one(httpFn, 'Errors'), 0)).toBe(false);
    expect(breaches(one(httpFn, 'Errors'), 1)).toBe(true);
    for (const fn of [httpFn, eventsFn]) {
      expect(breaches(one(fn, 'Throttles'), 0)).toBe(false);
      expect(breaches(one(fn, 'Throttles'), 1)).toBe(true);
    }
    // Events: errors are retried by Lambda; one is no reason to page anyone.
    expect(breaches(one(eventsFn, 'Errors'), 1)).toBe(false);
  });

  it('exists for API 5xx on the stage', () => {
    const found = find('5xx');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      Statistic: 'Sum',
      Threshold: TPNS_BINDINGS_DEFAULTS.api5xxThreshold,
      Dimensions: expect.arrayContaining([
        { Name: 'ApiId', Value: { Ref: api } },
        { Name: 'Stage', Value: '$default' },
      ]),
    });
    // A single upstream blip (one 5xx) does not alarm.
    expect(breaches(found[0], 1)).toBe(false);
  });

  it('exists for dead-letter queue depth above zero', () => {
    const found = find('ApproximateNumberOfMessagesVisible');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      Namespace: 'AWS/SQS',
      Statistic: 'Maximum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(dlq, 'QueueName') }],
    });
    expect(breaches(found[0], 0)).toBe(false);
    expect(breaches(found[0], 1)).toBe(true);
  });

  it('are ten (six on AWS metrics, four on the service’s own), without actions when no topic is given', () => {
    expect(alarms()).toHaveLength(10);
    for (const a of alarms()) {
      expect(a.AlarmActions).toBeUndefined();
      expect(a.OKActions).toBeUndefined();
    }
  });
});

describe('outputs', () => {
  it('include the API URL and what an operator needs', () => {
    t.hasOutput('ApiUrl', {
      Value: {
        'Fn::Join': ['', ['https://', { Ref: api }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/']],
      },
    });
    t.hasOutput('HttpApiId', { Value: { Ref: api } });
    t.hasOutput('HttpFunctionName', { Value: { Ref: httpFn } });
    t.hasOutput('EventsFunctionName', { Value: { Ref: eventsFn } });
    t.hasOutput('EventBusName', { Value: 'default' });
    t.hasOutput('QueryRuleArn', { Value: getAtt(rule) });
    t.hasOutput('DeadLetterQueueUrl', { Value: { Ref: dlq } });
    t.hasOutput('SecretName', { Value: 'tpns/credentials' });
  });
});

function fnRule() {
  t.resourceCountIs('AWS::Events::Rule', 1);
  return t.toJSON().Resources[rule];
}

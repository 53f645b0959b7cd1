/**
 * Operator options: CDK context keys (`cdk deploy -c key=value`, strings) and
 * construct props (which win over context) end up in the template.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import type { CfnResource } from 'aws-cdk-lib';
import { App, CfnParameter, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it, vi } from 'vitest';
import { QUERY_DETAIL_TYPE, TpnsBindings } from '../../infra/tpns-bindings.ts';
import { actionsOf, iamStatements, matchesEventPattern, NO_BUNDLING, statementsFor, synth } from './synth.ts';

const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:ops-alarms';

describe('context keys', () => {
  const s = synth({
    secretName: 'custom/tpns',
    tpnsEndpoint: 'https://api.tpns.sgp.tencent.com',
    maxBatch: '50',
    concurrency: '4',
    adaptiveConcurrency: 'false',
    breakerFailures: '20',
    breakerCooldownMs: '30000',
    httpReservedConcurrency: '10',
    eventsReservedConcurrency: '2',
    throttlingRateLimit: '20',
    throttlingBurstLimit: '40',
    logRetentionDays: '7',
    logLevel: 'debug',
    memorySize: '1024',
    eventBusName: 'ops-bus',
    alarmTopicArn: TOPIC_ARN,
  });
  const t = s.template;
  const b = s.stack.bindings;
  const props = (c: { node: { defaultChild?: unknown } }) => t.toJSON().Resources[s.id(c)].Properties;

  it('set the function environment, memory and reserved concurrency', () => {
    const http = props(b.httpFunction);
    const ev = props(b.eventsFunction);
    for (const fn of [http, ev]) {
      expect(fn.Environment.Variables).toMatchObject({
        TPNS_SECRET_ID: 'custom/tpns',
        TPNS_ENDPOINT: 'https://api.tpns.sgp.tencent.com',
        TPNS_MAX_BATCH: '50',
        TPNS_CONCURRENCY: '4',
        TPNS_ADAPTIVE_CONCURRENCY: 'false',
        TPNS_BREAKER_FAILURES: '20',
        TPNS_BREAKER_COOLDOWN_MS: '30000',
        POWERTOOLS_LOG_LEVEL: 'DEBUG',
      });
      expect(fn.MemorySize).toBe(1024);
    }
    expect(http.ReservedConcurrentExecutions).toBe(10);
    expect(ev.ReservedConcurrentExecutions).toBe(2);
    expect(ev.Environment.Variables.EVENT_BUS_NAME).toBe('ops-bus');
  });

  it('set one log level for Lambda (advanced logging controls) and Powertools Logger, which agree on it', () => {
    for (const fn of [props(b.httpFunction), props(b.eventsFunction)]) {
      expect(fn.LoggingConfig).toEqual({ LogFormat: 'JSON', ApplicationLogLevel: 'DEBUG', LogGroup: expect.anything() });
      // What Lambda gives the function: its environment plus AWS_LAMBDA_LOG_LEVEL from LoggingConfig,
      // which Powertools lets win over POWERTOOLS_LOG_LEVEL (and warns when it is the stricter one).
      for (const [key, value] of Object.entries(fn.Environment.Variables)) if (typeof value === 'string') vi.stubEnv(key, value);
      vi.stubEnv('AWS_LAMBDA_LOG_LEVEL', fn.LoggingConfig.ApplicationLogLevel);
      try {
        expect(new Logger().getLevelName()).toBe('DEBUG');
        vi.stubEnv('AWS_LAMBDA_LOG_LEVEL', undefined);
        expect(new Logger().getLevelName()).toBe('DEBUG');
      } finally {
        vi.unstubAllEnvs();
      }
    }
  });

  it('scope the secret grant to the named secret', () => {
    const statements = statementsFor(t, 'secretsmanager');
    expect(statements).toHaveLength(2); // one per function
    for (const st of statements) {
      expect(JSON.stringify(st.Resource)).toContain(':secret:custom/tpns-??????');
      expect(st.Resource).not.toBe('*');
    }
  });

  it('set stage throttling and log retention', () => {
    const stage = Object.values(t.findResources('AWS::ApiGatewayV2::Stage'))[0]!;
    expect(stage.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 });
    const logGroups = Object.values(t.findResources('AWS::Logs::LogGroup'));
    expect(logGroups).toHaveLength(3); // both functions' and the API's access logs
    for (const g of logGroups) expect(g.Properties.RetentionInDays).toBe(7);
  });

  it('move the rule and PutEvents to the configured bus', () => {
    const rule = Object.values(t.findResources('AWS::Events::Rule'))[0]!;
    expect(rule.Properties.EventBusName).toBe('ops-bus');
    const putEvents = statementsFor(t, 'events');
    expect(putEvents).toHaveLength(1);
    expect(actionsOf(putEvents[0]!)).toEqual(['events:PutEvents']);
    expect(JSON.stringify(putEvents[0]!.Resource)).toContain(':event-bus/ops-bus');
  });

  it('send alarm and OK notifications to the topic', () => {
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(10);
    for (const a of alarms) {
      expect(a.Properties.AlarmActions).toEqual([TOPIC_ARN]);
      expect(a.Properties.OKActions).toEqual([TOPIC_ARN]);
    }
  });

  it('restrict the query rule to the allowed sources', () => {
    const pattern = (s: ReturnType<typeof synth>) =>
      Object.values(s.template.findResources('AWS::Events::Rule'))[0]!.Properties.EventPattern;
    const restricted = pattern(synth({ allowedSources: 'com.example.jobs, com.example.crm' }));
    expect(restricted).toEqual({
      'detail-type': [QUERY_DETAIL_TYPE],
      source: ['com.example.jobs', 'com.example.crm'],
    });
    const query = (source: string) => ({ source, 'detail-type': QUERY_DETAIL_TYPE });
    expect(matchesEventPattern(restricted, query('com.example.crm'))).toBe(true);
    expect(matchesEventPattern(restricted, query('com.example.other'))).toBe(false);
    expect(() => synth({}, { allowedSources: [] })).toThrow(/at least one/);
    expect(() => synth({ allowedSources: 'tpns.bindings' })).toThrow(/loop/);
  });

  it('reject invalid values', () => {
    expect(() => synth({ maxBatch: 'lots' })).toThrow(/maxBatch/);
    expect(() => synth({ logRetentionDays: '8' })).toThrow(/logRetentionDays/);
    expect(() => synth({ logLevel: 'LOUD' })).toThrow(/logLevel/);
    // Same bounds the handlers enforce at init (functions/core/config.ts).
    expect(() => synth({ concurrency: '65' })).toThrow(/concurrency must be an integer from 1 to 64/);
    expect(() => synth({ maxBatch: '0' })).toThrow(/maxBatch must be an integer from 1 to 10000/);
    expect(() => synth({ breakerFailures: '0' })).toThrow(/breakerFailures must be an integer from 1 to 1000/);
    expect(() => synth({ breakerCooldownMs: '50' })).toThrow(/breakerCooldownMs must be an integer from 100 to 300000/);
    expect(() => synth({ adaptiveConcurrency: 'maybe' })).toThrow(/adaptiveConcurrency must be true or false/);
    // Lambda's and API Gateway's own bounds, caught at synth rather than at deploy.
    expect(() => synth({ memorySize: '64' })).toThrow(/memorySize must be an integer from 128 to 10240/);
    expect(() => synth({ throttlingRateLimit: '0' })).toThrow(/throttlingRateLimit/);
  });
});

describe('props', () => {
  it('override context', () => {
    const s = synth({ secretName: 'from/context', maxBatch: '50' }, { secretName: 'from/props' });
    const fn = s.template.toJSON().Resources[s.id(s.stack.bindings.httpFunction)].Properties;
    expect(fn.Environment.Variables.TPNS_SECRET_ID).toBe('from/props');
    expect(fn.Environment.Variables.TPNS_MAX_BATCH).toBe('50');
  });

  it('turn on source-mapped stack traces only when asked (they cost cold start)', () => {
    const variables = (s: ReturnType<typeof synth>) =>
      s.template.toJSON().Resources[s.id(s.stack.bindings.httpFunction)].Properties.Environment.Variables;
    expect(variables(synth({}))).not.toHaveProperty('NODE_OPTIONS');
    expect(variables(synth({}, { sourceMapStackTraces: true })).NODE_OPTIONS).toBe('--enable-source-maps');
    expect(variables(synth({ sourceMapStackTraces: 'true' })).NODE_OPTIONS).toBe('--enable-source-maps');
    expect(() => synth({ sourceMapStackTraces: 'yes' })).toThrow(/sourceMapStackTraces must be true or false/);
  });

  it('make the construct usable in any stack, with an existing bus and topic, a parameter for a value, and callers', () => {
    const app = new App({ context: NO_BUNDLING });
    const stack = new Stack(app, 'Other');
    const bus = new events.EventBus(stack, 'Bus');
    const topic = new sns.Topic(stack, 'Topic');
    // Known only at deploy: the range check leaves it to CloudFormation instead of failing on the token.
    const memory = new CfnParameter(stack, 'Memory', { type: 'Number', default: 1024 });
    const bindings = new TpnsBindings(stack, 'Bindings', {
      eventBus: bus,
      alarmTopic: topic,
      logRetention: logs.RetentionDays.ONE_WEEK,
      memorySize: memory.valueAsNumber,
    });
    const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    bindings.grantInvoke(caller);
    const t = Template.fromStack(stack);
    for (const fn of [bindings.httpFunction, bindings.eventsFunction]) {
      expect(t.toJSON().Resources[stack.getLogicalId(fn.node.defaultChild as CfnResource)].Properties.MemorySize).toEqual({
        Ref: 'Memory',
      });
    }
    const invoke = iamStatements(t).filter((st) => actionsOf(st).includes('execute-api:Invoke'));
    expect(invoke).toHaveLength(1);
    expect(invoke[0]!.roles).toEqual([stack.getLogicalId(caller.node.defaultChild as CfnResource)]);
    const apiId = stack.getLogicalId(bindings.httpApi.node.defaultChild as CfnResource);
    expect(invoke[0]!.Resource).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':execute-api:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':',
          { Ref: apiId },
          '/$default/*/*',
        ],
      ],
    });
    const busId = stack.getLogicalId(bus.node.defaultChild as events.CfnEventBus);
    t.hasResourceProperties('AWS::Events::Rule', { EventBusName: { Ref: busId } });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { EVENT_BUS_NAME: { Ref: busId } } },
    });
    const putEvents = statementsFor(t, 'events');
    expect(putEvents).toHaveLength(1);
    expect(putEvents[0]!.Resource).toEqual({ 'Fn::GetAtt': [busId, 'Arn'] });
    expect(bindings.alarms).toHaveLength(10);
    // No outputs from the construct itself: the stack decides.
    expect(Object.keys(t.toJSON().Outputs ?? {})).toEqual([]);
  });
});

/**
 * Operating the stack (issue 13): the dashboard and the alarms on the service's own metrics, checked
 * against what the handlers' Powertools Metrics really writes (EMF), and who the alarms notify.
 */

import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { METRICS } from '../../functions/contract.ts';
import { retryDelayMs } from '../../functions/core/query/retry.ts';
import { FAILURES, type FailureKind } from '../../functions/core/tpns/failures.ts';
import { metrics } from '../../functions/observability.ts';
import { TPNS_BINDINGS_DEFAULTS } from '../../infra/tpns-bindings.ts';
import type { Synthesized } from './synth.ts';
import { actionsOf, breaches, iamStatements, synth } from './synth.ts';

// The handlers' Metrics writes EMF only if enabled when it is created (vitest.config.ts disables it),
// and counts a cold start only where Lambda says the environment is on-demand. Imports are hoisted
// above plain statements.
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
});

/** A metric as CloudWatch tells metrics apart: namespace, name and every dimension with its value. */
interface MetricIdentity {
  namespace: string;
  name: string;
  dimensions: Record<string, unknown>;
}
const key = (m: MetricIdentity) =>
  JSON.stringify([m.namespace, m.name, Object.entries(m.dimensions).sort(([a], [b]) => a.localeCompare(b))]);

/** What the handlers' Metrics object writes for `emit`, read back from its EMF lines on stdout. */
function emitted(emit: () => void): MetricIdentity[] {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(chunk.toString());
    return true;
  });
  try {
    emit();
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  } finally {
    spy.mockRestore();
  }
  return lines
    .filter((line) => line.startsWith('{"_aws"'))
    .flatMap((line) => {
      const emf = JSON.parse(line);
      return emf._aws.CloudWatchMetrics.flatMap((d: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }) =>
        d.Metrics.map((m) => ({
          namespace: d.Namespace,
          name: m.Name,
          dimensions: Object.fromEntries(d.Dimensions.flat().map((dim) => [dim, emf[dim]])),
        })),
      );
    });
}

/** The token objects of a template string, as plain strings, so that the JSON inside it parses. */
const TOKEN = (value: unknown) => `TOKEN${JSON.stringify(value).replaceAll('"', "'")}`;
function joined(value: unknown): string {
  if (typeof value === 'string') return value;
  const [, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return parts.map((p) => (typeof p === 'string' ? p : TOKEN(p))).join('');
}

/**
 * Evaluates a CloudWatch metric-math expression of the functions the alarms use (IF, FILL, SUM and
 * arithmetic) over one datapoint per metric id; a metric without a datapoint is undefined, as missing.
 */
function evaluate(expression: string, values: Record<string, number | undefined>, ids: string[]): number {
  const IF = (condition: boolean, then: number, otherwise: number) => (condition ? then : otherwise);
  const FILL = (value: number | undefined, fill: number) => value ?? fill;
  const SUM = (series: (number | undefined)[]) => series.reduce<number>((sum, v) => sum + (v ?? 0), 0);
  return new Function('IF', 'FILL', 'SUM', ...ids, `return ${expression};`)(IF, FILL, SUM, ...ids.map((id) => values[id]));
}

interface AlarmMetric {
  Id: string;
  Expression?: string;
  MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: unknown }[] }; Stat: string };
}
const identityOf = (m: NonNullable<AlarmMetric['MetricStat']>['Metric']): MetricIdentity => ({
  namespace: m.Namespace,
  name: m.MetricName,
  dimensions: Object.fromEntries(m.Dimensions.map((d) => [d.Name, d.Value])),
});

/** Defaults, and the other configuration: alarmEmail, alarmTopicArn, dashboard=false, fixedEgressIp=true. */
let s: Synthesized;
let n: Synthesized;
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:ops-alarms';
let functionNames: string[];
/** Powertools' cold-start metric, as logMetrics emits it on an environment's first invocation (once per process). */
let coldStart: MetricIdentity | undefined;
const ref = (id: string) => ({ Ref: id });

beforeAll(() => {
  s = synth();
  const b = s.stack.bindings;
  functionNames = [s.id(b.httpFunction), s.id(b.eventsFunction)];
  n = synth({ alarmEmail: 'ops@example.com', alarmTopicArn: TOPIC_ARN, dashboard: 'false', fixedEgressIp: 'true' });
  [coldStart] = emitted(() => metrics.captureColdStartMetric('FUNCTION'));
});
afterAll(() => vi.restoreAllMocks());

/** Every name in METRICS. */
const METRIC_NAMES: string[] = Object.values(METRICS).flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v)));

/** The reasons the retry policy really retries for (the `reason` dimension values of METRICS.retries). */
const retriedReasons = () =>
  (Object.keys(FAILURES) as FailureKind[]).filter((kind) => retryDelayMs(kind, 0, 0, Number.MAX_SAFE_INTEGER, () => 0) !== undefined);

describe('dashboard', () => {
  const widgets = () => {
    const dashboards = Object.values(s.template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    return JSON.parse(joined(dashboards[0]!.Properties.DashboardBody)).widgets as {
      properties: { title: string; metrics: unknown[][] };
    }[];
  };
  const graphed = () =>
    widgets().flatMap((w) =>
      w.properties.metrics.map((entry) => {
        const options = entry.at(-1) as { stat?: string; expression?: string };
        if (options.expression !== undefined) return { expression: options.expression };
        const [namespace, name, ...dims] = entry.slice(0, -1) as string[];
        const dimensions: Record<string, unknown> = {};
        for (let i = 0; i < dims.length; i += 2) dimensions[dims[i]!] = dims[i + 1];
        return { identity: { namespace: namespace!, name: name!, dimensions }, stat: options.stat };
      }),
    );
  const ours = () => graphed().flatMap((g) => (g.identity && !g.identity.namespace.startsWith('AWS/') ? [g.identity] : []));

  it('graphs the service metrics exactly as the handlers emit them (namespace, name, dimensions)', () => {
    const perApp: string[] = [METRICS.concurrencyLimit, METRICS.breakerTransitions];
    const plain = METRIC_NAMES.filter((n) => n !== METRICS.retries && !perApp.includes(n));
    const expected = emitted(() => {
      for (const name of plain) metrics.addMetric(name, MetricUnit.Count, 1);
      for (const reason of retriedReasons())
        metrics.singleMetric().addDimension('reason', reason).addMetric(METRICS.retries, MetricUnit.Count, 1);
    });
    expect(expected.length).toBe(plain.length + retriedReasons().length);
    const onDashboard = new Set(ours().map(key));
    for (const m of expected) expect(onDashboard, `${m.name} ${JSON.stringify(m.dimensions)}`).toContain(key(m));
  });

  it('graphs Powertools’ cold-start metric of each function under the name Lambda gives it', () => {
    expect(coldStart).toBeDefined();
    const graphedColdStarts = ours().filter((m) => m.name === coldStart!.name);
    expect(graphedColdStarts.map(key).sort()).toEqual(
      functionNames.map((fn) => key({ ...coldStart!, dimensions: { ...coldStart!.dimensions, function_name: TOKEN(ref(fn)) } })).sort(),
    );
  });

  it('graphs nothing of its own namespace the handlers do not emit', () => {
    const emittedNames = new Set([...METRIC_NAMES, coldStart?.name]);
    for (const m of ours()) expect(emittedNames).toContain(m.name);
  });

  it('finds the per-app concurrency limit and breaker state changes by SEARCH, in the handlers’ namespace and service', () => {
    const [sample] = emitted(() => metrics.addMetric(METRICS.concurrencyLimit, MetricUnit.Count, 1));
    const searches = graphed().flatMap((g) => (g.expression ? [g.expression] : []));
    expect(searches).toEqual([
      `SEARCH('{${sample!.namespace},service,app} MetricName="${METRICS.concurrencyLimit}" service="${sample!.dimensions.service}"', 'Minimum', 60)`,
      `SEARCH('{${sample!.namespace},service,app,state} MetricName="${METRICS.breakerTransitions}" service="${sample!.dimensions.service}"', 'Sum', 60)`,
    ]);
  });

  it('graphs the API, both functions and the dead-letter queue', () => {
    const b = s.stack.bindings;
    const aws = graphed().flatMap((g) =>
      g.identity?.namespace.startsWith('AWS/') ? [`${g.identity.namespace} ${g.identity.name} ${g.stat}`] : [],
    );
    const api = ['Count Sum', '4xx Sum', '5xx Sum', 'Latency p50', 'Latency p99', 'IntegrationLatency p50', 'IntegrationLatency p99'];
    const lambda = ['Invocations Sum', 'Errors Sum', 'Throttles Sum', 'Duration p99'];
    expect(aws.sort()).toEqual(
      [
        ...api.map((m) => `AWS/ApiGateway ${m}`),
        ...lambda.flatMap((m) => [`AWS/Lambda ${m}`, `AWS/Lambda ${m}`]),
        'AWS/SQS ApproximateNumberOfMessagesVisible Maximum',
      ].sort(),
    );
    const dims = graphed().flatMap((g) => (g.identity?.namespace.startsWith('AWS/') ? [g.identity.dimensions] : []));
    expect(dims).toContainEqual({ ApiId: TOKEN(ref(s.id(b.httpApi))), Stage: '$default' });
    for (const fn of functionNames) expect(dims).toContainEqual({ FunctionName: TOKEN(ref(fn)) });
    expect(dims).toContainEqual({ QueueName: TOKEN({ 'Fn::GetAtt': [s.id(b.deadLetterQueue), 'QueueName'] }) });
  });

  it('has its console URL in the outputs', () => {
    const dashboard = Object.keys(s.template.findResources('AWS::CloudWatch::Dashboard'))[0]!;
    const url = joined(s.template.toJSON().Outputs.DashboardUrl.Value);
    expect(url).toBe(
      `https://${TOKEN(ref('AWS::Region'))}.console.aws.amazon.com/cloudwatch/home?region=${TOKEN(ref('AWS::Region'))}#dashboards/dashboard/${TOKEN(ref(dashboard))}`,
    );
  });
});

describe('alarms on the service’s own metrics', () => {
  const d = TPNS_BINDINGS_DEFAULTS;
  const alarm = (name: string) => {
    const found = Object.entries(s.template.findResources('AWS::CloudWatch::Alarm')).filter(([id]) => id.includes(name));
    expect(found, name).toHaveLength(1);
    return found[0]![1].Properties;
  };
  const expressionAlarm = (name: string) => {
    const props = alarm(name);
    const all = props.Metrics as AlarmMetric[];
    const [expression] = all.filter((m) => m.Expression !== undefined);
    const inputs = all.filter((m) => m.MetricStat);
    return {
      props,
      inputs: Object.fromEntries(inputs.map((m) => [m.Id, identityOf(m.MetricStat!.Metric)])),
      value: (values: Record<string, number | undefined>) =>
        evaluate(
          expression!.Expression!,
          values,
          inputs.map((m) => m.Id),
        ),
    };
  };

  it('alarm on the share of items in error, over enough items only', () => {
    const { props, inputs, value } = expressionAlarm('ItemsErrorShare');
    const idOf = (status: keyof typeof METRICS.items) => Object.keys(inputs).find((id) => inputs[id]!.name === METRICS.items[status])!;
    expect(Object.values(inputs).map(key).sort()).toEqual(
      emitted(() => {
        for (const name of Object.values(METRICS.items)) metrics.addMetric(name, MetricUnit.Count, 1);
      })
        .map(key)
        .sort(),
    );
    const share = (ok: number | undefined, error: number | undefined, notFound?: number) =>
      value({ [idOf('ok')]: ok, [idOf('error')]: error, [idOf('not_found')]: notFound });
    expect(share(90, 10)).toBe(10);
    expect(breaches(props, share(90, 10))).toBe(true);
    expect(breaches(props, share(99, 1))).toBe(false);
    expect(breaches(props, share(undefined, 30))).toBe(true); // nothing answered at all
    expect(breaches(props, share(100, undefined, 400))).toBe(false); // no errors: no datapoint
    // Below the minimum number of items, a failed chunk of a small query pages no one.
    expect(breaches(props, share(d.itemsErrorMinItems - 11, 10))).toBe(false);
    expect(breaches(props, share(d.itemsErrorMinItems - 10, 10))).toBe(true);
  });

  it('alarm on a surge of retries, whatever their reason', () => {
    const { props, inputs, value } = expressionAlarm('TpnsRetrySurge');
    expect(Object.values(inputs).map(key).sort()).toEqual(
      emitted(() => {
        for (const reason of retriedReasons())
          metrics.singleMetric().addDimension('reason', reason).addMetric(METRICS.retries, MetricUnit.Count, 1);
      })
        .map(key)
        .sort(),
    );
    const ids = Object.keys(inputs);
    const spread = Object.fromEntries(ids.map((id) => [id, Math.ceil(d.retriesThreshold / ids.length)]));
    expect(breaches(props, value(spread))).toBe(true);
    expect(breaches(props, value({ [ids[0]!]: d.retriesThreshold }))).toBe(true);
    expect(breaches(props, value({ [ids[0]!]: d.retriesThreshold - 1 }))).toBe(false);
  });

  it('alarm on TPNS call latency p99 and on secret re-reads, when they last', () => {
    const [latency, rereads] = emitted(() => {
      metrics.addMetric(METRICS.callLatency, MetricUnit.Milliseconds, 1);
      metrics.addMetric(METRICS.secretRefreshes, MetricUnit.Count, 1);
    });
    const single = (name: string) => {
      const props = alarm(name);
      return {
        props,
        identity: key({
          namespace: props.Namespace,
          name: props.MetricName,
          dimensions: Object.fromEntries(props.Dimensions.map((x: { Name: string; Value: unknown }) => [x.Name, x.Value])),
        }),
      };
    };
    const p99 = single('TpnsCallLatencyP99');
    expect(p99.identity).toBe(key(latency!));
    expect(p99.props).toMatchObject({ ExtendedStatistic: 'p99', EvaluationPeriods: 3 });
    expect(breaches(p99.props, d.callLatencyP99ThresholdMs)).toBe(true);
    expect(breaches(p99.props, d.callLatencyP99ThresholdMs - 1)).toBe(false);
    const secret = single('SecretRereads');
    expect(secret.identity).toBe(key(rereads!));
    expect(secret.props).toMatchObject({ Statistic: 'Sum', EvaluationPeriods: 3 });
    expect(breaches(secret.props, 1)).toBe(true);
    expect(breaches(secret.props, 0)).toBe(false);
  });

  it('notify no one by default, and say so at synth and in the outputs', () => {
    Annotations.fromStack(s.stack).hasWarning('*', Match.stringLikeRegexp('alarms notify no one'));
    expect(s.template.toJSON().Outputs.AlarmNotifications.Value).toMatch(/^none: /);
    s.template.resourceCountIs('AWS::SNS::Topic', 0);
  });
});

describe('alarmEmail, alarmTopicArn, dashboard=false and fixedEgressIp (context keys)', () => {
  it('e-mail through a topic encrypted with a rotated key that CloudWatch may use', () => {
    const t = n.template;
    const [topicId, topic] = Object.entries(t.findResources('AWS::SNS::Topic'))[0]!;
    const keyId = topic.Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    const key = t.toJSON().Resources[keyId];
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey*']),
      }),
    );
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: { Ref: topicId } });
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });

  it('notify both topics of every alarm and OK, with no warning', () => {
    const t = n.template;
    const topicId = Object.keys(t.findResources('AWS::SNS::Topic'))[0]!;
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(10);
    for (const a of alarms) {
      expect(a.Properties.AlarmActions).toEqual([TOPIC_ARN, { Ref: topicId }]);
      expect(a.Properties.OKActions).toEqual([TOPIC_ARN, { Ref: topicId }]);
    }
    expect(joined(t.toJSON().Outputs.AlarmNotifications.Value)).toBe(`${TOPIC_ARN}, ${TOKEN({ Ref: topicId })}`);
    Annotations.fromStack(n.stack).hasNoWarning('*', Match.stringLikeRegexp('alarms notify no one'));
  });

  it('leave the dashboard out when asked', () => {
    n.template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(n.template.toJSON().Outputs.DashboardUrl).toBeUndefined();
  });

  it('reject an address that is not one, and a dashboard value that is not a boolean', () => {
    expect(() => synth({}, { alarmEmail: 'ops at example.com' })).toThrow(/alarmEmail must be an e-mail address/);
    expect(() => synth({ dashboard: 'no' })).toThrow(/dashboard must be true or false/);
  });
});

describe('fixed egress IP', () => {
  type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;
  const resources = (x: Synthesized): Resources => x.template.toJSON().Resources;
  const ofType = (x: Synthesized, type: string) => Object.entries(resources(x)).filter(([, r]) => r.Type === type);
  /** Where a subnet's default route goes: { GatewayId } or { NatGatewayId }. */
  const defaultRoute = (x: Synthesized, subnet: string) => {
    const table = ofType(x, 'AWS::EC2::SubnetRouteTableAssociation').find(([, a]) => a.Properties.SubnetId.Ref === subnet)![1].Properties
      .RouteTableId.Ref;
    const route = ofType(x, 'AWS::EC2::Route').find(
      ([, r]) => r.Properties.RouteTableId.Ref === table && r.Properties.DestinationCidrBlock === '0.0.0.0/0',
    )!;
    const { GatewayId, NatGatewayId } = route[1].Properties;
    return GatewayId ? { GatewayId } : { NatGatewayId };
  };
  const functionsSecurityGroup = () => n.id(n.stack.bindings.node.findChild('FunctionsSecurityGroup') as ec2.SecurityGroup);

  it('is off by default: the functions run in Lambda’s own network', () => {
    expect(ofType(s, 'AWS::EC2::VPC')).toEqual([]);
    for (const fn of functionNames) expect(resources(s)[fn]!.Properties.VpcConfig).toBeUndefined();
    expect(s.template.toJSON().Outputs.EgressIps).toBeUndefined();
  });

  it('sends both functions’ traffic to TPNS through a NAT gateway with our Elastic IP, which the outputs name', () => {
    const eips = ofType(n, 'AWS::EC2::EIP').map(([id]) => id);
    expect(eips).toHaveLength(1);
    const eip = eips[0]!;
    const nats = ofType(n, 'AWS::EC2::NatGateway');
    expect(nats).toHaveLength(1);
    const [natId, nat] = nats[0]!;
    expect(nat.Properties.AllocationId).toEqual({ 'Fn::GetAtt': [eip, 'AllocationId'] });
    // The NAT gateway sits in a public subnet (default route to the internet gateway).
    expect(Object.keys(defaultRoute(n, nat.Properties.SubnetId.Ref))).toEqual(['GatewayId']);
    const b = n.stack.bindings;
    const sg = functionsSecurityGroup();
    for (const fn of [b.httpFunction, b.eventsFunction]) {
      const { SubnetIds, SecurityGroupIds } = resources(n)[n.id(fn)]!.Properties.VpcConfig;
      expect(SubnetIds).toHaveLength(2);
      for (const subnet of SubnetIds) expect(defaultRoute(n, subnet.Ref)).toEqual({ NatGatewayId: { Ref: natId } });
      expect(SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [sg, 'GroupId'] }]);
    }
    expect(n.template.toJSON().Outputs.EgressIps.Value).toEqual({ 'Fn::GetAtt': [eip, 'PublicIp'] });
  });

  it('lets the functions out on HTTPS only, and gives their roles what Lambda needs to attach them', () => {
    const sg = functionsSecurityGroup();
    const group = resources(n)[sg]!.Properties;
    expect(group.SecurityGroupIngress).toBeUndefined();
    expect(group.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }),
    ]);
    for (const [, rule] of ofType(n, 'AWS::EC2::SecurityGroupEgress'))
      expect(rule.Properties).toMatchObject({ FromPort: 443, ToPort: 443 });
    const eni = iamStatements(n.template).filter((st) => actionsOf(st).includes('ec2:CreateNetworkInterface'));
    const b = n.stack.bindings;
    const roleOf = (fn: typeof b.httpFunction) => resources(n)[n.id(fn)]!.Properties.Role['Fn::GetAtt'][0];
    expect(eni.flatMap((st) => st.roles).sort()).toEqual([roleOf(b.httpFunction), roleOf(b.eventsFunction)].sort());
  });

  it('reaches Secrets Manager and EventBridge through private interface endpoints open to the functions only', () => {
    const sg = functionsSecurityGroup();
    const endpoints = ofType(n, 'AWS::EC2::VPCEndpoint')
      .map(([, e]) => e.Properties)
      .filter((e) => e.VpcEndpointType === 'Interface');
    expect(endpoints.map((e) => JSON.stringify(e.ServiceName).match(/\.(\w+)"\]\]\}$/)?.[1]).sort()).toEqual(['events', 'secretsmanager']);
    for (const e of endpoints) {
      expect(e).toMatchObject({ VpcEndpointType: 'Interface', PrivateDnsEnabled: true });
      const [group] = e.SecurityGroupIds.map((g: { 'Fn::GetAtt': [string] }) => g['Fn::GetAtt'][0]);
      const ingress = ofType(n, 'AWS::EC2::SecurityGroupIngress').filter(([, i]) => i.Properties.GroupId['Fn::GetAtt'][0] === group);
      expect(ingress.map(([, i]) => i.Properties)).toEqual([
        expect.objectContaining({ FromPort: 443, ToPort: 443, SourceSecurityGroupId: { 'Fn::GetAtt': [sg, 'GroupId'] } }),
      ]);
      expect(resources(n)[group]!.Properties.SecurityGroupIngress).toBeUndefined();
    }
  });

  it('reaches S3 (the bulk export’s output) through a gateway endpoint on the functions’ route tables only', () => {
    const gateways = ofType(n, 'AWS::EC2::VPCEndpoint')
      .map(([, e]) => e.Properties)
      .filter((e) => e.VpcEndpointType === 'Gateway');
    expect(gateways).toHaveLength(1);
    expect(JSON.stringify(gateways[0]!.ServiceName)).toContain('.s3"');
    const functionSubnets = resources(n)[n.id(n.stack.bindings.httpFunction)]!.Properties.VpcConfig.SubnetIds.map(
      (x: { Ref: string }) => x.Ref,
    );
    const routeTableOf = (subnet: string) =>
      ofType(n, 'AWS::EC2::SubnetRouteTableAssociation').find(([, a]) => a.Properties.SubnetId.Ref === subnet)![1].Properties.RouteTableId
        .Ref;
    expect(gateways[0]!.RouteTableIds.map((r: { Ref: string }) => r.Ref).sort()).toEqual(functionSubnets.map(routeTableOf).sort());
  });

  it('per-az: a NAT gateway and an Elastic IP per zone, each zone’s functions subnet through its own', () => {
    const p = synth({ dashboard: 'false' }, { fixedEgressIp: 'per-az' });
    const eips = ofType(p, 'AWS::EC2::EIP').map(([id]) => id);
    expect(eips).toHaveLength(2);
    const nats = ofType(p, 'AWS::EC2::NatGateway');
    expect(nats.map(([, nat]) => nat.Properties.AllocationId['Fn::GetAtt'][0]).sort()).toEqual([...eips].sort());
    const subnets = resources(p)[p.id(p.stack.bindings.httpFunction)]!.Properties.VpcConfig.SubnetIds.map((x: { Ref: string }) => x.Ref);
    const zone = (subnet: string) => JSON.stringify(resources(p)[subnet]!.Properties.AvailabilityZone);
    const natZone = (natId: string) => zone(resources(p)[natId]!.Properties.SubnetId.Ref);
    for (const subnet of subnets) expect(natZone(defaultRoute(p, subnet).NatGatewayId.Ref)).toBe(zone(subnet));
    expect(new Set(subnets.map(zone)).size).toBe(2);
    expect(joined(p.template.toJSON().Outputs.EgressIps.Value)).toBe(
      eips.map((id) => TOKEN({ 'Fn::GetAtt': [id, 'PublicIp'] })).join(', '),
    );
  });

  it('rejects other values', () => {
    expect(() => synth({ fixedEgressIp: 'yes' })).toThrow(/fixedEgressIp must be true, false or per-az/);
    expect(() => synth({}, { fixedEgressIp: 'per-region' as never })).toThrow(/fixedEgressIp must be true, false or 'per-az'/);
  });
});

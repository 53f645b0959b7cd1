/**
 * Shared helpers for the infra tests: synthesize the stack without bundling
 * (fast: no esbuild run), and read the IAM statements of the template.
 */

import type { CfnResource } from 'aws-cdk-lib';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TpnsBindingsStack } from '../../infra/stack.ts';
import type { TpnsBindingsProps } from '../../infra/tpns-bindings.ts';

/** Skips asset bundling for every stack (esbuild is not run). */
export const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] as string[] };

export interface Synthesized {
  stack: TpnsBindingsStack;
  template: Template;
  /** Logical id of a construct's CloudFormation resource. */
  id(resource: { node: { defaultChild?: unknown } } | CfnResource): string;
}

/**
 * The stack with the given context. Without the bulk export unless the context asks for it (`bulkExport`):
 * these tests are about the TpnsBindings construct; test/infra/bulk-export.test.ts covers the export.
 */
export function synth(context: Record<string, unknown> = {}, bindings?: TpnsBindingsProps): Synthesized {
  const app = new App({ analyticsReporting: false, context: { ...NO_BUNDLING, bulkExport: false, ...context } });
  const stack = new TpnsBindingsStack(app, 'TpnsBindingsTest', { bindings });
  const template = Template.fromStack(stack);
  return {
    stack,
    template,
    id: (c) => {
      const cfn = ('logicalId' in c ? c : c.node.defaultChild) as CfnResource;
      return stack.getLogicalId(cfn);
    },
  };
}

export interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: unknown;
  Condition?: unknown;
  Principal?: unknown;
}

export interface PolicyStatement extends Statement {
  /** Logical id of the AWS::IAM::Policy. */
  policy: string;
  /** Logical ids of the roles the policy is attached to. */
  roles: string[];
}

export const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
export const resourcesOf = (s: Statement): unknown[] =>
  s.Resource === undefined ? [] : Array.isArray(s.Resource) ? s.Resource : [s.Resource];

/** Every statement of every identity policy (AWS::IAM::Policy and inline role policies). */
export function iamStatements(template: Template): PolicyStatement[] {
  const out: PolicyStatement[] = [];
  for (const [policy, res] of Object.entries(template.findResources('AWS::IAM::Policy'))) {
    const roles = ((res.Properties.Roles ?? []) as { Ref: string }[]).map((r) => r.Ref);
    for (const s of res.Properties.PolicyDocument.Statement as Statement[]) out.push({ ...s, policy, roles });
  }
  for (const [role, res] of Object.entries(template.findResources('AWS::IAM::Role'))) {
    for (const p of (res.Properties.Policies ?? []) as { PolicyName: string; PolicyDocument: { Statement: Statement[] } }[]) {
      for (const s of p.PolicyDocument.Statement) out.push({ ...s, policy: `${role}/${p.PolicyName}`, roles: [role] });
    }
  }
  return out;
}

/** Statements granting at least one action of `service` (e.g. 'secretsmanager'). */
export function statementsFor(template: Template, service: string): PolicyStatement[] {
  return iamStatements(template).filter((s) => s.Effect === 'Allow' && actionsOf(s).some((a) => a === '*' || a.startsWith(`${service}:`)));
}

/**
 * Whether an event matches an EventBridge event pattern, for the kind of pattern this construct writes:
 * each field of the pattern must be in the event, with one of the listed strings as its value (nested
 * objects such as `detail` recurse). Content filters ({ prefix }, { anything-but }, …) are not implemented:
 * a pattern with one throws instead of answering wrongly.
 */
export function matchesEventPattern(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  const fields = Object.entries(pattern);
  if (fields.length === 0) throw new Error('an empty event pattern (EventBridge refuses those)');
  return fields.every(([field, allowed]) => {
    const value = event[field];
    if (Array.isArray(allowed)) {
      if (!allowed.every((a) => typeof a === 'string')) throw new Error(`${field}: content filters are not implemented`);
      return (Array.isArray(value) ? value : [value]).some((v) => allowed.includes(v));
    }
    if (allowed !== null && typeof allowed === 'object') {
      return (
        value !== null &&
        typeof value === 'object' &&
        matchesEventPattern(allowed as Record<string, unknown>, value as Record<string, unknown>)
      );
    }
    throw new Error(`${field}: a pattern field must be a list or an object`);
  });
}

/** Whether a datapoint `value` breaches a CloudWatch alarm (its template properties). */
export function breaches(alarm: { Threshold: number; ComparisonOperator: string }, value: number): boolean {
  const { Threshold: threshold, ComparisonOperator: operator } = alarm;
  switch (operator) {
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
    default:
      throw new Error(`comparison operator ${operator} is not implemented`);
  }
}

/** A PutEvents call as an event bus policy sees it. */
export interface PutEventsCall {
  /** aws:PrincipalArn: a literal ARN, or the template's reference to a role ({ 'Fn::GetAtt': [id, 'Arn'] }); unset: absent. */
  principalArn?: unknown;
  /** aws:PrincipalAccount; unset: absent. */
  principalAccount?: string;
  /** The entries (events:source and events:detail-type are taken from all of them). */
  entries: { source: string; 'detail-type': string }[];
}

/**
 * Whether a statement's conditions hold for a PutEvents call. Implements the operators the construct
 * writes: `ForAnyValue:StringEquals` (true if any entry has one of the values) and
 * `ForAllValues:StringEquals` (true if every entry has one; vacuously true without entries) on the
 * entries' fields, `Null`, and `StringEquals` / `ArnEquals` / `StringNotEquals` / `ArnNotEquals` on the
 * single-valued global keys (a missing key makes the ...NotEquals ones true, as IAM does). Values, tokens
 * included, compare as JSON. Anything else throws instead of answering wrongly.
 */
export function conditionsHold(statement: Statement, call: PutEventsCall): boolean {
  const valuesOf = (key: string): unknown[] => {
    switch (key) {
      case 'events:source':
        return call.entries.map((e) => e.source);
      case 'events:detail-type':
        return call.entries.map((e) => e['detail-type']);
      case 'aws:PrincipalArn':
        return call.principalArn === undefined ? [] : [call.principalArn];
      case 'aws:PrincipalAccount':
        return call.principalAccount === undefined ? [] : [call.principalAccount];
      default:
        throw new Error(`condition key ${key} is not implemented`);
    }
  };
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const holds = (operator: string, key: string, expected: unknown): boolean => {
    const allowed = Array.isArray(expected) ? expected : [expected];
    const actual = valuesOf(key);
    const multiValued = key.startsWith('events:');
    switch (operator) {
      case 'ForAnyValue:StringEquals':
        return actual.some((v) => allowed.some((a) => same(v, a)));
      case 'ForAllValues:StringEquals':
        return actual.every((v) => allowed.some((a) => same(v, a)));
      case 'Null':
        return (actual.length === 0) === (expected === 'true');
      case 'StringEquals':
      case 'ArnEquals':
        if (multiValued) throw new Error(`${operator} on the multivalued ${key} is not implemented`);
        return actual.length === 1 && allowed.some((a) => same(actual[0], a));
      case 'StringNotEquals':
      case 'ArnNotEquals':
        if (multiValued) throw new Error(`${operator} on the multivalued ${key} is not implemented`);
        return actual.length === 0 || !allowed.some((a) => same(actual[0], a));
      default:
        throw new Error(`condition operator ${operator} is not implemented`);
    }
  };
  return Object.entries((statement.Condition ?? {}) as Record<string, Record<string, unknown>>).every(([operator, keys]) =>
    Object.entries(keys).every(([key, expected]) => holds(operator, key, expected)),
  );
}

/** Sids of the Deny statements of a resource policy (for every principal) that deny a PutEvents call. */
export function denyingStatements(statements: (Statement & { Sid?: string })[], call: PutEventsCall): string[] {
  return statements
    .filter((s) => s.Effect === 'Deny' && actionsOf(s).includes('events:PutEvents'))
    .filter((s) => {
      if (JSON.stringify(s.Principal) !== JSON.stringify({ AWS: '*' }) && s.Principal !== '*')
        throw new Error('only Deny statements for every principal are implemented');
      return conditionsHold(s, call);
    })
    .map((s) => s.Sid ?? '(no sid)');
}

/** What the pseudo parameters and the resources' tokens stand for in a rendered definition. */
export const PLACEHOLDERS = { partition: 'aws', region: 'eu-west-1', account: '123456789012' } as const;

/**
 * A CloudFormation value with its tokens replaced by placeholders: pseudo parameters by PLACEHOLDERS,
 * `Ref` by the logical id, `Fn::GetAtt` by an ARN ending in the logical id, `Fn::Join` joined. Any other
 * intrinsic throws instead of rendering something wrong.
 */
export function renderTokens(value: unknown): string {
  if (typeof value === 'string') return value;
  const o = (value ?? {}) as Record<string, unknown>;
  const pseudo: Record<string, string> = {
    'AWS::Partition': PLACEHOLDERS.partition,
    'AWS::Region': PLACEHOLDERS.region,
    'AWS::AccountId': PLACEHOLDERS.account,
  };
  if (typeof o.Ref === 'string') return pseudo[o.Ref] ?? o.Ref;
  const getAtt = o['Fn::GetAtt'];
  if (Array.isArray(getAtt) && getAtt[1] === 'Arn') {
    const { partition, region, account } = PLACEHOLDERS;
    return `arn:${partition}:placeholder:${region}:${account}:${getAtt[0]}`;
  }
  const join = o['Fn::Join'];
  if (Array.isArray(join)) return (join[1] as unknown[]).map(renderTokens).join(join[0] as string);
  throw new Error(`renderTokens: ${JSON.stringify(value)} is not implemented`);
}

/** The Amazon States Language definition of a state machine in the template, tokens rendered as placeholders. */
export function stateMachineDefinition(template: Template, logicalId: string): Record<string, any> {
  const machine = template.toJSON().Resources[logicalId];
  if (machine?.Type !== 'AWS::StepFunctions::StateMachine') throw new Error(`${logicalId} is not a state machine`);
  return JSON.parse(renderTokens(machine.Properties.DefinitionString));
}

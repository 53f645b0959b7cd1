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

export function synth(context: Record<string, unknown> = {}, bindings?: TpnsBindingsProps): Synthesized {
  const app = new App({ analyticsReporting: false, context: { ...NO_BUNDLING, ...context } });
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

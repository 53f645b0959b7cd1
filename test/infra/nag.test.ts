/**
 * cdk-nag (AwsSolutions pack, cdk-nag 3 validation-plugin API) on the real app:
 * no unacknowledged finding, every acknowledgment has a reason, and the plugin
 * really fails synthesis when something is wrong.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../infra/app.ts';
import { NO_BUNDLING } from './synth.ts';

const outdirs: string[] = [];
const newApp = (context: Record<string, unknown> = {}) => {
  const outdir = mkdtempSync(join(tmpdir(), 'tpns-nag-'));
  outdirs.push(outdir);
  return createApp({ outdir, context: { ...NO_BUNDLING, ...context } });
};
afterAll(() => {
  for (const d of outdirs) rmSync(d, { recursive: true, force: true });
});

function acknowledgments(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id: id.replace(/^annotation::/i, ''), // how aws-cdk-lib stores un-namespaced ids
          reason,
        })),
      ),
  );
}

describe('cdk-nag AwsSolutions', () => {
  it('the app synthesizes with no unacknowledged finding', () => {
    const { app } = newApp();
    // In test mode (NODE_ENV=test) synth throws with the report on any unacknowledged finding.
    expect(() => app.synth()).not.toThrow();
    // And the same check run directly, for a readable failure message.
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName} @ ${v.violatingResources.map((r) => r.constructPath)}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('with queryPublishers too (its own bus, with a resource policy), and with nothing more acknowledged', () => {
    const { app, stack } = newApp({ queryPublishers: '123456789012,arn:aws:iam::210987654321:role/push-jobs' });
    expect(stack.bindings.node.tryFindChild('EventBus')).toBeDefined();
    expect(() => app.synth()).not.toThrow();
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName} @ ${v.violatingResources.map((r) => r.constructPath)}`)).toEqual([]);
    expect(acknowledgments(stack.bindings)).toHaveLength(3);
  });

  it('with fixedEgressIp (per zone) and alarmEmail too, with the same acknowledgments, reasoned for the VPC', () => {
    const { app, stack } = newApp({ fixedEgressIp: 'per-az', alarmEmail: 'ops@example.com' });
    expect(stack.bindings.vpc).toBeDefined();
    expect(stack.bindings.alarmEmailTopic).toBeDefined();
    expect(() => app.synth()).not.toThrow();
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName} @ ${v.violatingResources.map((r) => r.constructPath)}`)).toEqual([]);
    // Ours only: aws-cdk-lib acknowledges two CloudFormation-Validate findings of its own on the flow log.
    const acks = acknowledgments(stack.bindings).filter((a) => a.id.startsWith('AwsSolutions-'));
    expect(acks).toHaveLength(3);
    // The three functions that call TPNS run in the VPC (the bulk export's batch function too): their roles say why.
    const inVpc = acknowledgments(stack).filter(
      (a) => a.id === 'AwsSolutions-IAM5[Resource::*]' && /(Http|Events|ExportBatch)FunctionRole/.test(a.path),
    );
    expect(inVpc).toHaveLength(3);
    for (const a of inVpc) expect(a.reason).toMatch(/network interfaces/);
  });

  it('acknowledges only known findings, each on its own construct with a real reason', () => {
    const { stack } = newApp();
    const acks = acknowledgments(stack);
    const prefix = `${stack.node.path}/`;
    const executions =
      'arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"BulkExportStateMachine85C3ECEB"}]}]}';
    expect(acks.map((a) => `${a.path.replace(prefix, '')}: ${a.id}`).sort()).toEqual([
      'BulkExport/Bucket: AwsSolutions-S1',
      'BulkExport/ExportBatchFunctionRole: AwsSolutions-IAM5[Resource::*]',
      'BulkExport/ExportBatchFunctionRole: AwsSolutions-IAM5[Resource::<BulkExportBucket3AF0559C.Arn>/out/*]',
      'BulkExport/ExportFinishFunctionRole: AwsSolutions-IAM5[Resource::*]',
      'BulkExport/ExportFinishFunctionRole: AwsSolutions-IAM5[Resource::<BulkExportBucket3AF0559C.Arn>/out/*]',
      `BulkExport/StateMachine/DistributedMapPolicy: AwsSolutions-IAM5[Resource::${executions}/*:*]`,
      `BulkExport/StateMachine/DistributedMapPolicy: AwsSolutions-IAM5[Resource::${executions}:*]`,
      'BulkExport/StateMachine/Role: AwsSolutions-IAM5[Resource::*]',
      'BulkExport/StateMachine/Role: AwsSolutions-IAM5[Resource::<BulkExportBucket3AF0559C.Arn>/in/*]',
      'BulkExport/StateMachine/Role: AwsSolutions-IAM5[Resource::<BulkExportBucket3AF0559C.Arn>/out/*]',
      'BulkExport/StateMachine/Role: AwsSolutions-IAM5[Resource::<BulkExportExportBatchFunction20579B95.Arn>:*]',
      'BulkExport/StateMachine/Role: AwsSolutions-IAM5[Resource::<BulkExportExportFinishFunction98020F01.Arn>:*]',
      'TpnsBindings/DeadLetterQueue: AwsSolutions-SQS3',
      'TpnsBindings/EventsFunctionRole: AwsSolutions-IAM5[Resource::*]',
      'TpnsBindings/HttpFunctionRole: AwsSolutions-IAM5[Resource::*]',
    ]);
    for (const a of acks) expect(a.reason.length).toBeGreaterThan(60);
  });

  it('writes the acknowledgments and their reasons into the template for reviewers', () => {
    const { app, stack } = newApp();
    const template = app.synth().getStackByName(stack.stackName).template;
    const suppressed = Object.values(template.Resources as Record<string, { Type: string; Metadata?: any }>)
      .filter((r) => r.Metadata?.cdk_nag)
      .flatMap((r) => r.Metadata.cdk_nag.rules_to_suppress.map((x: { id: string }) => `${r.Type} ${x.id}`));
    // Each role's acknowledgments are also written on its default policy; the bucket's and the queue's on their policies.
    const bucketObjects = (prefix: string) => `AwsSolutions-IAM5[Resource::<BulkExportBucket3AF0559C.Arn>/${prefix}*]`;
    const executions =
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"BulkExportStateMachine85C3ECEB"}]}]}';
    const onRoles = [
      ...Array(5).fill('AwsSolutions-IAM5[Resource::*]'),
      bucketObjects('in/'),
      ...Array(3).fill(bucketObjects('out/')),
      'AwsSolutions-IAM5[Resource::<BulkExportExportBatchFunction20579B95.Arn>:*]',
      'AwsSolutions-IAM5[Resource::<BulkExportExportFinishFunction98020F01.Arn>:*]',
    ];
    expect(suppressed.sort()).toEqual(
      [
        ...onRoles.map((id) => `AWS::IAM::Role ${id}`),
        ...[...onRoles, `${executions}/*:*]`, `${executions}:*]`].map((id) => `AWS::IAM::Policy ${id}`),
        'AWS::S3::Bucket AwsSolutions-S1',
        'AWS::S3::BucketPolicy AwsSolutions-S1',
        'AWS::SQS::Queue AwsSolutions-SQS3',
        'AWS::SQS::QueuePolicy AwsSolutions-SQS3',
      ].sort(),
    );
  });

  it('fails synthesis on an unacknowledged finding (the plugin is active)', () => {
    const { app, stack } = newApp();
    // An unencrypted queue without SSL enforcement and without a DLQ.
    new sqs.Queue(stack, 'Careless', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS/);
  });
});

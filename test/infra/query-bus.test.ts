/**
 * queryPublishers (issue 9, point 8: an event `source` is not an identity): the dedicated bus and its
 * resource policy, which is what decides who may send queries and who may publish results.
 */

import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAILED_DETAIL_TYPE, QUERY_DETAIL_TYPE, RESOLVED_DETAIL_TYPE, RESULT_SOURCE, TpnsBindings } from '../../infra/tpns-bindings.ts';
import type { PutEventsCall, Statement, Synthesized } from './synth.ts';
import { actionsOf, denyingStatements, NO_BUNDLING, statementsFor, synth } from './synth.ts';

type PolicyStatement = Statement & { Sid: string };

const ACCOUNT = '123456789012';
const PUBLISHER_ROLE = 'arn:aws:iam::210987654321:role/jobs/push-jobs';
const PUBLISHER_ROLE_ACCOUNT = '210987654321';

const root = (account: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${account}:root`]] });
const busArn = (name: string) => ({
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:event-bus/${name}`],
  ],
});

function busOf(s: Synthesized) {
  s.template.resourceCountIs('AWS::Events::EventBus', 1);
  const [id, bus] = Object.entries(s.template.findResources('AWS::Events::EventBus'))[0]!;
  return { id, name: bus.Properties.Name as string, statements: bus.Properties.Policy.Statement as PolicyStatement[] };
}

describe('with queryPublishers (accounts and role ARNs, from context)', () => {
  let s: Synthesized;
  let bus: ReturnType<typeof busOf>;
  let eventsRoleArn: unknown;
  const sid = (id: string) => {
    const found = bus.statements.filter((st) => st.Sid === id);
    expect(found, id).toHaveLength(1);
    return found[0]!;
  };
  const denied = (call: PutEventsCall) => denyingStatements(bus.statements, call);
  const query = (source = 'com.example.jobs') => ({ source, 'detail-type': QUERY_DETAIL_TYPE });
  const result = (detailType = RESOLVED_DETAIL_TYPE) => ({ source: RESULT_SOURCE, 'detail-type': detailType });

  beforeAll(() => {
    s = synth({ queryPublishers: ` ${ACCOUNT}, ${PUBLISHER_ROLE}` });
    bus = busOf(s);
    const eventsFn = s.template.toJSON().Resources[s.id(s.stack.bindings.eventsFunction)];
    eventsRoleArn = eventsFn.Properties.Role; // { 'Fn::GetAtt': [role, 'Arn'] }
    expect(eventsRoleArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^TpnsBindingsEventsFunctionRole/), 'Arn'] });
  });

  it('creates its own bus, with the policy on the bus itself (no EventBusPolicy resources, whose ids collide across stacks)', () => {
    expect(bus.name).toMatch(/^TpnsBindingsTest-TpnsBindings-[0-9A-F]{8}$/);
    s.template.resourceCountIs('AWS::Events::EventBusPolicy', 0);
    expect(s.template.toJSON().Resources[bus.id].Properties.Policy.Version).toBe('2012-10-17');
    for (const st of bus.statements) {
      expect(actionsOf(st), st.Sid).toEqual(['events:PutEvents']);
      expect(st.Resource, st.Sid).toEqual(busArn(bus.name));
    }
    expect(bus.statements.map((st) => `${st.Effect} ${st.Sid}`).sort()).toEqual([
      'Allow QueryPublisherAccountsMaySendQueries',
      'Allow QueryPublisherPrincipalsMaySendQueries',
      'Deny OnlyQueryPublishersSendQueries',
      'Deny OnlyTheEventsFunctionPublishesResults',
    ]);
  });

  it('denies the results’ source to every principal but the events function’s role', () => {
    expect(sid('OnlyTheEventsFunctionPublishesResults')).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Condition: {
        'ForAnyValue:StringEquals': { 'events:source': RESULT_SOURCE },
        ArnNotEquals: { 'aws:PrincipalArn': eventsRoleArn },
      },
    });
    expect(Object.keys(sid('OnlyTheEventsFunctionPublishesResults').Condition as object)).toHaveLength(2);
    // As EventBridge would apply it.
    for (const detailType of [RESOLVED_DETAIL_TYPE, FAILED_DETAIL_TYPE]) {
      expect(denied({ principalArn: eventsRoleArn, principalAccount: ACCOUNT, entries: [result(detailType)] })).toEqual([]);
    }
    const forger = { principalArn: `arn:aws:iam::${ACCOUNT}:role/anyone`, principalAccount: ACCOUNT };
    expect(denied({ ...forger, entries: [result()] })).toEqual(['OnlyTheEventsFunctionPublishesResults']);
    // Even a query publisher, and even one forged entry among honest ones.
    expect(denied({ principalArn: PUBLISHER_ROLE, principalAccount: PUBLISHER_ROLE_ACCOUNT, entries: [query(), result()] })).toEqual([
      'OnlyTheEventsFunctionPublishesResults',
    ]);
    expect(denied({ entries: [result()] })).toEqual(['OnlyTheEventsFunctionPublishesResults']); // no principal ARN: fails closed
  });

  it('denies the query detail-type to every principal but the listed accounts and principals', () => {
    expect(sid('OnlyQueryPublishersSendQueries')).toEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Condition: {
          'ForAnyValue:StringEquals': { 'events:detail-type': QUERY_DETAIL_TYPE },
          ArnNotEquals: { 'aws:PrincipalArn': [PUBLISHER_ROLE] },
          StringNotEquals: { 'aws:PrincipalAccount': [ACCOUNT] },
        },
      }),
    );
    const q = { entries: [query()] };
    expect(denied({ ...q, principalArn: `arn:aws:iam::${ACCOUNT}:role/any-role-of-the-account`, principalAccount: ACCOUNT })).toEqual([]);
    expect(denied({ ...q, principalArn: PUBLISHER_ROLE, principalAccount: PUBLISHER_ROLE_ACCOUNT })).toEqual([]);
    // Another role of the listed role's account, another account, the events function itself: denied, whatever the source says.
    for (const call of [
      { principalArn: `arn:aws:iam::${PUBLISHER_ROLE_ACCOUNT}:role/other`, principalAccount: PUBLISHER_ROLE_ACCOUNT },
      { principalArn: 'arn:aws:iam::999999999999:role/jobs/push-jobs', principalAccount: '999999999999' },
      { principalArn: eventsRoleArn, principalAccount: '111111111111' },
    ]) {
      expect(denied({ ...call, entries: [query('com.example.push-jobs')] }), JSON.stringify(call)).toEqual([
        'OnlyQueryPublishersSendQueries',
      ]);
    }
    // Events that are neither queries nor results are not this policy's business.
    expect(denied({ principalAccount: '999999999999', entries: [{ source: 'com.example.other', 'detail-type': 'Other' }] })).toEqual([]);
  });

  it('lets the listed accounts, and the listed principals of other accounts, put query events (and nothing else)', () => {
    const onlyQueries = { StringEquals: { 'events:detail-type': QUERY_DETAIL_TYPE } };
    expect(sid('QueryPublisherAccountsMaySendQueries')).toMatchObject({
      Effect: 'Allow',
      Principal: { AWS: root(ACCOUNT) },
      Condition: onlyQueries,
    });
    expect(sid('QueryPublisherPrincipalsMaySendQueries')).toMatchObject({
      Effect: 'Allow',
      Principal: { AWS: root(PUBLISHER_ROLE_ACCOUNT) },
      Condition: { ...onlyQueries, ArnEquals: { 'aws:PrincipalArn': [PUBLISHER_ROLE] } },
    });
    // Never an Allow to everyone.
    for (const st of bus.statements.filter((x) => x.Effect === 'Allow')) expect(JSON.stringify(st.Principal), st.Sid).not.toContain('"*"');
  });

  it('moves the rule, the events function’s PutEvents grant, EVENT_BUS_NAME and the output to the new bus', () => {
    const t = s.template;
    t.resourceCountIs('AWS::Events::Rule', 1);
    t.hasResourceProperties('AWS::Events::Rule', { EventBusName: { Ref: bus.id } });
    const fn = t.toJSON().Resources[s.id(s.stack.bindings.eventsFunction)];
    expect(fn.Properties.Environment.Variables.EVENT_BUS_NAME).toEqual({ Ref: bus.id });
    const putEvents = statementsFor(t, 'events');
    expect(putEvents).toHaveLength(1);
    expect(putEvents[0]!.Resource).toEqual({ 'Fn::GetAtt': [bus.id, 'Arn'] });
    expect(putEvents[0]!.roles).toEqual([(eventsRoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]]);
    t.hasOutput('EventBusName', { Value: { Ref: bus.id } });
  });
});

describe('queryPublishers', () => {
  it('with accounts only, or principals only, the query Deny excepts just those (an empty list would be invalid)', () => {
    const accountsOnly = busOf(synth({}, { queryPublishers: [ACCOUNT, '111111111111', ACCOUNT] }));
    const deny = accountsOnly.statements.find((st) => st.Sid === 'OnlyQueryPublishersSendQueries')!;
    expect(deny.Condition).toEqual({
      'ForAnyValue:StringEquals': { 'events:detail-type': QUERY_DETAIL_TYPE },
      StringNotEquals: { 'aws:PrincipalAccount': [ACCOUNT, '111111111111'] },
    });
    expect(accountsOnly.statements.map((st) => st.Sid)).not.toContain('QueryPublisherPrincipalsMaySendQueries');

    const principalsOnly = busOf(synth({}, { queryPublishers: [PUBLISHER_ROLE, `arn:aws:iam::${PUBLISHER_ROLE_ACCOUNT}:user/ci`] }));
    expect(principalsOnly.statements.find((st) => st.Sid === 'OnlyQueryPublishersSendQueries')!.Condition).toEqual({
      'ForAnyValue:StringEquals': { 'events:detail-type': QUERY_DETAIL_TYPE },
      ArnNotEquals: { 'aws:PrincipalArn': [PUBLISHER_ROLE, `arn:aws:iam::${PUBLISHER_ROLE_ACCOUNT}:user/ci`] },
    });
    // One account principal for the two ARNs of one account.
    const allow = principalsOnly.statements.find((st) => st.Sid === 'QueryPublisherPrincipalsMaySendQueries')!;
    expect(allow.Principal).toEqual({ AWS: root(PUBLISHER_ROLE_ACCOUNT) });
    expect(principalsOnly.statements.map((st) => st.Sid)).not.toContain('QueryPublisherAccountsMaySendQueries');
  });

  it('takes a role of the app by reference (a token): denied to all but it, its account allowed', () => {
    const app = new App({ context: NO_BUNDLING });
    const stack = new Stack(app, 'Other');
    const jobs = new iam.Role(stack, 'Jobs', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    new TpnsBindings(stack, 'Bindings', { queryPublishers: [jobs.roleArn] });
    const jobsArn = { 'Fn::GetAtt': [stack.getLogicalId(jobs.node.defaultChild as iam.CfnRole), 'Arn'] };
    const { statements } = busOf({ template: Template.fromStack(stack) } as Synthesized);
    const deny = statements.find((st) => st.Sid === 'OnlyQueryPublishersSendQueries')!;
    expect(deny.Condition).toMatchObject({ ArnNotEquals: { 'aws:PrincipalArn': [jobsArn] } });
    expect(
      denyingStatements(statements, { principalArn: jobsArn, entries: [{ source: 'jobs', 'detail-type': QUERY_DETAIL_TYPE }] }),
    ).toEqual([]);
    const allow = statements.find((st) => st.Sid === 'QueryPublisherPrincipalsMaySendQueries')!;
    expect(JSON.stringify(allow.Principal)).toContain('Fn::Select'); // the account, cut out of the role's ARN
  });

  it('names the bus after the stack, so that two installations in one account do not collide', () => {
    const names = ['TpnsBindings', 'TpnsBindings-staging'].map((stackName) => {
      const app = new App({ context: NO_BUNDLING });
      const stack = new Stack(app, stackName);
      new TpnsBindings(stack, 'TpnsBindings', { queryPublishers: [ACCOUNT] });
      return busOf({ template: Template.fromStack(stack) } as Synthesized).name;
    });
    expect(new Set(names).size).toBe(2);
  });

  it('changes nothing when unset: the default bus, no bus and no bus policy of our own', () => {
    const t = synth().template;
    t.resourceCountIs('AWS::Events::EventBus', 0);
    t.resourceCountIs('AWS::Events::EventBusPolicy', 0);
    t.hasResourceProperties('AWS::Events::Rule', { EventBusName: 'default' });
  });

  it('rejects invalid entries at synth, naming them', () => {
    expect(() => synth({}, { queryPublishers: [] })).toThrow(/queryPublishers must list at least one account id or IAM role\/user ARN/);
    expect(() => synth({ queryPublishers: '12345678901' })).toThrow(
      /"12345678901" is neither a 12-digit account id nor an IAM role or user ARN/,
    );
    expect(() => synth({ queryPublishers: `${ACCOUNT},,${PUBLISHER_ROLE}` })).toThrow(/entry "" is neither/);
    expect(() => synth({ queryPublishers: 'arn:aws:iam::123:role/jobs' })).toThrow(/"arn:aws:iam::123:role\/jobs" is neither/);
    expect(() => synth({ queryPublishers: `arn:aws:iam::${ACCOUNT}:role/jobs-*` })).toThrow(/no wildcards/);
    expect(() => synth({ queryPublishers: `arn:aws:iam::${ACCOUNT}:group/devs` })).toThrow(/group\/devs" is neither/);
    expect(() => synth({ queryPublishers: `arn:aws:iam::${ACCOUNT}:root` })).toThrow(/root user; give the account id \(123456789012\)/);
    expect(() => synth({ queryPublishers: `arn:aws:sts::${ACCOUNT}:assumed-role/jobs/session` })).toThrow(
      /STS session ARN; give the role's ARN/,
    );
    // What is accepted: other partitions, paths, users.
    for (const ok of [`arn:aws-cn:iam::${ACCOUNT}:role/a/b/c`, `arn:aws-us-gov:iam::${ACCOUNT}:user/ci+bot@x.y`]) {
      expect(() => synth({}, { queryPublishers: [ok] }), ok).not.toThrow();
    }
  });

  it('refuses eventBus together with queryPublishers (props and context alike)', () => {
    const message = /queryPublishers and eventBus exclude each other/;
    expect(() => synth({ eventBusName: 'ops-bus', queryPublishers: ACCOUNT })).toThrow(message);
    const app = new App({ context: NO_BUNDLING });
    const stack = new Stack(app, 'Other');
    expect(() => new TpnsBindings(stack, 'Bindings', { eventBus: new events.EventBus(stack, 'Bus'), queryPublishers: [ACCOUNT] })).toThrow(
      message,
    );
  });
});

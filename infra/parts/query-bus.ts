/**
 * The dedicated event bus (prop `queryPublishers`): the real control over who may send queries and
 * who may publish results, which a rule's `source` filter (`allowedSources`) is not. Whoever may put
 * events on a bus chooses the `source` and `detail-type` of what it puts; only the bus's resource
 * policy, which sees the caller's identity, can tell a query publisher or the events function apart.
 * Created directly in `scope` (the TpnsBindings construct), like the other parts.
 *
 * Condition keys (IAM service authorization reference, EventBridge PutEvents): `events:source` and
 * `events:detail-type` (the entry's fields), plus the global `aws:PrincipalArn` (for a role session:
 * the role's ARN) and `aws:PrincipalAccount`.
 */
import { Arn, ArnFormat, Lazy, Names, Stack, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { QUERY_DETAIL_TYPE, RESULT_SOURCE } from '../../functions/contract.ts';

/** `queryPublishers`, sorted by kind. */
export interface QueryPublishers {
  /** Account ids: any principal of these accounts whose own IAM policy allows events:PutEvents on the bus. */
  readonly accounts: string[];
  /** IAM role or user ARNs (or unresolved tokens of such ARNs, e.g. `someRole.roleArn`). */
  readonly principalArns: string[];
}

const ACCOUNT_ID = /^\d{12}$/;
// A role or user, with an optional path: what aws:PrincipalArn holds for them (for a role session too).
const PRINCIPAL_ARN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:(?:role|user)\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

/**
 * Validates `queryPublishers` (throws a synth error that names the bad entry) and sorts it into
 * accounts and principal ARNs. Unresolved tokens are taken as principal ARNs: they cannot be checked
 * here, and one that is not a role or user ARN matches no caller, so it fails closed (denies).
 */
export function parseQueryPublishers(publishers: readonly string[]): QueryPublishers {
  if (publishers.length === 0) {
    throw new Error('TpnsBindings: queryPublishers must list at least one account id or IAM role/user ARN');
  }
  const accounts: string[] = [];
  const principalArns: string[] = [];
  for (const raw of publishers) {
    if (typeof raw !== 'string') throw new Error(`TpnsBindings: queryPublishers entries must be strings, got ${typeof raw}`);
    if (Token.isUnresolved(raw)) {
      principalArns.push(raw);
      continue;
    }
    const entry = raw.trim();
    const rootAccount = /^arn:aws(?:-[a-z]+)*:iam::(\d{12}):root$/.exec(entry)?.[1];
    if (ACCOUNT_ID.test(entry)) accounts.push(entry);
    else if (PRINCIPAL_ARN.test(entry)) principalArns.push(entry);
    else if (rootAccount !== undefined) {
      throw new Error(
        `TpnsBindings: queryPublishers entry "${raw}" is an account's root user; give the account id (${rootAccount}) to allow the account`,
      );
    } else if (/^arn:aws(?:-[a-z]+)*:sts::/.test(entry)) {
      throw new Error(
        `TpnsBindings: queryPublishers entry "${raw}" is an STS session ARN; give the role's ARN (arn:aws:iam::ACCOUNT:role/NAME), ` +
          'which is what the bus policy sees for any session of the role',
      );
    } else {
      throw new Error(
        `TpnsBindings: queryPublishers entry "${raw}" is neither a 12-digit account id nor an IAM role or user ARN ` +
          '(arn:aws:iam::123456789012:role/NAME; no wildcards)',
      );
    }
  }
  return { accounts: [...new Set(accounts)], principalArns: [...new Set(principalArns)] };
}

/** The bus, without its policy yet (the policy names the events function's role, which is created after it). */
export function createQueryBus(scope: Construct): events.EventBus {
  // Named after the construct path (stack and construct id, plus a hash of them: e.g. TpnsBindings-01C089E5),
  // so two installations in one account and region do not collide. Named here rather than by CDK because
  // the policy must spell out the bus's ARN: the bus's own Arn attribute would be a reference to itself.
  return new events.EventBus(scope, 'EventBus', {
    eventBusName: Names.uniqueResourceName(scope, { maxLength: 256, separator: '-' }),
    description: `TPNS bindings: "${QUERY_DETAIL_TYPE}" events from the allowed publishers, and the results (source ${RESULT_SOURCE})`,
  });
}

export interface QueryBusPolicyOptions {
  readonly publishers: QueryPublishers;
  /**
   * The only principals that may put events with source RESULT_SOURCE: the events function's role, and
   * those added later (the bulk export's state machine). Read when the template is written.
   */
  readonly resultPublishers: readonly iam.IRole[];
  /** The detail-types only the publishers may send: QUERY_DETAIL_TYPE, and those added later. Read likewise. */
  readonly requestDetailTypes: readonly string[];
}

/** A list read when the template is written, rendered as a single value when it has one (as it always did). */
const lazyList = (produce: () => string[]) =>
  Lazy.any({
    produce: () => {
      const values = produce();
      return values.length === 1 ? values[0] : values;
    },
  });

/**
 * The bus's resource policy.
 *
 * Why Deny statements: within the bus's own account, an identity policy that allows events:PutEvents is
 * enough to put events on the bus, whatever its resource policy allows; only an explicit Deny in the
 * resource policy overrides it (and it applies to other accounts too). So the two rules are Denies to
 * every principal, with the allowed ones excepted by condition:
 *   - results: no entry with source RESULT_SOURCE unless aws:PrincipalArn is the events function's role
 *     (or another result publisher: the bulk export's state machine);
 *   - queries: no entry with the query detail-type (or another request type: the export request) unless aws:PrincipalArn is one of the allowed ARNs or
 *     aws:PrincipalAccount one of the allowed accounts (the keys given are ANDed: denied if none matches).
 * `ForAnyValue:StringEquals` on the event fields: one PutEvents call carries up to 10 entries, and the
 * call is denied if any of them is a forged result or an unauthorized query. A missing aws:PrincipalArn
 * makes `ArnNotEquals` true, so such a call is denied (fails closed).
 *
 * The Allow statements are what lets another account put at all (and, in this account, a listed role or
 * user without an identity policy of its own); they only cover query events. They name the account as the
 * principal and the listed ARNs in a condition, instead of the ARNs as principals, so a role that is
 * deleted and recreated keeps working and one that does not exist yet does not fail the deployment.
 *
 * The document is the bus's own `Policy` property rather than `EventBus.addToResourcePolicy`, which makes
 * one AWS::Events::EventBusPolicy per statement: CloudFormation identifies those by StatementId, which
 * must then be unique in the account and region, so a second installation (another stack name) of the
 * construct would fail with "cdk-… already exists in stack …" (aws/aws-cdk#29627). As a property of the
 * bus, the policy is also in force from the moment the bus exists, never half applied.
 */
export function restrictQueryBus(bus: events.EventBus, options: QueryBusPolicyOptions): void {
  const { accounts, principalArns } = options.publishers;
  const cfnBus = bus.node.defaultChild as events.CfnEventBus;
  // The ARN from the name given in createQueryBus, not bus.eventBusArn (Fn::GetAtt of the bus, inside the bus:
  // a circular reference).
  const resources = [Stack.of(bus).formatArn({ service: 'events', resource: 'event-bus', resourceName: cfnBus.name })];
  const actions = ['events:PutEvents'];
  const requestDetailTypes = lazyList(() => [...options.requestDetailTypes]);
  const onlyQueries = { StringEquals: { 'events:detail-type': requestDetailTypes } };

  const statements = [
    new iam.PolicyStatement({
      sid: 'OnlyTheEventsFunctionPublishesResults',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions,
      resources,
      conditions: {
        'ForAnyValue:StringEquals': { 'events:source': RESULT_SOURCE },
        ArnNotEquals: { 'aws:PrincipalArn': lazyList(() => options.resultPublishers.map((role) => role.roleArn)) },
      },
    }),
    new iam.PolicyStatement({
      sid: 'OnlyQueryPublishersSendQueries',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions,
      resources,
      conditions: {
        'ForAnyValue:StringEquals': { 'events:detail-type': requestDetailTypes },
        ...(principalArns.length > 0 ? { ArnNotEquals: { 'aws:PrincipalArn': principalArns } } : {}),
        ...(accounts.length > 0 ? { StringNotEquals: { 'aws:PrincipalAccount': accounts } } : {}),
      },
    }),
  ];
  if (accounts.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'QueryPublisherAccountsMaySendQueries',
        principals: accounts.map((account) => new iam.AccountPrincipal(account)),
        actions,
        resources,
        conditions: onlyQueries,
      }),
    );
  }
  if (principalArns.length > 0) {
    // The accounts of the listed principals (for a token, an Fn::Select of its ARN), once each.
    const principalAccounts = [...new Set(principalArns.map(accountOf))].map((account) => new iam.AccountPrincipal(account));
    statements.push(
      new iam.PolicyStatement({
        sid: 'QueryPublisherPrincipalsMaySendQueries',
        principals: principalAccounts,
        actions,
        resources,
        conditions: { ...onlyQueries, ArnEquals: { 'aws:PrincipalArn': principalArns } },
      }),
    );
  }
  cfnBus.policy = new iam.PolicyDocument({ statements });
}

/** The account of a role or user ARN: parsed for a literal, an Fn::Select of its parts for a token. */
function accountOf(principalArn: string): string {
  const { account } = Arn.split(principalArn, ArnFormat.SLASH_RESOURCE_NAME);
  if (account === undefined) throw new Error(`TpnsBindings: no account in the principal ARN "${principalArn}"`);
  return account;
}

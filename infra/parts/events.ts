/**
 * The EventBridge side: the query rule and its target, Lambda's async-invoke settings for the
 * events function, and the dead-letter queue both failure paths end in.
 * Created directly in `scope` (the TpnsBindings construct), so the logical IDs do not change.
 */
import type { Duration } from 'aws-cdk-lib';
import { Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { QUERY_DETAIL_TYPE } from '../../functions/contract.ts';

/**
 * One queue for both failure paths of the events flow: EventBridge could not deliver to the
 * function (target DLQ), or the function failed after its async retries (onFailure destination).
 * SSE-SQS rather than a KMS key: EventBridge can write to SSE-SQS queues without a key policy,
 * and the AWS-managed aws/sqs key cannot grant events.amazonaws.com.
 */
export function createDeadLetterQueue(scope: Construct, retentionPeriod: Duration): sqs.Queue {
  const queue = new sqs.Queue(scope, 'DeadLetterQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod,
    // No other queue may name this one as its dead-letter queue: what lands here is ours to redrive.
    redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.DENY_ALL },
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      'This queue is itself the dead-letter queue (EventBridge target DLQ and Lambda onFailure destination); ' +
      'nothing consumes it automatically, so it needs no DLQ of its own. Its depth is alarmed.',
  });
  return queue;
}

export interface QueryEventsOptions {
  readonly eventBus: events.IEventBus;
  readonly handler: lambda.IFunction;
  readonly deadLetterQueue: sqs.IQueue;
  /** Sources the rule accepts queries from; undefined: any. */
  readonly allowedSources: string[] | undefined;
  /** Lambda's retries of a failed async invocation, and the age after which it gives up. */
  readonly asyncRetryAttempts: number;
  readonly asyncMaxEventAge: Duration;
  /** EventBridge's delivery retries (rule → function), and the age after which it gives up. */
  readonly targetRetryAttempts: number;
  readonly targetMaxEventAge: Duration;
}

/** Routes query events to the handler; whatever fails for good ends in the dead-letter queue. Returns the rule. */
export function wireQueryEvents(scope: Construct, options: QueryEventsOptions): events.Rule {
  // Function errors: the handler throws what a retry may fix (TPNS unavailable, the deadline reached
  // with nothing answered, the secret unreadable, PutEvents), so Lambda retries the async invocation;
  // when the retries are spent, the request and the error (a Lambda invocation record) land in the DLQ.
  options.handler.configureAsyncInvoke({
    onFailure: new SqsDestination(options.deadLetterQueue),
    retryAttempts: options.asyncRetryAttempts,
    maxEventAge: options.asyncMaxEventAge,
  });

  const { allowedSources } = options;
  return new events.Rule(scope, 'QueryRule', {
    eventBus: options.eventBus,
    description: `Routes "${QUERY_DETAIL_TYPE}" events to the TPNS bindings events function`,
    // Matches the query detail-type (and, if given, only the allowed sources). The function's own
    // result events ("TPNS Bindings Resolved" / "TPNS Bindings Query Failed", source tpns.bindings)
    // have other detail-types, and allowedSources may not name their source, so publishing them can
    // never re-trigger the rule (no loop).
    eventPattern: { detailType: [QUERY_DETAIL_TYPE], ...(allowedSources ? { source: allowedSources } : {}) },
    targets: [
      new LambdaTarget(options.handler, {
        // Covers delivery only (EventBridge → Lambda); function errors follow the
        // async-invoke settings above. Both end in the same queue.
        deadLetterQueue: options.deadLetterQueue,
        retryAttempts: options.targetRetryAttempts,
        maxEventAge: options.targetMaxEventAge,
      }),
    ],
  });
}

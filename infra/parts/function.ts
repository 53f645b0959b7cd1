/**
 * One handler of the product as a Lambda function, with its own log group and execution role.
 * Created directly in `scope` (the TpnsBindings construct), so the logical IDs stay those of the
 * resources the construct has always had: `${name}Function`, `${name}FunctionRole`, `${name}FunctionLogs`.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duration } from 'aws-cdk-lib';
import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { nodejsFunctionBundling } from '../bundling.ts';

// Paths relative to this file, not to the current directory, so that the construct also works
// when another CDK app (with its own cwd and lock file) imports it.
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FUNCTIONS_DIR = join(PROJECT_ROOT, 'functions');

export interface FunctionOptions {
  /** Handler file in functions/, e.g. 'http.ts'. */
  readonly entry: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly reservedConcurrentExecutions: number | undefined;
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
}

export function createFunction(
  scope: Construct,
  name: 'Http' | 'Events' | 'ExportBatch' | 'ExportFinish',
  options: FunctionOptions,
): NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${name}FunctionLogs`, { retention: options.logRetention });
  // Own role instead of the default one with the AWSLambdaBasicExecutionRole managed
  // policy (logs:CreateLogGroup etc. on `*`): this role may only write to its own log group.
  const role = new iam.Role(scope, `${name}FunctionRole`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Execution role of the TPNS bindings ${name.toLowerCase()} function`,
  });
  logGroup.grantWrite(role);
  const fn = new NodejsFunction(scope, `${name}Function`, {
    entry: join(FUNCTIONS_DIR, options.entry),
    handler: 'handler',
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
    description: options.description,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: options.memorySize,
    timeout: options.timeout,
    reservedConcurrentExecutions: options.reservedConcurrentExecutions,
    tracing: lambda.Tracing.ACTIVE,
    logGroup,
    role,
    environment: options.environment,
    bundling: nodejsFunctionBundling,
    // Lambda stops an SQS/SNS/Lambda → Lambda loop after ~16 rounds; our own result events
    // are not matched by the query rule anyway (infra/parts/events.ts).
    recursiveLoop: lambda.RecursiveLoop.TERMINATE,
  });
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'Active X-Ray tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which do not support ' +
      'resource-level permissions. No other statement of this role has a `*` resource (asserted in test/infra).',
  });
  return fn;
}

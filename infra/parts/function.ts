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
import type { FunctionNetwork } from './egress.ts';

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
  /** Powertools' POWERTOOLS_LOG_LEVEL, set in `environment` by the caller: Lambda filters at the same level. */
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** A VPC to run in (prop fixedEgressIp); none: Lambda's own network. */
  readonly network: FunctionNetwork | undefined;
}

/** What Lambda does with the execution role to attach a function to a VPC (its network interfaces). */
const VPC_ACCESS_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];

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
    description: `Execution role of the TPNS bindings ${name.replace(/(?<=[a-z])(?=[A-Z])/g, ' ').toLowerCase()} function`,
  });
  logGroup.grantWrite(role);
  const { network } = options;
  if (network) {
    // What the AWSLambdaVPCAccessExecutionRole managed policy grants, without its logs:* on `*`.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: VPC_ACCESS_ACTIONS, resources: ['*'] }));
  }
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
    // JSON logs with Lambda's advanced logging controls: Lambda drops application lines below the level.
    // Powertools Logger reads that level (AWS_LAMBDA_LOG_LEVEL) and lets it win over POWERTOOLS_LOG_LEVEL,
    // so both are set from the one `logLevel` prop (test/infra/options.test.ts checks they agree).
    loggingFormat: lambda.LoggingFormat.JSON,
    applicationLogLevelV2: lambda.ApplicationLogLevel[options.logLevel],
    role,
    ...(network ? { vpc: network.vpc, vpcSubnets: network.vpcSubnets, securityGroups: [network.securityGroup] } : {}),
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
      'resource-level permissions' +
      (network
        ? '; in a VPC (fixedEgressIp), Lambda manages the network interfaces with ec2 actions that take no resource ' +
          'restriction either. No other statement of this role has a `*` resource (asserted in test/infra).'
        : '. No other statement of this role has a `*` resource (asserted in test/infra).'),
  });
  return fn;
}

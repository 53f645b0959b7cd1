/**
 * The HTTP API in front of the HTTP function: IAM (SigV4) authorization on every route, the
 * routes of the contract (functions/contract.ts), and one throttled stage with JSON access logs.
 * Created directly in `scope` (the TpnsBindings construct), so the logical IDs do not change.
 */
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { HTTP_ROUTES } from '../../functions/contract.ts';

export interface HttpApiOptions {
  readonly handler: lambda.IFunction;
  /** Stage throttling, for the whole API. */
  readonly rateLimit: number;
  readonly burstLimit: number;
  readonly logRetention: logs.RetentionDays;
}

export function createHttpApi(scope: Construct, options: HttpApiOptions): { httpApi: apigwv2.HttpApi; stage: apigwv2.HttpStage } {
  const accessLogs = new logs.LogGroup(scope, 'ApiAccessLogs', { retention: options.logRetention });
  // Every route, including $default, requires SigV4 (IAM). Callers need
  // execute-api:Invoke on the API's ARN.
  const iamAuthorizer = new HttpIamAuthorizer();
  const integration = new HttpLambdaIntegration('HttpIntegration', options.handler, {
    payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
  });
  const httpApi = new apigwv2.HttpApi(scope, 'HttpApi', {
    description: 'TPNS account/token binding lookups (SigV4-signed requests only)',
    defaultAuthorizer: iamAuthorizer,
    // `$default` goes to the same function: for a signed request to an unknown path or
    // a wrong method, callers get the function's 404/405 problem+json instead of API
    // Gateway's bare {"message":"Not Found"}. It is IAM-authorized like the rest, so
    // only authorized callers can make the function run.
    defaultIntegration: integration,
    // No default stage: it cannot have access logs. The stage below replaces it.
    createDefaultStage: false,
  });
  for (const route of Object.values(HTTP_ROUTES)) {
    httpApi.addRoutes({ path: route.path, methods: [apigwv2.HttpMethod[route.method]], integration, authorizer: iamAuthorizer });
  }
  const stage = new apigwv2.HttpStage(scope, 'Stage', {
    httpApi,
    stageName: '$default', // URL without a stage path segment
    autoDeploy: true,
    throttle: {
      rateLimit: options.rateLimit,
      burstLimit: options.burstLimit,
    },
    accessLogSettings: {
      destination: new apigwv2.LogGroupLogDestination(accessLogs),
      format: AccessLogFormat.custom(
        JSON.stringify({
          requestId: '$context.requestId',
          requestTime: '$context.requestTime',
          ip: '$context.identity.sourceIp',
          caller: '$context.identity.caller',
          userArn: '$context.identity.userArn',
          accountId: '$context.identity.accountId',
          // No $context.path: GET paths carry account ids (emails, phone numbers); the route key names the route.
          routeKey: '$context.routeKey',
          httpMethod: '$context.httpMethod',
          protocol: '$context.protocol',
          status: '$context.status',
          responseLength: '$context.responseLength',
          responseLatency: '$context.responseLatency',
          integrationStatus: '$context.integrationStatus',
          integrationLatency: '$context.integrationLatency',
          // The function's request id: callers see it as `requestId` in every body, so a complaint finds its line.
          integrationRequestId: '$context.integration.requestId',
          integrationError: '$context.integrationErrorMessage',
          error: '$context.error.message',
          xrayTraceId: '$context.xrayTraceId',
        }),
      ),
    },
  });
  return { httpApi, stage };
}

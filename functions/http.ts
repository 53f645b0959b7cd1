import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import httpRouterHandler, { type Route } from '@middy/http-router';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { API_GATEWAY_TIMEOUT_MS, HTTP_ROUTES, METRICS } from './contract.ts';
import { readConfig } from './core/config.ts';
import { type CredentialsContext, tpnsCredentials } from './core/credentials.ts';
import { readJsonBody } from './core/json-body.ts';
import { type AccountTokens, itemsOf, type QueryResult, type TokenAccounts } from './core/normalize.ts';
import { MethodNotAllowedError, NotFoundError, toProblemError } from './core/problems.ts';
import { runQuery } from './core/query.ts';
import {
  parseAccountPath,
  parseQueryBody,
  parseQueryParameters,
  parseTokenPath,
  QUERY_PARAMETERS,
  type Query,
  withAppParameter,
} from './core/request.ts';
import { answerTooLarge, MAX_RESPONSE_BYTES, oversize } from './core/response-size.ts';
import { LOGGER_CONTEXT_OPTIONS, logger, metrics } from './observability.ts';

/** Time kept back from the deadline to serialise and return the answer. */
export const DEADLINE_MARGIN_MS = 1_000;
const config = readConfig();
const credentials = tpnsCredentials(config.secretId, { cooldownMs: config.secretRereadCooldownMs });

type Event = APIGatewayProxyEventV2;
/** The query, validated before anything is spent on it. */
type QueryContext = CredentialsContext & { query: Query };
type Result = Exclude<APIGatewayProxyResultV2, string>;
type JsonResult = Result & { headers: Record<string, string>; body: string };

const json = (statusCode: number, body: unknown, contentType = 'application/json'): JsonResult => ({
  statusCode,
  headers: { 'content-type': contentType },
  body: JSON.stringify(body),
});

/** Validates before credentials are read: a bad request never costs a Secrets Manager call. */
const parseQuery = (parse: (event: Event) => Query): MiddlewareObj<Event, Result, Error, QueryContext> => ({
  before: (request) => {
    request.context.query = parse(request.event);
  },
});

const lookup = async (context: QueryContext): Promise<QueryResult> => {
  const deadline = Date.now() + Math.min(context.getRemainingTimeInMillis(), API_GATEWAY_TIMEOUT_MS) - DEADLINE_MARGIN_MS;
  // An answer already known to be too large stops spending TPNS calls (query/answer-bound.ts).
  return runQuery(context.query, { credentials: context.tpnsCredentials, deadline, config, maxAnswerBytes: MAX_RESPONSE_BYTES });
};

/** Each route: parse and validate → credentials → query core → answer. */
const route = (parse: (event: Event) => Query, answer: (result: QueryResult, context: Context) => Result) =>
  middy<Event, Result, Error, QueryContext>()
    .use(parseQuery(parse))
    .use(credentials)
    .handler(async (_event, context) => answer(await lookup(context), context)) as unknown as middy.MiddyfiedHandler<Event, Result>;

const queryRoute = route(
  // Our own body reader, not @middy/http-json-body-parser: media types with parameters and any case, a
  // 415 for another charset, strict UTF-8, and the bounds checked before JSON.parse builds anything.
  (event) => parseQueryBody(readJsonBody(event)),
  (result, context) => {
    const { kind, accessPoints, partial } = result;
    const items = itemsOf(result);
    const answer = json(200, { [kind]: items, partial, ...accessPoints, requestId: context.awsRequestId });
    const size = oversize(answer);
    if (size !== undefined) throw answerTooLarge(items.length, size, 'exactly');
    return answer;
  },
);

/** GET routes answer with the one item; an unknown item is a 404 that still carries TPNS's code. */
const singleItem = (result: QueryResult): Result => {
  const item = itemsOf(result)[0] as AccountTokens | TokenAccounts; // a GET asks for one item
  if (item.status === 'not_found') {
    const what = 'token' in item ? `token "${item.token}"` : `account "${item.account}" (accountType ${item.accountType})`;
    // A problem's `status` is the HTTP status (RFC 9457); the item's own "not_found" must not replace it.
    const { status: _notFound, ...binding } = item;
    throw new NotFoundError(`TPNS has no binding for ${what}`, { ...binding, ...result.accessPoints });
  }
  return json(200, { ...item, ...result.accessPoints });
};

const ROUTES = [
  { ...HTTP_ROUTES.query, handler: queryRoute },
  {
    ...HTTP_ROUTES.tokensOfAccount,
    handler: route((event) => {
      const { accountType, app } = parseQueryParameters(
        event.queryStringParameters,
        event.rawQueryString,
        QUERY_PARAMETERS.tokensOfAccount,
      );
      return withAppParameter(parseAccountPath(event.pathParameters?.account, accountType), app);
    }, singleItem),
  },
  {
    ...HTTP_ROUTES.accountsOfToken,
    handler: route((event) => {
      const { app } = parseQueryParameters(event.queryStringParameters, event.rawQueryString, QUERY_PARAMETERS.accountsOfToken);
      return withAppParameter(parseTokenPath(event.pathParameters?.token), app);
    }, singleItem),
  },
] as const;

const routePatterns = ROUTES.map(({ method, path }) => ({
  method,
  pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}/?$`),
}));

/** A known path with the wrong method is a 405 with Allow; anything else a 404. */
const noRoute = ({ method, path }: { method: string; path: string }): never => {
  const allowed = routePatterns.filter((r) => r.pattern.test(path)).map((r) => r.method);
  if (allowed.length) throw new MethodNotAllowedError(method, path, allowed);
  throw new NotFoundError(`no route for ${method} ${path}; see the README for the API`);
};

const problemDetails = (): MiddlewareObj<Event, Result> => ({
  onError: (request) => {
    const problem = toProblemError(request.error);
    // One count per problem status class; it also spares a rejected request Powertools' "no metrics" warning.
    metrics.addMetric(problem.status >= 500 ? METRICS.serverErrors : METRICS.clientErrors, MetricUnit.Count, 1);
    if (problem.status >= 500) logger.error('request failed', { status: problem.status, error: request.error ?? undefined });
    // Type, not detail: a 404's detail names the account or token, which logs should not collect.
    else logger.info('request rejected', { status: problem.status, type: problem.slug });
    const response = json(problem.status, { ...problem.toProblem(), requestId: request.context.awsRequestId }, 'application/problem+json');
    Object.assign(response.headers, problem.headers);
    request.response = response;
  },
});

export const handler = middy<Event, Result>()
  .use(injectLambdaContext(logger, LOGGER_CONTEXT_OPTIONS))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use(problemDetails())
  .handler(httpRouterHandler({ routes: ROUTES as unknown as Route<Event, Result>[], notFoundResponse: noRoute }));

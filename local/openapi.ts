/**
 * `npm run openapi`: writes openapi.json, the HTTP API's OpenAPI 3.1 document, from the schemas the handler
 * validates requests with (request.ts) and the answer and problem schemas (answer-schemas.ts); a test fails
 * when the committed file is not what this builds.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ZodMiniType } from 'zod/mini';
import { API_GATEWAY_TIMEOUT_MS, HTTP_ROUTES, LAMBDA_RESPONSE_LIMIT_BYTES, REQUEST_LIMITS, SECRET_LIMITS } from '../functions/contract.ts';
import {
  accountAnswerSchema,
  accountsAnswerSchema,
  gatewayMessageSchema,
  jsonSchemaOf,
  problemSchema,
  tokenAnswerSchema,
  tokensAnswerSchema,
} from '../functions/core/answer-schemas.ts';
import { BODY_LIMITS } from '../functions/core/json-body.ts';
import { QUERY_PARAMETERS, requestSchemas } from '../functions/core/request.ts';
import { FAILURES } from '../functions/core/tpns/failures.ts';
import packageJson from '../package.json' with { type: 'json' };

export const OPENAPI_PATH = fileURLToPath(new URL('../openapi.json', import.meta.url));

const schema = (zod: ZodMiniType) => jsonSchemaOf(zod, 'draft-2020-12');
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schemaName: string, examples?: Record<string, unknown>) => ({
  'application/json': {
    schema: ref(schemaName),
    ...(examples && { examples: Object.fromEntries(Object.entries(examples).map(([name, value]) => [name, { value }])) }),
  },
});

/** Problems by status, with what each kind means: from the failure table where TPNS is the cause. */
const tpnsKinds = (status: number) =>
  [...new Set(Object.values(FAILURES).flatMap((failure) => (failure.status === status ? [`\`${failure.slug}\``] : [])))].join(', ');

const PROBLEMS = {
  400: 'Invalid request (`invalid-request`): malformed or non-UTF-8 JSON, a body over the limits, wrong types, unknown fields or query parameters, bad ids; `detail` names the field.',
  404: 'Not found (`not-found`): an unknown route, or (GET) an item TPNS does not know; that problem also carries the item (`code` 10110008, `tokens` or `accounts`).',
  413: 'Answer too large (`response-too-large`): over what a Lambda response can carry; split the request, or query over EventBridge.',
  415: 'Unsupported media type (`unsupported-media-type`): a body that is not JSON, or not UTF-8.',
  500: 'Internal error (`internal-error`): a bug; the logs hold the details under `requestId`.',
  502: `TPNS refused or failed the call: ${tpnsKinds(502)}. \`tpnsCode\` and \`region\` when TPNS answered.`,
  503: `Worth retrying: ${tpnsKinds(503)}, or \`credentials-unavailable\` (the secret cannot be read or is invalid). \`Retry-After\` when known.`,
  504: `Timed out: ${tpnsKinds(504)}, or \`timeout\`: TPNS did not answer within the deadline.`,
} as const;

type ProblemStatus = keyof typeof PROBLEMS;
const problem = (status: ProblemStatus) => ({ $ref: `#/components/responses/Problem${status}` });

/** What API Gateway answers itself, before or instead of the function: `{"message": …}`, not a problem. */
const GATEWAY = {
  Forbidden:
    'API Gateway: missing, invalid or expired SigV4 signature (`{"message": "Forbidden"}`, or its reason), or no `execute-api:Invoke`.',
} as const;

const SERVER_ERRORS: ProblemStatus[] = [500, 502, 503, 504];

const responses = (ok: Record<string, unknown>, problems: ProblemStatus[]) => ({
  200: ok,
  ...Object.fromEntries(problems.map((status) => [status, problem(status)])),
  403: { $ref: '#/components/responses/Forbidden' },
});

const idParameter = (name: 'account' | 'token') => ({
  name,
  in: 'path',
  required: true,
  description: `The ${name}, each path segment encoded twice: API Gateway decodes the path once before routing and the handler decodes what is left (\`926%2540126.com\` for \`926@126.com\`, \`a%252Fb\` for \`a/b\`). SigV4 signs the path encoded once more. The POST route takes any id as it is.`,
  schema: schema(requestSchemas().id),
});

/** The query parameters each GET takes (request.ts says which; any other is a 400). */
const QUERY_PARAMETER_DOCS = {
  accountType: {
    name: 'accountType',
    in: 'query',
    required: false,
    description: 'The account type (default 0).',
    schema: { type: 'integer', minimum: 0, maximum: REQUEST_LIMITS.maxAccountType, default: 0 },
  },
  app: {
    name: 'app',
    in: 'query',
    required: false,
    description: `Only these apps of the deployment's \`apps\` secret: one name, or up to ${SECRET_LIMITS.maxApps} separated by commas (not a repeated parameter). Default: every app.`,
    schema: { type: 'string', pattern: '^[a-z0-9_-]{1,32}(,[a-z0-9_-]{1,32})*$' },
  },
} as const;

const parametersOf = (route: keyof typeof QUERY_PARAMETERS) => QUERY_PARAMETERS[route].map((name) => QUERY_PARAMETER_DOCS[name]);

const EXAMPLES = {
  accountsQuery: { accounts: ['account1', { account: 'account2', accountType: 1 }] },
  tokensQuery: { tokens: ['token1', 'token2'], apps: ['android'] },
  nativeAccountsQuery: { operator_type: 1, account_list: [{ account: 'account1', account_type: 0 }] },
  nativeTokensQuery: { operator_type: 2, token_list: ['token1'] },
  accountsAnswer: {
    accounts: [
      { account: 'account1', accountType: 0, status: 'ok', tokens: ['token1', 'token2'] },
      { account: 'nobody', accountType: 0, status: 'not_found', code: 10110008, tokens: [] },
    ],
    partial: false,
    region: 'guangzhou',
    requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
  },
  tokensAnswerApps: {
    tokens: [
      {
        token: 'token9',
        status: 'ok',
        app: 'ios',
        accounts: [{ account: 'account1', accountType: 0, boundAt: '2023-11-14T22:16:40.000Z' }],
        apps: [
          { app: 'android', status: 'not_found', code: 10110008, accounts: [] },
          { app: 'ios', status: 'ok', accounts: [{ account: 'account1', accountType: 0, boundAt: '2023-11-14T22:16:40.000Z' }] },
        ],
      },
    ],
    partial: false,
    regions: { android: 'guangzhou', ios: 'singapore' },
    requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
  },
  accountAnswer: { account: '926@126.com', accountType: 0, status: 'ok', tokens: ['token1'], region: 'guangzhou' },
  tokenAnswer: {
    token: 'token1',
    status: 'ok',
    accounts: [{ account: 'account1', accountType: 0, boundAt: '2023-08-10T08:31:11.000Z' }],
    region: 'guangzhou',
  },
} as const;

/** A GET route: one id in the path, its query parameters, the one item (or a 404 problem). */
const lookup = (
  route: keyof typeof QUERY_PARAMETERS,
  id: 'account' | 'token',
  summary: string,
  answer: 'AccountAnswer' | 'TokenAnswer',
  example: unknown,
) => ({
  get: {
    operationId: route,
    tags: ['bindings'],
    summary,
    parameters: [idParameter(id), ...parametersOf(route)],
    responses: responses({ description: `The ${id} and its bindings`, content: json(answer, { [id]: example }) }, [
      400,
      404,
      ...SERVER_ERRORS,
    ]),
  },
});

export const openApiDocument = () => ({
  openapi: '3.1.0',
  info: {
    title: 'tpns-bindings',
    version: packageJson.version,
    summary: 'Tencent Push (TPNS) account↔token bindings, as an AWS service.',
    description: [
      'Which device tokens belong to these accounts, and which accounts are on this device: answered from',
      "TPNS's `/v3/device/account/query`, with a status per item, over every app of a product.",
      '',
      "Every route requires IAM authorization: sign requests with SigV4, service `execute-api`, the API's region.",
      'The typed client (`client/`, `TpnsBindingsClient`) signs and encodes for you.',
      '',
      'Errors are RFC 9457 `application/problem+json` (schema `Problem`); any other path is a 404 problem, and a',
      'known path with another method a 405 (`method-not-allowed`, with `Allow`).',
      '',
      `Limits: at most ${REQUEST_LIMITS.maxItems} items per request; ids of 1 to ${REQUEST_LIMITS.maxIdLength} Unicode code points, with no`,
      'control characters, lone surrogates or only whitespace; account types 0 to',
      `${REQUEST_LIMITS.maxAccountType}; a body nested at most ${BODY_LIMITS.maxDepth} levels; answers within a Lambda response`,
      `(${LAMBDA_RESPONSE_LIMIT_BYTES} bytes, else 413); ${API_GATEWAY_TIMEOUT_MS / 1000} s per request (API Gateway).`,
    ].join('\n'),
    license: { name: 'UNLICENSED', identifier: 'UNLICENSED' },
  },
  servers: [
    {
      url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
      description: 'The deployed API (the stack output `ApiUrl`)',
      variables: { apiId: { default: 'API_ID' }, region: { default: 'us-east-1' } },
    },
    { url: 'http://127.0.0.1:3000', description: '`npm start` (SigV4 with `LOCAL_AUTH=sigv4`)' },
  ],
  security: [{ sigv4: [] }],
  tags: [{ name: 'bindings', description: 'Account↔token lookups' }],
  paths: {
    [HTTP_ROUTES.query.path]: {
      post: {
        operationId: 'query',
        tags: ['bindings'],
        summary: 'Tokens of accounts, or accounts of tokens',
        description:
          'One entry per distinct queried item, in the order first given. `partial: true` when some chunks still failed after their retries: their items have `status: "error"` and a `reason`.',
        requestBody: {
          required: true,
          content: json('QueryBody', {
            accounts: EXAMPLES.accountsQuery,
            tokens: EXAMPLES.tokensQuery,
            tpnsAccounts: EXAMPLES.nativeAccountsQuery,
            tpnsTokens: EXAMPLES.nativeTokensQuery,
          }),
        },
        responses: responses(
          {
            description: 'The bindings of every queried item',
            content: json('QueryAnswer', { accounts: EXAMPLES.accountsAnswer, tokensOverApps: EXAMPLES.tokensAnswerApps }),
          },
          [400, 413, 415, ...SERVER_ERRORS],
        ),
      },
    },
    [HTTP_ROUTES.tokensOfAccount.path]: lookup(
      'tokensOfAccount',
      'account',
      'The tokens bound to one account',
      'AccountAnswer',
      EXAMPLES.accountAnswer,
    ),
    [HTTP_ROUTES.accountsOfToken.path]: lookup(
      'accountsOfToken',
      'token',
      'The accounts bound to one token',
      'TokenAnswer',
      EXAMPLES.tokenAnswer,
    ),
  },
  components: {
    securitySchemes: {
      sigv4: {
        type: 'apiKey',
        name: 'Authorization',
        in: 'header',
        description: 'AWS Signature Version 4 (service `execute-api`); the caller needs `execute-api:Invoke` on the API.',
        'x-amazon-apigateway-authtype': 'awsSigv4',
      },
    },
    schemas: {
      QueryBody: {
        description:
          "One of three bodies: `accounts`, `tokens`, or TPNS's own request (`operator_type`), each with an optional `apps` filter.",
        oneOf: [ref('AccountsQuery'), ref('TokensQuery'), ref('TpnsAccountsQuery'), ref('TpnsTokensQuery')],
      },
      AccountsQuery: schema(requestSchemas().accounts),
      TokensQuery: schema(requestSchemas().tokens),
      TpnsAccountsQuery: schema(requestSchemas().nativeAccounts),
      TpnsTokensQuery: schema(requestSchemas().nativeTokens),
      QueryAnswer: { anyOf: [ref('AccountsAnswer'), ref('TokensAnswer')] },
      AccountsAnswer: schema(accountsAnswerSchema),
      TokensAnswer: schema(tokensAnswerSchema),
      AccountAnswer: schema(accountAnswerSchema),
      TokenAnswer: schema(tokenAnswerSchema),
      Problem: schema(problemSchema),
      GatewayMessage: schema(gatewayMessageSchema),
    },
    responses: {
      ...Object.fromEntries(
        Object.entries(PROBLEMS).map(([status, description]) => [
          `Problem${status}`,
          {
            description,
            ...(status === '503' && { headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } } }),
            content: { 'application/problem+json': { schema: ref('Problem') } },
          },
        ]),
      ),
      Forbidden: { description: GATEWAY.Forbidden, content: json('GatewayMessage') },
    },
  },
});

/** The document as the committed file holds it. */
export const openApiText = (): string => `${JSON.stringify(openApiDocument(), null, 2)}\n`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(OPENAPI_PATH, openApiText());
  console.log(`wrote ${OPENAPI_PATH}`);
}

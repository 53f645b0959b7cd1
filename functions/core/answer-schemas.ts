/**
 * What the service answers and publishes, as zod/mini schemas beside the request schemas they pair with
 * (request.ts): the one source of the OpenAPI document (local/openapi.ts), the EventBridge schema registry
 * (infra/parts/event-schemas.ts), the client's types (client/) and the contract tests. The handlers do not
 * import it: answers are built by normalize.ts and merge.ts, and the tests hold the two together.
 */
import * as z from 'zod/mini';
import { FAILED_DETAIL_TYPE, METRICS, QUERY_DETAIL_TYPE, REQUEST_LIMITS, RESOLVED_DETAIL_TYPE, RESULT_SOURCE } from '../contract.ts';
import { requestSchemas } from './request.ts';
import type { ItemStatus } from './tpns/codes.ts';
import { FAILURES, type FailureReason } from './tpns/failures.ts';
import { REGIONS } from './tpns/regions.ts';

const FAILURE_REASONS = [...new Set(Object.values(FAILURES).flatMap(({ reason }) => (reason === undefined ? [] : [reason])))] as [
  FailureReason,
  ...FailureReason[],
];

/** The item statuses: the contract names one metric per status. */
const ITEM_STATUSES = Object.keys(METRICS.items) as [ItemStatus, ...ItemStatus[]];
const region = z.enum(REGIONS as [string, ...string[]]);
const tpnsCode = z.int();

/** An item's outcome: `code` on every item that is not `ok` (when TPNS gave one), `reason` when its call failed. */
const outcome = {
  status: z.enum(ITEM_STATUSES),
  code: z.optional(tpnsCode),
  reason: z.optional(z.enum(FAILURE_REASONS)),
};

const boundAccount = z.strictObject({
  account: z.string(),
  accountType: z.optional(z.int()),
  boundAt: z.optional(z.iso.datetime()),
});

const appName = z.string();

export const accountTokensSchema = z.strictObject({
  account: z.string(),
  accountType: z.int(),
  ...outcome,
  tokens: z.array(z.string()),
  apps: z.optional(z.array(z.strictObject({ app: appName, ...outcome, tokens: z.array(z.string()) }))),
});

export const tokenAccountsSchema = z.strictObject({
  token: z.string(),
  ...outcome,
  app: z.optional(appName),
  accounts: z.array(boundAccount),
  apps: z.optional(z.array(z.strictObject({ app: appName, ...outcome, accounts: z.array(boundAccount) }))),
});

/** Where the answer came from: one access point (a single-app secret), or one per queried app. */
const single = { region };
const perApp = { regions: z.record(appName, region) };

/** Two forms of one answer: with `region`, or with `regions`. */
const eitherAccessPoint = <Shape extends z.core.$ZodLooseShape>(shape: Shape) =>
  z.union([z.strictObject({ ...shape, ...single }), z.strictObject({ ...shape, ...perApp })]);

const answered = { partial: z.boolean(), requestId: z.string() };

/** POST /v1/bindings/query, 200. */
export const accountsAnswerSchema = eitherAccessPoint({ accounts: z.array(accountTokensSchema), ...answered });
export const tokensAnswerSchema = eitherAccessPoint({ tokens: z.array(tokenAccountsSchema), ...answered });
export const queryAnswerSchema = z.union([accountsAnswerSchema, tokensAnswerSchema]);

/** The GET routes, 200: the one item, and where it came from. */
export const accountAnswerSchema = eitherAccessPoint(accountTokensSchema.def.shape);
export const tokenAnswerSchema = eitherAccessPoint(tokenAccountsSchema.def.shape);

/** RFC 9457 problem details (problems.ts), open to extension members (a GET's 404 carries the item's fields). */
export const problemSchema = z.looseObject({
  type: z.string().check(z.regex(/^urn:tpns-bindings:problem:[a-z-]+$/)),
  title: z.string(),
  status: z.int().check(z.minimum(400), z.maximum(599)),
  detail: z.string(),
  requestId: z.optional(z.string()),
  tpnsCode: z.optional(tpnsCode),
  region: z.optional(region),
});

/** What API Gateway itself answers (403 unsigned, 413, 500/503 for a failed or late function): not a problem. */
export const gatewayMessageSchema = z.strictObject({ message: z.string() });

// ── Events ────────────────────────────────────────────────────────────────────────────────
const correlationId = z.string().check(z.minLength(1), z.maxLength(REQUEST_LIMITS.maxIdLength));

/** Built here at import: this module describes the API (OpenAPI, event schemas), it is not on a handler's path. */
const bodySchemas = requestSchemas();

/** "TPNS Bindings Query Requested": a POST /v1/bindings/query body, plus `correlationId`. */
export const queryRequestedDetailSchema = z.union(
  [bodySchemas.accounts, bodySchemas.tokens, bodySchemas.nativeAccounts, bodySchemas.nativeTokens].map((body) =>
    z.extend(body, { correlationId: z.optional(correlationId) }),
  ) as unknown as [z.ZodMiniObject, z.ZodMiniObject, ...z.ZodMiniObject[]],
);

const part = z.int().check(z.minimum(1));
const partsOf = { correlationId, part, parts: part };

/** "TPNS Bindings Resolved": one part of the answer (the items in it), `part` of `parts`. */
export const resolvedDetailSchema = z.union([
  eitherAccessPoint({ ...partsOf, accounts: z.array(accountTokensSchema), ...answered }),
  eitherAccessPoint({ ...partsOf, tokens: z.array(tokenAccountsSchema), ...answered }),
]);

/** "TPNS Bindings Query Failed": the problem the HTTP API would answer, plus `correlationId`. */
export const failedDetailSchema = z.extend(problemSchema, { correlationId, requestId: z.string() });

export type AccountTokens = z.infer<typeof accountTokensSchema>;
export type TokenAccounts = z.infer<typeof tokenAccountsSchema>;
export type AccountsAnswer = z.infer<typeof accountsAnswerSchema>;
export type TokensAnswer = z.infer<typeof tokensAnswerSchema>;
export type AccountAnswer = z.infer<typeof accountAnswerSchema>;
export type TokenAnswer = z.infer<typeof tokenAnswerSchema>;
export type ProblemBody = z.infer<typeof problemSchema>;
export type QueryRequestedDetail = z.input<typeof queryRequestedDetailSchema>;
export type ResolvedDetail = z.infer<typeof resolvedDetailSchema>;
export type FailedDetail = z.infer<typeof failedDetailSchema>;

/**
 * A schema as JSON Schema: requests as they are sent (`input`: an account may be a bare id string),
 * answers as they are built. `draft-2020-12` for OpenAPI 3.1, `draft-04` for the EventBridge registry.
 */
export const jsonSchemaOf = (schema: z.ZodMiniType, target: 'draft-2020-12' | 'draft-04'): Record<string, unknown> => {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, {
    target,
    io: 'input',
    override: ({ zodSchema, jsonSchema }) => {
      if (zodSchema !== bodySchemas.accountEntry) return;
      // The transform turns a bare string into {"account": …}: the input takes both.
      const object = { ...jsonSchema };
      for (const key of Object.keys(jsonSchema)) delete (jsonSchema as Record<string, unknown>)[key];
      jsonSchema.anyOf = [jsonSchemaOf(bodySchemas.id, target), object];
    },
  }) as Record<string, unknown>;
  return json;
};

/** Each event's detail, by detail-type: what the EventBridge schema registry holds. */
export const EVENT_DETAIL_SCHEMAS = {
  [QUERY_DETAIL_TYPE]: queryRequestedDetailSchema,
  [RESOLVED_DETAIL_TYPE]: resolvedDetailSchema,
  [FAILED_DETAIL_TYPE]: failedDetailSchema,
} as const;

/**
 * A whole event as a rule delivers it, as JSON Schema draft 4 (the registry's `JSONSchemaDraft4`): the
 * envelope, its `detail-type`, the results' `source`, and the detail.
 */
export const eventJsonSchema = (detailType: keyof typeof EVENT_DETAIL_SCHEMAS): Record<string, unknown> => ({
  $schema: 'http://json-schema.org/draft-04/schema#',
  title: detailType,
  type: 'object',
  required: ['detail-type', 'source', 'detail'],
  properties: {
    version: { type: 'string' },
    id: { type: 'string' },
    'detail-type': { type: 'string', enum: [detailType] },
    source:
      detailType === QUERY_DETAIL_TYPE ? { type: 'string', not: { enum: [RESULT_SOURCE] } } : { type: 'string', enum: [RESULT_SOURCE] },
    account: { type: 'string' },
    time: { type: 'string', format: 'date-time' },
    region: { type: 'string' },
    resources: { type: 'array', items: { type: 'string' } },
    detail: jsonSchemaOf(EVENT_DETAIL_SCHEMAS[detailType], 'draft-04'),
  },
});

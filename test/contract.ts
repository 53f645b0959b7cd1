import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { EVENT_DETAIL_SCHEMAS, eventJsonSchema } from '../functions/core/answer-schemas.ts';
import { OPENAPI_PATH } from '../local/openapi.ts';

/**
 * The committed OpenAPI document (openapi.json), as an ajv validator of answers: what the integration
 * tests get over HTTP is checked against it (support.ts `send`), so an answer the document does not
 * describe fails the test that got it.
 */
type Document = {
  paths: Record<string, Record<string, { responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }> }>>;
  components: { schemas: Record<string, unknown>; responses: Record<string, { content: Record<string, { schema: unknown }> }> };
};

export const openApi = (): Document => JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as Document;

// ajv-formats is CommonJS: its function is the default export's `default` under Node's ESM interop.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv | Ajv2020) => unknown;

let compiled: { document: Document; validators: Map<string, ValidateFunction> } | undefined;
const loaded = () => {
  compiled ??= { document: openApi(), validators: new Map() };
  return compiled;
};

/** One ajv per worker; `#/components/...` refs resolve inside the document, which rides along as the root. */
const validatorFor = (schema: unknown): ValidateFunction => {
  const { document, validators } = loaded();
  const key = JSON.stringify(schema);
  let validate = validators.get(key);
  if (!validate) {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    validate = ajv.compile({ ...(schema as object), components: document.components });
    validators.set(key, validate);
  }
  return validate;
};

/** Errors of `value` against a schema of the document (`{"$ref": "#/components/schemas/X"}` or inline); empty when valid. */
export const schemaErrors = (schema: unknown, value: unknown): string[] => {
  const validate = validatorFor(schema);
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
};

const templateMatches = (template: string, path: string): boolean =>
  new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}/?$`).test(path);

/** A media type without parameters, lower case. */
const mediaType = (header: string | string[] | undefined): string =>
  String(header ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();

/**
 * What the document says is wrong with an answer of the HTTP API, or undefined when it matches (or is not
 * the API's: another server's path). API Gateway's own `{"message"}` answers (403, 413, 5xx) are checked
 * against GatewayMessage; problems on paths the document does not hold (404, 405) against Problem.
 */
export const contractViolation = (
  request: { method: string; path: string },
  answer: { status: number; contentType: string | string[] | undefined; body: unknown },
): string | undefined => {
  const { paths, components } = loaded().document;
  const path = request.path.split('?')[0]!;
  const template = Object.keys(paths).find((candidate) => templateMatches(candidate, path));
  const operation = template === undefined ? undefined : paths[template]![request.method.toLowerCase()];
  const type = mediaType(answer.contentType);
  const report = (what: string, errors: string[]) =>
    errors.length ? `${request.method} ${path} → ${answer.status} is not ${what}: ${errors.join('; ')}` : undefined;

  if (type === 'application/json' && answer.status >= 400 && Object.keys(answer.body ?? {}).join() === 'message') {
    return report("API Gateway's answer", schemaErrors({ $ref: '#/components/schemas/GatewayMessage' }, answer.body));
  }
  if (!operation) {
    return type === 'application/problem+json'
      ? report('a problem', schemaErrors({ $ref: '#/components/schemas/Problem' }, answer.body))
      : undefined;
  }
  let response = operation.responses[String(answer.status)];
  if (!response) return `${request.method} ${path} → ${answer.status}: the document declares no such answer`;
  if (response.$ref) response = components.responses[response.$ref.split('/').pop()!];
  const declared = response?.content?.[type];
  if (!declared) return `${request.method} ${path} → ${answer.status}: the document declares no ${type} answer`;
  return report('as documented', schemaErrors(declared.schema, answer.body));
};

const eventValidators = new Map<string, ValidateFunction>();

/**
 * Errors of a published entry (Source, DetailType, Detail) against the schema the registry holds for its
 * detail-type (infra/parts/event-schemas.ts); empty when valid. The draft-4 schemas use nothing that
 * draft-07 (ajv's default) reads differently.
 */
export const eventSchemaErrors = (entry: { Source?: string; DetailType?: string; Detail?: string }): string[] => {
  const detailType = entry.DetailType as keyof typeof EVENT_DETAIL_SCHEMAS;
  if (!Object.hasOwn(EVENT_DETAIL_SCHEMAS, detailType)) return [`no schema for detail-type ${JSON.stringify(entry.DetailType)}`];
  let validate = eventValidators.get(detailType);
  if (!validate) {
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    const { $schema: _draft4, ...schema } = eventJsonSchema(detailType);
    validate = ajv.compile(schema);
    eventValidators.set(detailType, validate);
  }
  const event = { source: entry.Source, 'detail-type': entry.DetailType, detail: JSON.parse(entry.Detail ?? 'null') };
  return validate(event) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
};

/**
 * The three event detail-types as JSON Schemas in an EventBridge schema registry, so consumers can
 * download code bindings: generated from the schemas the service shares with its OpenAPI document
 * (functions/core/answer-schemas.ts). Created directly in `scope` (the TpnsBindings construct).
 */
import * as eventschemas from 'aws-cdk-lib/aws-eventschemas';
import type { Construct } from 'constructs';
import { FAILED_DETAIL_TYPE, QUERY_DETAIL_TYPE, RESOLVED_DETAIL_TYPE, RESULT_SOURCE } from '../../functions/contract.ts';
import { eventJsonSchema } from '../../functions/core/answer-schemas.ts';

/** `tpns.bindings@TpnsBindingsResolved`: EventBridge's `source@Name` form, without the detail-type's spaces. */
export const eventSchemaName = (detailType: string): string => `${RESULT_SOURCE}@${detailType.replaceAll(' ', '')}`;

export function createEventSchemas(scope: Construct): { registry: eventschemas.CfnRegistry; schemas: eventschemas.CfnSchema[] } {
  const registry = new eventschemas.CfnRegistry(scope, 'EventSchemaRegistry', {
    description: 'tpns-bindings: the query event it takes and the result events it publishes',
  });
  const schemas = ([QUERY_DETAIL_TYPE, RESOLVED_DETAIL_TYPE, FAILED_DETAIL_TYPE] as const).map(
    (detailType) =>
      new eventschemas.CfnSchema(scope, `EventSchema${detailType.replaceAll(' ', '')}`, {
        registryName: registry.attrRegistryName,
        schemaName: eventSchemaName(detailType),
        type: 'JSONSchemaDraft4',
        description: `"${detailType}" events`,
        content: JSON.stringify(eventJsonSchema(detailType)),
      }),
  );
  return { registry, schemas };
}

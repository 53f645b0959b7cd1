import { describe, expect, it } from 'vitest';
import { FAILED_DETAIL_TYPE, QUERY_DETAIL_TYPE, RESOLVED_DETAIL_TYPE } from '../../functions/contract.ts';
import { eventJsonSchema } from '../../functions/core/answer-schemas.ts';
import { eventSchemaName } from '../../infra/parts/event-schemas.ts';
import { synth } from './synth.ts';

const DETAIL_TYPES = [QUERY_DETAIL_TYPE, RESOLVED_DETAIL_TYPE, FAILED_DETAIL_TYPE] as const;

describe('the event schema registry', () => {
  it('registers one JSONSchemaDraft4 schema per detail-type, in a registry of its own, by default', () => {
    const { template } = synth();
    template.resourceCountIs('AWS::EventSchemas::Registry', 1);
    template.resourceCountIs('AWS::EventSchemas::Schema', DETAIL_TYPES.length);
    const [registryId] = Object.keys(template.findResources('AWS::EventSchemas::Registry'));
    const schemas = Object.values(template.findResources('AWS::EventSchemas::Schema')) as { Properties: Record<string, any> }[];
    for (const detailType of DETAIL_TYPES) {
      const schema = schemas.find((s) => s.Properties.SchemaName === eventSchemaName(detailType));
      expect(schema, detailType).toBeDefined();
      expect(schema!.Properties.Type).toBe('JSONSchemaDraft4');
      expect(schema!.Properties.RegistryName).toEqual({ 'Fn::GetAtt': [registryId, 'RegistryName'] });
      const content = JSON.parse(schema!.Properties.Content);
      expect(content).toEqual(eventJsonSchema(detailType));
      expect(content.$schema).toBe('http://json-schema.org/draft-04/schema#');
      expect(content.properties['detail-type'].enum).toEqual([detailType]);
    }
    expect(eventSchemaName(RESOLVED_DETAIL_TYPE)).toBe('tpns.bindings@TPNSBindingsResolved');
  });

  it('is left out with the prop false, or the context key eventSchemas=false; a bad context value is refused', () => {
    synth({}, { eventSchemas: false }).template.resourceCountIs('AWS::EventSchemas::Registry', 0);
    const off = synth({ eventSchemas: 'false' }).template;
    off.resourceCountIs('AWS::EventSchemas::Registry', 0);
    off.resourceCountIs('AWS::EventSchemas::Schema', 0);
    synth({ eventSchemas: true }).template.resourceCountIs('AWS::EventSchemas::Schema', DETAIL_TYPES.length);
    expect(() => synth({ eventSchemas: 'yes' })).toThrow('context eventSchemas must be true or false, got "yes"');
  });
});

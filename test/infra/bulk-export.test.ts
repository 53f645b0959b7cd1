/**
 * The bulk export (infra/bulk-export.ts, infra/parts/export-state-machine.ts) in the synthesized stack:
 * the definition passes a third-party ASL validator, its JSONata expressions do what they are for
 * (evaluated with the jsonata library), and the template's reader, batcher, concurrency, retries,
 * writer, events, rule and IAM are the ones the README documents.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import jsonata from 'jsonata';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  EXPORT_COMPLETED_DETAIL_TYPE,
  EXPORT_FAILED_DETAIL_TYPE,
  EXPORT_REQUESTED_DETAIL_TYPE,
  QUERY_DETAIL_TYPE,
  RESOLVED_DETAIL_TYPE,
  RESULT_SOURCE,
} from '../../functions/contract.ts';
import { EXPORT_DEFAULTS, exportRate } from '../../infra/bulk-export.ts';
import type { Synthesized } from './synth.ts';
import {
  actionsOf,
  denyingStatements,
  iamStatements,
  matchesEventPattern,
  PLACEHOLDERS,
  renderTokens,
  resourcesOf,
  stateMachineDefinition,
  synth,
} from './synth.ts';

interface AslValidation {
  isValid: boolean;
  errors: { message?: string }[];
}
// asl-validator ships CommonJS without types.
const validateAsl = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => AslValidation;

let s: Synthesized;
let def: Record<string, any>;
let resources: Record<string, any>;
let bucket: string;
let machine: string;
let batchFn: string;
let finishFn: string;

beforeAll(() => {
  s = synth({ bulkExport: true });
  const x = s.stack.bulkExport;
  if (!x) throw new Error('no bulk export in the stack');
  resources = s.template.toJSON().Resources;
  bucket = s.id(x.bucket as never);
  machine = s.id(x.stateMachine);
  batchFn = s.id(x.batchFunction);
  finishFn = s.id(x.finishFunction);
  def = stateMachineDefinition(s.template, machine);
});

const states = () => def.States as Record<string, any>;
const maps = () => [states().CsvExport, states().JsonlExport];
const bucketUri = () => `s3://${bucket}/`;
/** A rendered token: the placeholder ARN of a resource (renderTokens). */
const arnOf = (id: string) => `arn:${PLACEHOLDERS.partition}:placeholder:${PLACEHOLDERS.region}:${PLACEHOLDERS.account}:${id}`;

/** Evaluates one `{% … %}` field the way Step Functions does: `$states` and the variables bound. */
async function evaluate(field: string, bindings: Record<string, unknown>): Promise<unknown> {
  const body = /^\{%([\s\S]*)%\}$/.exec(field)?.[1];
  if (body === undefined) return field; // a literal
  return jsonata(body).evaluate({}, bindings);
}
async function evaluateAll(fields: Record<string, string>, bindings: Record<string, unknown>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(fields)) out[name] = await evaluate(field, bindings);
  return out;
}

/** Runs a request through ReadRequest → Locate → CheckRequest: the variables and the state chosen. */
async function route(request: unknown) {
  const context = { Execution: { Name: 'run-1', StartTime: '2026-12-04T12:00:00Z' } };
  const read = await evaluateAll(states().ReadRequest.Assign, { states: { input: request, context } });
  const vars = { ...read, ...(await evaluateAll(states().Locate.Assign, read)) };
  for (const choice of states().CheckRequest.Choices) {
    if ((await evaluate(choice.Condition, vars)) === true) return { next: choice.Next as string, vars };
  }
  return { next: states().CheckRequest.Default as string, vars };
}

describe('state machine definition', () => {
  it('passes asl-validator (Amazon States Language, JSONata)', () => {
    const { isValid, errors } = validateAsl(def);
    expect(errors).toEqual([]);
    expect(isValid).toBe(true);
    // The validator does look: the same definition with a dangling transition fails.
    const broken = structuredClone(def);
    broken.States.Finish.Next = 'Nowhere';
    expect(validateAsl(broken).isValid).toBe(false);
  });

  it('is a Standard parent whose map children are Express, logging every state without its data', () => {
    const props = resources[machine].Properties;
    expect(props.StateMachineType).toBe('STANDARD');
    expect(props.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
    const logGroup = props.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
    expect(resources[logGroup].Properties.LogGroupName).toMatch(/^\/aws\/vendedlogs\/states\/TpnsBindingsTest-BulkExport-/);
    for (const map of maps()) expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' });
  });
});

describe('request checks', () => {
  const ok = () => ({ input: `${bucketUri()}in/ids.csv`, output: `${bucketUri()}out/run-1/` });

  it('sends a CSV input to the CSV map and a JSON Lines input to the JSONL map, with the keys located', async () => {
    const csv = await route(ok());
    expect(csv.next).toBe('CsvExport');
    expect(csv.vars).toMatchObject({ exportId: 'run-1', inputKey: 'in/ids.csv', outputKey: 'out/run-1/' });
    expect((await route({ ...ok(), input: `${bucketUri()}in/2026/ids.JSONL` })).next).toBe('JsonlExport');
  });

  it.each([
    ['another bucket', { input: 's3://elsewhere/in/ids.csv' }],
    ['an input outside the input prefix', { input: `${bucketUri()}out/ids.csv` }],
    ['the input prefix itself', { input: `${bucketUri()}in/` }],
    ['an input of another format', { input: `${bucketUri()}in/ids.txt` }],
    ['an output outside the output prefix', { output: `${bucketUri()}in/run-1/` }],
    ['an output that is not a prefix', { output: `${bucketUri()}out/run-1` }],
    ['the output prefix itself', { output: `${bucketUri()}out/` }],
    ['no input', { input: undefined }],
    ['a number', { output: 7 }],
  ])('rejects %s', async (_, change) => {
    const { next, vars } = await route({ ...ok(), ...change });
    expect(next).toBe('RejectRequest');
    expect(typeof vars.input).toBe('string'); // the Failed event can still name what was asked
  });

  it('rejects a request that is not an object', async () => {
    expect((await route('s3://x')).next).toBe('RejectRequest');
  });

  it('a rejection fails the execution through the Failed event, naming where input and output must be', async () => {
    const reject = states().RejectRequest;
    expect(reject.Next).toBe('PublishFailed');
    const cause = await evaluate(reject.Assign.cause, {});
    expect(cause).toContain(`${bucketUri()}in/`);
    expect(cause).toContain(`${bucketUri()}out/`);
  });
});

describe('distributed maps', () => {
  it('read the input object: CSV with its header row, or JSON Lines, from the located key', () => {
    const [csv, jsonl] = maps();
    expect(csv.ItemReader).toEqual({
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' },
      Arguments: { Bucket: bucket, Key: '{% $inputKey %}' },
    });
    expect(jsonl.ItemReader).toEqual({ ...csv.ItemReader, ReaderConfig: { InputType: 'JSONL' } });
  });

  it('give each row its 0-based input position', async () => {
    for (const map of maps()) {
      const item = await evaluate(map.ItemSelector, { states: { context: { Map: { Item: { Index: 0, Value: { account: 'a1' } } } } } });
      expect(item).toEqual({ index: 0, row: { account: 'a1' } });
    }
  });

  it('batch the rows, within the child input limit, with the export id, the output and the per-child call rate', async () => {
    for (const map of maps()) {
      const { BatchInput, ...limits } = map.ItemBatcher;
      expect(limits.MaxItemsPerBatch).toBe(EXPORT_DEFAULTS.maxItemsPerBatch);
      expect(limits.MaxInputBytesPerBatch).toBeLessThan(256 * 1024);
      const batchInput = await evaluateAll(BatchInput, { exportId: 'run-1', output: 's3://b/out/run-1/' });
      expect(batchInput).toEqual({ exportId: 'run-1', output: 's3://b/out/run-1/', callsPerSecond: expect.any(Number) });
    }
  });

  it('keep the export under its call rate: MaxConcurrency × each child’s rate', () => {
    for (const map of maps()) {
      const total = map.MaxConcurrency * map.ItemBatcher.BatchInput.callsPerSecond;
      expect(total).toBeLessThanOrEqual(EXPORT_DEFAULTS.callsPerSecond);
      expect(total).toBeGreaterThan(EXPORT_DEFAULTS.callsPerSecond * 0.99);
    }
  });

  it('retry the batch task with backoff, every attempt fitting in an Express child’s 5 minutes', () => {
    const timeoutSeconds = resources[batchFn].Properties.Timeout as number;
    for (const map of maps()) {
      const [task] = Object.values(map.ItemProcessor.States) as any[];
      expect(task.Arguments).toEqual({ FunctionName: arnOf(batchFn), Payload: '{% $states.input %}' });
      const [retry, ...others] = task.Retry;
      expect(others).toEqual([]);
      expect(retry).toMatchObject({ ErrorEquals: ['States.ALL'], JitterStrategy: 'FULL' });
      expect(retry.MaxAttempts).toBeGreaterThan(0);
      expect(retry.BackoffRate).toBeGreaterThan(1);
      let waits = 0;
      for (let i = 0; i < retry.MaxAttempts; i++) waits += retry.IntervalSeconds * retry.BackoffRate ** i;
      expect((retry.MaxAttempts + 1) * timeoutSeconds + waits).toBeLessThanOrEqual(300);
    }
  });

  it('tolerate some failed batches and write the results under <output>results/', async () => {
    for (const map of maps()) {
      expect(map.ToleratedFailurePercentage).toBeGreaterThan(0);
      expect(map.ToleratedFailurePercentage).toBeLessThan(100);
      expect(map.ResultWriter.Resource).toBe('arn:aws:states:::s3:putObject');
      expect(map.ResultWriter.Arguments.Bucket).toBe(bucket);
      expect(await evaluate(map.ResultWriter.Arguments.Prefix, { outputKey: 'out/run-1/' })).toBe('out/run-1/results');
      expect(map.Assign).toEqual({ resultWriterDetails: '{% $states.result.ResultWriterDetails %}' });
      expect(map.Next).toBe('Finish');
    }
  });
});

describe('finish and events', () => {
  it('the finisher gets the export’s facts and the ResultWriter details, and its manifest is what is published', async () => {
    const finish = states().Finish;
    expect(finish.Arguments.FunctionName).toBe(arnOf(finishFn));
    const vars = {
      exportId: 'run-1',
      input: 's3://b/in/ids.csv',
      output: 's3://b/out/run-1/',
      startedAt: '2026-12-04T12:00:00Z',
      resultWriterDetails: { Bucket: 'b', Key: 'out/run-1/results/x/manifest.json' },
    };
    expect(await evaluateAll(finish.Arguments.Payload, vars)).toEqual(vars);
    expect(finish.Retry[0].MaxAttempts).toBeGreaterThan(0);
    expect(finish.Next).toBe('PublishCompleted');

    const completed = states().PublishCompleted;
    const [entry] = completed.Arguments.Entries;
    expect(entry).toMatchObject({ Source: RESULT_SOURCE, DetailType: EXPORT_COMPLETED_DETAIL_TYPE });
    const manifest = { exportId: 'run-1', counts: { ok: 1 } };
    expect(await evaluate(entry.Detail, { states: { input: manifest } })).toEqual(manifest);
    expect(await evaluate(completed.Output, { states: { input: manifest } })).toEqual(manifest); // the execution's output
    expect(states()[completed.Next].Type).toBe('Succeed');
  });

  it('every failure after the request check publishes the Failed event with its error and cause, then fails', async () => {
    for (const name of ['CsvExport', 'JsonlExport', 'Finish', 'PublishCompleted']) {
      const [c] = states()[name].Catch;
      expect(c).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'PublishFailed' });
      const assigned = await evaluateAll(c.Assign, { states: { errorOutput: { Error: 'States.Timeout' } } });
      expect(assigned).toEqual({ error: 'States.Timeout', cause: '' });
    }
    const failed = states().PublishFailed;
    const [entry] = failed.Arguments.Entries;
    expect(entry).toMatchObject({ Source: RESULT_SOURCE, DetailType: EXPORT_FAILED_DETAIL_TYPE });
    const vars = { exportId: 'run-1', input: 'i', output: 'o', error: 'E', cause: 'C' };
    expect(await evaluate(entry.Detail, vars)).toEqual(vars);
    // Published or not, the execution fails, with the same error and cause.
    expect(failed.Next).toBe('ExportFailed');
    expect(failed.Catch[0].Next).toBe('ExportFailed');
    const fail = states().ExportFailed;
    expect(fail.Type).toBe('Fail');
    expect([await evaluate(fail.Error, vars), await evaluate(fail.Cause, vars)]).toEqual(['E', 'C']);
  });

  it('both events go to the bindings’ bus, and only the state machine’s role may put them there', () => {
    const bus = `arn:aws:events:${PLACEHOLDERS.region}:${PLACEHOLDERS.account}:event-bus/default`;
    for (const name of ['PublishCompleted', 'PublishFailed']) expect(states()[name].Arguments.Entries[0].EventBusName).toBe(bus);
    const role = resources[machine].Properties.RoleArn['Fn::GetAtt'][0];
    const puts = iamStatements(s.template).filter((st) => st.roles.includes(role) && actionsOf(st).includes('events:PutEvents'));
    expect(puts.map((st) => resourcesOf(st).map(renderTokens))).toEqual([[bus]]);
  });

  it('the Export Requested event starts an execution with its detail as the input; the export’s own events do not', () => {
    const id = s.id(s.stack.bulkExport?.requestRule as never);
    const rule = resources[id].Properties;
    const event = (detailType: string) => ({ source: 'campaigns', 'detail-type': detailType, detail: {} });
    expect(matchesEventPattern(rule.EventPattern, event(EXPORT_REQUESTED_DETAIL_TYPE))).toBe(true);
    for (const other of [EXPORT_COMPLETED_DETAIL_TYPE, EXPORT_FAILED_DETAIL_TYPE, QUERY_DETAIL_TYPE, RESOLVED_DETAIL_TYPE]) {
      expect(matchesEventPattern(rule.EventPattern, event(other))).toBe(false);
    }
    const [target] = rule.Targets;
    expect(target).toMatchObject({ Arn: { Ref: machine }, InputPath: '$.detail' });
    expect(target.DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': [s.id(s.stack.bindings.deadLetterQueue), 'Arn'] });
    expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
    const targetRole = target.RoleArn['Fn::GetAtt'][0];
    const grants = iamStatements(s.template).filter((st) => st.roles.includes(targetRole));
    expect(grants.map((st) => [actionsOf(st), resourcesOf(st)])).toEqual([[['states:StartExecution'], [{ Ref: machine }]]]);
  });
});

describe('IAM and the bucket', () => {
  it('names each function in its role’s description, in words', () => {
    const roleDescription = (fn: string) => resources[resources[fn].Properties.Role['Fn::GetAtt'][0]].Properties.Description;
    expect(roleDescription(batchFn)).toBe('Execution role of the TPNS bindings export batch function');
    expect(roleDescription(finishFn)).toBe('Execution role of the TPNS bindings export finish function');
  });

  const s3Grants = () =>
    iamStatements(s.template)
      .filter((st) => actionsOf(st).some((a) => a.startsWith('s3:')))
      .map((st) => ({ roles: st.roles, actions: actionsOf(st).sort(), resources: resourcesOf(st).map(renderTokens) }));
  const roleOf = (fn: string) => resources[fn].Properties.Role['Fn::GetAtt'][0];

  it('the state machine reads only the input prefix and writes only the output prefix; the functions keep to the output prefix', () => {
    const objects = (prefix: string) => `${arnOf(bucket)}/${prefix}*`;
    const machineRole = resources[machine].Properties.RoleArn['Fn::GetAtt'][0];
    expect(s3Grants()).toEqual(
      expect.arrayContaining([
        { roles: [roleOf(batchFn)], actions: ['s3:PutObject'], resources: [objects('out/')] },
        { roles: [roleOf(finishFn)], actions: ['s3:GetObject', 's3:PutObject'], resources: [objects('out/')] },
        { roles: [machineRole], actions: ['s3:GetObject'], resources: [objects('in/')] },
        {
          roles: [machineRole],
          actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject'],
          resources: [objects('out/')],
        },
      ]),
    );
    expect(s3Grants()).toHaveLength(4); // and nothing else: no grant on the bucket, another prefix or `*`
  });

  it('only the batch function of the export may read the TPNS secret', () => {
    const readers = iamStatements(s.template)
      .filter((st) => actionsOf(st).includes('secretsmanager:GetSecretValue'))
      .flatMap((st) => st.roles);
    expect(readers).toContain(roleOf(batchFn));
    expect(readers).not.toContain(roleOf(finishFn));
  });

  it('the bucket is encrypted, private and TLS-only', () => {
    const props = resources[bucket].Properties;
    expect(props.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(props.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    const policy = Object.values(resources).find(
      (r: any) => r.Type === 'AWS::S3::BucketPolicy' && r.Properties.Bucket.Ref === bucket,
    ) as any;
    expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('the stack outputs the state machine and the bucket', () => {
    const outputs = s.template.toJSON().Outputs;
    expect(outputs.ExportStateMachineArn.Value).toEqual({ Ref: machine });
    expect(outputs.ExportBucketName.Value).toEqual({ Ref: bucket });
  });
});

describe('the rate knob', () => {
  it('never lets MaxConcurrency × the child rate exceed the export rate, and uses at least 99% of it', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.5, max: 1e6, noNaN: true }), (rate) => {
        const { maxConcurrency, childCallsPerSecond } = exportRate(rate);
        expect(Number.isInteger(maxConcurrency) && maxConcurrency >= 1 && maxConcurrency <= EXPORT_DEFAULTS.maxChildren).toBe(true);
        expect(maxConcurrency * childCallsPerSecond).toBeLessThanOrEqual(rate);
        // Rounding the child rate down to 3 decimals costs at most maxConcurrency/1000 calls/s.
        expect(maxConcurrency * childCallsPerSecond).toBeGreaterThanOrEqual(rate - maxConcurrency / 1000);
      }),
    );
    expect(() => exportRate(0)).toThrow(/positive/);
  });

  it('context exportCallsPerSecond sets the map’s concurrency and each child’s rate; too low a rate for a batch fails synth', () => {
    const fast = synth({ bulkExport: true, exportCallsPerSecond: '1000' });
    const x = fast.stack.bulkExport;
    if (!x) throw new Error('no bulk export');
    const map = stateMachineDefinition(fast.template, fast.id(x.stateMachine)).States.CsvExport;
    expect([map.MaxConcurrency, map.ItemBatcher.BatchInput.callsPerSecond]).toEqual([x.maxConcurrency, x.childCallsPerSecond]);
    expect(map.MaxConcurrency * map.ItemBatcher.BatchInput.callsPerSecond).toBe(1000);
    expect(map.MaxConcurrency).toBeGreaterThan(1);

    expect(() => synth({ bulkExport: true, exportCallsPerSecond: '0.1' })).toThrow(/a batch of 1000 ids .* raise callsPerSecond/);
    expect(() => synth({ bulkExport: true, exportCallsPerSecond: 'fast' })).toThrow(/exportCallsPerSecond must be a positive number/);
  });

  it('context bulkExport=false leaves the export out', () => {
    const without = synth({ bulkExport: 'false' });
    expect(without.stack.bulkExport).toBeUndefined();
    without.template.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
    expect(() => synth({ bulkExport: 'yes' })).toThrow(/bulkExport must be true or false/);
  });
});

describe('with queryPublishers (a bus of its own, with a resource policy)', () => {
  it('the state machine may publish the export’s results and only the publishers may request exports', () => {
    const publisher = 'arn:aws:iam::210987654321:role/push-jobs';
    const own = synth({ bulkExport: true, queryPublishers: publisher });
    const x = own.stack.bulkExport;
    if (!x) throw new Error('no bulk export');
    const [bus] = Object.values(own.template.findResources('AWS::Events::EventBus'));
    const statements = bus?.Properties.Policy.Statement;
    const machineRole = { 'Fn::GetAtt': [own.id(x.stateMachine.role as never), 'Arn'] };
    const entry = (detailType: string, source = RESULT_SOURCE) => ({ source, 'detail-type': detailType });
    for (const detailType of [EXPORT_COMPLETED_DETAIL_TYPE, EXPORT_FAILED_DETAIL_TYPE]) {
      expect(denyingStatements(statements, { principalArn: machineRole, entries: [entry(detailType)] })).toEqual([]);
      expect(denyingStatements(statements, { principalArn: 'arn:aws:iam::123456789012:role/other', entries: [entry(detailType)] })).toEqual(
        ['OnlyTheEventsFunctionPublishesResults'],
      );
    }
    const request = entry(EXPORT_REQUESTED_DETAIL_TYPE, 'campaigns');
    expect(denyingStatements(statements, { principalArn: publisher, entries: [request] })).toEqual([]);
    expect(denyingStatements(statements, { principalArn: 'arn:aws:iam::123456789012:role/other', entries: [request] })).toEqual([
      'OnlyQueryPublishersSendQueries',
    ]);
    // And the events function still publishes its own results.
    const eventsRole = own.template.toJSON().Resources[own.id(own.stack.bindings.eventsFunction)].Properties.Role;
    expect(denyingStatements(statements, { principalArn: eventsRole, entries: [entry(RESOLVED_DETAIL_TYPE)] })).toEqual([]);
  });
});

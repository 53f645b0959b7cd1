import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ExportManifest } from '../../functions/core/export/manifest.ts';
import { type LocalEnvironment, startLocalEnvironment } from '../../local/environment.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import type { AwsStandIn } from '../../local/sandbox/aws.ts';
import { SANDBOX_DEFAULTS, type TpnsSandbox } from '../../local/sandbox/tpns.ts';
import { expectedAccount } from './support.ts';

/**
 * The export's two Lambdas over real HTTP: TPNS is the sandbox, S3 and Secrets Manager the stand-in
 * (AWS_ENDPOINT_URL_S3), reached by the real SDK clients. Events are what the state machine sends.
 */
const MAX_BATCH = 10;
let environment: LocalEnvironment;
let tpns: TpnsSandbox;
let aws: AwsStandIn;
let batchHandler: typeof import('../../functions/export-batch.ts')['handler'];
let finishHandler: typeof import('../../functions/export-finish.ts')['handler'];

beforeAll(async () => {
  process.env.TPNS_MAX_BATCH = String(MAX_BATCH);
  environment = await startLocalEnvironment(process.env, { secretForm: 'single' });
  if (environment.mode !== 'sandbox') throw new Error('unset TPNS_SECRET_ID: these tests run on the sandbox');
  ({ tpns, aws } = environment);
  batchHandler = (await import('../../functions/export-batch.ts')).handler;
  finishHandler = (await import('../../functions/export-finish.ts')).handler;
});

afterAll(() => environment?.close());

beforeEach(() => {
  tpns.configure({ ...SANDBOX_DEFAULTS, faultsByItem: {} });
  tpns.resetStats();
});

// The middlewares add the rest of the handler's context.
const context = () => lambdaContext('tpns-bindings-export-batch', 300_000) as never;
const text = (bucket: string, key: string) => aws.objects.get(`${bucket}/${key}`)?.body.toString('utf8');
const lines = (bucket: string, key: string) =>
  (text(bucket, key) ?? '')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, any>);

/** A child workflow's input: rows as the map's CSV reader gives them (every value a string), from `first` on. */
const batchEvent = (accounts: string[], first: number, output = 's3://exports/run-1/') => ({
  Items: accounts.map((account, i) => ({ index: first + i, row: { account, accountType: '' } })),
  BatchInput: { exportId: 'run-1', output, callsPerSecond: 1000 },
});
/** Distinct accounts (a batch asks TPNS once per distinct id), the first two known to the sandbox. */
const accountsOf = (count: number, prefix = 'user') =>
  Array.from({ length: count }, (_, i) => ['account1', 'account2'][i] ?? `${prefix}-${i}@example.com`);

describe('the batch Lambda', () => {
  it('writes one line per row, in order, flags and lists the rows whose calls kept failing, and returns the figures', async () => {
    const accounts = accountsOf(30);
    tpns.configure({ faultsByItem: { 'user-14@example.com': 'reset' } }); // rows 10-19: one call, failing through its retries
    const event = batchEvent(accounts, 40);
    event.Items.push({ index: 70, row: { account: 'x', accountType: 'two' } } as never, { index: 71, row: { token: 'token1' } } as never);
    const result = await batchHandler(event, context());
    expect(result).toEqual({
      part: 'run-1/parts/000000000040.jsonl',
      firstIndex: 40,
      rows: 32,
      counts: { ok: 3, not_found: 18, invalid: 1, error: 10 },
      calls: tpns.stats.calls,
      failedRows: 10,
      failedKey: 'run-1/failed/000000000040.jsonl',
    });
    // 3 calls of accounts (one tried 4 times), 1 of tokens.
    expect(tpns.stats.calls).toBe(7);
    const written = lines('exports', result.part);
    expect(written).toHaveLength(32);
    accounts.forEach((account, i) => {
      if (i >= 10 && i < 20) expect(written[i]).toEqual({ account, accountType: 0, status: 'error', reason: 'unavailable', tokens: [] });
      else expect(written[i]).toEqual(expectedAccount(account));
    });
    expect(written[30]).toEqual({
      account: 'x',
      accountType: 'two',
      status: 'invalid',
      detail: 'accountType must be an integer account type',
    });
    expect(written[31]).toMatchObject({ token: 'token1', status: 'ok' });
    expect(lines('exports', result.failedKey as string)).toEqual(accounts.slice(10, 20).map((account) => ({ account, accountType: 0 })));
  });

  it('a batch run again overwrites its part: the same keys, now without the failures', async () => {
    const accounts = accountsOf(20, 'again');
    tpns.configure({ faultsByItem: { 'again-3@example.com': 'http503' } });
    const first = await batchHandler(batchEvent(accounts, 0, 's3://exports/run-2'), context());
    expect(first.counts.error).toBe(10);
    tpns.configure({ faultsByItem: {} });
    const second = await batchHandler(batchEvent(accounts, 0, 's3://exports/run-2'), context());
    expect(second.part).toBe(first.part);
    expect(second).toMatchObject({ counts: { error: 0 }, failedRows: 0, failedKey: null });
    expect(lines('exports', second.part)).toEqual(accounts.map((account) => expectedAccount(account)));
  });

  it.each([
    [{ Items: [], BatchInput: { exportId: 'e', output: 's3://exports/x/', callsPerSecond: 1 } }, /Items/],
    [
      { Items: [{ index: 0, row: {} }], BatchInput: { exportId: 'e', output: 'https://x/', callsPerSecond: 1 } },
      /BatchInput.output must be an S3 URL/,
    ],
    [{ Items: [{ index: 0, row: {} }], BatchInput: { exportId: 'e', output: 's3://exports/x/', callsPerSecond: 0 } }, /callsPerSecond/],
    [{ Items: [{ index: -1, row: {} }], BatchInput: { exportId: 'e', output: 's3://exports/x/', callsPerSecond: 1 } }, /Items.0.index/],
  ])('refuses a malformed batch before reading the secret: %j', async (event, message) => {
    const reads = aws.secretReads.length;
    await expect(batchHandler(event, context())).rejects.toThrow(message);
    expect(aws.secretReads.length).toBe(reads);
  });
});

describe('the finisher Lambda', () => {
  it('adds up the batches, answers the rows of a batch that failed as a whole, and writes the manifest', async () => {
    const output = 's3://exports/run-3/';
    const ok = await batchHandler(batchEvent(accountsOf(25, 'fin'), 0, output), context());
    const okToo = await batchHandler(batchEvent(accountsOf(5, 'fin2'), 25, output), context());
    const failedInput = batchEvent(['lost-1', 'lost-2'], 30, output);
    failedInput.Items.push({ index: 32, row: { account: '' } } as never);
    // As Step Functions' ResultWriter leaves them: a manifest, and result files of child executions.
    const put = (key: string, body: unknown) =>
      aws.objects.set(`exports/${key}`, { body: Buffer.from(JSON.stringify(body)), etag: 'x', lastModified: new Date() });
    put('run-3/results/map-run/manifest.json', {
      DestinationBucket: 'exports',
      MapRunArn: 'arn:aws:states:us-east-1:000000000000:mapRun:export/map:run',
      ResultFiles: {
        SUCCEEDED: [{ Key: 'run-3/results/map-run/SUCCEEDED_0.json', Size: 1 }],
        FAILED: [{ Key: 'run-3/results/map-run/FAILED_0.json', Size: 1 }],
        PENDING: [],
      },
    });
    put('run-3/results/map-run/SUCCEEDED_0.json', [
      { Status: 'SUCCEEDED', Input: JSON.stringify(batchEvent(accountsOf(25, 'fin'), 0, output)), Output: JSON.stringify(ok) },
      { Status: 'SUCCEEDED', Input: '{}', Output: JSON.stringify({ Payload: okToo, StatusCode: 200 }) },
    ]);
    put('run-3/results/map-run/FAILED_0.json', [
      { Status: 'FAILED', Input: JSON.stringify(failedInput), Error: 'Lambda.Unknown', Cause: 'timed out' },
    ]);

    const startedAt = '2026-12-04T10:00:00.000Z';
    const manifest: ExportManifest = await finishHandler(
      {
        exportId: 'run-3',
        input: 's3://imports/ids.csv',
        output,
        startedAt,
        resultWriterDetails: { Bucket: 'exports', Key: 'run-3/results/map-run/manifest.json' },
      },
      context(),
    );
    expect(manifest).toMatchObject({
      exportId: 'run-3',
      input: 's3://imports/ids.csv',
      output,
      rows: 33,
      counts: {
        ok: ok.counts.ok + okToo.counts.ok,
        not_found: ok.counts.not_found + okToo.counts.not_found,
        invalid: 1,
        error: 2,
      },
      calls: ok.calls + okToo.calls,
      failedRows: 2,
      failedBatches: 1,
      failed: 's3://exports/run-3/failed/',
      startedAt,
    });
    expect(manifest.durationMs).toBe(Date.parse(manifest.finishedAt) - Date.parse(startedAt));
    expect(JSON.parse(text('exports', 'run-3/manifest.json') as string)).toEqual(manifest);
    expect(lines('exports', 'run-3/parts/000000000030.jsonl')).toEqual([
      { account: 'lost-1', accountType: 0, status: 'error', reason: 'batch_failed', tokens: [] },
      { account: 'lost-2', accountType: 0, status: 'error', reason: 'batch_failed', tokens: [] },
      { account: '', status: 'invalid', detail: 'a row must have "account" (and "accountType") or "token"' },
    ]);
    expect(lines('exports', 'run-3/failed/000000000030.jsonl')).toEqual([
      { account: 'lost-1', accountType: 0 },
      { account: 'lost-2', accountType: 0 },
    ]);
  });

  it('the stand-in lists what the export wrote, page by page, as ListObjectsV2 does', async () => {
    const { exportS3Client } = await import('../../functions/core/export/s3.ts');
    const s3 = exportS3Client();
    for (const first of [0, 10, 20])
      await batchHandler(batchEvent(accountsOf(10, `list${first}`), first, 's3://exports/run-5/'), context());
    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: 'exports', Prefix: 'run-5/parts/', MaxKeys: 2, ContinuationToken: token }),
      );
      pages.push((page.Contents ?? []).map((object) => object.Key as string));
      token = page.NextContinuationToken;
    } while (token);
    expect(pages).toEqual([['run-5/parts/000000000000.jsonl', 'run-5/parts/000000000010.jsonl'], ['run-5/parts/000000000020.jsonl']]);
  });

  it('fails clearly when the ResultWriter manifest is not there', async () => {
    await expect(
      finishHandler(
        {
          exportId: 'run-4',
          input: 's3://imports/ids.csv',
          output: 's3://exports/run-4/',
          startedAt: '2026-12-04T10:00:00.000Z',
          resultWriterDetails: { Bucket: 'exports', Key: 'run-4/results/none/manifest.json' },
        },
        context(),
      ),
    ).rejects.toMatchObject({ name: 'NoSuchKey' });
  });
});

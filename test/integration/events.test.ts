import { clearCache } from '@middy/util';
import type { Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FUNCTION_TIMEOUTS_MS } from '../../functions/contract.ts';
import { EVENTBRIDGE_LIMITS, entrySize, PublishError } from '../../functions/core/publish.ts';
import { MAX_FAILURE_DETAIL_CHARS } from '../../functions/core/query-events.ts';
import { TpnsError } from '../../functions/core/tpns/failures.ts';
import type { EventsOutcome } from '../../functions/events.ts';
import { type LocalEnvironment, startLocalEnvironment } from '../../local/environment.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import { type Binding, SANDBOX_APPS, SANDBOX_BINDINGS } from '../../local/sandbox/seed-data.ts';
import { eventSchemaErrors } from '../contract.ts';
import { fixture } from '../unit/_fixtures.ts';
import { queryEnvelope } from './support.ts';

const BUS = 'tpns-results';
const APP = SANDBOX_APPS[0]!;

/** 10,000 accounts with four 36-character tokens each: the answer is several times 256 KB. */
const BULK_COUNT = 10_000;
const bulkAccount = (i: number) => `user-${String(i).padStart(5, '0')}@example.com`;
const bulkToken = (i: number, j: number) => `${String(i).padStart(8, '0')}-0000-4000-8000-${String(j).padStart(12, '0')}`;
const BULK_BINDINGS: Binding[] = Array.from({ length: BULK_COUNT }, (_, i) =>
  Array.from({ length: 4 }, (_, j) => ({
    accessId: APP.accessId,
    account: bulkAccount(i),
    accountType: 0,
    token: bulkToken(i, j),
    boundAt: 1_700_000_000 + i,
  })),
).flat();

type Handler = (event: unknown, context: Context) => Promise<EventsOutcome>;
type Sandbox = Extract<LocalEnvironment, { mode: 'sandbox' }>;

let environment: Sandbox;
let handler: Handler;
let publishMarginMs: number;

const context = (timeoutMs: number = FUNCTION_TIMEOUTS_MS.events) => lambdaContext('tpns-bindings-events', timeoutMs);

type Published = { Source?: string; DetailType?: string; EventBusName?: string; detail: any };

/** What the PutEvents stand-in accepted, details parsed; each must match its detail-type's registered schema. */
const published = (): Published[] =>
  environment.aws.events.map((entry) => {
    expect(eventSchemaErrors(entry), `${entry.DetailType} matches its schema`).toEqual([]);
    return { ...entry, detail: JSON.parse(entry.Detail!) };
  });

/**
 * Handlers read env at import: a fresh module instance (a cold container) with these variables,
 * which are restored afterwards so the rest of the file keeps its own. Packages are not
 * re-imported, so middy's secret cache — per process, like a container's — is emptied too.
 */
const coldHandler = async (env: Record<string, string | undefined>): Promise<Handler> => {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  apply(env);
  try {
    clearCache();
    vi.resetModules();
    return (await import('../../functions/events.ts')).handler as unknown as Handler;
  } finally {
    apply(saved);
  }
};

beforeAll(async () => {
  // Never the real path from a developer's shell: this file runs on the sandbox and the stand-in.
  for (const key of ['TPNS_SECRET_ID', 'TPNS_ENDPOINT', 'AWS_ENDPOINT_URL_EVENTBRIDGE', 'AWS_ENDPOINT_URL_SECRETS_MANAGER'])
    delete process.env[key];
  process.env.EVENT_BUS_NAME = BUS;
  const started = await startLocalEnvironment(process.env, { bindings: [...SANDBOX_BINDINGS, ...BULK_BINDINGS], secretForm: 'single' });
  if (started.mode !== 'sandbox') throw new Error('expected the sandbox environment');
  environment = started;
  const events = await import('../../functions/events.ts');
  handler = events.handler as unknown as Handler;
  publishMarginMs = events.PUBLISH_MARGIN_MS;
});

afterAll(async () => {
  await environment?.close();
});

beforeEach(() => {
  environment.aws.events.length = 0;
  environment.aws.putEventsCalls.length = 0;
  environment.tpns.resetStats();
});

describe('Resolved events', () => {
  it('accounts, with a not-found item: one event on the bus holding the HTTP answer plus correlationId', async () => {
    const ctx = context();
    const outcome = await handler(
      queryEnvelope({ correlationId: 'campaign-42/batch-7', accounts: ['account1', { account: 'account2', accountType: 1 }, 'nobody'] }),
      ctx,
    );
    expect(outcome).toEqual({
      published: true,
      eventBusName: BUS,
      correlationId: 'campaign-42/batch-7',
      detailType: 'TPNS Bindings Resolved',
      entries: 1,
      calls: 1,
    });
    expect(published()).toEqual([
      {
        Source: 'tpns.bindings',
        DetailType: 'TPNS Bindings Resolved',
        EventBusName: BUS,
        Detail: expect.any(String),
        detail: {
          correlationId: 'campaign-42/batch-7',
          part: 1,
          parts: 1,
          accounts: [
            { account: 'account1', accountType: 0, status: 'ok', tokens: ['token1', 'token2'] },
            { account: 'account2', accountType: 1, status: 'ok', tokens: ['token3'] },
            { account: 'nobody', accountType: 0, status: 'not_found', code: 10110008, tokens: [] },
          ],
          partial: false,
          region: 'guangzhou',
          requestId: ctx.awsRequestId,
        },
      },
    ]);
  });

  it('tokens, with a not-found item; correlationId defaults to the event id', async () => {
    const event = queryEnvelope({ tokens: ['0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b', 'gone-token'] });
    const outcome = await handler(event, context());
    expect(outcome).toMatchObject({ published: true, correlationId: event.id });
    const [only, ...rest] = published();
    expect(rest).toEqual([]);
    expect(only!.detail).toMatchObject({
      correlationId: event.id,
      part: 1,
      parts: 1,
      partial: false,
      tokens: [
        {
          token: '0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b',
          status: 'ok',
          accounts: [
            { account: '+8613711112222', accountType: 1002, boundAt: '2023-11-14T22:13:20.000Z' },
            { account: 'ops@example.com', accountType: 1005, boundAt: '2023-11-14T22:15:00.000Z' },
          ],
        },
        { token: 'gone-token', status: 'not_found', code: 10110008, accounts: [] },
      ],
    });
  });

  it.each([
    [
      'seed-zh-request-accounts.json',
      'accounts',
      [
        ['account1', 0],
        ['account2', 1],
      ],
    ],
    ['seed-en-request-tokens.json', 'tokens', [['token1'], ['token2']]],
  ])('the TPNS-native body of the seed pages (%s), verbatim, plus a correlationId', async (name, kind, keys) => {
    const outcome = await handler(queryEnvelope({ ...fixture<object>(name), correlationId: 'native' }), context());
    expect(outcome).toMatchObject({ published: true, correlationId: 'native', detailType: 'TPNS Bindings Resolved' });
    const items = published()[0]!.detail[kind] as Record<string, unknown>[];
    expect(items.map((item) => (kind === 'accounts' ? [item.account, item.accountType] : [item.token]))).toEqual(keys);
    expect(items.every((item) => item.status === 'ok')).toBe(true);
  });
});

describe('the 256 KB split', () => {
  const bulkItems = {
    accounts: Array.from({ length: BULK_COUNT }, (_, i) => bulkAccount(i)),
    tokens: Array.from({ length: BULK_COUNT }, (_, i) => bulkToken(i, i % 4)),
  };

  it.each(['accounts', 'tokens'] as const)(
    '10,000 %s: parts 1..N within every limit, every item exactly once and in order',
    async (kind) => {
      const outcome = await handler(queryEnvelope({ correlationId: `bulk-${kind}`, [kind]: bulkItems[kind] }), context());
      const events = published();
      const parts = events.length;
      expect(parts).toBeGreaterThan(kind === 'accounts' ? 5 : 3); // several times over the limit
      expect(outcome).toMatchObject({ published: true, entries: parts, calls: environment.aws.putEventsCalls.length });
      for (const entry of environment.aws.events) expect(entrySize(entry)).toBeLessThanOrEqual(EVENTBRIDGE_LIMITS.maxEntryBytes);
      for (const call of environment.aws.putEventsCalls) {
        expect(call.length).toBeLessThanOrEqual(EVENTBRIDGE_LIMITS.maxEntriesPerCall);
        expect(call.reduce((sum, entry) => sum + entrySize(entry), 0)).toBeLessThanOrEqual(EVENTBRIDGE_LIMITS.maxCallBytes);
      }
      const byPart = [...events].sort((a, b) => a.detail.part - b.detail.part);
      expect(byPart.map((e) => [e.detail.part, e.detail.parts])).toEqual(byPart.map((_, i) => [i + 1, parts]));
      for (const { detail } of byPart) expect(detail).toMatchObject({ correlationId: `bulk-${kind}`, partial: false, region: 'guangzhou' });
      const items = byPart.flatMap((e) => e.detail[kind] as Record<string, unknown>[]);
      expect(items.map((item) => (kind === 'accounts' ? item.account : item.token))).toEqual(bulkItems[kind]);
      expect(items.every((item) => item.status === 'ok')).toBe(true);
      if (kind === 'accounts') expect(items[9_999]).toMatchObject({ tokens: [0, 1, 2, 3].map((j) => bulkToken(9_999, j)) });
    },
  );
});

describe('Failed events: failures no retry can fix are published, and the handler returns', () => {
  it.each([
    ['both accounts and tokens', { accounts: ['a1'], tokens: ['t1'] }, /only one of "accounts" and "tokens"/],
    ['neither', { correlationId: 'x' }, /must have one of "accounts", "tokens" or "operator_type"/],
    ['an unknown field', { accounts: ['a1'], callback: 'https://x' }, /unknown field "callback"/],
    ['an empty list', { tokens: [] }, /at least one token/],
    ['an unknown operator_type', { operator_type: 3, token_list: ['t1'] }, /operator_type must be 1/],
    ['a detail that is no object', 'accounts=a1', /detail must be a JSON object/],
  ])('invalid detail (%s) → status 400', async (_, detail, message) => {
    const event = queryEnvelope(detail);
    const reads = environment.aws.secretReads.length;
    const outcome = await handler(event, context());
    expect(outcome).toMatchObject({ published: true, detailType: 'TPNS Bindings Query Failed', entries: 1 });
    const [failed, ...rest] = published();
    expect(rest).toEqual([]);
    expect(failed).toMatchObject({ Source: 'tpns.bindings', DetailType: 'TPNS Bindings Query Failed', EventBusName: BUS });
    expect(failed!.detail).toEqual({
      correlationId: (detail as { correlationId?: string }).correlationId ?? event.id,
      type: 'urn:tpns-bindings:problem:invalid-request',
      title: 'Invalid request',
      status: 400,
      detail: expect.stringMatching(message),
      requestId: expect.any(String),
    });
    expect(environment.tpns.stats.calls, 'an invalid event costs no TPNS call').toBe(0);
    expect(environment.aws.secretReads.length, 'nor a secret read').toBe(reads);
  });

  it('a correlationId that is no string → 400, reported under the event id', async () => {
    const event = queryEnvelope({ correlationId: 42, accounts: ['account1'] });
    await handler(event, context());
    expect(published()[0]!.detail).toMatchObject({
      correlationId: event.id,
      status: 400,
      detail: expect.stringMatching(/^correlationId must be a string/),
    });
  });

  it('another detail-type → 400 naming the expected one', async () => {
    await handler(queryEnvelope({ accounts: ['account1'] }, { 'detail-type': 'Push Job Finished' }), context());
    expect(published()[0]!.detail).toMatchObject({ status: 400, detail: 'detail-type must be "TPNS Bindings Query Requested"' });
  });

  it('a detail text as long as the event is cut, so the Failed event always fits', async () => {
    // Unknown field names are quoted cut short, five per object: five objects with long ones make a long detail.
    const longFields = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`${i}${'f'.repeat(200)}`, 1]));
    await handler(queryEnvelope({ accounts: Array.from({ length: 5 }, () => ({ account: 'account1', ...longFields })) }), context());
    const [failed] = environment.aws.events;
    expect(JSON.parse(failed!.Detail!).detail).toHaveLength(MAX_FAILURE_DETAIL_CHARS);
    expect(entrySize(failed!)).toBeLessThan(4_096);
  });

  it('TPNS rejects the key (1008003), also after the secret is re-read → status 502 with the TPNS code', async () => {
    environment.tpns.rotateKey(APP.accessId, 'a-key-the-secret-does-not-hold');
    try {
      const reads = environment.aws.secretReads.length;
      const outcome = await handler(queryEnvelope({ correlationId: 'rotated', accounts: ['account1'] }), context());
      expect(outcome).toMatchObject({ published: true, correlationId: 'rotated', detailType: 'TPNS Bindings Query Failed' });
      expect(published().map((e) => e.detail)).toEqual([
        {
          correlationId: 'rotated',
          type: 'urn:tpns-bindings:problem:tpns-credentials-rejected',
          title: 'TPNS rejected the credentials',
          status: 502,
          detail: expect.any(String),
          region: 'guangzhou',
          tpnsCode: 1008003,
          requestId: expect.any(String),
        },
      ]);
      expect(environment.aws.secretReads.length - reads, 'one re-read of the secret').toBe(1);
      expect(JSON.stringify(published())).not.toContain(APP.secretKey);
    } finally {
      environment.tpns.rotateKey(APP.accessId, APP.secretKey);
    }
  });

  it.each([
    [1008035, 'tpns-wrong-access-point'],
    [1008030, 'tpns-app-unavailable'],
    [1008001, 'tpns-request-rejected'],
  ])('TPNS refuses the whole call with %d → status 502, no retry', async (code, kind) => {
    environment.tpns.injectFaults(code);
    const outcome = await handler(queryEnvelope({ correlationId: `refused-${code}`, tokens: ['token1'] }), context());
    expect(outcome).toMatchObject({ published: true, detailType: 'TPNS Bindings Query Failed' });
    expect(published()[0]!.detail).toMatchObject({
      correlationId: `refused-${code}`,
      type: `urn:tpns-bindings:problem:${kind}`,
      status: 502,
      tpnsCode: code,
      region: 'guangzhou',
    });
    expect(environment.tpns.stats.calls).toBe(1);
  });
});

describe('failures a retry may fix are thrown (Lambda retries, then the dead-letter queue)', () => {
  it('TPNS unavailable on every attempt → throws, publishes nothing', async () => {
    environment.tpns.configure({ faultRate: 1, seed: 1 });
    try {
      const error = await handler(queryEnvelope({ accounts: ['account1'] }), context()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TpnsError);
      expect(['unavailable', 'upstream_error', 'rate_limited']).toContain((error as TpnsError).kind);
    } finally {
      environment.tpns.configure({ faultRate: 0 });
    }
    expect(environment.tpns.stats.calls).toBeGreaterThan(1); // it did retry first
    expect(environment.aws.putEventsCalls).toEqual([]);
  });

  it('the deadline keeps a margin for publishing: too little time left → a timeout thrown before any TPNS call', async () => {
    const error = await handler(queryEnvelope({ accounts: ['account1'] }), context(publishMarginMs + 50)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TpnsError);
    expect((error as TpnsError).kind).toBe('timeout');
    expect(environment.tpns.stats.calls).toBe(0);
    expect(environment.aws.putEventsCalls).toEqual([]);
  });

  it('PutEvents refuses an entry on every attempt → throws after the retries', async () => {
    environment.aws.failNextPutEvents([0], [0], [0], [0]);
    const error = await handler(queryEnvelope({ accounts: ['account1'] }), context()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect((error as Error).message).toMatch(/refused 1 of 1 entries after 4 attempts \(InternalFailure: injected failure\)/);
    expect(environment.aws.putEventsCalls).toHaveLength(4);
    expect(environment.aws.events).toEqual([]);
  });
});

describe('PutEvents partial failures are retried for the failed entries only', () => {
  it('one refused entry is sent again alone and delivered once', async () => {
    environment.aws.failNextPutEvents([0]);
    const outcome = await handler(queryEnvelope({ correlationId: 'retry-1', accounts: ['account1'] }), context());
    expect(outcome).toMatchObject({ published: true, entries: 1, calls: 2 });
    const [first, second] = environment.aws.putEventsCalls;
    expect(second).toEqual(first);
    expect(published().map((e) => e.detail.correlationId)).toEqual(['retry-1']);
  });

  it('a multi-part result with refusals: every part delivered exactly once', async () => {
    const accounts = Array.from({ length: 3_000 }, (_, i) => bulkAccount(i));
    // Call 1 refuses part 1; its retry succeeds; the next call refuses its entry too.
    environment.aws.failNextPutEvents([0], [], [0]);
    const outcome = await handler(queryEnvelope({ correlationId: 'retry-n', accounts }), context());
    const events = published();
    const parts = events[0]!.detail.parts as number;
    expect(parts).toBeGreaterThan(1);
    expect(outcome).toMatchObject({ published: true, entries: parts, calls: parts + 2 });
    expect(events.map((e) => e.detail.part).sort((a, b) => a - b)).toEqual(Array.from({ length: parts }, (_, i) => i + 1));
    const items = [...events].sort((a, b) => a.detail.part - b.detail.part).flatMap((e) => e.detail.accounts as { account: string }[]);
    expect(items.map((item) => item.account)).toEqual(accounts);
  });
});

describe('our own result events are ignored (a rule routing them back must not loop)', () => {
  it('a Resolved event in → nothing published, no TPNS call', async () => {
    const outcome = await handler(
      queryEnvelope(
        { correlationId: 'c', part: 1, parts: 1, accounts: [] },
        { source: 'tpns.bindings', 'detail-type': 'TPNS Bindings Resolved' },
      ),
      context(),
    );
    expect(outcome).toEqual({ published: false, ignored: expect.any(String) });
    expect(environment.aws.putEventsCalls).toEqual([]);
    expect(environment.tpns.stats.calls).toBe(0);
  });
});

describe('other configurations (cold containers)', () => {
  afterEach(() => clearCache()); // the file's own handler then re-reads its secret
  it('EVENT_BUS_NAME unset: returns the events it would publish and publishes nothing', async () => {
    const local = await coldHandler({ EVENT_BUS_NAME: undefined });
    const ctx = context();
    const outcome = await local(queryEnvelope({ correlationId: 'local', accounts: ['account1', 'nobody'] }), ctx);
    expect(outcome).toEqual({
      published: false,
      correlationId: 'local',
      detailType: 'TPNS Bindings Resolved',
      events: [
        {
          source: 'tpns.bindings',
          'detail-type': 'TPNS Bindings Resolved',
          detail: {
            correlationId: 'local',
            part: 1,
            parts: 1,
            accounts: [
              { account: 'account1', accountType: 0, status: 'ok', tokens: ['token1', 'token2'] },
              { account: 'nobody', accountType: 0, status: 'not_found', code: 10110008, tokens: [] },
            ],
            partial: false,
            region: 'guangzhou',
            requestId: ctx.awsRequestId,
          },
        },
      ],
    });
    const failed = await local(queryEnvelope({ accounts: 'account1' }), context());
    expect(failed).toMatchObject({ published: false, detailType: 'TPNS Bindings Query Failed', events: [{ detail: { status: 400 } }] });
    expect(environment.aws.putEventsCalls).toEqual([]);
  });

  it('an invalid secret (CredentialsError) is thrown, not published: fixing the secret lets a retry succeed', async () => {
    environment.aws.secrets.set('tpns/broken', JSON.stringify({ accessId: APP.accessId }));
    try {
      const broken = await coldHandler({ TPNS_SECRET_ID: 'tpns/broken' });
      const error = await broken(queryEnvelope({ accounts: ['account1'] }), context()).catch((e: unknown) => e);
      // A cold container has its own copy of the error classes: compare what they carry.
      expect(error).toMatchObject({ status: 503, slug: 'credentials-unavailable' });
      expect((error as Error).message).toMatch(/"secretKey" \(a non-empty string\) is missing/);
      expect(environment.aws.putEventsCalls).toEqual([]);
      environment.aws.secrets.set('tpns/broken', JSON.stringify({ accessId: APP.accessId, secretKey: APP.secretKey, region: APP.region }));
      const retried = await broken(queryEnvelope({ accounts: ['account1'] }), context());
      expect(retried).toMatchObject({ published: true, detailType: 'TPNS Bindings Resolved' });
    } finally {
      environment.aws.secrets.delete('tpns/broken');
    }
  });
});

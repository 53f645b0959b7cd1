import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppSecret } from '../../functions/core/credentials.ts';
import { InvalidRequestError } from '../../functions/core/problems.ts';
import { roundRobin } from '../../functions/core/query/pool.ts';
import { runQuery } from '../../functions/core/query.ts';
import type { Query } from '../../functions/core/request.ts';
import { ACCESS_POINTS, QUERY_PATH } from '../../functions/core/tpns/regions.ts';
import { fixedCredentials, tpnsFailure } from './_fixtures.ts';

/**
 * A query over several apps against a scripted TPNS (undici's MockAgent, through the real client):
 * one pool with the apps' chunks taken in turn, a failure isolated to its app, and the merged answer.
 */

const START = 1_700_000_000_000;
const clock = { now: () => START, sleep: async () => {}, random: () => 0 };

/** Chunk sizes are learned per AccessId for the life of the module: each test's apps are new ones. */
let serial = 0;
const app = (name: string, region: 'guangzhou' | 'hongkong'): AppSecret => ({
  name,
  accessId: `${name}-${++serial}`,
  secretKey: 'sk',
  region,
  auth: 'sign',
});

let agent: MockAgent;
/** `app:items` per call, in the order TPNS saw them. */
let calls: string[];

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  calls = [];
});
afterEach(() => agent.close());

/** Each access point answers as its app's script says: a whole-call retCode, or the tokens it knows. */
const scriptApps = (scripts: Record<'guangzhou' | 'hongkong', { name: string; retCode?: number; knows?: string[] }>) => {
  for (const [region, script] of Object.entries(scripts)) {
    agent
      .get(ACCESS_POINTS[region as keyof typeof ACCESS_POINTS])
      .intercept({ path: QUERY_PATH, method: 'POST' })
      .reply<object>(({ body }) => {
        const { token_list: tokens } = JSON.parse(String(body)) as { token_list: string[] };
        calls.push(`${script.name}:${tokens.length}`);
        if (script.retCode !== undefined) return { statusCode: 200, data: { retCode: script.retCode, errMsg: 'scripted' } };
        const known = (token: string) => script.knows?.includes(token) ?? false;
        return {
          statusCode: 200,
          data: {
            retCode: 0,
            result: tokens.map((token) => (known(token) ? 0 : 10110008)),
            token_accounts: tokens.filter(known).map((token) => ({ token, account_list: [{ account: `${script.name}-user` }] })),
          },
        };
      })
      .persist();
  }
};

const tokens = (...items: string[]): Query => ({ kind: 'tokens', items });

const run = (query: Query, apps: [AppSecret, ...AppSecret[]], config: { maxBatch?: number; concurrency?: number } = {}) =>
  runQuery(query, {
    credentials: fixedCredentials(...apps),
    deadline: START + 20_000,
    config: { endpoint: undefined, maxBatch: config.maxBatch ?? 100, concurrency: config.concurrency ?? 8 },
    dispatcher: agent,
    clock,
  });

describe('one pool across apps', () => {
  it("takes the apps' chunks in turn, so that neither waits for the other to finish", async () => {
    scriptApps({ guangzhou: { name: 'android' }, hongkong: { name: 'ios' } });
    await run(tokens('t1', 't2', 't3'), [app('android', 'guangzhou'), app('ios', 'hongkong')], { maxBatch: 1, concurrency: 1 });
    expect(calls).toEqual(['android:1', 'ios:1', 'android:1', 'ios:1', 'android:1', 'ios:1']);
  });

  it('roundRobin skips a source with nothing to hand out now and comes back to it', () => {
    const queues = [['a1', 'a2', 'a3'], [], ['c1']];
    const next = roundRobin(queues.map((queue) => () => queue.shift()));
    const taken: (string | undefined)[] = [];
    queues[1]?.push('b1');
    for (let i = 0; i < 6; i++) taken.push(next());
    expect(taken).toEqual(['a1', 'b1', 'c1', 'a2', 'a3', undefined]);
  });
});

describe('failure isolation', () => {
  it("an app TPNS suspended is that app's entries in error; the other app's answers stand, partial", async () => {
    scriptApps({ guangzhou: { name: 'android', knows: ['t1'] }, hongkong: { name: 'ios', retCode: 1008031 } });
    const result = await run(tokens('t1', 't2', 't3', 't4'), [app('android', 'guangzhou'), app('ios', 'hongkong')], {
      maxBatch: 1,
      concurrency: 1,
    });
    expect(result.partial).toBe(true);
    expect(result.accessPoints).toEqual({ regions: { android: 'guangzhou', ios: 'hongkong' } });
    const items = result.kind === 'tokens' ? result.tokens : [];
    expect(items[0]).toEqual({
      token: 't1',
      status: 'ok',
      app: 'android',
      accounts: [{ account: 'android-user' }],
      apps: [
        { app: 'android', status: 'ok', accounts: [{ account: 'android-user' }] },
        { app: 'ios', status: 'error', code: 1008031, reason: 'app_unavailable', accounts: [] },
      ],
    });
    expect(items.slice(1).map(({ status, code, reason }) => ({ status, code, reason }))).toEqual(
      Array(3).fill({ status: 'error', code: 1008031, reason: 'app_unavailable' }),
    );
    // A fatal failure stops that app's calls; the other app's go on.
    expect(calls.filter((call) => call.startsWith('ios'))).toEqual(['ios:1']);
    expect(calls.filter((call) => call.startsWith('android'))).toHaveLength(4);
  });

  it("only when every app fails is the request's failure thrown: the first app's, naming it and the others", async () => {
    scriptApps({ guangzhou: { name: 'android', retCode: 1008003 }, hongkong: { name: 'ios', retCode: 1008031 } });
    const error = await tpnsFailure(run(tokens('t1'), [app('android', 'guangzhou'), app('ios', 'hongkong')]));
    expect(error).toMatchObject({ kind: 'credentials_rejected', code: 1008003, region: 'guangzhou' });
    expect(error.message).toMatch(/^app "android": .*every queried app failed: android credentials_rejected, ios app_unavailable/);
  });

  it('a failure a retry may fix is the one thrown, so the events path leaves the query to Lambda’s retries', async () => {
    scriptApps({ guangzhou: { name: 'android', retCode: 1008003 }, hongkong: { name: 'ios', retCode: 1008004 } });
    const error = await tpnsFailure(run(tokens('t1'), [app('android', 'guangzhou'), app('ios', 'hongkong')]));
    expect(error).toMatchObject({ kind: 'upstream_error', code: 1008004 });
  });

  it('a single-app secret is answered as before apps existed: one region, no `apps`, and its failure thrown as is', async () => {
    scriptApps({ guangzhou: { name: 'android', knows: ['t1'] }, hongkong: { name: 'ios', retCode: 1008031 } });
    const answered = await run(tokens('t1'), [app('default', 'guangzhou')]);
    expect(answered).toEqual({
      kind: 'tokens',
      accessPoints: { region: 'guangzhou' },
      partial: false,
      tokens: [{ token: 't1', status: 'ok', accounts: [{ account: 'android-user' }] }],
    });
    const failed = await tpnsFailure(run(tokens('t1'), [app('default', 'hongkong')]));
    expect(failed.message).not.toMatch(/app "/);
    expect(failed).toMatchObject({ kind: 'app_unavailable' });
  });
});

describe('the apps filter', () => {
  const both = () => [app('android', 'guangzhou'), app('ios', 'hongkong')] as [AppSecret, AppSecret];

  it('queries only the named apps, in the secret’s order', async () => {
    scriptApps({ guangzhou: { name: 'android' }, hongkong: { name: 'ios', knows: ['t1'] } });
    const result = await run({ ...tokens('t1'), apps: { names: ['ios'], field: 'apps' } }, both());
    expect(calls).toEqual(['ios:1']);
    expect(result.kind === 'tokens' && result.tokens[0]?.apps?.map((entry) => entry.app)).toEqual(['ios']);
  });

  it.each([
    ['apps', 'apps[1] "web" is not an app of this deployment (android, ios)'],
    ['app', 'app "web" is not an app of this deployment (android, ios)'],
  ] as const)('a name the secret does not hold is a 400 naming the field (%s), and TPNS is not called', async (field, detail) => {
    scriptApps({ guangzhou: { name: 'android' }, hongkong: { name: 'ios' } });
    const error = await run({ ...tokens('t1'), apps: { names: ['ios', 'web'], field } }, both()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as Error).message).toBe(detail);
    expect(calls).toEqual([]);
  });
});

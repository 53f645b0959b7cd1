/**
 * Lambda refuses a response over 6 MB, measured as the serialized result, in which the body is
 * escaped once more (API Gateway then answers a bare 500; the local adapter does the same). An
 * answer that would not fit is a clear 413 instead, and one that fits arrives whole, however
 * close to the limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAMBDA_RESPONSE_LIMIT_BYTES } from '../../functions/contract.ts';
import { type Binding, SANDBOX_APPS } from '../../local/sandbox/seed-data.ts';
import { type LocalApi, startLocalApi } from '../../local/server.ts';
import { expectProblem, postQuery } from './support.ts';

const TOKENS_PER_ACCOUNT = 12;
const accountId = (i: number) => `user-${i}@example.com`;
const token = (i: number, t: number) => `${String(i).padStart(8, '0')}-0000-4000-8000-${String(t).padStart(12, '0')}`;

const bindings: Binding[] = [];
for (let i = 0; i < 10_000; i++) {
  for (let t = 0; t < TOKENS_PER_ACCOUNT; t++)
    bindings.push({
      accessId: SANDBOX_APPS[0].accessId,
      account: accountId(i),
      accountType: 0,
      token: token(i, t),
      boundAt: 1_700_000_000,
    });
}

/** Accounts whose tokens alone make any answer that holds most of them too large: 2,000 × 20 tokens of 200 characters. */
const BIG_ACCOUNTS = 2_000;
const bigAccount = (i: number) => `big-${i}@example.com`;
for (let i = 0; i < BIG_ACCOUNTS; i++) {
  for (let t = 0; t < 20; t++)
    bindings.push({
      accessId: SANDBOX_APPS[0].accessId,
      account: bigAccount(i),
      accountType: 0,
      token: `${token(i, t)}-${'x'.repeat(160)}`,
      boundAt: 1_700_000_000,
    });
}

/** What Lambda would measure for an answer received with this body (status and headers add a few bytes). */
const asLambdaResponse = (text: string) => Buffer.byteLength(JSON.stringify({ statusCode: 200, headers: {}, body: text }));

describe('answers near the Lambda response limit', () => {
  let api: LocalApi;
  beforeAll(async () => {
    api = await startLocalApi({ port: 0, sandbox: { bindings, secretForm: 'single' } });
  });
  afterAll(() => api.close());

  it('a 5 MB answer, under the limit once escaped, arrives whole', async () => {
    const accounts = Array.from({ length: 10_000 }, (_, i) => accountId(i));
    const answer = await postQuery(api.url, { accounts });
    expect(answer.status, answer.text.slice(0, 300)).toBe(200);
    expect(Buffer.byteLength(answer.text)).toBeGreaterThan(5_000_000);
    expect(asLambdaResponse(answer.text)).toBeLessThan(LAMBDA_RESPONSE_LIMIT_BYTES);
    expect(answer.body.accounts).toHaveLength(10_000);
    expect(answer.body.accounts[9_999]).toEqual({
      account: accountId(9_999),
      accountType: 0,
      status: 'ok',
      tokens: Array.from({ length: TOKENS_PER_ACCOUNT }, (_, t) => token(9_999, t)),
    });
  });

  it.each([
    ['"', 200],
    ['\\', 200],
    ['"\\', 100],
  ])('ids made of %j: a body under 5 MB that escapes past the limit is a 413 with a way out, not a bare 500', async (unit, repeat) => {
    const accounts = Array.from({ length: 10_000 }, (_, i) => `${unit.repeat(repeat)}${i}`);
    // The body the answer would have had: under the 5 MB a guard on the body alone would let through.
    const items = accounts.map((account) => ({ account, accountType: 0, status: 'not_found', code: 10110008, tokens: [] }));
    expect(Buffer.byteLength(JSON.stringify({ accounts: items }))).toBeLessThan(5_000_000);
    const answer = await postQuery(api.url, { accounts });
    const problem = expectProblem(answer, 413);
    expect(problem.detail).toMatch(/10000 items is \d+\.\d MB as a Lambda response, over the 6\.3 MB/);
    expect(problem.detail).toMatch(/split the request|EventBridge/);
  });

  it('an answer already too large by its tokens alone is a 413 before the rest of the TPNS calls are spent', async () => {
    const environment = api.environment;
    if (environment.mode !== 'sandbox') throw new Error('runs on the sandbox');
    // 100 chunks; the first 20 hold 8 MB of tokens, and about 16 of them are enough to know.
    const accounts = [
      ...Array.from({ length: BIG_ACCOUNTS }, (_, i) => bigAccount(i)),
      ...Array.from({ length: 8_000 }, (_, i) => accountId(i)),
    ];
    environment.tpns.resetStats();
    const problem = expectProblem(await postQuery(api.url, { accounts }), 413);
    expect(problem.detail).toMatch(/10000 items is at least \d+\.\d MB as a Lambda response, over the 6\.3 MB/);
    expect(environment.tpns.stats.calls).toBeGreaterThanOrEqual(16);
    expect(environment.tpns.stats.calls).toBeLessThan(40);
  });

  it('half as many of those ids fit, and arrive whole', async () => {
    const accounts = Array.from({ length: 5_000 }, (_, i) => `${'"'.repeat(200)}${i}`);
    const answer = await postQuery(api.url, { accounts });
    expect(answer.status, answer.text.slice(0, 300)).toBe(200);
    expect(asLambdaResponse(answer.text)).toBeGreaterThan(LAMBDA_RESPONSE_LIMIT_BYTES / 2);
    expect(answer.body.accounts.map((a: { account: string }) => a.account)).toEqual(accounts);
  });
});

/**
 * Lambda refuses a response over 6 MB (API Gateway then answers a bare 500): an answer that
 * would not fit is a clear 413 instead, and one just under the bound still arrives whole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Binding } from '../../local/sandbox/seed-data.ts';
import { type LocalApi, startLocalApi } from '../../local/server.ts';
import { expectProblem, postQuery } from './support.ts';

const TOKENS_PER_ACCOUNT = 12;
const accountId = (i: number) => `user-${i}@example.com`;
const token = (i: number, t: number) => `${String(i).padStart(8, '0')}-0000-4000-8000-${String(t).padStart(12, '0')}`;

const bindings: Binding[] = [];
for (let i = 0; i < 10_000; i++) {
  for (let t = 0; t < TOKENS_PER_ACCOUNT; t++)
    bindings.push({ account: accountId(i), accountType: 0, token: token(i, t), boundAt: 1_700_000_000 });
}

describe('answers near the Lambda response limit', () => {
  let api: LocalApi;
  let MAX_RESPONSE_BODY_BYTES: number;
  beforeAll(async () => {
    api = await startLocalApi({ port: 0, sandbox: { bindings } });
    // The handler module reads its configuration at import: import it once the environment is set.
    ({ MAX_RESPONSE_BODY_BYTES } = await import('../../functions/http.ts'));
  });
  afterAll(() => api.close());

  it('413 with a way out when the answer would exceed the limit', async () => {
    const accounts = Array.from({ length: 10_000 }, (_, i) => accountId(i));
    const problem = expectProblem(await postQuery(api.url, { accounts }), 413);
    expect(problem.detail).toMatch(/10000 items is \d+\.\d MB, over the 5 MB/);
    expect(problem.detail).toMatch(/split the request|EventBridge/);
  });

  it('a large answer under the limit arrives whole', async () => {
    const accounts = Array.from({ length: 5_000 }, (_, i) => accountId(i));
    const answer = await postQuery(api.url, { accounts });
    expect(answer.status).toBe(200);
    expect(Buffer.byteLength(answer.text)).toBeLessThanOrEqual(MAX_RESPONSE_BODY_BYTES);
    expect(Buffer.byteLength(answer.text)).toBeGreaterThan(MAX_RESPONSE_BODY_BYTES / 3);
    expect(answer.body.accounts).toHaveLength(5_000);
    expect(answer.body.accounts[4_999]).toEqual({
      account: accountId(4_999),
      accountType: 0,
      status: 'ok',
      tokens: Array.from({ length: TOKENS_PER_ACCOUNT }, (_, t) => token(4_999, t)),
    });
  });
});

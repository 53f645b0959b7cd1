import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ApiProcess, spawnLocalApi } from '../integration/support.ts';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
/** The README's signed curl recipe: its sh block that starts with the first call. */
const RECIPE = /```sh\n(# Tokens bound to two accounts\n[\s\S]*?)```/.exec(README)?.[1];
const HAS_CURL = spawnSync('curl', ['--version']).status === 0;
const REGION = 'ap-northeast-1';
const KEYS = { AWS_ACCESS_KEY_ID: 'AKIDREADMETEST', AWS_SECRET_ACCESS_KEY: 'readme-test-secret-key' };

/** Runs the recipe as a reader would, with the variables its first block sets. */
const runRecipe = (api: ApiProcess, env: Record<string, string>) =>
  spawnSync('bash', ['-c', `set -eu\n${RECIPE}`], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, REGION, API_URL: `${api.url}/`, ...env },
    timeout: 30_000,
  });

/** curl prints the answers one after the other: split them. */
const answers = (stdout: string): any[] =>
  stdout
    .replace(/}\s*{/g, '}\n{')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));

describe.skipIf(!HAS_CURL)("the README's curl recipe against npm start with SigV4 on", () => {
  it('is in the README', () => {
    expect(RECIPE).toMatch(/--aws-sigv4/);
  });

  it.each([
    ['long-term keys (no session token)', {}],
    ['temporary credentials (a session token)', { AWS_SESSION_TOKEN: 'readme-session-token' }],
  ] as const)('answers with %s', async (_, session) => {
    const api = await spawnLocalApi({ LOCAL_AUTH: 'sigv4', AWS_REGION: REGION, ...KEYS, ...session });
    try {
      const run = runRecipe(api, { ...KEYS, ...session });
      expect(run.status, run.stderr).toBe(0);
      const [query, token] = answers(run.stdout);
      expect(query).toMatchObject({ accounts: [{ account: 'alice' }, { account: 'bob', accountType: 1 }], partial: false });
      expect(token).toMatchObject({ token: 'token1', status: 'ok' });
      // An empty AWS_SESSION_TOKEN sends no header either.
      if (!('AWS_SESSION_TOKEN' in session)) {
        expect(answers(runRecipe(api, { ...KEYS, AWS_SESSION_TOKEN: '' }).stdout)[1]).toMatchObject({ token: 'token1' });
      }
    } finally {
      await api.close();
    }
  });
});

import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../functions/core/clock.ts';
import { type Config, readConfig } from '../../functions/core/config.ts';
import { TPNS_CODE } from '../../functions/core/tpns/codes.ts';
import { type LocalEnvironment, startLocalEnvironment } from '../../local/environment.ts';
import { companionPaths, exportFile } from '../../local/export-file.ts';
import { SANDBOX_DEFAULTS, type TpnsSandbox } from '../../local/sandbox/tpns.ts';
import { expectedAccount } from './support.ts';

/**
 * `npm run export` over real HTTP to the sandbox (single-app secret), with faults. Time is a virtual
 * clock: sleeps (backoff, the call rate) return at once and move it forward, so nothing here waits
 * on, or races, the wall clock.
 */
const virtualClock = () => {
  let now = 0;
  const clock: Clock = {
    now: () => now,
    sleep: async (ms) => {
      const until = clock.now() + ms;
      await Promise.resolve();
      now = Math.max(now, until);
    },
    random: () => 0.5,
  };
  return clock;
};

let environment: LocalEnvironment;
let tpns: TpnsSandbox;
let config: Config;
let dir: string;

beforeAll(async () => {
  environment = await startLocalEnvironment(process.env, { secretForm: 'single' });
  if (environment.mode !== 'sandbox') throw new Error('unset TPNS_SECRET_ID: these tests run on the sandbox');
  tpns = environment.tpns;
  config = { ...readConfig(), maxBatch: 10, concurrency: 4 };
  dir = await mkdtemp(join(tmpdir(), 'tpns-export-'));
});

afterAll(async () => {
  await environment?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  tpns.configure({ ...SANDBOX_DEFAULTS, faultsByItem: {} });
  tpns.resetStats();
});

const KNOWN = ['account1', 'account2', '926@126.com'];
/** `count` accounts: the sandbox's known ones among many it does not know. */
const accountsOf = (count: number) => Array.from({ length: count }, (_, i) => KNOWN[i % 7] ?? `user-${i}@example.com`);
let files = 0;
const paths = (extension: 'csv' | 'jsonl') => {
  files++;
  return { input: join(dir, `ids-${files}.${extension}`), output: join(dir, `bindings-${files}.jsonl`) };
};
const csvOf = (accounts: string[]) => `account,accountType\n${accounts.map((a) => `${a},`).join('\n')}\n`;
const linesOf = async (path: string) =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, any>);

describe('npm run export: one line per input row, in order', () => {
  it('answers every account as the HTTP API does, invalid rows in place, figures in the manifest', async () => {
    const { input, output } = paths('csv');
    const accounts = accountsOf(95);
    await writeFile(input, `${csvOf(accounts)}bad,x\n,\n`);
    const { manifest } = await exportFile({ input, output, config, clock: virtualClock() });
    const lines = await linesOf(output);
    expect(lines).toHaveLength(97);
    expect(lines.slice(0, 95)).toEqual(accounts.map((account) => expectedAccount(account)));
    expect(lines.slice(95)).toEqual([
      { account: 'bad', accountType: 'x', status: 'invalid', detail: 'accountType must be an integer account type' },
      { account: '', accountType: '', status: 'invalid', detail: 'a row must have "account" (and "accountType") or "token"' },
    ]);
    const ok = accounts.filter((a) => KNOWN.includes(a)).length;
    expect(manifest).toMatchObject({ rows: 97, counts: { ok, not_found: 95 - ok, invalid: 2, error: 0 }, failedRows: 0, calls: 10 });
    expect(tpns.stats.calls).toBe(10);
    expect(JSON.parse(await readFile(companionPaths(output).manifest, 'utf8'))).toEqual(manifest);
    expect(await readFile(companionPaths(output).failed, 'utf8')).toBe('');
  });

  it('reads JSON Lines of tokens and accounts alike', async () => {
    const { input, output } = paths('jsonl');
    await writeFile(input, '{"token":"token1"}\n{"account":"account2","accountType":1}\nnot json\n{"token":"nobody"}\n');
    await exportFile({ input, output, config, clock: virtualClock() });
    const lines = await linesOf(output);
    expect(lines.map((l) => [l.token ?? l.account, l.status])).toEqual([
      ['token1', 'ok'],
      ['account2', 'ok'],
      [undefined, 'invalid'],
      ['nobody', 'not_found'],
    ]);
    expect(lines[2]).toEqual({ status: 'invalid', detail: 'line 3 is not JSON' });
  });

  it('flags the rows whose calls kept failing and lists them as input for a second run; nothing is lost', async () => {
    const { input, output } = paths('csv');
    const accounts = accountsOf(60);
    // Every call holding user-13 fails (503) through its retries: its batch of 10 (rows 10-19) fails.
    tpns.configure({ faultsByItem: { 'user-13@example.com': 'http503' } });
    await writeFile(input, csvOf(accounts));
    const { manifest } = await exportFile({ input, output, config, clock: virtualClock() });
    const lines = await linesOf(output);
    expect(lines.map((l) => l.account)).toEqual(accounts);
    const failedAccounts = accounts.slice(10, 20);
    for (const [i, line] of lines.entries()) {
      if (i >= 10 && i < 20)
        expect(line).toEqual({ account: accounts[i], accountType: 0, status: 'error', reason: 'unavailable', tokens: [] });
      else expect(line).toEqual(expectedAccount(accounts[i]!));
    }
    expect(await linesOf(companionPaths(output).failed)).toEqual(failedAccounts.map((account) => ({ account, accountType: 0 })));
    expect(manifest).toMatchObject({ rows: 60, counts: { error: 10 }, failedRows: 10 });
    // 6 batches; the failing one was tried 4 times (3 retries).
    expect(manifest.calls).toBe(9);
    expect(tpns.stats.calls).toBe(9);
  });

  it('stops at a failure no retry can fix (the key refused), keeping the rows already written', async () => {
    const { input, output } = paths('csv');
    tpns.configure({ faultsByItem: { 'user-25@example.com': TPNS_CODE.AUTH_FAILED } });
    await writeFile(input, csvOf(accountsOf(60)));
    await expect(exportFile({ input, output, config, clock: virtualClock() })).rejects.toMatchObject({ kind: 'credentials_rejected' });
    const lines = await linesOf(output);
    expect(lines.length % config.maxBatch).toBe(0);
    expect(lines.length).toBeLessThanOrEqual(20);
  });
});

describe('npm run export: resume', () => {
  it('a second run skips the rows already in the output (a torn last line included) and finishes the rest', async () => {
    const { input, output } = paths('csv');
    const accounts = accountsOf(300);
    await writeFile(input, csvOf(accounts));
    const stop = new AbortController();
    const first = await exportFile({
      input,
      output,
      config,
      clock: virtualClock(),
      signal: stop.signal,
      onProgress: (p) => {
        if (p.rows >= 20) stop.abort();
      },
    });
    const written = first.manifest.rows;
    expect(written).toBeGreaterThanOrEqual(20);
    expect(written).toBeLessThan(300);
    // An interrupted write: half a line.
    await appendFile(output, '{"account":"user-');
    tpns.resetStats();

    const second = await exportFile({ input, output, config, clock: virtualClock() });
    expect(second.resumedAfter).toBe(written);
    const lines = await linesOf(output);
    expect(lines).toEqual(accounts.map((account) => expectedAccount(account)));
    // Whole batches were written: the second run sends only the batches after them.
    expect(written % config.maxBatch).toBe(0);
    expect(tpns.stats.calls).toBe(Math.ceil((300 - written) / config.maxBatch));
    expect(second.manifest.rows).toBe(300);
    expect(second.manifest.counts.ok + second.manifest.counts.not_found).toBe(300);

    // Done: a third run asks TPNS nothing.
    tpns.resetStats();
    await exportFile({ input, output, config, clock: virtualClock() });
    expect(tpns.stats.calls).toBe(0);
  });

  it('refuses to resume into the output of another input', async () => {
    const a = paths('csv');
    await writeFile(a.input, csvOf(['account1', 'account2']));
    await exportFile({ input: a.input, output: a.output, config, clock: virtualClock() });
    const other = paths('csv');
    await writeFile(other.input, csvOf(['account2', 'account1', 'account3']));
    await expect(exportFile({ input: other.input, output: a.output, config, clock: virtualClock() })).rejects.toThrow(
      /does not hold an export of .*its row 2 is another id/,
    );
  });
});

describe('npm run export: --rate', () => {
  it('keeps to the TPNS call rate over all the batches in flight, on the injected clock', async () => {
    const { input, output } = paths('csv');
    await writeFile(input, csvOf(accountsOf(200)));
    const clock = virtualClock();
    const { manifest } = await exportFile({ input, output, config, clock, callsPerSecond: 5 });
    expect(manifest.calls).toBe(20);
    expect(tpns.stats.calls).toBe(20);
    // 20 calls at 5 per second: the 20th starts 19 × 200 ms after the first, no sooner.
    expect(manifest.durationMs).toBeGreaterThanOrEqual(19 * 200);
    expect(manifest.durationMs).toBeLessThan(20 * 200);
  });
});

describe('npm run export, the command', () => {
  const COMMAND = fileURLToPath(new URL('../../local/export.ts', import.meta.url));
  const run = (args: string[]) =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, [COMMAND, ...args], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk));
      child.once('exit', (code) => resolve({ code, output }));
    });

  it('exports on its own sandbox and prints a summary', async () => {
    const { input, output } = paths('csv');
    await writeFile(input, csvOf(['account1', 'nobody']));
    const { code, output: printed } = await run([input, output, '--rate', '50']);
    expect(code, printed).toBe(0);
    expect(printed).toContain('exported 2 rows');
    expect(printed).toContain('ok 1 · not_found 1 · invalid 0 · error 0');
    expect((await linesOf(output)).map((l) => l.status)).toEqual(['ok', 'not_found']);
  });

  it.each([
    [['only-one-file'], /usage: npm run export/],
    [['a.csv', 'b.jsonl', '--rate', '0'], /--rate must be a positive number/],
    [['a.csv', 'b.jsonl', '--batch', '20000'], /--batch must be an integer from 1 to 10000/],
  ])('%j is refused with a clear message', async (args, message) => {
    const { code, output } = await run(args);
    expect(code).toBe(2);
    expect(output).toMatch(message);
  });
});

import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import template from '../local/events/http-query-accounts.json' with { type: 'json' };

/** The large query of issue 11's figures: 10,000 accounts, measured `runs` times per variant, interleaved (21: a garbage collection lands on one variant or another at random, and 7 runs left the median ratio swinging by 0.3). */
export const LARGE_QUERY = { accounts: 10_000, runs: 21 } as const;

/** What a benchmark child process reports to bench/run.ts over IPC: figures, or samples of one. */
export type ChildReport = Record<string, number | string | number[]>;

/** The event `npm run invoke` uses, as API Gateway would send it, with another JSON body. */
const TEMPLATE = JSON.stringify(template);

/** A fresh event per call: the middy chain parses the body in place. */
export const queryEvent = (body: unknown): APIGatewayProxyEventV2 => {
  const event = JSON.parse(TEMPLATE) as APIGatewayProxyEventV2;
  event.body = JSON.stringify(body);
  event.requestContext.requestId = randomUUID();
  return event;
};

export const accountNames = (count: number): string[] => Array.from({ length: count }, (_, i) => `bench-user-${i}@example.com`);

/** Nearest-rank percentile of samples (ms). */
export const percentile = (samples: readonly number[], p: number): number => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
};

export interface Spread {
  min: number;
  median: number;
  max: number;
}

export const spread = (samples: readonly number[]): Spread => ({
  min: Math.min(...samples),
  median: percentile(samples, 50),
  max: Math.max(...samples),
});

/** Sets sandbox knobs through its HTTP control endpoint (README: "The sandbox: knobs and counters"), as any other process would. */
export const sandboxControl = async (path: string, body?: unknown): Promise<unknown> => {
  const base = process.env.BENCH_SANDBOX_URL;
  if (!base) throw new Error('BENCH_SANDBOX_URL is not set: run through `npm run bench`');
  const response = await fetch(`${base}/_sandbox${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`sandbox control ${path}: HTTP ${response.status} ${await response.text()}`);
  return response.status === 204 ? undefined : response.json();
};

/** Sends the figures to the parent and ends the process (keep-alive sockets would hold it open). */
export const report = (figures: ChildReport): void => {
  if (!process.send) throw new Error('run through `npm run bench`');
  process.send(figures, () => process.exit(0));
};

/** A thrown error ends a child with its message on stderr (inherited by the parent) and a failing exit code. */
export const fail = (error: unknown): never => {
  console.error(error);
  process.exit(1);
};

import type { ServerResponse } from 'node:http';
import { type Fault, parseFaults } from './faults.ts';
import { knobsAsJson, parseKnobs, type SandboxKnobs } from './knobs.ts';
import type { SandboxStats } from './stats.ts';

/**
 * The knobs and counters are also served over HTTP under this path (README: "The sandbox: knobs
 * and counters"), so another process (the benchmark, a user of `npm start`) can turn them.
 */
export const CONTROL_PATH = '/_sandbox';

/** The sandbox as its control endpoint turns it. */
export interface SandboxControls {
  readonly knobs: SandboxKnobs;
  readonly stats: SandboxStats;
  /** Injected faults no call has taken yet. */
  readonly queuedFaults: number;
  configure(knobs: Partial<SandboxKnobs>): void;
  injectFaults(...faults: Fault[]): void;
  rotateKey(accessId: string, secretKey: string): void;
  resetStats(): void;
}

/** `route` is the method and the path below CONTROL_PATH, e.g. "POST /knobs"; `body` the request's text. */
const controlAnswer = (sandbox: SandboxControls, route: string, body: string): { status: number; payload?: unknown } => {
  try {
    const input: unknown = body ? JSON.parse(body) : {};
    switch (route) {
      case 'GET /knobs':
        return { status: 200, payload: knobsAsJson(sandbox.knobs) };
      case 'POST /knobs':
        sandbox.configure(parseKnobs(input));
        return { status: 200, payload: knobsAsJson(sandbox.knobs) };
      case 'POST /faults':
        sandbox.injectFaults(...parseFaults((input as { faults?: unknown }).faults, 'faults'));
        return { status: 200, payload: { queued: sandbox.queuedFaults } };
      case 'POST /rotate': {
        const { accessId, secretKey } = input as { accessId?: unknown; secretKey?: unknown };
        if (typeof accessId !== 'string' || typeof secretKey !== 'string' || secretKey === '') {
          throw new Error('send {"accessId": string, "secretKey": non-empty string}');
        }
        sandbox.rotateKey(accessId, secretKey);
        return { status: 204 };
      }
      case 'GET /stats':
        return { status: 200, payload: sandbox.stats };
      case 'POST /stats/reset':
        sandbox.resetStats();
        return { status: 200, payload: sandbox.stats };
      default:
        return { status: 404, payload: { error: `no sandbox control ${route}; see the README, "The sandbox: knobs and counters"` } };
    }
  } catch (error) {
    return { status: 400, payload: { error: (error as Error).message } };
  }
};

/** Answers a request to `path` (under CONTROL_PATH). */
export const serveControl = (
  sandbox: SandboxControls,
  method: string | undefined,
  path: string,
  body: string,
  res: ServerResponse,
): void => {
  const { status, payload } = controlAnswer(sandbox, `${method} ${path.slice(CONTROL_PATH.length)}`, body);
  if (payload === undefined) res.writeHead(status).end();
  else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
};

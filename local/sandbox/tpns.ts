import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TPNS_CODE } from '../../functions/core/tpns/codes.ts';
import { DEFAULT_REGION, QUERY_PATH } from '../../functions/core/tpns/regions.ts';
import { type QueryAnswerer, queryAnswerer, type Reply, refusal } from './answers.ts';
import { authenticate, claimedAccessId } from './auth.ts';
import { CONTROL_PATH, type SandboxControls, serveControl } from './control.ts';
import { type Fault, faultReply } from './faults.ts';
import { pickFault, SANDBOX_DEFAULTS, type SandboxKnobs } from './knobs.ts';
import { randomSource } from './random.ts';
import { type Binding, SANDBOX_APPS, SANDBOX_BINDINGS, type SandboxApp } from './seed-data.ts';
import { emptyStats, type SandboxStats } from './stats.ts';

/**
 * A local TPNS that speaks /v3/device/account/query as Tencent documents it: both auth
 * schemes checked for real, the documented codes, either response shape. Knobs make it
 * slow, flaky, strict about batch size, or rotate a key; counters show what it was sent.
 * Both are also served over HTTP under CONTROL_PATH.
 */

export { CONTROL_PATH } from './control.ts';
export type { Fault } from './faults.ts';
export { SANDBOX_DEFAULTS, type SandboxKnobs } from './knobs.ts';
export type { SandboxStats } from './stats.ts';

export interface TpnsSandbox {
  url: string;
  /** TPNS_ENDPOINT value that routes each region to its own path here. */
  endpoint: string;
  knobs: SandboxKnobs;
  stats: SandboxStats;
  apps: SandboxApp[];
  bindings: Binding[];
  configure(knobs: Partial<SandboxKnobs>): void;
  /** The next calls get these faults, in order, before any random ones. */
  injectFaults(...faults: Fault[]): void;
  rotateKey(accessId: string, secretKey: string): void;
  resetStats(): void;
  close(): Promise<void>;
}

const PARSE_ERROR = refusal(TPNS_CODE.PARAMETER_PARSE_ERROR, 'parse error');

/** `knobs.seed` makes the sandbox's random choices reproducible from the start (see SandboxKnobs.seed). */
export const startTpnsSandbox = async (
  options: { port?: number; knobs?: Partial<SandboxKnobs>; apps?: SandboxApp[]; bindings?: Binding[] } = {},
): Promise<TpnsSandbox> => {
  const apps = (options.apps ?? SANDBOX_APPS).map((app) => ({ ...app }));
  const bindings = options.bindings ?? SANDBOX_BINDINGS;
  const knobs: SandboxKnobs = { ...SANDBOX_DEFAULTS, ...options.knobs };
  // Each app answers only its own bindings, as TPNS keeps apps apart.
  const answerers = new Map(apps.map(({ accessId }) => [accessId, queryAnswerer(bindings.filter((b) => b.accessId === accessId))]));
  let stats = emptyStats();
  const queued: Fault[] = [];
  const hanging = new Set<ServerResponse>();
  let random = randomSource(knobs.seed);

  /** `counted` is the stats of the call's arrival: a call still running at resetStats() does not spill into the new counts. */
  const answerCall = async (req: IncomingMessage, path: string, body: string, counted: SandboxStats): Promise<Reply | 'reset' | 'hang'> => {
    const match = /^(?:\/([a-z]+))?(\/v3\/[a-z/]+)$/.exec(path);
    if (req.method !== 'POST' || !match || match[2] !== QUERY_PATH) {
      return { status: 404, payload: { retCode: 404, errMsg: 'not found' }, outcome: 'http404' };
    }
    const region = match[1] ?? DEFAULT_REGION;
    if (stats.inFlight > knobs.maxConcurrentCalls) return refusal(TPNS_CODE.RATE_LIMITED, 'request too fast');
    const latency = knobs.latencyMs + random() * knobs.latencyJitterMs;
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    const fault = pickFault(knobs, queued, { accessId: claimedAccessId(req.headers), body }, random);
    if (fault !== undefined) return faultReply(fault);
    const app = authenticate(apps, req.headers, body);
    if (!app) return refusal(TPNS_CODE.AUTH_FAILED, 'authentication failed');
    if (app.region !== region) return refusal(TPNS_CODE.WRONG_ACCESS_POINT, 'access point mismatch');
    let request: unknown;
    try {
      request = JSON.parse(body);
    } catch {
      return PARSE_ERROR;
    }
    if (request === null || typeof request !== 'object') return PARSE_ERROR;
    const { account_list: accounts, token_list: tokens } = request as { account_list?: unknown; token_list?: unknown };
    const list = accounts ?? tokens;
    counted.batchSizes.push(Array.isArray(list) ? list.length : 0);
    return (answerers.get(app.accessId) as QueryAnswerer)(request as Record<string, unknown>, knobs);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, path: string, body: string, counted: SandboxStats): Promise<void> => {
    const reply = await answerCall(req, path, body, counted);
    if (reply === 'reset') {
      counted.outcomes.push('reset');
      req.socket.destroy();
    } else if (reply === 'hang') {
      counted.outcomes.push('hang');
      hanging.add(res);
      res.once('close', () => hanging.delete(res));
    } else {
      counted.outcomes.push(reply.outcome);
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.payload));
    }
  };

  const controls: SandboxControls = {
    knobs,
    get stats() {
      return stats;
    },
    get queuedFaults() {
      return queued.length;
    },
    configure: (changes) => {
      Object.assign(knobs, changes);
      if (changes.seed !== undefined) random = randomSource(changes.seed);
    },
    injectFaults: (...faults) => queued.push(...faults),
    rotateKey: (accessId, secretKey) => {
      const app = apps.find((candidate) => candidate.accessId === accessId);
      if (!app) throw new Error(`no sandbox app ${accessId}`);
      app.secretKey = secretKey;
    },
    resetStats: () => {
      stats = emptyStats(stats.inFlight);
    },
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      // Prefixed, not resolved against a base: `//x` would parse as a host and throw.
      const path = URL.parse(`http://sandbox${req.url ?? '/'}`)?.pathname;
      if (path === undefined) {
        res.writeHead(400).end('unparsable request target');
        return;
      }
      if (path.startsWith(`${CONTROL_PATH}/`)) {
        serveControl(controls, req.method, path, body, res);
        return;
      }
      stats.calls++;
      stats.inFlight++;
      stats.peakConcurrent = Math.max(stats.peakConcurrent, stats.inFlight);
      res.once('close', () => stats.inFlight--);
      handle(req, res, path, body, stats).catch((error: unknown) => {
        res.writeHead(500).end(String(error));
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    endpoint: `${url}/{region}`,
    knobs,
    get stats() {
      return stats;
    },
    apps,
    bindings,
    configure: controls.configure,
    injectFaults: controls.injectFaults,
    rotateKey: controls.rotateKey,
    resetStats: controls.resetStats,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

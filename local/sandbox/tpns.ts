import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signRequest } from '../../functions/core/tpns/auth.ts';
import { TPNS_CODE } from '../../functions/core/tpns/codes.ts';
import { DEFAULT_REGION, QUERY_PATH } from '../../functions/core/tpns/regions.ts';
import { type Binding, SANDBOX_APPS, SANDBOX_BINDINGS, type SandboxApp } from './seed-data.ts';

/**
 * A local TPNS that speaks /v3/device/account/query as Tencent documents it: both auth
 * schemes checked for real, the documented codes, either response shape. Knobs make it
 * slow, flaky, strict about batch size, or rotate a key; counters show what it was sent.
 */
export type Fault = 'http503' | 'rate_limited' | 'internal' | 'reset' | 'hang';

export interface SandboxKnobs {
  /** `new`: account_type/timestamp, sibling list null, errMsg NO_ERROR. `old`: neither, sibling omitted, "ok". */
  shape: 'new' | 'old';
  latencyMs: number;
  /** Share of calls (0..1) answered with a random one of `faultKinds`. */
  faultRate: number;
  faultKinds: Fault[];
  /** Items per call above which TPNS answers 1008007. */
  maxItemsPerCall: number;
}

export const SANDBOX_DEFAULTS: SandboxKnobs = {
  shape: 'new',
  latencyMs: 0,
  faultRate: 0,
  faultKinds: ['http503', 'rate_limited', 'internal', 'reset'],
  maxItemsPerCall: Number.POSITIVE_INFINITY,
};

export interface SandboxStats {
  calls: number;
  inFlight: number;
  peakConcurrent: number;
  /** Items per call, in arrival order. */
  batchSizes: number[];
  /** retCode (or HTTP status / fault) per call, in arrival order. */
  outcomes: string[];
}

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

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const emptyStats = (): SandboxStats => ({ calls: 0, inFlight: 0, peakConcurrent: 0, batchSizes: [], outcomes: [] });

export const startTpnsSandbox = async (
  options: { port?: number; knobs?: Partial<SandboxKnobs>; apps?: SandboxApp[]; bindings?: Binding[] } = {},
): Promise<TpnsSandbox> => {
  const apps = (options.apps ?? SANDBOX_APPS).map((app) => ({ ...app }));
  const bindings = options.bindings ?? SANDBOX_BINDINGS;
  const knobs: SandboxKnobs = { ...SANDBOX_DEFAULTS, ...options.knobs };
  let stats = emptyStats();
  const queued: Fault[] = [];
  const hanging = new Set<ServerResponse>();

  const byAccount = new Map<string, Binding[]>();
  const byToken = new Map<string, Binding[]>();
  for (const b of bindings) {
    const key = `${b.accountType}\u0000${b.account}`;
    byAccount.set(key, [...(byAccount.get(key) ?? []), b]);
    byToken.set(b.token, [...(byToken.get(b.token) ?? []), b]);
  }

  const authenticate = (req: IncomingMessage, body: string): SandboxApp | undefined => {
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (basic) {
      const [accessId, secretKey] = Buffer.from(basic[1]!, 'base64').toString().split(':');
      return apps.find((app) => app.accessId === accessId && app.secretKey === secretKey);
    }
    const accessId = req.headers.accessid;
    const timestamp = req.headers.timestamp;
    const sign = req.headers.sign;
    if (typeof accessId !== 'string' || typeof timestamp !== 'string' || typeof sign !== 'string') return undefined;
    const app = apps.find((candidate) => candidate.accessId === accessId);
    return app && signRequest(app.secretKey, timestamp, accessId, body) === sign ? app : undefined;
  };

  const answer = (app: SandboxApp, request: Record<string, unknown>): Record<string, unknown> => {
    const fail = (retCode: number, errMsg: string) => ({ retCode, errMsg });
    const { operator_type: operatorType } = request;
    if (operatorType === undefined) return fail(TPNS_CODE.PARAMETER_MISSING, 'operator_type is required');
    if (operatorType !== 1 && operatorType !== 2) return fail(TPNS_CODE.INVALID_PARAMETER, 'invalid operator_type');
    const list = operatorType === 1 ? request.account_list : request.token_list;
    if (list === undefined) return fail(TPNS_CODE.PARAMETER_MISSING, 'list is required');
    if (!Array.isArray(list) || list.length === 0) return fail(TPNS_CODE.INVALID_PARAMETER, 'invalid list');
    if (list.length > knobs.maxItemsPerCall) return fail(TPNS_CODE.INVALID_PARAMETER, 'too many items');
    const isNew = knobs.shape === 'new';
    const ok = { retCode: 0, errMsg: isNew ? 'NO_ERROR' : 'ok' };
    const result: string[] = [];
    if (operatorType === 1) {
      const accountTokens: Record<string, unknown>[] = [];
      for (const entry of list as unknown[]) {
        const { account, account_type: type = 0 } = (entry ?? {}) as { account?: unknown; account_type?: unknown };
        if (typeof account !== 'string' || typeof type !== 'number') return fail(TPNS_CODE.INVALID_PARAMETER, 'invalid account_list');
        const found = byAccount.get(`${type}\u0000${account}`) ?? [];
        result.push(String(found.length ? TPNS_CODE.OK : TPNS_CODE.NOT_FOUND));
        // The new shape lists unknown accounts with no tokens; the old one leaves them out.
        if (found.length || isNew) {
          accountTokens.push({ account, ...(isNew ? { account_type: type } : {}), token_list: found.map((b) => b.token) });
        }
      }
      return { ...ok, result, account_tokens: accountTokens, ...(isNew ? { token_accounts: null } : {}) };
    }
    const tokenAccounts: Record<string, unknown>[] = [];
    for (const token of list as unknown[]) {
      if (typeof token !== 'string') return fail(TPNS_CODE.INVALID_PARAMETER, 'invalid token_list');
      if (!TOKEN_PATTERN.test(token)) {
        result.push(String(TPNS_CODE.INVALID_TOKEN));
        continue;
      }
      const found = byToken.get(token) ?? [];
      result.push(String(found.length ? TPNS_CODE.OK : TPNS_CODE.NOT_FOUND));
      if (found.length || isNew) {
        tokenAccounts.push({
          token,
          account_list: found.map((b) => ({
            account: b.account,
            ...(isNew ? { account_type: b.accountType, timestamp: b.boundAt } : {}),
          })),
        });
      }
    }
    return { ...ok, result, ...(isNew ? { account_tokens: null } : {}), token_accounts: tokenAccounts };
  };

  const nextFault = (): Fault | undefined => {
    if (queued.length) return queued.shift();
    if (knobs.faultRate > 0 && Math.random() < knobs.faultRate) {
      return knobs.faultKinds[Math.floor(Math.random() * knobs.faultKinds.length)];
    }
    return undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, body: string): Promise<void> => {
    const send = (status: number, payload: unknown, outcome: string) => {
      stats.outcomes.push(outcome);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };
    const match = /^(?:\/([a-z]+))?(\/v3\/[a-z/]+)$/.exec(new URL(req.url ?? '/', 'http://sandbox').pathname);
    if (req.method !== 'POST' || !match || match[2] !== QUERY_PATH) {
      return send(404, { retCode: 404, errMsg: 'not found' }, 'http404');
    }
    const region = match[1] ?? DEFAULT_REGION;
    if (knobs.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, knobs.latencyMs));
    const fault = nextFault();
    switch (fault) {
      case 'http503':
        return send(503, { message: 'Service Unavailable' }, 'http503');
      case 'rate_limited':
        return send(200, { retCode: TPNS_CODE.RATE_LIMITED, errMsg: 'request too fast' }, String(TPNS_CODE.RATE_LIMITED));
      case 'internal':
        return send(200, { retCode: TPNS_CODE.INTERNAL_ERROR, errMsg: 'internal error' }, String(TPNS_CODE.INTERNAL_ERROR));
      case 'reset':
        stats.outcomes.push('reset');
        req.socket.destroy();
        return;
      case 'hang':
        stats.outcomes.push('hang');
        hanging.add(res);
        return;
    }
    const app = authenticate(req, body);
    if (!app) return send(200, { retCode: TPNS_CODE.AUTH_FAILED, errMsg: 'authentication failed' }, String(TPNS_CODE.AUTH_FAILED));
    if (app.region !== region) {
      return send(200, { retCode: TPNS_CODE.WRONG_ACCESS_POINT, errMsg: 'access point mismatch' }, String(TPNS_CODE.WRONG_ACCESS_POINT));
    }
    let request: unknown;
    try {
      request = JSON.parse(body);
    } catch {
      return send(200, { retCode: TPNS_CODE.PARAMETER_PARSE_ERROR, errMsg: 'parse error' }, String(TPNS_CODE.PARAMETER_PARSE_ERROR));
    }
    if (request === null || typeof request !== 'object') {
      return send(200, { retCode: TPNS_CODE.PARAMETER_PARSE_ERROR, errMsg: 'parse error' }, String(TPNS_CODE.PARAMETER_PARSE_ERROR));
    }
    const list = (request as { account_list?: unknown; token_list?: unknown }).account_list ?? (request as { token_list?: unknown }).token_list;
    stats.batchSizes.push(Array.isArray(list) ? list.length : 0);
    const payload = answer(app, request as Record<string, unknown>);
    send(200, payload, String(payload.retCode));
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      stats.calls++;
      stats.inFlight++;
      stats.peakConcurrent = Math.max(stats.peakConcurrent, stats.inFlight);
      const done = () => stats.inFlight--;
      res.once('close', done);
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((error: unknown) => {
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
    configure: (changes) => Object.assign(knobs, changes),
    injectFaults: (...faults) => queued.push(...faults),
    rotateKey: (accessId, secretKey) => {
      const app = apps.find((candidate) => candidate.accessId === accessId);
      if (!app) throw new Error(`no sandbox app ${accessId}`);
      app.secretKey = secretKey;
    },
    resetStats: () => {
      stats = emptyStats();
    },
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

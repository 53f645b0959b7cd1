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
 * The knobs and counters are also served over HTTP under CONTROL_PATH (README: "The sandbox: knobs and counters"),
 * so another process (the benchmark, a user of `npm start`) can turn them.
 */

/**
 * How a call can go wrong: HTTP 503 / 429, retCode 1008028 (`rate_limited`) or 1008004
 * (`internal`), a dropped connection, no answer at all, or any other whole-call retCode.
 */
export type Fault = 'http503' | 'http429' | 'rate_limited' | 'internal' | 'reset' | 'hang' | number;

const NAMED_FAULTS: readonly Fault[] = ['http503', 'http429', 'rate_limited', 'internal', 'reset', 'hang'];

export const CONTROL_PATH = '/_sandbox';

export interface SandboxKnobs {
  /** `new`: account_type/timestamp, sibling list null, errMsg NO_ERROR. `old`: neither, sibling omitted, "ok". */
  shape: 'new' | 'old';
  latencyMs: number;
  /** Up to this much more per call, uniformly: answers to concurrent calls come back spread out. */
  latencyJitterMs: number;
  /** Share of calls (0..1) answered with a random one of `faultKinds`. */
  faultRate: number;
  faultKinds: Fault[];
  /** Items per call above which TPNS answers 1008007. */
  maxItemsPerCall: number;
  /** A call listing one of these accounts or tokens gets that fault, every time (e.g. 1008007 for an id TPNS refuses). */
  faultsByItem: Record<string, Fault>;
}

export const SANDBOX_DEFAULTS: SandboxKnobs = {
  shape: 'new',
  latencyMs: 0,
  latencyJitterMs: 0,
  faultRate: 0,
  faultKinds: ['http503', 'rate_limited', 'internal', 'reset'],
  maxItemsPerCall: Number.POSITIVE_INFINITY,
  faultsByItem: {},
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

  const answer = (request: Record<string, unknown>): Record<string, unknown> => {
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

  const itemFault = (body: string): Fault | undefined => {
    if (Object.keys(knobs.faultsByItem).length === 0) return undefined;
    let request: { account_list?: unknown; token_list?: unknown };
    try {
      request = JSON.parse(body);
    } catch {
      return undefined;
    }
    const list = Array.isArray(request?.account_list) ? request.account_list : Array.isArray(request?.token_list) ? request.token_list : [];
    for (const entry of list as unknown[]) {
      const id = typeof entry === 'string' ? entry : (entry as { account?: unknown } | null)?.account;
      if (typeof id === 'string' && Object.hasOwn(knobs.faultsByItem, id)) return knobs.faultsByItem[id];
    }
    return undefined;
  };

  const nextFault = (body: string): Fault | undefined => {
    if (queued.length) return queued.shift();
    const byItem = itemFault(body);
    if (byItem !== undefined) return byItem;
    if (knobs.faultRate > 0 && Math.random() < knobs.faultRate) {
      return knobs.faultKinds[Math.floor(Math.random() * knobs.faultKinds.length)];
    }
    return undefined;
  };

  /** `counted` is the stats of the call's arrival: a call still running at resetStats() does not spill into the new counts. */
  const handle = async (req: IncomingMessage, res: ServerResponse, body: string, counted: SandboxStats): Promise<void> => {
    const send = (status: number, payload: unknown, outcome: string) => {
      counted.outcomes.push(outcome);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };
    const match = /^(?:\/([a-z]+))?(\/v3\/[a-z/]+)$/.exec(new URL(req.url ?? '/', 'http://sandbox').pathname);
    if (req.method !== 'POST' || !match || match[2] !== QUERY_PATH) {
      return send(404, { retCode: 404, errMsg: 'not found' }, 'http404');
    }
    const region = match[1] ?? DEFAULT_REGION;
    const latency = knobs.latencyMs + Math.random() * knobs.latencyJitterMs;
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    const fault = nextFault(body);
    if (typeof fault === 'number') return send(200, { retCode: fault, errMsg: 'injected fault' }, String(fault));
    switch (fault) {
      case 'http503':
        return send(503, { message: 'Service Unavailable' }, 'http503');
      case 'http429':
        return send(429, { message: 'Too Many Requests' }, 'http429');
      case 'rate_limited':
        return send(200, { retCode: TPNS_CODE.RATE_LIMITED, errMsg: 'request too fast' }, String(TPNS_CODE.RATE_LIMITED));
      case 'internal':
        return send(200, { retCode: TPNS_CODE.INTERNAL_ERROR, errMsg: 'internal error' }, String(TPNS_CODE.INTERNAL_ERROR));
      case 'reset':
        counted.outcomes.push('reset');
        req.socket.destroy();
        return;
      case 'hang':
        counted.outcomes.push('hang');
        hanging.add(res);
        res.once('close', () => hanging.delete(res));
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
    const list =
      (request as { account_list?: unknown; token_list?: unknown }).account_list ?? (request as { token_list?: unknown }).token_list;
    counted.batchSizes.push(Array.isArray(list) ? list.length : 0);
    const payload = answer(request as Record<string, unknown>);
    send(200, payload, String(payload.retCode));
  };

  const configure = (changes: Partial<SandboxKnobs>) => Object.assign(knobs, changes);
  const injectFaults = (...faults: Fault[]) => queued.push(...faults);
  const rotateKey = (accessId: string, secretKey: string) => {
    const app = apps.find((candidate) => candidate.accessId === accessId);
    if (!app) throw new Error(`no sandbox app ${accessId}`);
    app.secretKey = secretKey;
  };
  // Calls still in flight keep counting down the new counters.
  const resetStats = () => {
    stats = { ...emptyStats(), inFlight: stats.inFlight };
  };

  /** The knobs and counters over HTTP; not counted as TPNS calls. */
  const control = (req: IncomingMessage, res: ServerResponse, path: string, body: string): void => {
    const reply = (status: number, payload?: unknown) => {
      if (payload === undefined) return void res.writeHead(status).end();
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload, knobsReplacer));
    };
    const route = `${req.method} ${path.slice(CONTROL_PATH.length)}`;
    try {
      const input: unknown = body ? JSON.parse(body) : {};
      switch (route) {
        case 'GET /knobs':
          return reply(200, knobs);
        case 'POST /knobs':
          configure(parseKnobs(input));
          return reply(200, knobs);
        case 'POST /faults':
          injectFaults(...parseFaults((input as { faults?: unknown }).faults, 'faults'));
          return reply(200, { queued: queued.length });
        case 'POST /rotate': {
          const { accessId, secretKey } = input as { accessId?: unknown; secretKey?: unknown };
          if (typeof accessId !== 'string' || typeof secretKey !== 'string' || secretKey === '') {
            throw new Error('send {"accessId": string, "secretKey": non-empty string}');
          }
          rotateKey(accessId, secretKey);
          return reply(204);
        }
        case 'GET /stats':
          return reply(200, stats);
        case 'POST /stats/reset':
          resetStats();
          return reply(200, stats);
        default:
          return reply(404, { error: `no sandbox control ${route}; see the README, "The sandbox: knobs and counters"` });
      }
    } catch (error) {
      return reply(400, { error: (error as Error).message });
    }
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://sandbox').pathname;
      if (path.startsWith(`${CONTROL_PATH}/`)) return control(req, res, path, Buffer.concat(chunks).toString('utf8'));
      stats.calls++;
      stats.inFlight++;
      stats.peakConcurrent = Math.max(stats.peakConcurrent, stats.inFlight);
      res.once('close', () => stats.inFlight--);
      handle(req, res, Buffer.concat(chunks).toString('utf8'), stats).catch((error: unknown) => {
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
    configure,
    injectFaults,
    rotateKey,
    resetStats,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

/** JSON has no Infinity: an unlimited maxItemsPerCall travels as null. */
const knobsReplacer = (key: string, value: unknown) => (key === 'maxItemsPerCall' && value === Number.POSITIVE_INFINITY ? null : value);

const isFault = (value: unknown): value is Fault =>
  NAMED_FAULTS.includes(value as Fault) || (typeof value === 'number' && Number.isSafeInteger(value) && value !== TPNS_CODE.OK);

const parseFaults = (value: unknown, name: string): Fault[] => {
  if (!Array.isArray(value) || !value.every(isFault)) {
    throw new Error(`"${name}" must be an array of ${NAMED_FAULTS.join(', ')} or non-zero TPNS retCodes`);
  }
  return value;
};

/** A knobs change as sent over HTTP, checked field by field so a typo is an error, not a silent no-op. */
const parseKnobs = (input: unknown): Partial<SandboxKnobs> => {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new Error('send a JSON object of knobs');
  const knobs: Partial<SandboxKnobs> = {};
  for (const [name, value] of Object.entries(input)) {
    const fail = (expected: string) => new Error(`"${name}" must be ${expected}`);
    switch (name) {
      case 'shape':
        if (value !== 'new' && value !== 'old') throw fail('"new" or "old"');
        knobs.shape = value;
        break;
      case 'latencyMs':
      case 'latencyJitterMs':
        if (typeof value !== 'number' || !(value >= 0)) throw fail('a number of milliseconds >= 0');
        knobs[name] = value;
        break;
      case 'faultRate':
        if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw fail('a number from 0 to 1');
        knobs.faultRate = value;
        break;
      case 'faultKinds':
        knobs.faultKinds = parseFaults(value, name);
        break;
      case 'maxItemsPerCall':
        if (value !== null && (typeof value !== 'number' || !Number.isInteger(value) || value < 0))
          throw fail('an integer >= 0, or null for no limit');
        knobs.maxItemsPerCall = value ?? Number.POSITIVE_INFINITY;
        break;
      case 'faultsByItem':
        if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.values(value).every(isFault)) {
          throw fail('an object of account or token → fault');
        }
        knobs.faultsByItem = value as Record<string, Fault>;
        break;
      default:
        throw new Error(`unknown knob "${name}"; knobs: ${Object.keys(SANDBOX_DEFAULTS).join(', ')}`);
    }
  }
  return knobs;
};

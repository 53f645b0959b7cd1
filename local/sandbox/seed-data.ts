/**
 * The sandbox's small world: apps (credentials and access point) and account↔token
 * bindings, chosen so both seed pages' sample requests find something.
 */
export interface SandboxApp {
  accessId: string;
  secretKey: string;
  region: string;
}

export interface Binding {
  account: string;
  accountType: number;
  token: string;
  /** Unix seconds. */
  boundAt: number;
}

/** Tencent's published example credentials: harmless, and they make the signature vector checkable. */
export const SANDBOX_APPS: readonly [SandboxApp, ...SandboxApp[]] = [
  { accessId: '1500001048', secretKey: '1452fcebae9f3115ba794fb0fff2fd73', region: 'guangzhou' },
  { accessId: '1600002222', secretKey: 'b7e1c3a9d5f2e8c4a6b0d9f3e7c1a5b2', region: 'singapore' },
];

export const SANDBOX_BINDINGS: Binding[] = [
  { account: 'account1', accountType: 0, token: 'token1', boundAt: 1691656271 },
  { account: 'account1', accountType: 0, token: 'token2', boundAt: 1691656272 },
  { account: 'account2', accountType: 0, token: 'token2', boundAt: 1691656271 },
  { account: 'account2', accountType: 0, token: 'token3', boundAt: 1691656273 },
  { account: 'account2', accountType: 1, token: 'token3', boundAt: 1691656274 },
  { account: '926@126.com', accountType: 0, token: 'token1', boundAt: 1691656271 },
  { account: '1527000000', accountType: 0, token: 'token1', boundAt: 1691656272 },
  { account: '926@163.com', accountType: 0, token: 'token2', boundAt: 1691656271 },
  { account: '1527000001', accountType: 0, token: 'token2', boundAt: 1691656271 },
  { account: '+8613711112222', accountType: 1002, token: '0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b', boundAt: 1700000000 },
  { account: 'ops@example.com', accountType: 1005, token: '0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b', boundAt: 1700000100 },
];

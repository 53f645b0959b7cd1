/**
 * The sandbox's small world: a product's two apps (credentials and access point) and account↔token
 * bindings on each, chosen so both seed pages' sample requests find something on the first app, and
 * accounts are bound on one app, the other, or both.
 */
export interface SandboxApp {
  /** Its name in an `{"apps": [...]}` secret. */
  name: string;
  accessId: string;
  secretKey: string;
  region: string;
}

export interface Binding {
  /** The app that holds the binding: TPNS answers each app only its own. */
  accessId: string;
  account: string;
  accountType: number;
  token: string;
  /** Unix seconds. */
  boundAt: number;
}

/** Tencent's published example credentials: harmless, and they make the signature vector checkable. */
export const SANDBOX_APPS: readonly [SandboxApp, SandboxApp] = [
  { name: 'android', accessId: '1500001048', secretKey: '1452fcebae9f3115ba794fb0fff2fd73', region: 'guangzhou' },
  { name: 'ios', accessId: '1600002222', secretKey: 'b7e1c3a9d5f2e8c4a6b0d9f3e7c1a5b2', region: 'singapore' },
];

const [ANDROID, IOS] = SANDBOX_APPS;

export const SANDBOX_BINDINGS: Binding[] = [
  { accessId: ANDROID.accessId, account: 'account1', accountType: 0, token: 'token1', boundAt: 1691656271 },
  { accessId: ANDROID.accessId, account: 'account1', accountType: 0, token: 'token2', boundAt: 1691656272 },
  { accessId: ANDROID.accessId, account: 'account2', accountType: 0, token: 'token2', boundAt: 1691656271 },
  { accessId: ANDROID.accessId, account: 'account2', accountType: 0, token: 'token3', boundAt: 1691656273 },
  { accessId: ANDROID.accessId, account: 'account2', accountType: 1, token: 'token3', boundAt: 1691656274 },
  { accessId: ANDROID.accessId, account: '926@126.com', accountType: 0, token: 'token1', boundAt: 1691656271 },
  { accessId: ANDROID.accessId, account: '1527000000', accountType: 0, token: 'token1', boundAt: 1691656272 },
  { accessId: ANDROID.accessId, account: '926@163.com', accountType: 0, token: 'token2', boundAt: 1691656271 },
  { accessId: ANDROID.accessId, account: '1527000001', accountType: 0, token: 'token2', boundAt: 1691656271 },
  {
    accessId: ANDROID.accessId,
    account: '+8613711112222',
    accountType: 1002,
    token: '0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b',
    boundAt: 1700000000,
  },
  {
    accessId: ANDROID.accessId,
    account: 'ops@example.com',
    accountType: 1005,
    token: '0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b',
    boundAt: 1700000100,
  },
  // The second app: account1 is bound on both apps, account3 on this one only.
  { accessId: IOS.accessId, account: 'account1', accountType: 0, token: 'token9', boundAt: 1700000200 },
  { accessId: IOS.accessId, account: 'account3', accountType: 0, token: 'token8', boundAt: 1700000300 },
];

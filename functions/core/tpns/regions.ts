/** TPNS access points. Data is isolated per access point: an app lives in exactly one. */
export const ACCESS_POINTS = {
  guangzhou: 'https://api.tpns.tencent.com',
  shanghai: 'https://api.tpns.sh.tencent.com',
  hongkong: 'https://api.tpns.hk.tencent.com',
  singapore: 'https://api.tpns.sgp.tencent.com',
} as const;

export type Region = keyof typeof ACCESS_POINTS;

export const DEFAULT_REGION: Region = 'guangzhou';
export const REGIONS = Object.keys(ACCESS_POINTS) as Region[];

export const QUERY_PATH = '/v3/device/account/query';

export const isRegion = (value: unknown): value is Region => typeof value === 'string' && Object.hasOwn(ACCESS_POINTS, value);

/**
 * Base URL for a region; `endpointOverride` (TPNS_ENDPOINT) replaces the host, so a sandbox
 * or a TPNS-compatible proxy sees the same calls production makes. A `{region}` in it is
 * replaced by the region key, so one proxy can stand in for all four access points.
 */
export const baseUrlFor = (region: Region, endpointOverride?: string): string =>
  (endpointOverride === undefined ? ACCESS_POINTS[region] : endpointOverride.replaceAll('{region}', region)).replace(/\/+$/, '');

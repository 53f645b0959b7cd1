/**
 * The TPNS status codes this service meets, as Tencent's v3 API documents them. `retCode` describes
 * the whole call (failures.ts says what each becomes); `result[i]` describes queried item i (`itemStatus`).
 */
export const TPNS_CODE = {
  OK: 0,
  PARAMETER_PARSE_ERROR: 1008001,
  PARAMETER_MISSING: 1008002,
  AUTH_FAILED: 1008003,
  INTERNAL_ERROR: 1008004,
  INVALID_TOKEN: 1008006,
  INVALID_PARAMETER: 1008007,
  BATCH_PARTIALLY_FAILED: 1008026,
  BATCH_FAILED: 1008027,
  RATE_LIMITED: 1008028,
  INVALID_TOKEN_ALT: 1008029,
  APP_NOT_PAID: 1008030,
  APP_TERMINATED: 1008031,
  WRONG_ACCESS_POINT: 1008035,
  NOT_FOUND: 10110008,
} as const;

/** Tencent's wording, for error details. */
export const CODE_MEANING: Readonly<Record<number, string>> = {
  [TPNS_CODE.PARAMETER_PARSE_ERROR]: 'parameter parse error',
  [TPNS_CODE.PARAMETER_MISSING]: 'required parameter missing',
  [TPNS_CODE.AUTH_FAILED]: 'authentication failed',
  [TPNS_CODE.INTERNAL_ERROR]: 'internal service call failed',
  [TPNS_CODE.INVALID_TOKEN]: 'invalid token',
  [TPNS_CODE.INVALID_PARAMETER]: 'invalid parameter',
  [TPNS_CODE.BATCH_PARTIALLY_FAILED]: 'batch operation partially failed',
  [TPNS_CODE.BATCH_FAILED]: 'batch operation completely failed',
  [TPNS_CODE.RATE_LIMITED]: 'request too fast',
  [TPNS_CODE.INVALID_TOKEN_ALT]: 'invalid token',
  [TPNS_CODE.APP_NOT_PAID]: 'app not paid',
  [TPNS_CODE.APP_TERMINATED]: 'app resources terminated',
  [TPNS_CODE.WRONG_ACCESS_POINT]: 'wrong AccessId, or the app belongs to another access point',
  [TPNS_CODE.NOT_FOUND]: 'token or account does not exist',
};

export const describeCode = (code: number): string => `${code} ${CODE_MEANING[code] ?? 'undocumented code'}`;

export type ItemStatus = 'ok' | 'not_found' | 'invalid' | 'error';

/** Per-item code → the normalized status a caller sees. */
export const itemStatus = (code: number): ItemStatus => {
  switch (code) {
    case TPNS_CODE.OK:
      return 'ok';
    case TPNS_CODE.NOT_FOUND:
      return 'not_found';
    case TPNS_CODE.INVALID_TOKEN:
    case TPNS_CODE.INVALID_TOKEN_ALT:
      return 'invalid';
    default:
      return 'error';
  }
};

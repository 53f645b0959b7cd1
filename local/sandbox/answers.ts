import { TPNS_CODE } from '../../functions/core/tpns/codes.ts';
import type { Binding } from './seed-data.ts';

/** What the sandbox sends back for one call, and what the call counts as in the stats' outcomes. */
export interface Reply {
  status: number;
  payload: unknown;
  outcome: string;
}

/** TPNS refusing the whole call: HTTP 200, the reason in retCode. */
export const refusal = (retCode: number, errMsg: string): Reply => ({
  status: 200,
  payload: { retCode, errMsg },
  outcome: String(retCode),
});

/** The two documented response shapes (see queryAnswerer). */
export type ResponseShape = 'new' | 'old';

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** The answer to one parsed /v3/device/account/query body. */
export type QueryAnswerer = (request: Record<string, unknown>, options: { shape: ResponseShape; maxItemsPerCall: number }) => Reply;

/**
 * Looks `bindings` up by account (and account type) or by token, and answers in either documented
 * shape. `new`: account_type/timestamp, the other list null, errMsg NO_ERROR. `old`: neither, the
 * other list omitted, errMsg "ok".
 */
export const queryAnswerer = (bindings: readonly Binding[]): QueryAnswerer => {
  const byAccount = new Map<string, Binding[]>();
  const byToken = new Map<string, Binding[]>();
  for (const b of bindings) {
    const key = `${b.accountType}\u0000${b.account}`;
    byAccount.set(key, [...(byAccount.get(key) ?? []), b]);
    byToken.set(b.token, [...(byToken.get(b.token) ?? []), b]);
  }

  return (request, { shape, maxItemsPerCall }) => {
    const { operator_type: operatorType } = request;
    if (operatorType === undefined) return refusal(TPNS_CODE.PARAMETER_MISSING, 'operator_type is required');
    if (operatorType !== 1 && operatorType !== 2) return refusal(TPNS_CODE.INVALID_PARAMETER, 'invalid operator_type');
    const list = operatorType === 1 ? request.account_list : request.token_list;
    if (list === undefined) return refusal(TPNS_CODE.PARAMETER_MISSING, 'list is required');
    if (!Array.isArray(list) || list.length === 0) return refusal(TPNS_CODE.INVALID_PARAMETER, 'invalid list');
    if (list.length > maxItemsPerCall) return refusal(TPNS_CODE.INVALID_PARAMETER, 'too many items');
    const isNew = shape === 'new';
    const result: string[] = [];
    const answered = (lists: Record<string, unknown>): Reply => ({
      status: 200,
      payload: { retCode: TPNS_CODE.OK, errMsg: isNew ? 'NO_ERROR' : 'ok', result, ...lists },
      outcome: String(TPNS_CODE.OK),
    });
    if (operatorType === 1) {
      const accountTokens: Record<string, unknown>[] = [];
      for (const entry of list as unknown[]) {
        const { account, account_type: type = 0 } = (entry ?? {}) as { account?: unknown; account_type?: unknown };
        if (typeof account !== 'string' || typeof type !== 'number') return refusal(TPNS_CODE.INVALID_PARAMETER, 'invalid account_list');
        const found = byAccount.get(`${type}\u0000${account}`) ?? [];
        result.push(String(found.length ? TPNS_CODE.OK : TPNS_CODE.NOT_FOUND));
        // The new shape lists unknown accounts with no tokens; the old one leaves them out.
        if (found.length || isNew) {
          accountTokens.push({ account, ...(isNew ? { account_type: type } : {}), token_list: found.map((b) => b.token) });
        }
      }
      return answered({ account_tokens: accountTokens, ...(isNew ? { token_accounts: null } : {}) });
    }
    const tokenAccounts: Record<string, unknown>[] = [];
    for (const token of list as unknown[]) {
      if (typeof token !== 'string') return refusal(TPNS_CODE.INVALID_PARAMETER, 'invalid token_list');
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
    return answered({ ...(isNew ? { account_tokens: null } : {}), token_accounts: tokenAccounts });
  };
};

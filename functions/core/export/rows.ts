import type { AccountKey } from '../normalize.ts';
import { requestSchemas } from '../request.ts';

/**
 * One input row of a bulk export, checked: an account (with its type, 0 unless given), a token, or
 * invalid, with why. An invalid row still gets its line in the output: nothing is dropped.
 */
export type ExportRow =
  | { kind: 'accounts'; item: AccountKey }
  | { kind: 'tokens'; item: string }
  | { kind: 'invalid'; fields: InputFields; detail: string };

/** The fields of a row this export reads, as given; any other column is ignored. */
export type InputFields = { account?: unknown; accountType?: unknown; token?: unknown };

/** A line of JSON Lines input that is not JSON: it becomes an invalid row in its place. */
export class UnreadableRow {
  readonly detail: string;
  constructor(detail: string) {
    this.detail = detail;
  }
}

const inputFields = (row: Record<string, unknown>): InputFields => {
  const fields: InputFields = {};
  if (Object.hasOwn(row, 'account')) fields.account = row.account;
  if (Object.hasOwn(row, 'accountType')) fields.accountType = row.accountType;
  if (Object.hasOwn(row, 'token')) fields.token = row.token;
  return fields;
};

const checkId = (value: unknown, field: 'account' | 'token'): string | { detail: string } => {
  const parsed = requestSchemas().id.safeParse(value);
  return parsed.success ? parsed.data : { detail: `${field} ${parsed.error.issues[0]?.message}` };
};

/** CSV gives every value as a string ("" for an empty cell); JSON Lines may give a number. */
const checkAccountType = (value: unknown): number | { detail: string } => {
  if (value === undefined || value === '' || value === null) return 0;
  const number = typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : value;
  const parsed = requestSchemas().accountType.safeParse(number);
  return parsed.success ? parsed.data : { detail: `accountType ${parsed.error.issues[0]?.message}` };
};

/** A row as the input gives it: an object of CSV cells or a JSON Lines value (or an UnreadableRow). */
export const parseRow = (row: unknown): ExportRow => {
  if (row instanceof UnreadableRow) return { kind: 'invalid', fields: {}, detail: row.detail };
  if (row === null || typeof row !== 'object' || Array.isArray(row)) {
    return { kind: 'invalid', fields: {}, detail: 'a row must be an object with "account" (and "accountType") or "token"' };
  }
  const fields = inputFields(row as Record<string, unknown>);
  const invalid = (detail: string): ExportRow => ({ kind: 'invalid', fields, detail });
  const hasAccount = fields.account !== undefined && fields.account !== '';
  const hasToken = fields.token !== undefined && fields.token !== '';
  if (hasAccount && hasToken) return invalid('a row must have "account" or "token", not both');
  if (hasToken) {
    if (fields.accountType !== undefined && fields.accountType !== '') return invalid('a token row takes no "accountType"');
    const token = checkId(fields.token, 'token');
    return typeof token === 'string' ? { kind: 'tokens', item: token } : invalid(token.detail);
  }
  if (!hasAccount) return invalid('a row must have "account" (and "accountType") or "token"');
  const account = checkId(fields.account, 'account');
  if (typeof account !== 'string') return invalid(account.detail);
  const accountType = checkAccountType(fields.accountType);
  return typeof accountType === 'number' ? { kind: 'accounts', item: { account, accountType } } : invalid(accountType.detail);
};

/**
 * What identifies a row in the output: the fields its line starts with (an item's id, or an invalid
 * row's fields as given), so that a resumed local run can check the output belongs to this input.
 */
export const rowIdentity = (row: ExportRow): string => {
  if (row.kind === 'accounts') return JSON.stringify({ account: row.item.account, accountType: row.item.accountType });
  if (row.kind === 'tokens') return JSON.stringify({ token: row.item });
  return JSON.stringify(row.fields);
};

/** The same, read back from an output line. */
export const lineIdentity = (line: Record<string, unknown>): string => JSON.stringify(inputFields(line));

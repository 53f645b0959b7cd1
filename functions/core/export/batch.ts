import { type Clock, systemClock } from '../clock.ts';
import type { AccountKey } from '../normalize.ts';
import type { CallRate } from '../query/rate.ts';
import { type Answer, failedItem } from '../query/run.ts';
import { type QueryOptions, runQuery } from '../query.ts';
import type { Query } from '../request.ts';
import { FAILURES, TpnsError } from '../tpns/failures.ts';
import { type ExportRow, type InputFields, parseRow } from './rows.ts';

/** A row of the input with its 0-based position in it (Step Functions' `$$.Map.Item.Index`). */
export interface IndexedRow {
  index: number;
  row: unknown;
}

export type StatusCounts = { ok: number; not_found: number; invalid: number; error: number };

export const noCounts = (): StatusCounts => ({ ok: 0, not_found: 0, invalid: 0, error: 0 });

export const addCounts = (total: StatusCounts, more: StatusCounts): StatusCounts => {
  for (const status of Object.keys(total) as (keyof StatusCounts)[]) total[status] += more[status];
  return total;
};

/** What a batch leaves to be written: one output line per row, in order, and the rows to ask again. */
export interface BatchOutput {
  /** One JSON line per row (with its "\n"): the HTTP API's item object, or an invalid row's fields, `status` and `detail`. */
  lines: string[];
  /** The rows answered `error` (after their retries), as input rows (JSON Lines), for a second run. */
  failedRows: string[];
  counts: StatusCounts;
}

export type BatchOptions = Omit<QueryOptions, 'clock' | 'callRate'> & { clock?: Clock; callRate: CallRate };

/** A row TPNS was never asked about: its input fields, as given, and why. */
const invalidLine = (fields: InputFields, detail: string): string => `${JSON.stringify({ ...fields, status: 'invalid', detail })}\n`;

const retryRow = (answer: Pick<Answer, 'status'> & ({ token: string } | AccountKey)): string =>
  `${JSON.stringify('token' in answer ? { token: answer.token } : { account: answer.account, accountType: answer.accountType })}\n`;

const accountKey = ({ account, accountType }: AccountKey): string => `${accountType}\u0000${account}`;

/**
 * Answers each distinct item of one kind: runQuery, as the HTTP API does. A whole query that fails
 * after its retries (TPNS unavailable for all its chunks) answers its items with `error`, to be
 * listed and asked again; a failure no retry can fix (the key refused, the access point wrong, the
 * app suspended) is thrown: every other batch would meet it too.
 */
const answer = async (query: Query, options: BatchOptions): Promise<Answer[]> => {
  try {
    const result = await runQuery(query, { ...options, clock: options.clock ?? systemClock });
    return result.kind === 'accounts' ? result.accounts : result.tokens;
  } catch (error) {
    if (!(error instanceof TpnsError) || FAILURES[error.kind].permanent) throw error;
    return (query.items as (AccountKey | string)[]).map((item) => failedItem(item, error));
  }
};

/**
 * The core of a bulk export, the same for the batch Lambda and `npm run export`: checks each row,
 * asks TPNS about the distinct accounts and tokens (at most the options' call rate), and answers
 * every row with its line, in the rows' order.
 */
export const exportBatch = async (rows: readonly IndexedRow[], options: BatchOptions): Promise<BatchOutput> => {
  const parsed: ExportRow[] = rows.map(({ row }) => parseRow(row));
  const accounts = new Map<string, AccountKey>();
  const tokens = new Set<string>();
  for (const row of parsed) {
    if (row.kind === 'accounts') accounts.set(accountKey(row.item), row.item);
    else if (row.kind === 'tokens') tokens.add(row.item);
  }
  const byAccount = new Map<string, Answer>();
  if (accounts.size > 0) {
    for (const item of await answer({ kind: 'accounts', items: [...accounts.values()] }, options)) {
      byAccount.set(accountKey(item as AccountKey), item);
    }
  }
  const byToken = new Map<string, Answer>();
  if (tokens.size > 0) {
    for (const item of await answer({ kind: 'tokens', items: [...tokens] }, options)) byToken.set((item as { token: string }).token, item);
  }

  const output: BatchOutput = { lines: [], failedRows: [], counts: noCounts() };
  for (const row of parsed) {
    if (row.kind === 'invalid') {
      output.lines.push(invalidLine(row.fields, row.detail));
      output.counts.invalid++;
      continue;
    }
    const item = (row.kind === 'accounts' ? byAccount.get(accountKey(row.item)) : byToken.get(row.item)) as Answer;
    output.lines.push(`${JSON.stringify(item)}\n`);
    output.counts[item.status]++;
    if (item.status === 'error') output.failedRows.push(retryRow(item));
  }
  return output;
};

/**
 * The lines of a batch whose child workflow failed as a whole (its task's retries spent): each valid
 * row an `error` with reason `batch_failed`, listed for a second run; an invalid row as always.
 */
export const failedBatchOutput = (rows: readonly IndexedRow[]): BatchOutput => {
  const output: BatchOutput = { lines: [], failedRows: [], counts: noCounts() };
  for (const { row } of rows) {
    const parsed = parseRow(row);
    if (parsed.kind === 'invalid') {
      output.lines.push(invalidLine(parsed.fields, parsed.detail));
      output.counts.invalid++;
      continue;
    }
    const item =
      parsed.kind === 'accounts'
        ? { ...parsed.item, status: 'error' as const, reason: 'batch_failed', tokens: [] }
        : { token: parsed.item, status: 'error' as const, reason: 'batch_failed', accounts: [] };
    output.lines.push(`${JSON.stringify(item)}\n`);
    output.failedRows.push(retryRow(item));
    output.counts.error++;
  }
  return output;
};

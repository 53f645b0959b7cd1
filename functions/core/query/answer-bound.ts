import type { AccountKey, AccountTokens, TokenAccounts } from '../normalize.ts';
import type { Query } from '../request.ts';

/**
 * A lower bound of the answer's size, kept as chunks are answered (issue 11): every queried id appears
 * in the answer once, and every binding an app answered at least once (in a multi-app answer, in that
 * app's entry), each a run of UTF-16 units that is at least as many bytes. Once the bound is over
 * `maxBytes`, no answer to this request can be returned whole, and it stops spending TPNS calls.
 */
export class AnswerBound {
  readonly maxBytes: number;
  private units = 0;

  constructor(query: Query, maxBytes: number) {
    this.maxBytes = maxBytes;
    // Indexed loops: run once per request, these stay in baseline code, where `for…of` calls the array iterator per item.
    const { items } = query;
    if (query.kind === 'accounts') for (let i = 0; i < items.length; i++) this.units += (items[i] as AccountKey).account.length;
    else for (let i = 0; i < items.length; i++) this.units += (items[i] as string).length;
  }

  /** One app's answers to a chunk. */
  add(kind: Query['kind'], answers: readonly (AccountTokens | TokenAccounts)[]): void {
    if (kind === 'accounts') {
      for (const answer of answers) for (const token of (answer as AccountTokens).tokens) this.units += token.length;
    } else {
      for (const answer of answers) for (const bound of (answer as TokenAccounts).accounts) this.units += bound.account.length;
    }
  }

  /** Bytes the answer holds at least. */
  get atLeastBytes(): number {
    return this.units;
  }

  get exceeded(): boolean {
    return this.units > this.maxBytes;
  }
}

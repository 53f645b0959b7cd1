import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readRows } from '../../functions/core/export/read.ts';
import { lineIdentity, parseRow, rowIdentity } from '../../functions/core/export/rows.ts';

const rowsOf = async (text: string | string[]): Promise<unknown[]> => {
  const rows: unknown[] = [];
  for await (const row of readRows(Readable.from([text].flat().map((chunk) => Buffer.from(chunk))))) rows.push(row);
  return rows;
};

describe('readRows: CSV with a header', () => {
  it('gives one object of strings per row, quoting and CRLF as RFC 4180 has them, blank lines skipped', async () => {
    const rows = await rowsOf('\uFEFFaccount,accountType,note\r\na1,1,x\r\n"a,2","",\r\n\r\n"say ""hi""",7\r\n');
    expect(rows).toEqual([
      { account: 'a1', accountType: '1', note: 'x' },
      { account: 'a,2', accountType: '', note: '' },
      { account: 'say "hi"', accountType: '7' },
    ]);
  });

  it('reads a file cut into chunks anywhere, the header included', async () => {
    const text = 'token\nt1\nt2\n';
    const chunks = [...text].map((c) => c); // one byte per chunk
    expect(await rowsOf(chunks)).toEqual([{ token: 't1' }, { token: 't2' }]);
  });

  it('refuses a header with neither an account nor a token column', async () => {
    await expect(rowsOf('id,type\n1,2\n')).rejects.toThrow(/"account" column .* or a "token" column/);
  });
});

describe('readRows: JSON Lines', () => {
  it('gives each line parsed; a line that is not JSON keeps its place as an unreadable row; blank lines are no rows', async () => {
    const rows = await rowsOf('\n{"account":"a1","accountType":2}\n\n{"token": "t1"}\r\n{oops\n[1]\n');
    expect(rows).toHaveLength(4);
    expect(rows.slice(0, 2)).toEqual([{ account: 'a1', accountType: 2 }, { token: 't1' }]);
    expect(parseRow(rows[2])).toEqual({ kind: 'invalid', fields: {}, detail: 'line 5 is not JSON' });
    expect(parseRow(rows[3])).toMatchObject({ kind: 'invalid', detail: expect.stringContaining('must be an object') });
  });

  it('an empty input has no rows', async () => {
    expect(await rowsOf('')).toEqual([]);
    expect(await rowsOf('  \n')).toEqual([]);
  });
});

describe('parseRow', () => {
  it.each([
    [{ account: 'a1' }, { kind: 'accounts', item: { account: 'a1', accountType: 0 } }],
    [
      { account: 'a1', accountType: '' },
      { kind: 'accounts', item: { account: 'a1', accountType: 0 } },
    ],
    [
      { account: 'a1', accountType: '1002' },
      { kind: 'accounts', item: { account: 'a1', accountType: 1002 } },
    ],
    [
      { account: 'a1', accountType: 5 },
      { kind: 'accounts', item: { account: 'a1', accountType: 5 } },
    ],
    [
      { token: 't1', account: '' },
      { kind: 'tokens', item: 't1' },
    ],
  ])('%j is %j', (row, expected) => {
    expect(parseRow(row)).toEqual(expected);
  });

  it.each([
    [{ account: 'a1', accountType: 'x' }, 'accountType must be an integer account type'],
    [{ account: 'a1', accountType: -1 }, 'accountType must be a non-negative account type'],
    [{ account: 'a1', accountType: '99999999999' }, 'accountType must be an integer account type'],
    [{ account: 'a\u0001' }, 'account must not contain control characters'],
    [{ account: ' ' }, 'account must not be only whitespace'],
    [{ account: 7 }, 'account must be a string'],
    [{ token: 'x'.repeat(257) }, 'token must be at most 256 characters (Unicode code points)'],
    [{ account: 'a', token: 't' }, 'a row must have "account" or "token", not both'],
    [{ token: 't', accountType: '1' }, 'a token row takes no "accountType"'],
    [{ note: 'hi' }, 'a row must have "account" (and "accountType") or "token"'],
    [null, 'a row must be an object with "account" (and "accountType") or "token"'],
  ])('%j is invalid: %s', (row, detail) => {
    expect(parseRow(row)).toMatchObject({ kind: 'invalid', detail });
  });

  it('an invalid row keeps the fields it was given (and only those), for its line', () => {
    expect(parseRow({ account: 'a1', accountType: 'x', note: 'secret' })).toEqual({
      kind: 'invalid',
      fields: { account: 'a1', accountType: 'x' },
      detail: 'accountType must be an integer account type',
    });
  });

  it("a row's identity is the one its output line starts with", () => {
    expect(rowIdentity(parseRow({ account: 'a1', accountType: '3' }))).toBe(
      lineIdentity({ account: 'a1', accountType: 3, status: 'ok', tokens: ['t'] }),
    );
    expect(rowIdentity(parseRow({ token: 't1' }))).toBe(lineIdentity({ token: 't1', status: 'not_found', accounts: [] }));
    expect(rowIdentity(parseRow({ account: 'a1', accountType: 'x' }))).toBe(
      lineIdentity({ account: 'a1', accountType: 'x', status: 'invalid', detail: '…' }),
    );
    expect(rowIdentity(parseRow({ account: 'a1' }))).not.toBe(lineIdentity({ account: 'a1', accountType: 1, status: 'ok', tokens: [] }));
  });
});

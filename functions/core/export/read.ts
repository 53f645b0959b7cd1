import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { UnreadableRow } from './rows.ts';

/** The two input formats; which one a file is, its first character says (`{` opens JSON Lines). */
export type RowFormat = 'csv' | 'jsonl';

const CSV_ID_COLUMNS = ['account', 'token'];

/** A CSV header must name an id column; without one every row would be invalid, so the file is refused at once. */
const checkHeader = (header: string[]): string[] => {
  if (!header.some((name) => CSV_ID_COLUMNS.includes(name))) {
    throw new Error(
      `the CSV header must name an "account" column (and maybe "accountType") or a "token" column; it has ${JSON.stringify(header.slice(0, 10))}`,
    );
  }
  return header;
};

/** Reads until the first non-blank character, and hands it back with everything still to come, unread. */
const sniff = async (input: AsyncIterable<Buffer | string>): Promise<{ format: RowFormat | undefined; stream: Readable }> => {
  const source = input[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let first: string | undefined;
  while (first === undefined) {
    const { value, done } = await source.next();
    if (done) break;
    const chunk = Buffer.from(value);
    head.push(chunk);
    first = /[^\s\uFEFF]/.exec(chunk.toString('utf8'))?.[0];
  }
  async function* rest() {
    try {
      yield* head;
      for (let next = await source.next(); !next.done; next = await source.next()) yield next.value;
    } finally {
      await source.return?.(); // a reader that stops early closes the input (a file: its descriptor)
    }
  }
  const format = first === undefined ? undefined : first === '{' ? 'jsonl' : 'csv';
  return { format, stream: Readable.from(rest(), { objectMode: false }) };
};

async function* jsonLines(stream: Readable): AsyncGenerator<unknown> {
  let number = 0;
  for await (const line of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
    number++;
    const text = number === 1 ? line.replace(/^\uFEFF/, '') : line;
    if (text.trim() === '') continue;
    try {
      yield JSON.parse(text);
    } catch {
      yield new UnreadableRow(`line ${number} is not JSON`);
    }
  }
}

/**
 * The rows of an input, streamed (memory does not grow with the file): CSV with a header
 * (`account` with an optional `accountType`, or `token`; every value a string), or JSON Lines of
 * objects with the same fields. Blank lines are not rows; a JSON Lines line that is not JSON is an
 * UnreadableRow, so it keeps its place. A CSV broken beyond a row (an unclosed quote) is an error.
 */
export async function* readRows(input: AsyncIterable<Buffer | string>): AsyncGenerator<unknown> {
  const { format, stream } = await sniff(input);
  try {
    if (format === 'jsonl') yield* jsonLines(stream);
    else if (format === 'csv')
      yield* stream.pipe(parse({ columns: checkHeader, bom: true, skip_empty_lines: true, relax_column_count: true }));
  } finally {
    stream.destroy();
  }
}

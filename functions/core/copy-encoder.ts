import { Transform, type TransformCallback } from 'node:stream';
import { ValueConversionError } from './errors.js';
import type { ColumnPlan, Encoding } from './schema.js';

/** A MySQL value as the source connection delivers it: text, bytes for binary columns, or NULL. */
export type SourceValue = string | Buffer | null;

type Encode = (value: string | Buffer) => string;

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const NEEDS_ESCAPE = /[\\\n\r\t]/;
const ESCAPED = /[\\\n\r\t]/g;
// A month or day of 00: MySQL accepts it (zero dates), PostgreSQL has no such date.
const ZERO_DATE = /^\d{4}-(00-\d{2}|\d{2}-00)/;

/** Escapes text for COPY's text format: backslash, newline, carriage return and tab. */
export function escapeCopyText(text: string): string {
  return NEEDS_ESCAPE.test(text) ? text.replace(ESCAPED, (c) => COPY_ESCAPES[c]!) : text;
}

class Unrepresentable extends Error {}

const asText = (value: string | Buffer) => (typeof value === 'string' ? value : value.toString('utf8'));

function checkedDate(value: string | Buffer): string {
  const text = asText(value);
  if (ZERO_DATE.test(text)) throw new Unrepresentable(`zero date ${text} has no PostgreSQL equivalent`);
  return text;
}

const ENCODERS: Record<Encoding, Encode> = {
  // MySQL prints numbers in forms PostgreSQL reads back exactly; nothing in them needs escaping.
  number: asText,
  text: (value) => {
    const text = asText(value);
    if (text.includes('\0')) throw new Unrepresentable('text contains a NUL byte, which PostgreSQL text cannot hold');
    return escapeCopyText(text);
  },
  boolean: (value) => {
    const text = asText(value);
    if (text === '1') return 't';
    if (text === '0') return 'f';
    throw new Unrepresentable(`tinyint(1) holds ${text}, which is neither 0 nor 1 and would not survive as a boolean`);
  },
  // bytea hex form; the backslash itself is escaped for COPY.
  bytea: (value) => '\\\\x' + (typeof value === 'string' ? Buffer.from(value, 'utf8') : value).toString('hex'),
  date: checkedDate,
  datetime: checkedDate,
  // The source session runs in UTC, so the instant is exact once the offset is said.
  timestamptz: (value) => `${checkedDate(value)}+00`,
};

/** Writes rows (arrays in column order) as COPY text, in chunks of about `chunkSize` characters. */
export class CopyTextEncoder extends Transform {
  rows = 0;
  private pending = '';
  private readonly encoders: Encode[];

  constructor(
    private readonly table: string,
    private readonly columns: ColumnPlan[],
    private readonly keyIndex: number,
    private readonly chunkSize = 64 * 1024,
  ) {
    super({ writableObjectMode: true, readableObjectMode: false });
    this.encoders = columns.map((column) => ENCODERS[column.encoding]);
  }

  override _transform(row: SourceValue[], _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.pending += this.encodeRow(row);
      this.rows++;
      if (this.pending.length >= this.chunkSize) {
        this.push(this.pending);
        this.pending = '';
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.pending) this.push(this.pending);
    this.pending = '';
    callback();
  }

  private encodeRow(row: SourceValue[]): string {
    let line = '';
    for (let i = 0; i < this.encoders.length; i++) {
      const value = row[i];
      if (i > 0) line += '\t';
      if (value === null || value === undefined) {
        line += '\\N';
        continue;
      }
      try {
        line += this.encoders[i]!(value);
      } catch (error) {
        if (!(error instanceof Unrepresentable)) throw error;
        throw new ValueConversionError(this.table, this.columns[i]!.name, String(row[this.keyIndex]), error.message);
      }
    }
    return line + '\n';
  }
}

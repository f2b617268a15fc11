import { Transform, type TransformCallback } from 'node:stream';
import { copyPolicies, type Encode, Unrepresentable } from './codecs/codec.js';
import { ValueConversionError } from './errors.js';
import { type Policies, type PolicyCounts, zeroPolicyCounts } from './policies.js';
import type { ColumnPlan } from './schema.js';

/** A MySQL value as the source connection delivers it: text, bytes for binary columns, or NULL. */
export type SourceValue = string | Buffer | null;

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const NEEDS_ESCAPE = /[\\\n\r\t]/;
const ESCAPED = /[\\\n\r\t]/g;

/** Escapes text for COPY's text format: backslash, newline, carriage return and tab. */
export function escapeCopyText(text: string): string {
  return NEEDS_ESCAPE.test(text) ? text.replace(ESCAPED, (c) => COPY_ESCAPES[c]!) : text;
}

/** The size of the pieces of COPY data sent to PostgreSQL: large enough that a write costs little per row. */
export const COPY_CHUNK_BYTES = 64 * 1024;

/**
 * Turns batches of rows (arrays in column order) into COPY text, written into byte chunks of
 * `chunkBytes` that go downstream only once full (or at the end), so the COPY stream sees a few
 * large writes rather than one per row. A batch is taken only when the reader has taken the
 * previous output, so a range's memory stays flat however many rows it has.
 */
export class CopyTextEncoder extends Transform {
  rows = 0;
  /** How many values each policy handled in the rows encoded so far. */
  readonly policyCounts: PolicyCounts = zeroPolicyCounts();
  private chunk: Buffer;
  private used = 0;
  private readonly encoders: Encode[];

  constructor(
    private readonly table: string,
    private readonly columns: ColumnPlan[],
    private readonly keyIndex: number,
    policies: Policies,
    private readonly chunkBytes = COPY_CHUNK_BYTES,
  ) {
    super({ writableObjectMode: true, writableHighWaterMark: 1, readableObjectMode: false });
    this.encoders = columns.map((column) =>
      column.codec.encoder(copyPolicies(policies, this.policyCounts, column.nullable)),
    );
    this.chunk = Buffer.allocUnsafe(chunkBytes);
  }

  override _transform(rows: SourceValue[][], _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      for (const row of rows) {
        this.append(this.encodeRow(row));
        this.rows++;
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    this.pushChunk();
    callback();
  }

  /** Writes a line into the current chunk, first sending the chunk on when the line does not fit. */
  private append(line: string): void {
    const free = this.chunkBytes - this.used;
    // A UTF-16 code unit takes at most 3 bytes in UTF-8: only a line near the limit is measured.
    if (line.length * 3 > free && Buffer.byteLength(line) > free) {
      this.pushChunk();
      if (Buffer.byteLength(line) > this.chunkBytes) {
        this.push(Buffer.from(line));
        return;
      }
    }
    this.used += this.chunk.write(line, this.used);
  }

  private pushChunk(): void {
    if (this.used === 0) return;
    this.push(this.chunk.subarray(0, this.used));
    this.chunk = Buffer.allocUnsafe(this.chunkBytes);
    this.used = 0;
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
      let encoded: string | null;
      try {
        encoded = this.encoders[i]!(value);
      } catch (error) {
        if (!(error instanceof Unrepresentable)) throw error;
        const key = this.keyIndex < 0 ? `(no key; row ${this.rows + 1})` : String(row[this.keyIndex]);
        throw new ValueConversionError(this.table, this.columns[i]!.name, key, error.message);
      }
      line += encoded === null ? '\\N' : escapeCopyText(encoded);
    }
    return line + '\n';
  }
}

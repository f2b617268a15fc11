import { Transform, type TransformCallback } from 'node:stream';
import { asText, copyPolicies, type Encode, Unrepresentable, type Verbatim } from './codecs/codec.js';
import { ValueConversionError } from './errors.js';
import { type Policies, type PolicyCounts, zeroPolicyCounts } from './policies.js';
import type { ColumnPlan } from './schema.js';

/**
 * A MySQL value as the source connection delivers it: text, bytes (binary columns, or every value
 * of a read that asks for bytes), or NULL.
 */
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

const NULL_TEXT = '\\N';
const TAB = 0x09;
const NEWLINE = 0x0a;
const BACKSLASH = 0x5c;
const NUL = 1;

/** For each byte COPY's text escapes, the letter after its backslash; NUL for the byte it cannot carry; 0 for the rest. */
const ESCAPE_LETTER = new Uint8Array(256);
ESCAPE_LETTER[0] = NUL;
for (const [character, escaped] of Object.entries(COPY_ESCAPES)) {
  ESCAPE_LETTER[character.charCodeAt(0)] = escaped.charCodeAt(1);
}

/**
 * Copies `bytes` into `into` at `at` with COPY's text escaping, and returns where they end; -1 for
 * bytes holding a NUL, which COPY's text cannot carry (such a value is the codec's to encode).
 * The bytes are UTF-8 or ASCII: no byte of a multibyte character is one of those escaped.
 */
function writeEscaped(bytes: Buffer, into: Buffer, at: number): number {
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    const letter = ESCAPE_LETTER[byte]!;
    if (letter === 0) {
      into[at++] = byte;
    } else if (letter === NUL) {
      return -1;
    } else {
      into[at++] = BACKSLASH;
      into[at++] = letter;
    }
  }
  return at;
}

/** A key value as an error names it: a number as it is, bytes as hex, other text quoted. */
function keyValueName(column: ColumnPlan, value: SourceValue): string {
  if (value === null) return 'NULL';
  if (column.codec.read.arrives === 'bytes') return `0x${Buffer.from(value).toString('hex')}`;
  const text = asText(value);
  return column.codec.key?.order === 'numbers' ? text : JSON.stringify(text);
}

/**
 * Turns batches of rows (arrays in column order) into COPY text, written into byte chunks of
 * `chunkBytes` that go downstream only once full (or at the end), so the COPY stream sees a few
 * large writes rather than one per row. A batch is taken only when the reader has taken the
 * previous output, so a range's memory stays flat however many rows it has.
 *
 * Values that arrive as bytes in a column whose codec takes them as they are (its `verbatim`) are
 * written straight from the source's bytes into the chunk; every other value goes through its
 * column's encoder, as text.
 */
export class CopyTextEncoder extends Transform {
  rows = 0;
  /** How many values each policy handled in the rows encoded so far. */
  readonly policyCounts: PolicyCounts = zeroPolicyCounts();
  private chunk: Buffer;
  private used = 0;
  private readonly encoders: Encode[];
  private readonly verbatim: (Verbatim | undefined)[];
  /** Each verbatim column's suffix as bytes, empty when it has none. */
  private readonly suffixes: Buffer[];
  /** The row being written: each value's COPY text, or undefined for bytes written through. */
  private readonly texts: (string | undefined)[];
  /** Where a line is written when it may not fit what is left of the chunk. */
  private readonly scratch: Buffer;

  constructor(
    private readonly table: string,
    private readonly columns: ColumnPlan[],
    /** Where the row's key is, to name a row an error is about: one column, several (a tuple), or none. */
    private readonly keyIndexes: number[],
    policies: Policies,
    private readonly chunkBytes = COPY_CHUNK_BYTES,
  ) {
    super({ writableObjectMode: true, writableHighWaterMark: 1, readableObjectMode: false });
    this.encoders = columns.map((column) =>
      column.codec.encoder(copyPolicies(policies, this.policyCounts, column.nullable)),
    );
    this.verbatim = columns.map((column) => column.codec.verbatim);
    this.suffixes = columns.map((column) => Buffer.from(column.codec.verbatim?.suffix ?? '', 'latin1'));
    this.texts = new Array(columns.length);
    this.chunk = Buffer.allocUnsafe(chunkBytes);
    this.scratch = Buffer.allocUnsafe(chunkBytes);
  }

  override _transform(rows: SourceValue[][], _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      for (const row of rows) {
        this.writeRow(row);
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

  /**
   * Writes a row's line: first every value that needs its encoder, as text, which also bounds the
   * line's bytes; then text and bytes straight into the chunk where the bound fits, or into a
   * scratch chunk from which the line is appended (near a chunk's end). A line that may be larger
   * than a chunk, or whose bytes held a NUL, is written as text whole.
   */
  private writeRow(row: SourceValue[]): void {
    const texts = this.texts;
    let most = texts.length;
    for (let i = 0; i < texts.length; i++) {
      const value = row[i];
      if (value === null || value === undefined) {
        texts[i] = NULL_TEXT;
        most += 2;
      } else if (typeof value !== 'string' && this.writesThrough(i, value)) {
        texts[i] = undefined;
        most += 2 * value.length + this.suffixes[i]!.length;
      } else {
        const text = this.encode(row, i, value);
        texts[i] = text;
        // A UTF-16 code unit takes at most 3 bytes in UTF-8.
        most += 3 * text.length;
      }
    }
    if (most <= this.chunkBytes - this.used) {
      const end = this.writeLine(row, this.chunk, this.used);
      if (end >= 0) {
        this.used = end;
        return;
      }
    } else if (most <= this.chunkBytes) {
      const end = this.writeLine(row, this.scratch, 0);
      if (end >= 0) {
        this.appendBytes(this.scratch, end);
        return;
      }
    }
    for (let i = 0; i < texts.length; i++) texts[i] ??= this.encode(row, i, row[i]!);
    this.append(`${texts.join('\t')}\n`);
  }

  private writesThrough(column: number, bytes: Buffer): boolean {
    const verbatim = this.verbatim[column];
    return verbatim !== undefined && (verbatim.when === undefined || verbatim.when(bytes));
  }

  /** Writes the row's line into `chunk` from `at`, where it has room for it; -1 when a value's bytes held a NUL. */
  private writeLine(row: SourceValue[], chunk: Buffer, at: number): number {
    for (let i = 0; i < this.texts.length; i++) {
      if (i > 0) chunk[at++] = TAB;
      const text = this.texts[i];
      if (text !== undefined) {
        at += chunk.write(text, at);
        continue;
      }
      at = writeEscaped(row[i] as Buffer, chunk, at);
      if (at < 0) return -1;
      // A few bytes: copied here rather than by a call into the runtime.
      const suffix = this.suffixes[i]!;
      for (let k = 0; k < suffix.length; k++) chunk[at++] = suffix[k]!;
    }
    chunk[at++] = NEWLINE;
    return at;
  }

  /** One value's COPY text through its column's encoder: escaped, or `\N` for NULL. */
  private encode(row: SourceValue[], column: number, value: string | Buffer): string {
    let encoded: string | null;
    try {
      encoded = this.encoders[column]!(value);
    } catch (error) {
      if (!(error instanceof Unrepresentable)) throw error;
      throw new ValueConversionError(this.table, this.columns[column]!.name, this.rowName(row), error.message);
    }
    return encoded === null ? NULL_TEXT : escapeCopyText(encoded);
  }

  /** A row as an error names it: its key's value, its key's values as a tuple, `(3, "Émile")`, or its place. */
  private rowName(row: SourceValue[]): string {
    if (this.keyIndexes.length === 0) return `(no key; row ${this.rows + 1})`;
    const values = this.keyIndexes.map((index) => keyValueName(this.columns[index]!, row[index] ?? null));
    return values.length === 1 ? values[0]! : `(${values.join(', ')})`;
  }

  /** Writes a line into the current chunk, first sending the chunk on when the line does not fit. */
  private append(line: string): void {
    const free = this.chunkBytes - this.used;
    if (line.length * 3 > free && Buffer.byteLength(line) > free) {
      this.pushChunk();
      if (Buffer.byteLength(line) > this.chunkBytes) {
        this.push(Buffer.from(line));
        return;
      }
    }
    this.used += this.chunk.write(line, this.used);
  }

  /** Appends a line's bytes, first sending the chunk on when they do not fit. */
  private appendBytes(line: Buffer, length: number): void {
    if (length > this.chunkBytes - this.used) this.pushChunk();
    line.copy(this.chunk, this.used, 0, length);
    this.used += length;
  }

  private pushChunk(): void {
    if (this.used === 0) return;
    this.push(this.chunk.subarray(0, this.used));
    this.chunk = Buffer.allocUnsafe(this.chunkBytes);
    this.used = 0;
  }
}

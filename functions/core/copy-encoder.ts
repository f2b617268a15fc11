import { Transform, type TransformCallback } from 'node:stream';
import { ValueConversionError } from './errors.js';
import { type Policies, type PolicyCounts, type PolicyName, zeroPolicyCounts } from './policies.js';
import { bitWidth, type ColumnPlan, type Encoding, enumLabels } from './schema.js';

/** A MySQL value as the source connection delivers it: text, bytes for binary columns, or NULL. */
export type SourceValue = string | Buffer | null;

/** One non-NULL source value in PostgreSQL's text form; null stores NULL. */
type Encode = (value: string | Buffer) => string | null;

/** What an encoder works with: its column, the run's policies, and the range's policy counts. */
interface EncoderContext {
  column: ColumnPlan;
  policies: Policies;
  counts: PolicyCounts;
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const NEEDS_ESCAPE = /[\\\n\r\t]/;
const ESCAPED = /[\\\n\r\t]/g;
// `\u0000` in JSON text, unless its backslash is itself escaped (`\\u0000` is the six characters).
const JSON_NUL = /(?<=(?<!\\)(?:\\\\)*)\\u0000/g;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Escapes text for COPY's text format: backslash, newline, carriage return and tab. */
export function escapeCopyText(text: string): string {
  return NEEDS_ESCAPE.test(text) ? text.replace(ESCAPED, (c) => COPY_ESCAPES[c]!) : text;
}

/** A value PostgreSQL cannot hold as it is; becomes a ValueConversionError naming the row. */
export class Unrepresentable extends Error {}

/** A month or day of 00: MySQL's zero dates (`0000-00-00`, `2020-00-15`), which no calendar has. */
export function isZeroDate(text: string): boolean {
  return text.slice(5, 7) === '00' || text.slice(8, 10) === '00';
}

const asText = (value: string | Buffer) => (typeof value === 'string' ? value : value.toString('utf8'));
const isLeapYear = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);

/** A policy turned the value into NULL: counted, unless the target column refuses NULL. */
function nullBy(ctx: EncoderContext, policy: PolicyName, what: string): null {
  if (!ctx.column.nullable) {
    throw new Unrepresentable(
      `${what} becomes NULL (${policy}: ${ctx.policies[policy]}), but the target column is NOT NULL: allow NULL in the target column, or fix the source value`,
    );
  }
  ctx.counts[policy]++;
  return null;
}

function zeroDate(ctx: EncoderContext, text: string): null {
  if (ctx.policies.zeroDates === 'fail')
    throw new Unrepresentable(`zero date ${text} has no PostgreSQL equivalent (zeroDates: fail)`);
  return nullBy(ctx, 'zeroDates', `zero date ${text}`);
}

/** A MySQL DATE or DATETIME in PostgreSQL's form; `offset` is said before the era. */
function calendarDate(ctx: EncoderContext, text: string, offset = ''): string | null {
  if (isZeroDate(text)) return zeroDate(ctx, text);
  const day = Number(text.slice(8, 10));
  if (day > 28) {
    const month = Number(text.slice(5, 7));
    const last = month === 2 && isLeapYear(Number(text.slice(0, 4))) ? 29 : DAYS_IN_MONTH[month - 1]!;
    if (day > last) throw new Unrepresentable(`${text} is not a calendar date (stored under ALLOW_INVALID_DATES)`);
  }
  // MySQL's year 0 is the proleptic Gregorian year PostgreSQL calls 1 BC.
  if (text.startsWith('0000-')) return `0001${text.slice(4)}${offset} BC`;
  return text + offset;
}

/**
 * The first key that appears twice in one JSON object, or null. MariaDB's JSON is text and keeps
 * both (its functions read the first), while jsonb keeps only the last: the meaning would change.
 */
export function duplicateJsonKey(json: string): string | null {
  // The keys of each open object, null for an open array.
  const open: (Set<string> | null)[] = [];
  let expectingKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      if (expectingKey) {
        const key = JSON.parse(json.slice(i, end + 1)) as string;
        const keys = open.at(-1)!;
        if (keys.has(key)) return key;
        keys.add(key);
        expectingKey = false;
      }
      i = end;
    } else if (c === '{' || c === '[') {
      open.push(c === '{' ? new Set() : null);
      expectingKey = c === '{';
    } else if (c === '}' || c === ']') {
      open.pop();
    } else if (c === ',') {
      expectingKey = open.at(-1) instanceof Set;
    }
  }
  return null;
}

/** A value holding what PostgreSQL cannot store (a NUL): refused, or stripped and counted. */
function strippedOfNul(ctx: EncoderContext, text: string, strip: (text: string) => string, what: string): string {
  if (ctx.policies.nulBytes === 'fail') throw new Unrepresentable(`${what} (nulBytes: fail)`);
  ctx.counts.nulBytes++;
  return strip(text);
}

/**
 * The encoders, one per encoding: each is made once per column and turns that column's source
 * values into PostgreSQL text (COPY escaping is applied after, to every value alike).
 */
const ENCODERS: Record<Encoding, (ctx: EncoderContext) => Encode> = {
  // MySQL prints integers, decimals and doubles (floats are read as doubles) exactly as PostgreSQL reads them.
  number: () => asText,
  text: (ctx) => (value) => {
    const text = asText(value);
    if (!text.includes('\0')) return text;
    return strippedOfNul(
      ctx,
      text,
      (t) => t.replaceAll('\0', ''),
      'text contains a NUL byte, which PostgreSQL text cannot hold',
    );
  },
  enum: (ctx) => {
    // '' is the invalid-label value unless the ENUM declares '' itself.
    const emptyIsInvalid = !enumLabels(ctx.column.source.columnType).includes('');
    return (value) => {
      const text = asText(value);
      if (text !== '' || !emptyIsInvalid) return text;
      if (ctx.policies.emptyEnum === 'fail')
        throw new Unrepresentable(
          "the empty ENUM value (stored for an invalid label) is not one of the column's labels (emptyEnum: fail)",
        );
      if (ctx.policies.emptyEnum === 'null') return nullBy(ctx, 'emptyEnum', 'the empty ENUM value');
      ctx.counts.emptyEnum++;
      return text;
    };
  },
  json: (ctx) => (value) => {
    let text = asText(value);
    if (text.includes('\\u0000') && text.search(JSON_NUL) !== -1) {
      text = strippedOfNul(
        ctx,
        text,
        (t) => t.replace(JSON_NUL, ''),
        'JSON holds \\u0000 in a string, which jsonb cannot hold',
      );
    }
    const duplicate = text.includes('{') ? duplicateJsonKey(text) : null;
    if (duplicate !== null) {
      throw new Unrepresentable(
        `JSON object has the key ${JSON.stringify(duplicate)} twice: MariaDB reads the first, jsonb would keep only the last`,
      );
    }
    return text;
  },
  boolean: (ctx) => (value) => {
    const text = asText(value);
    if (text === '1') return 't';
    if (text === '0') return 'f';
    if (ctx.policies.tinyint1 === 'fail') {
      throw new Unrepresentable(
        `tinyint(1) holds ${text}, which is neither 0 nor 1 and would not survive as a boolean (tinyint1: fail)`,
      );
    }
    ctx.counts.tinyint1++;
    return 't';
  },
  bit: (ctx) => {
    const width = bitWidth(ctx.column.source.columnType);
    return (value) => BigInt(asText(value)).toString(2).padStart(width, '0');
  },
  bytea: () => (value) => '\\x' + (typeof value === 'string' ? Buffer.from(value, 'utf8') : value).toString('hex'),
  date: (ctx) => (value) => calendarDate(ctx, asText(value)),
  datetime: (ctx) => (value) => calendarDate(ctx, asText(value)),
  // The source session runs in UTC, so the instant is exact once the offset is said.
  timestamptz: (ctx) => (value) => calendarDate(ctx, asText(value), '+00'),
  // `-838:59:59.000000`: interval reads MySQL's signed hours as they are.
  time: () => asText,
  year: (ctx) => {
    // YEAR(2) (MariaDB) prints two digits of 1970..2069.
    const twoDigits = ctx.column.source.columnType === 'year(2)';
    return (value) => {
      const text = asText(value);
      if (twoDigits) return String(Number(text) + (Number(text) < 70 ? 2000 : 1900));
      return text === '0000' ? zeroDate(ctx, 'year 0000') : text;
    };
  },
};

/** The strictest policies: every value that is not exactly representable is refused. */
const STRICT_POLICIES: Policies = { zeroDates: 'fail', nulBytes: 'fail', tinyint1: 'fail', emptyEnum: 'fail' };

/** One value in PostgreSQL's text form under the strictest policies, or why it has none (for column defaults). */
export function encodeStrictly(column: ColumnPlan, value: string): { text: string } | { reason: string } {
  try {
    const text = ENCODERS[column.encoding]({ column, policies: STRICT_POLICIES, counts: zeroPolicyCounts() })(value);
    return text === null ? { reason: 'it would become NULL' } : { text };
  } catch (error) {
    if (error instanceof Unrepresentable) return { reason: error.message };
    throw error;
  }
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
    this.encoders = columns.map((column) => ENCODERS[column.encoding]({ column, policies, counts: this.policyCounts }));
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
        throw new ValueConversionError(this.table, this.columns[i]!.name, String(row[this.keyIndex]), error.message);
      }
      line += encoded === null ? '\\N' : escapeCopyText(encoded);
    }
    return line + '\n';
  }
}

import ZongJi, { type AnyBinlogEvent, type BinlogEventByName, type BinlogEventName } from '@vlasky/zongji';
import type mysql from 'mysql2';
import {
  BinlogSettingsError,
  classifyDatabaseError,
  DatabaseError,
  FullRunNeededError,
  type MigrationError,
  TransientDatabaseError,
} from '../errors.js';
import { type KeyedTable, type KeyValues, keyId, keyOfImage } from './keys.js';
import { type BinlogPosition, comparePositions, earliest, formatPosition } from './position.js';
import { statementEffect, statementHead } from './statements.js';

export interface ChangeReadOptions {
  /**
   * The source connection. The reader opens its own binlog connection with the same settings and
   * reads column names through this one, so nothing else may use it until the read ends.
   */
  source: mysql.Connection;
  /** The source database the tables live in. */
  database: string;
  tables: KeyedTable[];
  /** Each table's checkpoint: its changes after this place are read. */
  checkpoints: Map<string, BinlogPosition>;
  /** No transaction that ends past this place is read (the place of the snapshot the keys are read in). */
  until: BinlogPosition;
  /** Past this moment (Date.now()), the read stops at the last transaction boundary it passed. */
  deadline: number;
  /** With this many changed keys held, the read stops at the next transaction boundary. */
  maxKeys: number;
  /** A stream silent this long before reaching `until` is a failure, not a wait. */
  idleMs: number;
}

/** Why a read stopped where it did. */
export type ReadStop = 'caught-up' | 'deadline' | 'key-limit';

export interface ChangedKeys {
  /** The last transaction boundary read: every change before it is in `keys`. The new checkpoint. */
  through: Omit<BinlogPosition, 'gtid'>;
  stoppedBy: ReadStop;
  /** Transactions that changed a followed table. */
  transactions: number;
  /** Per table, its changed keys (inserted, updated: before and after, deleted), each once. */
  keys: Map<string, Map<string, KeyValues>>;
  /** When the last of those transactions was committed (the source's clock, seconds); null when none. */
  lastCommitAt: number | null;
}

type RowsEvent = BinlogEventByName<'writerows' | 'deleterows' | 'updaterows'>;

// A random replica id per read: two readers with the same id would disconnect each other.
const serverId = () => 2 ** 30 + Math.floor(Math.random() * (2 ** 32 - 2 ** 30 - 1));

const STOP_WAIT_MS = 2_000;

/**
 * Reads which keys of which tables changed in the binary log from the tables' checkpoints up to
 * `until`, transaction by transaction, and stops only at a transaction boundary (a commit, a
 * statement of its own, a file change): what it returns is every change up to `through`, and
 * nothing after. Values other than keys are not looked at: the rows are read again from the
 * source. Statements that the log cannot replay on a followed table (DDL, TRUNCATE, row changes
 * logged as statements) fail the read with {@link FullRunNeededError}.
 */
export async function readChangedKeys(options: ChangeReadOptions): Promise<ChangedKeys> {
  const start = earliest([...options.checkpoints.values()]);
  const result: ChangedKeys = {
    through: { file: start.file, position: start.position },
    stoppedBy: 'caught-up',
    transactions: 0,
    keys: new Map(options.tables.map((t) => [t.description.table, new Map()])),
    lastCommitAt: null,
  };
  if (comparePositions(start, options.until) >= 0) return result;
  return new Promise<ChangedKeys>((resolve, reject) => {
    const reader = new ChangeReader(options, result, resolve, reject);
    reader.start(start);
  });
}

class ChangeReader {
  private readonly zongji: ZongJi;
  private readonly tables: Map<string, KeyedTable>;
  private file: string;
  /** The keys of the transaction being read, per table; null between transactions. */
  private pending: Map<string, Map<string, KeyValues>> | null = null;
  private keyCount = 0;
  private done = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: ChangeReadOptions,
    private readonly result: ChangedKeys,
    private readonly resolve: (keys: ChangedKeys) => void,
    private readonly reject: (error: MigrationError) => void,
  ) {
    this.tables = new Map(options.tables.map((t) => [t.description.table, t]));
    this.file = result.through.file;
    this.zongji = new ZongJi(options.source);
  }

  start(from: BinlogPosition): void {
    this.zongji.on('binlog', (event: AnyBinlogEvent) => {
      if (this.done) return;
      try {
        this.onEvent(event);
      } catch (error) {
        this.finish(error as MigrationError);
      }
    });
    this.zongji.on('error', (error: unknown) => this.finish(readError(error)));
    this.touch();
    // Past the deadline, stop at the last boundary even inside a long transaction.
    this.deadlineTimer = setTimeout(() => this.finish('deadline'), Math.max(0, this.options.deadline - Date.now()));
    this.zongji.start({
      filename: from.file,
      position: from.position,
      serverId: serverId(),
      includeSchema: { [this.options.database]: [...this.tables.keys()] },
    });
  }

  private touch(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.finish(
        new TransientDatabaseError(
          `source: the binary log stream sent nothing for ${this.options.idleMs / 1000} s before reaching ${formatPosition(this.options.until)}`,
        ),
      );
    }, this.options.idleMs);
  }

  private onEvent(event: AnyBinlogEvent): void {
    this.touch();
    const name = event.getEventName() as BinlogEventName;
    if (name === 'rotate') {
      const rotate = event as BinlogEventByName<'rotate'>;
      this.file = rotate.binlogName;
      this.atBoundary({ file: this.file, position: rotate.position });
      return;
    }
    // The dump's own opening events carry no place in the file.
    const end = event.nextPosition > 0 ? { file: this.file, position: event.nextPosition } : null;
    switch (name) {
      case 'mariadbgtid':
        // A standalone group (DDL) has no commit of its own: its statement is its boundary.
        if (!(event as BinlogEventByName<'mariadbgtid'>).standalone) this.pending = new Map();
        return;
      case 'gtid':
      case 'anonymousgtid':
        this.pending = new Map();
        return;
      case 'writerows':
      case 'deleterows':
      case 'updaterows':
        this.addRows(event as RowsEvent);
        return;
      case 'xid':
        if (end) this.commit(end, event.timestamp);
        return;
      case 'xaprepare':
        if (this.pendingKeys() > 0) {
          throw new FullRunNeededError(
            `An XA transaction changed ${[...this.pending!.keys()].join(', ')} (prepared at ${this.file}:${event.nextPosition}): binlog runs do not follow XA transactions; run a full run`,
          );
        }
        if (end) this.commit(end, event.timestamp);
        return;
      case 'query':
        this.onStatement(event as BinlogEventByName<'query'>, end);
        return;
      default:
        // Format descriptions, GTID lists, checkpoints, heartbeats: boundaries when between transactions.
        if (end && this.pending === null) this.atBoundary(end);
    }
  }

  private onStatement(event: BinlogEventByName<'query'>, end: Omit<BinlogPosition, 'gtid'> | null): void {
    const effect = statementEffect(event.query, event.schema, this.options.database, new Set(this.tables.keys()));
    if (effect.kind === 'boundary') {
      if (/^\s*BEGIN/i.test(event.query)) this.pending = new Map();
      else if (end) this.commit(end, event.timestamp);
      return;
    }
    if (effect.kind === 'ddl' || effect.kind === 'statement-dml') {
      // A table whose checkpoint is past this statement was copied after it: nothing to follow.
      const affected = effect.tables.filter((table) => !end || this.before(table, end));
      if (affected.length > 0) {
        const what =
          effect.kind === 'ddl'
            ? `\`${statementHead(event.query)}\` changed ${affected.join(', ')}`
            : `a row change to ${affected.join(', ')} was logged as a statement (\`${statementHead(event.query)}\`), whose rows the log does not hold`;
        throw new FullRunNeededError(
          `At ${this.file}:${event.nextPosition} of the binary log, ${what}: binlog runs cannot follow it; ` +
            `run a full run of ${affected.join(', ')} (it records a new binlog checkpoint)`,
        );
      }
    }
    // Any other statement between transactions is a boundary of its own; inside one it is part of it.
    if (end && this.pending === null) this.atBoundary(end);
  }

  /** Whether the table's checkpoint comes before `place`, so what happens there is the table's to follow. */
  private before(table: string, place: Omit<BinlogPosition, 'gtid'>): boolean {
    return comparePositions(this.options.checkpoints.get(table)!, place) < 0;
  }

  private addRows(event: RowsEvent): void {
    const mapped = event.tableMap[event.tableId];
    const table =
      mapped && mapped.parentSchema === this.options.database ? this.tables.get(mapped.tableName) : undefined;
    if (!table) return;
    this.pending ??= new Map();
    const keys = this.pending.get(table.description.table) ?? new Map<string, KeyValues>();
    this.pending.set(table.description.table, keys);
    const images =
      event.getEventName() === 'updaterows'
        ? (event as BinlogEventByName<'updaterows'>).rows.flatMap((row) => [row.before, row.after])
        : (event as BinlogEventByName<'writerows'>).rows;
    for (const image of images) {
      const key = keyOfImage(table, image);
      keys.set(keyId(key), key);
    }
  }

  private pendingKeys(): number {
    let count = 0;
    for (const keys of this.pending?.values() ?? []) count += keys.size;
    return count;
  }

  /** A transaction ends at `end`: its keys count when the table's checkpoint is before it. */
  private commit(end: Omit<BinlogPosition, 'gtid'>, timestamp: number): void {
    if (comparePositions(end, this.options.until) > 0) {
      this.finish('caught-up');
      return;
    }
    let changed = false;
    for (const [table, keys] of this.pending ?? []) {
      if (keys.size === 0 || !this.before(table, end)) continue;
      const held = this.result.keys.get(table)!;
      for (const [id, key] of keys) {
        if (!held.has(id)) this.keyCount++;
        held.set(id, key);
      }
      changed = true;
    }
    if (changed) {
      this.result.transactions++;
      this.result.lastCommitAt = timestamp / 1000;
    }
    this.pending = null;
    this.atBoundary(end);
  }

  private atBoundary(place: Omit<BinlogPosition, 'gtid'>): void {
    const order = comparePositions(place, this.options.until);
    if (order <= 0 && comparePositions(place, this.result.through) > 0) this.result.through = place;
    if (order >= 0) this.finish('caught-up');
    else if (Date.now() >= this.options.deadline) this.finish('deadline');
    else if (this.keyCount >= this.options.maxKeys) this.finish('key-limit');
  }

  private finish(outcome: ReadStop | MigrationError): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.deadlineTimer);
    const settle = () =>
      typeof outcome === 'string' ? this.resolve({ ...this.result, stoppedBy: outcome }) : this.reject(outcome);
    // The stop kills the binlog connection through the source connection; wait for it, within bounds.
    const timer = setTimeout(settle, STOP_WAIT_MS);
    this.zongji.once('stopped', () => {
      clearTimeout(timer);
      settle();
    });
    this.zongji.stop();
  }
}

/** A binlog reader's error as a named one: a purged log needs a full run, missing grants a fix of the setup. */
function readError(error: unknown): MigrationError {
  const { code, message } = error as { code?: string; message?: string };
  if (code === 'ER_MASTER_FATAL_ERROR_READING_BINLOG' && /could not find|purged/i.test(message ?? '')) {
    return new FullRunNeededError(
      `source: the binary log from the checkpoint on is gone (${message}): run a full run, and keep binary logs longer than the time between binlog runs`,
    );
  }
  if (code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR' || code === 'ER_ACCESS_DENIED_ERROR') {
    return new BinlogSettingsError(
      `source: the user may not read the binary log (${message}): GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO it`,
    );
  }
  if (code === undefined && error instanceof Error)
    return new DatabaseError(`source: reading the binary log: ${message}`);
  return classifyDatabaseError(error, 'source');
}

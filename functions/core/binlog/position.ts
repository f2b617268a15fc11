// zod's mini build: ApplyChanges bundles what it imports.
import * as z from 'zod/mini';

/**
 * A place in the source's binary log: the file and the byte offset just after an event, and the
 * server's GTID position there when known (MariaDB's `domain-server-sequence` list). Binlog runs
 * resume from the file and offset; the GTID is kept so an operator can find the place on a replica.
 */
export const binlogPositionSchema = z.object({
  file: z.string().check(z.minLength(1)),
  position: z.int().check(z.nonnegative()),
  gtid: z.nullable(z.string()),
});

export type BinlogPosition = z.infer<typeof binlogPositionSchema>;

// `mariadb-bin.000042`: the log's base name and its sequence number, which orders the files.
const FILE_NAME = /^(.*)\.(\d+)$/;

/** Orders two binlog files: by sequence number within one base name, by name otherwise. */
export function compareFiles(a: string, b: string): number {
  const left = FILE_NAME.exec(a);
  const right = FILE_NAME.exec(b);
  if (left && right && left[1] === right[1]) return Math.sign(Number(left[2]) - Number(right[2]));
  return a < b ? -1 : Number(a > b);
}

/** Orders two places in the binary log: negative when `a` comes first, 0 when they are the same place. */
export function comparePositions(a: Omit<BinlogPosition, 'gtid'>, b: Omit<BinlogPosition, 'gtid'>): number {
  return compareFiles(a.file, b.file) || Math.sign(a.position - b.position);
}

/** The earlier of the places. */
export function earliest<P extends Omit<BinlogPosition, 'gtid'>>(positions: P[]): P {
  if (positions.length === 0) throw new RangeError('earliest() of no positions');
  return positions.reduce((first, next) => (comparePositions(next, first) < 0 ? next : first));
}

/** A place as people read it and `SHOW BINLOG EVENTS IN 'file' FROM position` takes it: `file:position`. */
export function formatPosition(position: BinlogPosition | Omit<BinlogPosition, 'gtid'>): string {
  const gtid = 'gtid' in position && position.gtid ? ` (GTID ${position.gtid})` : '';
  return `${position.file}:${position.position}${gtid}`;
}

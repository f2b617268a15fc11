/** The `service` on every log line and metric. */
export const SERVICE = 'mysql-to-postgres';
/** The CloudWatch namespace of the functions' metrics, which the stack's dashboard reads. */
export const METRICS_NAMESPACE = 'MysqlToPostgres';

/** Metric names: one word each for what the workflow did. */
export const METRIC = {
  rowsCopied: 'RowsCopied',
  rangeSeconds: 'RangeSeconds',
  rowsVerified: 'RowsVerified',
  verificationMismatches: 'VerificationMismatches',
  /** Failed CopyRange or VerifyRange invocations, including those the workflow retries. */
  rangeErrors: 'RangeErrors',
  /** Ranges a run ended without, counted by Summarize from the ledger. */
  rangesFailed: 'RangesFailed',
  /** Rows a binlog run wrote again from the source, for the keys the binary log said changed. */
  changedRowsWritten: 'ChangedRowsWritten',
  /** How far the target is behind the source after a binlog run, in seconds. */
  binlogLag: 'BinlogLagSeconds',
  /** Foreign keys and checks Finish left NOT VALID because rows in the target break them. */
  constraintsNotValid: 'ConstraintsNotValid',
} as const;

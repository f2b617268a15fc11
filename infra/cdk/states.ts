/**
 * The workflow's state names: the same words the logs, the ledger and the README use. They live
 * apart from the CDK definition (workflow.ts) so the local tools can read them without loading
 * the CDK.
 */
export const STATE = {
  plan: 'Plan',
  alreadyRunning: 'AlreadyRunning',
  // The Map's items, read from the ledger a page at a time.
  firstItems: 'FirstItems',
  readItems: 'ReadItems',
  moreItems: 'MoreItems',
  copyRanges: 'CopyRanges',
  copyRange: 'CopyRange',
  rangeFinished: 'RangeFinished',
  resumeRange: 'ResumeRange',
  verifyEnabled: 'VerifyEnabled',
  plannedRange: 'PlannedRange',
  verifyRange: 'VerifyRange',
  verificationSkipped: 'VerificationSkipped',
  describeFailure: 'DescribeFailure',
  sendFailedBatch: 'SendFailedBatch',
  failureNotQueued: 'FailureNotQueued',
  finish: 'Finish',
  summarize: 'Summarize',
  // Binlog runs and cut-over (docs/BINLOG.md).
  changesOrRanges: 'ChangesOrRanges',
  applyChanges: 'ApplyChanges',
  cutoverCheck: 'CutoverCheck',
  finalVerification: 'FinalVerification',
  verifyFinalRange: 'VerifyFinalRange',
  firstFinalItems: 'FirstFinalItems',
  readFinalItems: 'ReadFinalItems',
  moreFinalItems: 'MoreFinalItems',
  finalRangeFailed: 'FinalRangeFailed',
} as const;

/** Where an execution that found its table busy says why, in its output: `{Error, Cause}`. */
export const ALREADY_RUNNING_PATH = 'alreadyRunning';

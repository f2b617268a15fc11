import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { AwsStub } from 'aws-sdk-client-mock';
import type { FailedBatchMessage } from '../../functions/core/failed-batch.js';
import { DEFAULT_POLICIES } from '../../functions/core/policies.js';

export const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Migration';

export function failedBatch(table: string, index: number, lo: string | null, hi: string | null): FailedBatchMessage {
  return {
    version: 1,
    execution: `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:run-1`,
    runId: 'run-1',
    table,
    range: { index, lo, hi },
    policies: DEFAULT_POLICIES,
    error: {
      name: 'ValueConversionError',
      message: `${table}.x at key ${lo}: the value cannot be represented in PostgreSQL`,
    },
    key: lo,
    attempts: 1,
    time: '2026-01-02T03:04:05.000Z',
  };
}

export const asMessage = (body: unknown, id: string) => ({
  MessageId: id,
  ReceiptHandle: `receipt-${id}`,
  Body: JSON.stringify(body),
});
// biome-ignore lint/suspicious/noExplicitAny: any client's stub, as aws-sdk-client-mock types it
export const startedInput = (sfn: AwsStub<any, any, any>) =>
  sfn.commandCalls(StartExecutionCommand).map((call) => JSON.parse(call.args[0].input.input!) as unknown);

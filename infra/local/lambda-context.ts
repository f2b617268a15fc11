import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

// Lambda's limit, which the deployed functions run with.
const LAMBDA_TIMEOUT_MS = 15 * 60_000;

/** The Lambda context a local invocation gets: the function's name and time limit, as AWS would give them. */
export function lambdaContext(functionName: string, timeoutMs = LAMBDA_TIMEOUT_MS): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

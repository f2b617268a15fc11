import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import { type RedriveRequest, redrive, redriveTargetsFromEnvironment } from '../core/redrive.js';

const clients = { sqs: new SQSClient({}), sfn: new SFNClient({}) };

/** Invoke with `{"table": "users"}` (and optionally `"concurrency"`) to copy that table's failed ranges again. */
export const handler = middy<RedriveRequest>().handler((event) =>
  redrive(event, redriveTargetsFromEnvironment(clients)),
);

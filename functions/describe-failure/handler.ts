import middy from '@middy/core';
import { type CaughtRange, describeFailedBatch } from '../core/failed-batch.js';

export const handler = middy<CaughtRange>().handler((event) => describeFailedBatch(event, new Date()));

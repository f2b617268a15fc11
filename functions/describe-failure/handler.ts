import middy from '@middy/core';
import { describeFailedBatch, type CaughtRange } from '../core/failed-batch.js';

export const handler = middy<CaughtRange>().handler((event) => describeFailedBatch(event, new Date()));

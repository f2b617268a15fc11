import type { SQSClient } from '@aws-sdk/client-sqs';

export interface LocalQueue {
  /** The SQS API's address, for clients made elsewhere (AWS_ENDPOINT_URL_SQS). */
  endpoint: string;
  sqs: SQSClient;
  queueUrl: string;
  /** Takes every message off the queue, parsed. */
  drain(): Promise<unknown[]>;
  stop(): Promise<void>;
}

// Local runs are on Node.js 20 on purpose (the deployed functions run 22); the SDK's notice about it is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** An in-process SQS endpoint (fauxqs) with one queue standing in for the failed-batches queue. */
export async function startLocalQueue(name = 'failed-batches'): Promise<LocalQueue> {
  // Loaded here rather than up front: a local run starts its queue only when a range fails.
  const [{ startFauxqs }, { DeleteMessageCommand, ReceiveMessageCommand, SQSClient }] = await Promise.all([
    import('fauxqs'),
    import('@aws-sdk/client-sqs'),
  ]);
  const server = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false });
  const { queueUrl } = server.createQueue(name);
  const endpoint = `http://127.0.0.1:${server.port}`;
  const sqs = new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return {
    endpoint,
    sqs,
    queueUrl,
    async drain() {
      const bodies: unknown[] = [];
      for (;;) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
        );
        if (Messages.length === 0) return bodies;
        for (const message of Messages) {
          bodies.push(JSON.parse(message.Body ?? 'null'));
          await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
        }
      }
    },
    async stop() {
      sqs.destroy();
      await server.stop();
    },
  };
}

/**
 * A run's failed-batches queue, started the first time it is asked for: loading and starting the
 * SQS endpoint takes about half a second, and a run whose ranges all land never sends to it.
 */
export function queueOnDemand(name = 'failed-batches') {
  let queue: Promise<LocalQueue> | undefined;
  return {
    get: () => (queue ??= startLocalQueue(name)),
    /** Every message sent so far, parsed; none when the queue was never started. */
    drain: async () => (queue ? (await queue).drain() : []),
    stop: async () => {
      if (queue) await (await queue).stop();
    },
  };
}

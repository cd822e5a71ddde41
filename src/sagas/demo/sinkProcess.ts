/**
 * The counting SMTP sink in a process of its own (used by the launch benchmark, so that the sink's CPU and memory
 * are not measured with the saga's). Run with an IPC channel: it sends `{ url }` once listening and answers
 * `'count'` with `{ accepted }`; it exits on `'stop'` or when the parent goes away.
 */
import { CountingSmtpSink } from './sink.js';

const sink = await new CountingSmtpSink({ keepCounts: false }).start();
const send = (message: unknown) => process.send?.(message);
process.on('message', (message) => {
  if (message === 'count') send({ accepted: sink.accepted });
  if (message === 'stop') void sink.close().finally(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
send({ url: sink.url });

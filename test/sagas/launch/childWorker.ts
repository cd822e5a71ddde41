/** A launch saga worker in a child process (workerProcess.ts), for the SIGKILL tests, and a hook on the sink. */
import { spawn, type ChildProcess } from 'node:child_process';
import { TEST_NATS_URL } from '../../support/nats.js';
import type { SinkMessage } from '../../support/smtpSink.js';
import type { LaunchWorld } from './support.js';

export function startChild(world: LaunchWorld, options: { rate: number; batch: number }): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/sagas/launch/workerProcess.ts'], {
    env: { ...process.env, DATABASE_URL: world.env.url, NATS_URL: TEST_NATS_URL, NATS_PREFIX: world.prefix, SMTP_URL: world.sink.url, RATE: String(options.rate), BATCH: String(options.batch) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve({ child, stderr: () => stderr });
    });
    child.once('exit', (code) => reject(new Error(`worker child exited (${code}) before it was ready: ${stderr}`)));
  });
}

/** Calls `listener` synchronously whenever the sink accepts a message; returns the unhook. */
export function onAccepted(world: LaunchWorld, listener: () => void): () => void {
  const accepted = world.sink.accepted as SinkMessage[];
  const push = accepted.push;
  accepted.push = (...messages: SinkMessage[]) => {
    const length = push.apply(accepted, messages);
    listener();
    return length;
  };
  return () => {
    accepted.push = push;
  };
}

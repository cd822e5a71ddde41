/**
 * TEST DOUBLE — NOT EventStoreDB.
 *
 * An in-memory stand-in for EventStoreDB's gRPC Streams service, built from the official client's own generated
 * service definition and message classes (`@eventstore/db-client/generated`, no hand-written protos), served with
 * `@grpc/grpc-js`. It lets the EventStoreDB adapter run the event store contract through the real client without
 * a database. It was written against @eventstore/db-client 6.2.1; a different client version may speak a wire
 * dialect this double does not know. Real EventStoreDB remains the reference: run the same contract against it
 * by setting ESDB_CONNECTION_STRING.
 *
 * Supports (only what the adapter calls):
 * - Streams/Append (client streaming): options first, then proposed messages (string UUID ids, `type` and
 *   `content-type` metadata, JSON or binary data). Expected revision any / no_stream / stream_exists / exact,
 *   with EventStoreDB's idempotency: re-appending the same event ids at the same expected revision succeeds
 *   without writing and reports the original revision and position. A conflict is a normal AppendResp with
 *   `wrong_expected_version`, not a gRPC error. Appends larger than 1 MiB fail as EventStoreDB's
 *   `maximum-append-size-exceeded` (size counted as data + metadata + type, an approximation).
 * - Streams/Read of one stream, forwards or backwards, from start / end / a revision (inclusive), with a count;
 *   a missing stream answers `stream_not_found`.
 * - Streams/Read of `$all`, forwards (from a position, inclusive) or backwards (from the end, or from the event
 *   before a position), with a count.
 * - Subscriptions to `$all` from start, end or a position (exclusive): confirmation, stored events, caught_up,
 *   then live events. Listeners are removed when the client cancels.
 * - Positions that look like EventStoreDB's: byte offsets in an imaginary log where the events of one append
 *   share a commit position and have distinct, smaller prepare positions.
 * - System events in `$all`: `$settings` and `$metadata` records at the start and a `$statsCollected` record in
 *   `$stats-…` after every third append, so clients must filter them as they would against a real server.
 *
 * Does not support (rejected with UNIMPLEMENTED or INVALID_ARGUMENT, never silently ignored):
 * resolving links, server-side filters, structured UUIDs, the control option, subscriptions to a single stream,
 * empty appends, Streams/Delete, Streams/Tombstone, Streams/BatchAppend, and every other service (users,
 * projections, persistent subscriptions, gossip, operations; ServerFeatures is left UNIMPLEMENTED, which makes
 * the client fall back to plain Append). It has no authentication, TLS, deadlines, stream metadata ($maxAge,
 * ACLs), deletion, link events, checkpoints or fell_behind messages, no persistence and no cluster. Live
 * subscription writes ignore back-pressure.
 */
import { randomUUID } from 'node:crypto';
import { Metadata, Server, ServerCredentials, status } from '@grpc/grpc-js';
import type { sendUnaryData, ServerReadableStream, ServerWritableStream } from '@grpc/grpc-js';
import streamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb.js';
import type { AppendReq, AppendResp, ReadReq, ReadResp } from '@eventstore/db-client/generated/streams_pb.js';
import { InMemoryLog, type ExpectedRevision, type ProposedEvent, type StoredEvent } from './log.js';
import {
  caughtUpResp,
  confirmationResp,
  DoubleRejection,
  eventResp,
  streamNameOf,
  streamNotFoundResp,
  toAppendResp,
  toExpectedRevision,
  toProposedEvent,
  toReadRequest,
  type ReadRequest,
} from './messages.js';

export interface EsdbDouble {
  /** `esdb://127.0.0.1:PORT?tls=false` */
  readonly connectionString: string;
  stop(): Promise<void>;
}

/** EventStoreDB's default MaxAppendSize. */
const MAX_APPEND_SIZE = 1024 * 1024;

export async function startEsdbDouble(): Promise<EsdbDouble> {
  const log = new InMemoryLog();
  const server = new Server();
  server.addService(streamsGrpc.StreamsService, {
    append: (call: ServerReadableStream<AppendReq, AppendResp>, callback: sendUnaryData<AppendResp>) => handleAppend(log, call, callback),
    read: (call: ServerWritableStream<ReadReq, ReadResp>) => handleRead(log, call),
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, boundPort) => (error ? reject(error) : resolve(boundPort)));
  });
  return {
    connectionString: `esdb://127.0.0.1:${port}?tls=false`,
    async stop() {
      server.forceShutdown();
    },
  };
}

function handleAppend(log: InMemoryLog, call: ServerReadableStream<AppendReq, AppendResp>, callback: sendUnaryData<AppendResp>): void {
  let header: { streamName: string; expected: ExpectedRevision } | undefined;
  const proposed: ProposedEvent[] = [];
  let size = 0;
  let answered = false;
  const answer = (work: () => AppendResp) => {
    if (answered) return;
    try {
      const resp = work();
      answered = true;
      callback(null, resp);
    } catch (error) {
      answered = true;
      callback(toServiceError(error));
    }
  };
  call.on('data', (request: AppendReq) => {
    if (answered) return;
    try {
      if (header === undefined) {
        const options = request.getOptions();
        if (options === undefined) throw new DoubleRejection(status.INVALID_ARGUMENT, 'the first append message must carry the options');
        header = { streamName: streamNameOf(options.getStreamIdentifier()), expected: toExpectedRevision(options) };
        return;
      }
      const message = request.getProposedMessage();
      if (message === undefined) throw new DoubleRejection(status.INVALID_ARGUMENT, 'options may only be sent once per append');
      const event = toProposedEvent(message);
      size += event.data.length + event.customMetadata.length + event.type.length;
      if (size > MAX_APPEND_SIZE) throw maxAppendSizeExceeded();
      proposed.push(event);
    } catch (error) {
      answer(() => {
        throw error;
      });
    }
  });
  call.on('end', () =>
    answer(() => {
      if (header === undefined) throw new DoubleRejection(status.INVALID_ARGUMENT, 'an append needs its options');
      if (proposed.length === 0) throw new DoubleRejection(status.UNIMPLEMENTED, 'an append without events is not supported');
      return toAppendResp(header.expected, log.append(header.streamName, header.expected, proposed));
    }),
  );
}

function handleRead(log: InMemoryLog, call: ServerWritableStream<ReadReq, ReadResp>): void {
  let request: ReadRequest;
  try {
    request = toReadRequest(call.request);
  } catch (error) {
    call.emit('error', toServiceError(error));
    return;
  }
  switch (request.kind) {
    case 'stream': {
      const events = log.stream(request.streamName);
      if (events === undefined) call.write(streamNotFoundResp(request.streamName));
      else for (const event of selectFromStream(events, request)) call.write(eventResp(event));
      call.end();
      return;
    }
    case 'all': {
      const events = request.forwards ? log.readAllForwards(request.from, request.count) : log.readAllBackwards(request.from, request.count);
      for (const event of events) call.write(eventResp(event));
      call.end();
      return;
    }
    case 'subscribe_all': {
      // Everything is synchronous, so no append can slip between the catch-up snapshot and the live listener.
      call.write(confirmationResp(randomUUID()));
      for (const event of log.allAfter(request.after)) call.write(eventResp(event));
      call.write(caughtUpResp());
      const stopListening = log.onAppended((event) => call.write(eventResp(event)));
      call.on('cancelled', stopListening);
      call.on('close', stopListening);
      return;
    }
  }
}

function selectFromStream(events: readonly StoredEvent[], request: Extract<ReadRequest, { kind: 'stream' }>): StoredEvent[] {
  const lastRevision = BigInt(events.length - 1);
  const selected = request.forwards
    ? events.filter((e) => e.revision >= (request.from === 'start' ? 0n : request.from === 'end' ? lastRevision + 1n : request.from))
    : events.filter((e) => e.revision <= (request.from === 'end' ? lastRevision : request.from === 'start' ? 0n : request.from)).reverse();
  return request.count >= BigInt(selected.length) ? selected : selected.slice(0, Number(request.count));
}

/** EventStoreDB signals an oversized append as an RpcException whose trailers name the exception. */
function maxAppendSizeExceeded(): DoubleRejection & { metadata: Metadata } {
  const metadata = new Metadata();
  metadata.set('exception', 'maximum-append-size-exceeded');
  metadata.set('maximum-append-size', String(MAX_APPEND_SIZE));
  return Object.assign(new DoubleRejection(status.INVALID_ARGUMENT, `Maximum Append Size of ${MAX_APPEND_SIZE} Exceeded.`), { metadata });
}

function toServiceError(error: unknown): { code: status; details: string; metadata?: Metadata } {
  if (error instanceof DoubleRejection) {
    const metadata = (error as { metadata?: Metadata }).metadata;
    return { code: error.code, details: error.message, ...(metadata ? { metadata } : {}) };
  }
  return { code: status.INTERNAL, details: `EventStoreDB test double failed: ${String(error)}` };
}

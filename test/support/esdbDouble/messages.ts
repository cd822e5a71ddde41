/**
 * TEST DOUBLE wire mapping: the client's own generated protobuf classes <-> the in-memory log (see server.ts).
 * 64-bit integers travel as decimal strings, stream names as bytes, `created` as 100 ns ticks since the epoch.
 */
import { status } from '@grpc/grpc-js';
// The generated modules are CommonJS; their named exports are attached at run time (goog.object.extend), so
// they are imported whole and destructured.
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import type { AppendReq as AppendReqType, ReadReq as ReadReqType } from '@eventstore/db-client/generated/streams_pb.js';
import type { AppendOutcome, ExpectedRevision, LogPosition, ProposedEvent, StoredEvent } from './log.js';

const { AppendReq, AppendResp, ReadReq, ReadResp } = streamsPb;
const { Empty, StreamIdentifier, UUID } = sharedPb;
const decoder = new TextDecoder();

/** An error the server handler turns into a gRPC status: an option or input the double does not support. */
export class DoubleRejection extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(`EventStoreDB test double: ${message}`);
  }
}

const unsupported = (what: string) => new DoubleRejection(status.UNIMPLEMENTED, `${what} is not supported`);
const invalid = (what: string) => new DoubleRejection(status.INVALID_ARGUMENT, what);

export function streamNameOf(identifier: { getStreamName_asU8(): Uint8Array } | undefined): string {
  if (identifier === undefined) throw invalid('a stream identifier is required');
  return decoder.decode(identifier.getStreamName_asU8());
}

export function toExpectedRevision(options: AppendReqType.Options): ExpectedRevision {
  const Case = AppendReq.Options.ExpectedStreamRevisionCase;
  switch (options.getExpectedStreamRevisionCase()) {
    case Case.ANY:
      return { kind: 'any' };
    case Case.NO_STREAM:
      return { kind: 'no_stream' };
    case Case.STREAM_EXISTS:
      return { kind: 'stream_exists' };
    case Case.REVISION:
      return { kind: 'revision', revision: BigInt(options.getRevision()) };
    default:
      throw invalid('an expected stream revision is required');
  }
}

export function toProposedEvent(message: AppendReqType.ProposedMessage): ProposedEvent {
  const id = message.getId();
  if (id === undefined || !id.hasString()) throw unsupported('an event id other than a string UUID');
  const metadata = message.getMetadataMap();
  const type = metadata.get('type');
  const contentType = metadata.get('content-type');
  if (!type || !contentType) throw invalid('proposed messages need `type` and `content-type` metadata');
  if (contentType !== 'application/json' && contentType !== 'application/octet-stream') throw unsupported(`content-type ${contentType}`);
  return { id: id.getString(), type, contentType, data: message.getData_asU8(), customMetadata: message.getCustomMetadata_asU8() };
}

export function toAppendResp(expected: ExpectedRevision, outcome: AppendOutcome): InstanceType<typeof AppendResp> {
  const resp = new AppendResp();
  if (outcome.kind === 'success') {
    const position = new AppendResp.Position()
      .setCommitPosition(outcome.position.commit.toString())
      .setPreparePosition(outcome.position.prepare.toString());
    return resp.setSuccess(new AppendResp.Success().setCurrentRevision(outcome.currentRevision.toString()).setPosition(position));
  }
  // Not a gRPC error: EventStoreDB answers a normal AppendResp and the client raises WrongExpectedVersionError.
  const wrong = new AppendResp.WrongExpectedVersion();
  if (outcome.current === null) wrong.setCurrentNoStream(new Empty());
  else wrong.setCurrentRevision(outcome.current.toString());
  if (expected.kind === 'revision') wrong.setExpectedRevision(expected.revision.toString());
  else if (expected.kind === 'no_stream') wrong.setExpectedNoStream(new Empty());
  else if (expected.kind === 'stream_exists') wrong.setExpectedStreamExists(new Empty());
  else wrong.setExpectedAny(new Empty());
  return resp.setWrongExpectedVersion(wrong);
}

export type ReadRequest =
  | { readonly kind: 'stream'; readonly streamName: string; readonly from: bigint | 'start' | 'end'; readonly forwards: boolean; readonly count: bigint }
  | { readonly kind: 'all'; readonly from: LogPosition | 'start' | 'end'; readonly forwards: boolean; readonly count: bigint }
  | { readonly kind: 'subscribe_all'; readonly after: LogPosition | 'start' | 'end' };

/** Accepts exactly the reads the adapter makes and rejects every other option instead of ignoring it. */
export function toReadRequest(request: ReadReqType): ReadRequest {
  const options = request.getOptions();
  if (options === undefined) throw invalid('read options are required');
  const Options = ReadReq.Options;
  if (options.getResolveLinks()) throw unsupported('resolving links');
  if (options.getFilterOptionCase() !== Options.FilterOptionCase.NO_FILTER) throw unsupported('server-side filtering');
  if (options.getUuidOption()?.getContentCase() !== Options.UUIDOption.ContentCase.STRING) throw unsupported('structured UUIDs');
  if (options.hasControlOption()) throw unsupported('the control option');
  const forwards = options.getReadDirection() === Options.ReadDirection.FORWARDS;
  const subscription = options.getCountOptionCase() === Options.CountOptionCase.SUBSCRIPTION;
  if (!subscription && !options.hasCount()) throw invalid('a read needs a count or a subscription');

  const stream = options.getStream();
  if (stream !== undefined) {
    if (subscription) throw unsupported('subscribing to a single stream');
    const Case = Options.StreamOptions.RevisionOptionCase;
    const revisionCase = stream.getRevisionOptionCase();
    const from = revisionCase === Case.START ? 'start' : revisionCase === Case.END ? 'end' : BigInt(stream.getRevision());
    return { kind: 'stream', streamName: streamNameOf(stream.getStreamIdentifier()), from, forwards, count: BigInt(options.getCount()) };
  }
  const all = options.getAll();
  if (all === undefined) throw invalid('a read needs stream or all options');
  const position = all.getPosition();
  const from =
    position !== undefined
      ? { commit: BigInt(position.getCommitPosition()), prepare: BigInt(position.getPreparePosition()) }
      : all.hasEnd()
        ? ('end' as const)
        : ('start' as const);
  if (subscription) return { kind: 'subscribe_all', after: from };
  return { kind: 'all', from, forwards, count: BigInt(options.getCount()) };
}

export function eventResp(event: StoredEvent): InstanceType<typeof ReadResp> {
  const recorded = new ReadResp.ReadEvent.RecordedEvent()
    .setId(new UUID().setString(event.id))
    .setStreamIdentifier(new StreamIdentifier().setStreamName(new TextEncoder().encode(event.streamName)))
    .setStreamRevision(event.revision.toString())
    .setCommitPosition(event.commit.toString())
    .setPreparePosition(event.prepare.toString())
    .setData(event.data)
    .setCustomMetadata(event.customMetadata);
  recorded
    .getMetadataMap()
    .set('type', event.type)
    .set('content-type', event.contentType)
    .set('created', event.created.toString());
  const readEvent = new ReadResp.ReadEvent().setEvent(recorded).setCommitPosition(event.commit.toString());
  return new ReadResp().setEvent(readEvent);
}

export function streamNotFoundResp(streamName: string): InstanceType<typeof ReadResp> {
  const notFound = new ReadResp.StreamNotFound().setStreamIdentifier(new StreamIdentifier().setStreamName(new TextEncoder().encode(streamName)));
  return new ReadResp().setStreamNotFound(notFound);
}

export function confirmationResp(subscriptionId: string): InstanceType<typeof ReadResp> {
  return new ReadResp().setConfirmation(new ReadResp.SubscriptionConfirmation().setSubscriptionId(subscriptionId));
}

export function caughtUpResp(): InstanceType<typeof ReadResp> {
  return new ReadResp().setCaughtUp(new ReadResp.CaughtUp());
}

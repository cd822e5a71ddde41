import { appendDuration, eventsAppended } from '../infra/metrics.js';
import { SpanKind, tracingEnabled, withSpan } from '../infra/spans.js';
import { forwardingTo, type EventStore } from './port.js';

/**
 * The same store, with append latency and volume recorded in the process's metrics, and (while tracing is on) an
 * `append` span per call: stream, event count and resulting revision.
 */
export function instrumentEventStore(store: EventStore): EventStore {
  const adapter = store.kind;
  const traced = {
    append: (streamId: string, events: Parameters<EventStore['append']>[1], options: Parameters<EventStore['append']>[2]) =>
      withSpan('append', { 'db.system': adapter, 'stream.id': streamId, 'events.count': events.length, 'correlation.id': events[0]?.metadata.correlationId }, async (span) => {
        const result = await store.append(streamId, events, options);
        span?.setAttributes({ 'stream.revision': result.nextExpectedRevision, 'event.position': result.position.toString() });
        return result;
      }, { kind: SpanKind.CLIENT }),
    appendMany: (appends: Parameters<EventStore['appendMany']>[0]) =>
      withSpan('appendMany', { 'db.system': adapter, 'streams.count': appends.length, 'events.count': appends.reduce((n, a) => n + a.events.length, 0), 'correlation.id': appends[0]?.events[0]?.metadata.correlationId }, () => store.appendMany(appends), { kind: SpanKind.CLIENT }),
  };
  return {
    ...forwardingTo(store),
    async append(streamId, events, options) {
      const stop = appendDuration.startTimer({ adapter, kind: 'append' });
      try {
        const result = await (tracingEnabled() ? traced.append(streamId, events, options) : store.append(streamId, events, options));
        eventsAppended.inc({ adapter }, events.length);
        return result;
      } finally {
        stop();
      }
    },
    async appendMany(appends) {
      const stop = appendDuration.startTimer({ adapter, kind: 'appendMany' });
      try {
        const results = await (tracingEnabled() ? traced.appendMany(appends) : store.appendMany(appends));
        eventsAppended.inc({ adapter }, appends.reduce((n, a) => n + a.events.length, 0));
        return results;
      } finally {
        stop();
      }
    },
  };
}

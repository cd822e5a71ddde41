import { appendDuration, eventsAppended } from '../infra/metrics.js';
import type { EventStore } from './port.js';

/** The same store, with append latency and volume recorded in the process's metrics. */
export function instrumentEventStore(store: EventStore): EventStore {
  const adapter = store.kind;
  return {
    kind: store.kind,
    async append(streamId, events, options) {
      const stop = appendDuration.startTimer({ adapter, kind: 'append' });
      try {
        const result = await store.append(streamId, events, options);
        eventsAppended.inc({ adapter }, events.length);
        return result;
      } finally {
        stop();
      }
    },
    async appendMany(appends) {
      const stop = appendDuration.startTimer({ adapter, kind: 'appendMany' });
      try {
        const results = await store.appendMany(appends);
        eventsAppended.inc({ adapter }, appends.reduce((n, a) => n + a.events.length, 0));
        return results;
      } finally {
        stop();
      }
    },
    readStream: (streamId, options) => store.readStream(streamId, options),
    readStreams: (streamIds) => store.readStreams(streamIds),
    readAll: (options) => store.readAll(options),
    subscribeAll: (options) => store.subscribeAll(options),
    headPosition: () => store.headPosition(),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}

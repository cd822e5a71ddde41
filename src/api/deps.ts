import type { Kysely } from 'kysely';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../infra/config.js';
import type { Logger } from '../infra/logger.js';
import type { Database } from '../projections/db/schema.js';
import type { EventStore } from '../eventstore/port.js';

/** A dependency /ready checks besides Postgres, NATS and the event store (e.g. a projection that is stuck). */
export interface ReadinessCheck {
  readonly name: string;
  /** Resolves when healthy; throws (with a short message) when not. */
  check(): Promise<void>;
}

/** Everything the API needs from the process; `main.ts` builds them, tests pass real ones. */
export interface ServerDeps {
  readonly config: Config;
  readonly db: Kysely<Database>;
  readonly eventStore: EventStore;
  readonly nats: NatsConnection;
  readonly logger: Logger;
  readonly readinessChecks?: readonly ReadinessCheck[];
}

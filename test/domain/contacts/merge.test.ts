import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMergeView, mergeContacts } from '../../../src/api/commands/contactMerges.js';
import type { CreateContact } from '../../../src/domain/contacts/commands.js';
import { contactDecider } from '../../../src/domain/contacts/decide.js';
import { contactStreamId, type ContactAbsorbed, type ContactCreated, type ContactEvent } from '../../../src/domain/contacts/events.js';
import { duplicateSide, evolveMergeView, initialMergeView, survivorSide, type MergeContacts, type MergeView } from '../../../src/domain/contacts/merge.js';
import { InvalidTransitionError, NotFoundError, ValidationError } from '../../../src/domain/shared/errors.js';
import { handleCommand } from '../../../src/eventstore/commandHandler.js';
import { createPostgresEventStore, migrateEventStore } from '../../../src/eventstore/postgres/index.js';
import type { EventStore } from '../../../src/eventstore/port.js';
import { createPool } from '../../../src/infra/postgres.js';
import { deciderSpec } from '../../support/decider.js';
import { useTestDatabase } from '../../support/postgres.js';

const SURVIVOR = '00000000-0000-5000-8000-000000000001';
const DUPLICATE = '00000000-0000-5000-8000-000000000002';
const T = (day: number) => `2024-05-${String(day).padStart(2, '0')}T10:00:00.000Z`;
const AT = T(20);

const merge: MergeContacts = { type: 'MergeContacts', data: { survivorId: SURVIVOR, duplicateId: DUPLICATE, rule: 'manual', at: AT } };
const survivorSpec = deciderSpec(survivorSide);
const duplicateSpec = deciderSpec(duplicateSide);

function created(id: string, email: string, at: string, data: Partial<ContactCreated['data']> = {}): ContactCreated {
  return { type: 'ContactCreated', data: { contactId: id, email, emailAsGiven: email, externalId: null, phone: null, attributes: {}, tags: [], source: 'api', createdAt: at, ...data } };
}
const str = (value: string) => ({ type: 'string' as const, value });
const view = (events: readonly ContactEvent[]): MergeView => events.reduce(evolveMergeView, initialMergeView());
const absorbed = (data: Partial<ContactAbsorbed['data']>): ContactAbsorbed => ({
  type: 'ContactAbsorbed',
  data: { duplicateId: DUPLICATE, duplicateEmail: 'ada@gmail.com', attributes: {}, tags: [], subscriptions: [], unsubscriptions: [], suppression: null, phone: null, externalId: null, rule: 'manual', at: AT, ...data },
});

const survivorCreated = created(SURVIVOR, 'ada@example.com', T(1));
const duplicateCreated = created(DUPLICATE, 'ada@gmail.com', T(2));

describe('MergeContacts, survivor side: the attribute-precedence policy', () => {
  it("keeps the survivor's non-empty values, fills its empty ones, and unites tags", () => {
    survivorSpec
      .given([{ ...survivorCreated, data: { ...survivorCreated.data, attributes: { first_name: str('Ada'), city: str(' ') }, tags: ['vip', 'beta'] } }])
      .when({
        merge,
        other: view([{ ...duplicateCreated, data: { ...duplicateCreated.data, attributes: { first_name: str('Augusta'), city: str('London'), plan: str('pro') }, tags: ['beta', 'newsletter'] } }]),
      })
      .then([absorbed({ attributes: { city: str('London'), plan: str('pro') }, tags: ['newsletter'] })]);
  });

  it('keeps a value the survivor cleared after the duplicate set it, and takes one the duplicate set after the survivor cleared it', () => {
    const survivor: ContactEvent[] = [
      { ...survivorCreated, data: { ...survivorCreated.data, attributes: { city: str('Paris'), plan: str('free') } } },
      { type: 'ContactAttributesChanged', data: { changes: { city: null }, changedAt: T(5) } },
      { type: 'ContactAttributesChanged', data: { changes: { plan: null }, changedAt: T(3) } },
    ];
    const duplicate: ContactEvent[] = [
      { ...duplicateCreated, data: { ...duplicateCreated.data, attributes: { city: str('London') } } },
      { type: 'ContactAttributesChanged', data: { changes: { plan: str('pro') }, changedAt: T(4) } },
    ];
    // city: duplicate set it on day 2, the survivor removed its own on day 5 → stays removed.
    // plan: the survivor removed it on day 3, the duplicate set it on day 4 → taken.
    survivorSpec.given(survivor).when({ merge, other: view(duplicate) }).then([absorbed({ attributes: { plan: str('pro') } })]);
  });

  it('applies the same rule to phone and external id', () => {
    survivorSpec
      .given([{ ...survivorCreated, data: { ...survivorCreated.data, phone: '+4915100000001' } }, { type: 'ContactAttributesChanged', data: { changes: {}, externalId: null, changedAt: T(9) } }])
      .when({ merge, other: view([{ ...duplicateCreated, data: { ...duplicateCreated.data, phone: '+4915100000002', externalId: 'crm-2' } }]) })
      .then([absorbed({})]);
    survivorSpec
      .given([survivorCreated])
      .when({ merge, other: view([{ ...duplicateCreated, data: { ...duplicateCreated.data, phone: '+4915100000002', externalId: 'crm-2' } }]) })
      .then([absorbed({ phone: '+4915100000002', externalId: 'crm-2' })]);
  });

  it('takes the most recent consent decision per topic: a newer unsubscribe stays, an older one does not', () => {
    const sub = (topic: string, at: string, version = 'v1'): ContactEvent => ({ type: 'ContactSubscribed', data: { topic, source: 'form', consentTextVersion: version, at } });
    const unsub = (topic: string, at: string): ContactEvent => ({ type: 'ContactUnsubscribed', data: { topic, source: 'link', campaignId: null, reason: null, at } });
    survivorSpec
      .given([survivorCreated, sub('newsletter', T(3)), unsub('offers', T(6)), sub('events', T(3), 'v1'), sub('tie', T(4))])
      .when({ merge, other: view([duplicateCreated, unsub('newsletter', T(4)), sub('offers', T(5)), sub('events', T(7), 'v2'), sub('product', T(2)), unsub('tie', T(4))]) })
      .then([
        absorbed({
          subscriptions: [
            { topic: 'events', source: 'form', consentTextVersion: 'v2', at: T(7) },
            { topic: 'product', source: 'form', consentTextVersion: 'v1', at: T(2) },
          ],
          unsubscriptions: [
            { topic: 'newsletter', at: T(4) },
            { topic: 'tie', at: T(4) },
          ],
        }),
      ]);
  });

  it('suppresses the survivor when either contact is suppressed', () => {
    const suppressed: ContactEvent = { type: 'ContactSuppressed', data: { reason: 'hard_bounce', detail: null, at: T(3) } };
    survivorSpec.given([survivorCreated]).when({ merge, other: view([duplicateCreated, suppressed]) }).then([absorbed({ suppression: { reason: 'hard_bounce', at: T(3) } })]);
    survivorSpec.given([survivorCreated, { ...suppressed, data: { ...suppressed.data, reason: 'complaint' } }]).when({ merge, other: view([duplicateCreated, suppressed]) }).then([absorbed({})]);
  });

  it('folds ContactAbsorbed into the survivor state the policy describes', () => {
    const state = [survivorCreated, absorbed({ attributes: { plan: str('pro') }, tags: ['x'], phone: '+4915100000002', suppression: { reason: 'manual', at: T(3) } })].reduce(contactDecider.evolve, contactDecider.initialState());
    expect(state).toMatchObject({ status: 'active', attributes: { plan: str('pro') }, tags: ['x'], phone: '+4915100000002', suppression: { reason: 'manual' } });
  });
});

describe('MergeContacts: refusals and the order of the halves', () => {
  const mergedInto = (survivorId: string): ContactEvent => ({ type: 'ContactMerged', data: { survivorId, rule: 'manual', at: T(10) } });

  it('refuses a merge into itself, into a merged contact, of a contact merged elsewhere, and of unknown contacts', () => {
    survivorSpec.given([survivorCreated]).when({ merge: { ...merge, data: { ...merge.data, duplicateId: SURVIVOR } }, other: view([survivorCreated]) }).thenThrows(ValidationError, /itself/);
    survivorSpec.given([survivorCreated, mergedInto('someone')]).when({ merge, other: view([duplicateCreated]) }).thenThrows(InvalidTransitionError, /merged/);
    survivorSpec.given([survivorCreated]).when({ merge, other: view([duplicateCreated, mergedInto('someone')]) }).thenThrows(InvalidTransitionError, /merged/);
    survivorSpec.given([]).when({ merge, other: view([duplicateCreated]) }).thenThrows(NotFoundError, /Survivor/);
    survivorSpec.given([survivorCreated]).when({ merge, other: initialMergeView() }).thenThrows(NotFoundError, /Duplicate/);
  });

  it('marks the duplicate merged only after the survivor absorbed it, once', () => {
    duplicateSpec.given([duplicateCreated]).when({ merge, other: view([survivorCreated]) }).thenThrows(InvalidTransitionError, /absorbed/);
    const survivorAfter = view([survivorCreated, absorbed({})]);
    duplicateSpec.given([duplicateCreated]).when({ merge, other: survivorAfter }).then([{ type: 'ContactMerged', data: { survivorId: SURVIVOR, rule: 'manual', at: AT } }]);
    duplicateSpec.given([duplicateCreated, mergedInto(SURVIVOR)]).when({ merge, other: survivorAfter }).then([]);
    survivorSpec.given([survivorCreated, absorbed({})]).when({ merge, other: view([duplicateCreated]) }).then([]);
  });

  it('leaves the duplicate refusing every further command (merged state)', () => {
    const state = [duplicateCreated, mergedInto(SURVIVOR)].reduce(contactDecider.evolve, contactDecider.initialState());
    expect(() => contactDecider.decide({ type: 'TagContact', data: { tags: ['x'], at: AT } }, state)).toThrow(InvalidTransitionError);
  });
});

describe('mergeContacts on the PostgreSQL event store', () => {
  let store: EventStore;
  const workspaceId = `ws-${randomUUID()}`;
  const context = (commandId: string) => ({ commandId, correlationId: commandId, causationId: null, actor: 'test', workspaceId, now: new Date(AT) });

  beforeAll(async () => {
    const { url } = await useTestDatabase('merge');
    const pool = createPool({ connectionString: url, max: 4 });
    await migrateEventStore(pool);
    store = createPostgresEventStore({ pool });
  });
  afterAll(() => store?.close());

  async function createContact(id: string, email: string, ws = workspaceId): Promise<void> {
    const command: CreateContact = { type: 'CreateContact', data: { contactId: id, email, externalId: null, phone: null, attributes: { plan: str('pro') }, tags: ['a'], subscriptions: [], source: 'api', at: T(1) } };
    await handleCommand(store, contactDecider, contactStreamId(id), command, { ...context(randomUUID()), workspaceId: ws });
  }
  const typesOf = async (id: string) => {
    const read = await store.readStream(contactStreamId(id));
    return read.status === 'found' ? read.events.map((e) => e.type) : [];
  };

  it('completes a merge that crashed between the halves, writing each half exactly once', async () => {
    const [survivorId, duplicateId] = [randomUUID(), randomUUID()];
    await createContact(survivorId, 'ada@example.com');
    await createContact(duplicateId, 'a.da@gmail.com');
    const commandId = `merge-${randomUUID()}`;
    const half: MergeContacts = { type: 'MergeContacts', data: { survivorId, duplicateId, rule: 'manual', at: AT } };
    // The first half, then the process "dies" before the duplicate's half.
    const duplicate = await loadMergeView(store, duplicateId, workspaceId);
    await handleCommand(store, survivorSide, contactStreamId(survivorId), { merge: half, other: duplicate }, context(commandId));
    expect(await typesOf(survivorId)).toEqual(['ContactCreated', 'ContactAbsorbed']);
    expect(await typesOf(duplicateId)).toEqual(['ContactCreated']);

    const retried = await mergeContacts(store, { survivorId, duplicateId, rule: 'manual' }, context(commandId));
    expect(retried).toMatchObject({ streamId: contactStreamId(duplicateId), duplicate: false, data: { merged: true } });
    const again = await mergeContacts(store, { survivorId, duplicateId, rule: 'manual' }, context(commandId));
    expect(again).toMatchObject({ duplicate: true, position: retried.position });
    expect(await typesOf(survivorId)).toEqual(['ContactCreated', 'ContactAbsorbed']);
    expect(await typesOf(duplicateId)).toEqual(['ContactCreated', 'ContactMerged']);
    const read = await store.readStream(contactStreamId(duplicateId));
    expect(read.status === 'found' && read.events[1]!.metadata.commandId).toBe(commandId);
  });

  it('is a no-op for a new command over an already merged pair, and NOT_FOUND across workspaces', async () => {
    const [survivorId, duplicateId, foreign] = [randomUUID(), randomUUID(), randomUUID()];
    await createContact(survivorId, 'grace@example.com');
    await createContact(duplicateId, 'grace+news@gmail.com');
    await createContact(foreign, 'grace@example.com', `ws-${randomUUID()}`);
    await mergeContacts(store, { survivorId, duplicateId, rule: 'manual' }, context(randomUUID()));
    const repeat = await mergeContacts(store, { survivorId, duplicateId, rule: 'manual' }, context(randomUUID()));
    expect(repeat).toMatchObject({ position: null, data: { merged: false } });
    expect(await typesOf(duplicateId)).toEqual(['ContactCreated', 'ContactMerged']);
    await expect(mergeContacts(store, { survivorId, duplicateId: foreign, rule: 'manual' }, context(randomUUID()))).rejects.toBeInstanceOf(NotFoundError);
    await expect(mergeContacts(store, { survivorId: foreign, duplicateId: survivorId, rule: 'manual' }, context(randomUUID()))).rejects.toBeInstanceOf(NotFoundError);
    expect(await typesOf(survivorId)).toEqual(['ContactCreated', 'ContactAbsorbed']);
  });
});

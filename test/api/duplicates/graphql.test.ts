/**
 * De-duplication end to end: contacts through the catalog → event store → relay → contacts projection, then
 * findDuplicates / mergeDuplicates / mergeContacts over GraphQL and MergeContacts over NATS.
 */
import { randomUUID } from 'node:crypto';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contactMergeCommands } from '../../../src/api/commands/contactMerges.js';
import { COMMANDS } from '../../../src/api/commands/index.js';
import { NatsCommandServer } from '../../../src/api/commands/natsCommandServer.js';
import { duplicatesSlice } from '../../../src/api/graphql/duplicates.js';
import { buildServer } from '../../../src/api/server.js';
import { canonicalEmail } from '../../../src/domain/contacts/dedupe.js';
import { contactStreamId } from '../../../src/domain/contacts/events.js';
import { Relay } from '../../../src/eventstore/relay/relay.js';
import { silentLogger } from '../../../src/infra/logger.js';
import { canonicalEmailSql } from '../../../src/projections/contacts/duplicates.js';
import { CONTACTS_PROJECTION, contactsProjection } from '../../../src/projections/contacts/index.js';
import { ProjectionRunner } from '../../../src/projections/runner/projectionRunner.js';
import { waitForProjection } from '../../../src/projections/runner/queries.js';
import { uniquePrefix } from '../../support/nats.js';
import { ensureSlices } from '../imports/slices.js';
import { gql, seedWorkspace, useApiTestEnv, type ApiTestEnv, type SeededWorkspace } from '../support.js';

let env: ApiTestEnv;
let app: FastifyInstance;
let relay: Relay;
let runner: ProjectionRunner;
let commands: NatsCommandServer;
let acme: SeededWorkspace;
let other: SeededWorkspace;
const prefix = uniquePrefix('dupes');

beforeAll(async () => {
  env = await useApiTestEnv('dupes');
  relay = new Relay({ store: env.eventStore, db: env.db, pool: env.pool, nats: env.nats, prefix, logger: silentLogger, checkpointEveryMs: 20 });
  runner = new ProjectionRunner({ projection: contactsProjection, db: env.db, pool: env.pool, nats: env.nats, prefix, store: env.eventStore, logger: silentLogger, batchSize: 1 });
  relay.start();
  runner.start();
  ensureSlices(duplicatesSlice);
  app = await buildServer(env.deps);
  const catalog = [...COMMANDS, ...contactMergeCommands.filter((c) => !COMMANDS.includes(c))];
  commands = new NatsCommandServer(env.nats, prefix, { eventStore: env.eventStore, db: env.db, logger: silentLogger, now: () => new Date() }, catalog);
  commands.start();
  acme = await seedWorkspace(env.db);
  other = await seedWorkspace(env.db);
});
afterAll(async () => {
  // Stop only once the projector consumes: ProjectionRunner.stop() during its start-up (before its consume()
  // iterator exists) can wait forever.
  const head = await env.eventStore.headPosition();
  if (head !== null) await waitForProjection(env.db, CONTACTS_PROJECTION, head, 10_000);
  await commands.stop();
  await app.close();
  await runner.stop();
  await relay.stop();
});

const CREATE = `mutation ($input: CreateContactInput!) { createContact(input: $input) { contactId receipt { position } } }`;
async function create(ws: SeededWorkspace, input: Record<string, unknown>): Promise<{ id: string; position: string }> {
  const { body } = await gql(app, ws.keys.marketer.key, CREATE, { input });
  expect(body.errors).toBeUndefined();
  return { id: body.data!.createContact.contactId, position: body.data!.createContact.receipt.position };
}

const FIND = `query ($rules: [DedupeRule!]!, $at: BigInt) { findDuplicates(rules: $rules, consistentWith: $at) { truncated groups { survivor { id email } duplicates { contact { id } rule key } } } }`;
const MERGE_DUPLICATES = `mutation ($rules: [DedupeRule!]!, $dryRun: Boolean) {
  mergeDuplicates(rules: $rules, dryRun: $dryRun) { receipt { position duplicate } dryRun groupCount duplicateCount merged truncated failures { code } groups { survivor { id } } }
}`;

describe('findDuplicates and mergeDuplicates', () => {
  let ids: Record<string, string>;
  let last: string;

  beforeAll(async () => {
    const made: Record<string, { id: string; position: string }> = {};
    made.ada = await create(acme, { email: 'ada@gmail.com', tags: ['a'], attributes: [{ key: 'first_name', type: 'STRING', value: 'Ada' }] });
    made.adaTwin = await create(acme, { email: 'A.da+News@googlemail.com', tags: ['b'], attributes: [{ key: 'city', type: 'STRING', value: 'London' }], subscriptions: [{ topic: 'newsletter', consentTextVersion: 'v1' }] });
    made.grace = await create(acme, { email: 'grace@example.com', phone: '+49 151 0000001' });
    made.graceTwin = await create(acme, { email: 'hopper@example.org', phone: '+491510000001' });
    made.alan = await create(acme, { email: 'alan@example.com', externalId: 'crm-1' });
    made.alanTwin = await create(acme, { email: 'turing@example.com', externalId: 'crm-1' });
    made.foreign = await create(other, { email: 'ada@googlemail.com' });
    ids = Object.fromEntries(Object.entries(made).map(([k, v]) => [k, v.id]));
    last = made.alanTwin!.position;
  });

  it('finds groups per rule with the oldest contact as survivor, in the caller\'s workspace only', async () => {
    const byEmail = await gql(app, acme.keys.auditor.key, FIND, { rules: ['EMAIL_CANONICAL'], at: last });
    expect(byEmail.body.data!.findDuplicates).toEqual({
      truncated: false,
      groups: [{ survivor: { id: ids.ada, email: 'ada@gmail.com' }, duplicates: [{ contact: { id: ids.adaTwin }, rule: 'EMAIL_CANONICAL', key: 'ada@gmail.com' }] }],
    });
    const all = await gql(app, acme.keys.auditor.key, FIND, { rules: ['EMAIL_CANONICAL', 'PHONE', 'EXTERNAL_ID'], at: last });
    expect(all.body.data!.findDuplicates.groups.map((g: { survivor: { id: string } }) => g.survivor.id)).toEqual([ids.ada, ids.grace, ids.alan]);
    expect((await gql(app, other.keys.auditor.key, FIND, { rules: ['EMAIL_CANONICAL'] })).body.data!.findDuplicates.groups).toEqual([]);
  });

  it('dry-runs without writing, then merges every duplicate into its survivor', async () => {
    const before = await env.eventStore.headPosition();
    const dry = await gql(app, acme.keys.marketer.key, MERGE_DUPLICATES, { rules: ['EMAIL_CANONICAL', 'PHONE', 'EXTERNAL_ID'], dryRun: true });
    expect(dry.body.data!.mergeDuplicates).toMatchObject({ dryRun: true, groupCount: 3, duplicateCount: 3, merged: 0, receipt: { position: null } });
    expect(await env.eventStore.headPosition()).toBe(before);

    const run = await gql(app, acme.keys.marketer.key, MERGE_DUPLICATES, { rules: ['EMAIL_CANONICAL', 'PHONE', 'EXTERNAL_ID'] });
    expect(run.body.errors).toBeUndefined();
    const result = run.body.data!.mergeDuplicates;
    expect(result).toMatchObject({ dryRun: false, groupCount: 3, duplicateCount: 3, merged: 3, failures: [] });

    const contact = `query ($id: ID!, $at: BigInt) { contact(id: $id, consistentWith: $at) { status mergedInto tags attributes { key } consents { topic status } } }`;
    const twin = await gql(app, acme.keys.auditor.key, contact, { id: ids.adaTwin, at: result.receipt.position });
    expect(twin.body.data!.contact).toMatchObject({ status: 'MERGED', mergedInto: ids.ada });
    const ada = await gql(app, acme.keys.auditor.key, contact, { id: ids.ada, at: result.receipt.position });
    expect(ada.body.data!.contact).toMatchObject({ status: 'ACTIVE', tags: ['a', 'b'], attributes: [{ key: 'city' }, { key: 'first_name' }], consents: [{ topic: 'newsletter', status: 'SUBSCRIBED' }] });
    const twinStream = await env.eventStore.readStream(contactStreamId(ids.adaTwin!));
    expect(twinStream.status === 'found' && twinStream.events.at(-1)).toMatchObject({ type: 'ContactMerged', data: { survivorId: ids.ada, rule: 'dedupe:email_canonical' } });

    const after = await gql(app, acme.keys.auditor.key, FIND, { rules: ['EMAIL_CANONICAL', 'PHONE', 'EXTERNAL_ID'], at: result.receipt.position });
    expect(after.body.data!.findDuplicates.groups).toEqual([]);
  });
});

describe('mergeContacts', () => {
  const MERGE = `mutation ($input: MergeContactsInput!, $commandId: String) { mergeContacts(input: $input, commandId: $commandId) { survivorId duplicateId receipt { streamId position duplicate } } }`;

  it('merges by hand, idempotently by commandId, and refuses what it must', async () => {
    const a = await create(acme, { email: 'lin@example.com' });
    const b = await create(acme, { email: 'lin.two@example.com' });
    const c = await create(acme, { email: 'lin.three@example.com' });
    const foreign = await create(other, { email: 'lin@example.com' });
    const commandId = randomUUID();
    const first = await gql(app, acme.keys.marketer.key, MERGE, { input: { survivorId: a.id, duplicateId: b.id }, commandId });
    expect(first.body.data!.mergeContacts).toMatchObject({ survivorId: a.id, duplicateId: b.id, receipt: { streamId: contactStreamId(b.id), duplicate: false } });
    const repeated = await gql(app, acme.keys.marketer.key, MERGE, { input: { survivorId: a.id, duplicateId: b.id }, commandId });
    expect(repeated.body.data!.mergeContacts.receipt).toMatchObject({ duplicate: true, position: first.body.data!.mergeContacts.receipt.position });

    const code = async (input: Record<string, string>) => (await gql(app, acme.keys.marketer.key, MERGE, { input })).body.errors?.[0]?.extensions?.code;
    expect(await code({ survivorId: a.id, duplicateId: a.id })).toBe('BAD_USER_INPUT');
    expect(await code({ survivorId: b.id, duplicateId: c.id })).toBe('INVALID_TRANSITION');
    expect(await code({ survivorId: a.id, duplicateId: foreign.id })).toBe('NOT_FOUND');
    expect(await code({ survivorId: a.id, duplicateId: randomUUID() })).toBe('NOT_FOUND');
    expect((await gql(app, acme.keys.auditor.key, MERGE, { input: { survivorId: a.id, duplicateId: c.id } })).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('runs MergeContacts over NATS request/reply', async () => {
    const a = await create(acme, { email: 'nats-one@example.com' });
    const b = await create(acme, { email: 'nats-two@example.com' });
    const headers = natsHeaders();
    headers.set('Authorization', `Bearer ${acme.keys.service.key}`);
    const reply = await env.nats.request(`${prefix}.commands.MergeContacts`, JSON.stringify({ commandId: randomUUID(), input: { survivorId: a.id, duplicateId: b.id } }), { timeout: 5_000, headers });
    expect(reply.json()).toMatchObject({ ok: true, result: { streamId: contactStreamId(b.id), duplicate: false, data: { survivorId: a.id, duplicateId: b.id, merged: true } } });
  });
});

describe('canonical email in SQL', () => {
  it('agrees with canonicalEmail() of the domain', async () => {
    const emails = ['a.da+x@gmail.com', 'ada@googlemail.com', '+tag@gmail.com', 'a.b+c@outlook.com', 'a.b+c@example.com', 'x.y@proton.me', 'plain@icloud.com', 'ada@gmail.com.evil.example'];
    const values = sql.join(emails.map((e) => sql`(${e})`));
    const { rows } = await sql<{ email: string; key: string }>`SELECT contacts.email, ${canonicalEmailSql()} AS key FROM (VALUES ${values}) AS contacts(email)`.execute(env.db);
    expect(rows.map((r) => r.key)).toEqual(emails.map(canonicalEmail));
  });
});

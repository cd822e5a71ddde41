import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { bouncesPlugin } from '../../../src/api/http/bounces.js';
import { contactStreamId } from '../../../src/domain/contacts/events.js';
import { emailStreamId } from '../../../src/domain/deliveries/events.js';
import { DeliveryLedger } from '../../../src/sagas/delivery/ledger.js';
import { seedWorkspace, useApiTestEnv, type SeededWorkspace } from '../support.js';
import { httpTestApp } from '../tracking/testApp.js';
import { world } from '../tracking/world.js';

const env = await useApiTestEnv('bounces');
const w = world(env.eventStore, new DeliveryLedger(env.db));
let app: FastifyInstance;
let ws: SeededWorkspace;
let campaignId: string;

beforeAll(async () => {
  app = await httpTestApp(env.deps, bouncesPlugin);
  ws = await seedWorkspace(env.db);
  campaignId = await w.campaign(ws.workspaceId, 'newsletter');
});
afterAll(() => app.close());

const post = (payload: unknown, options: { key?: string | null; contentType?: string } = {}) =>
  app.inject({
    method: 'POST',
    url: '/webhooks/bounces',
    headers: {
      ...(options.key === null ? {} : { authorization: `Bearer ${options.key ?? ws.keys.service.key}` }),
      'content-type': options.contentType ?? 'application/json',
    },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });

async function recipient() {
  const contact = await w.contact(ws.workspaceId);
  const messageId = await w.sent(ws.workspaceId, campaignId, contact);
  return { ...contact, messageId, emailEvents: () => w.events(emailStreamId(campaignId, contact.contactId)), contactEvents: () => w.events(contactStreamId(contact.contactId)) };
}
const types = (events: readonly { type: string }[]) => events.map((e) => e.type);
const unmatchedRows = async (messageId: string) => (await sql<{ n: string }>`SELECT count(*) AS n FROM unmatched_bounces WHERE message_id = ${messageId}`.execute(env.db)).rows[0]!.n;

describe('POST /webhooks/bounces: who may call', () => {
  it('needs an API key of role service or admin', async () => {
    expect((await post([], { key: null })).statusCode).toBe(401);
    const report = { messageId: 'nope@x', type: 'complaint' };
    expect((await post(report, { key: ws.keys.marketer.key })).statusCode).toBe(403);
    expect((await post(report, { key: ws.keys.auditor.key })).statusCode).toBe(403);
    expect((await post(report, { key: ws.keys.admin.key })).statusCode).toBe(202);
  });
});

describe('generic format', () => {
  it('a hard bounce is recorded on the email stream and suppresses the contact, once even when retried', async () => {
    const r = await recipient();
    const report = { messageId: `<${r.messageId}>`, type: 'bounce', bounceType: 'hard', reason: '550 5.1.1 user unknown', at: '2025-03-01T10:00:00Z' };
    const response = await post(report, {});
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ received: 1, matched: 1, unmatched: 0, ignored: 0 });
    const [, bounced] = await r.emailEvents();
    expect(bounced).toMatchObject({
      type: 'EmailBounced',
      data: { campaignId, contactId: r.contactId, messageId: r.messageId, kind: 'hard', reason: '550 5.1.1 user unknown', source: 'generic', at: '2025-03-01T10:00:00.000Z' },
      metadata: { actor: `apikey:${ws.keys.service.id}`, workspaceId: ws.workspaceId },
    });
    const suppressed = (await r.contactEvents()).filter((e) => e.type === 'ContactSuppressed');
    expect(suppressed.map((e) => e.data)).toEqual([{ reason: 'hard_bounce', detail: '550 5.1.1 user unknown', at: '2025-03-01T10:00:00.000Z' }]);
    // The provider retries: nothing new.
    expect((await post(report)).statusCode).toBe(202);
    expect(types(await r.emailEvents())).toEqual(['EmailSent', 'EmailBounced']);
    expect((await r.contactEvents()).filter((e) => e.type === 'ContactSuppressed')).toHaveLength(1);
  });

  it('an array: a soft bounce (no suppression) and a complaint (suppression)', async () => {
    const soft = await recipient();
    const complainer = await recipient();
    const response = await post([
      { messageId: soft.messageId, type: 'bounce', bounceType: 'soft', reason: '452 mailbox full' },
      { messageId: complainer.messageId, type: 'complaint', at: '2025-03-02T08:00:00Z' },
    ]);
    expect(response.json()).toEqual({ received: 2, matched: 2, unmatched: 0, ignored: 0 });
    expect((await soft.emailEvents())[1]).toMatchObject({ type: 'EmailBounced', data: { kind: 'soft' } });
    expect(types(await soft.contactEvents())).not.toContain('ContactSuppressed');
    expect((await complainer.emailEvents())[1]).toMatchObject({ type: 'EmailComplained', data: { messageId: complainer.messageId, source: 'generic' } });
    expect((await complainer.contactEvents()).find((e) => e.type === 'ContactSuppressed')).toMatchObject({ data: { reason: 'complaint' } });
  });

  it('an unknown Message-ID (or another workspace’s) is kept as unmatched and answered 202', async () => {
    const report = { messageId: 'never-sent.A.x@mail.example.com', type: 'bounce', bounceType: 'hard', at: '2025-03-03T00:00:00Z' };
    const response = await post(report);
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ received: 1, matched: 0, unmatched: 1, ignored: 0 });
    await post(report);
    expect(await unmatchedRows('never-sent.A.x@mail.example.com')).toBe('1');

    const other = await seedWorkspace(env.db);
    const r = await recipient();
    const foreign = await post({ messageId: r.messageId, type: 'complaint' }, { key: other.keys.service.key });
    expect(foreign.json()).toMatchObject({ matched: 0, unmatched: 1 });
    expect(types(await r.emailEvents())).toEqual(['EmailSent']);
  });
});

describe('Amazon SES notifications', () => {
  const ses = (type: 'Bounce' | 'Complaint' | 'Delivery', messageId: string, extra: object) => ({
    notificationType: type,
    mail: { timestamp: '2025-03-04T09:00:00.000Z', messageId: '0100018e-ses-own-id', commonHeaders: { messageId: `<${messageId}>`, subject: 'Spring' } },
    ...extra,
  });

  it('a Permanent bounce inside the SNS envelope (text/plain) is a hard bounce', async () => {
    const r = await recipient();
    const notification = ses('Bounce', r.messageId, {
      bounce: { bounceType: 'Permanent', bounceSubType: 'General', timestamp: '2025-03-04T09:00:05.000Z', bouncedRecipients: [{ emailAddress: r.email, diagnosticCode: 'smtp; 550 5.1.1 unknown' }] },
    });
    const envelope = { Type: 'Notification', MessageId: 'sns-1', TopicArn: 'arn:aws:sns:eu-west-1:1:ses', Message: JSON.stringify(notification) };
    const response = await post(envelope, { contentType: 'text/plain; charset=UTF-8' });
    expect(response.statusCode).toBe(202);
    expect((await r.emailEvents())[1]).toMatchObject({ type: 'EmailBounced', data: { kind: 'hard', source: 'ses', reason: 'smtp; 550 5.1.1 unknown', at: '2025-03-04T09:00:05.000Z' } });
    expect((await r.contactEvents()).find((e) => e.type === 'ContactSuppressed')).toMatchObject({ data: { reason: 'hard_bounce' } });
  });

  it('a Transient bounce is soft; a Complaint suppresses; Delivery is ignored', async () => {
    const soft = await recipient();
    const complainer = await recipient();
    await post(ses('Bounce', soft.messageId, { bounce: { bounceType: 'Transient', bounceSubType: 'MailboxFull', bouncedRecipients: [] } }));
    expect((await soft.emailEvents())[1]).toMatchObject({ type: 'EmailBounced', data: { kind: 'soft', reason: 'MailboxFull' } });
    expect(types(await soft.contactEvents())).not.toContain('ContactSuppressed');
    await post(ses('Complaint', complainer.messageId, { complaint: { complaintFeedbackType: 'abuse', timestamp: '2025-03-04T10:00:00.000Z' } }));
    expect((await complainer.emailEvents())[1]).toMatchObject({ type: 'EmailComplained', data: { source: 'ses' } });
    expect((await complainer.contactEvents()).find((e) => e.type === 'ContactSuppressed')).toMatchObject({ data: { reason: 'complaint', detail: 'abuse' } });
    const delivery = await post(ses('Delivery', soft.messageId, { delivery: {} }));
    expect(delivery.json()).toEqual({ received: 1, matched: 0, unmatched: 0, ignored: 1 });
  });
});

describe('malformed bodies: 400 naming the field, nothing recorded', () => {
  it.each([
    [{ type: 'bounce', bounceType: 'hard' }, 'messageId'],
    [{ messageId: 'a@b', type: 'bounced' }, 'type'],
    [{ messageId: 'a@b', type: 'bounce', bounceType: 'permanent' }, 'bounceType'],
    [{ messageId: 'a@b', type: 'complaint', at: 'yesterday' }, 'at'],
    [{ messageId: 'a@b', type: 'complaint', reason: 42 }, 'reason'],
    [[], 'body'],
    [{ notificationType: 'Bounce', bounce: { bounceType: 'Permanent' } }, 'mail'],
    [{ notificationType: 'Bounce', mail: { messageId: 'x' }, bounce: { bounceType: 'Hard' } }, 'bounce.bounceType'],
    [{ Type: 'Notification', Message: '{not json' }, 'Message'],
  ])('%j → %s', async (body, field) => {
    const response = await post(body);
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'BAD_USER_INPUT', details: { field } });
  });

  it('one bad report in an array rejects the whole call before anything is recorded', async () => {
    const r = await recipient();
    const response = await post([{ messageId: r.messageId, type: 'complaint' }, { messageId: 'x@y', type: 'nope' }]);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.details).toEqual({ field: '[1].type' });
    expect(types(await r.emailEvents())).toEqual(['EmailSent']);
    expect(types(await r.contactEvents())).not.toContain('ContactSuppressed');
  });

  it('a text/plain body that is not JSON', async () => {
    const response = await post('not json', { contentType: 'text/plain' });
    expect(response.json().error).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'body' } });
  });
});

import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { emailStreamId } from '../../../src/domain/deliveries/events.js';
import { deterministicUuid } from '../../../src/domain/shared/ids.js';
import type { RecordedEvent } from '../../../src/eventstore/port.js';
import type { Recipient } from '../../../src/sagas/delivery/ledger.js';
import { recordOutcomes } from '../../../src/sagas/delivery/recordOutcomes.js';
import { recipients, useDeliveryTestEnv } from './fixtures.js';

const env = await useDeliveryTestEnv('delivery_outcomes');
const { ledger, eventStore, db } = env;
const content = { campaignRevision: 3, templateId: 'tpl-1', templateVersion: 4, subject: 'Spring sale', contentHash: 'ab'.repeat(32) };

/** Drives rows through the ledger to the given outcomes, as a worker would. */
async function settle(audience: readonly Recipient[], outcome: (r: Recipient, i: number) => 'sent' | 'failed' | 'render'): Promise<void> {
  await ledger.enqueue(audience);
  const claimed = await ledger.claimBatch(audience[0]!.campaignId, audience.length, 'w');
  for (const [i, r] of audience.entries()) {
    const key = claimed.find((c) => c.contact_id === r.contactId)!.idempotency_key;
    const kind = outcome(r, i);
    if (kind === 'render') {
      await ledger.markRenderFailed(key, 'w', 'template error');
      continue;
    }
    await ledger.markSending(key, 'w', content);
    if (kind === 'sent') await ledger.markSent(key);
    else await ledger.markFailed(key, { kind: 'permanent', smtpCode: 550, reason: '550 mailbox unavailable', attempts: 1 });
  }
}

async function streamOf(r: Recipient): Promise<readonly RecordedEvent[]> {
  const read = await eventStore.readStream(emailStreamId(r.campaignId, r.contactId));
  return read.status === 'found' ? read.events : [];
}

describe('recording delivery outcomes', () => {
  it('appends EmailSent / EmailFailed / EmailRenderFailed in batches with the launch metadata', async () => {
    const audience = recipients(7);
    await settle(audience, (_, i) => (i === 5 ? 'failed' : i === 6 ? 'render' : 'sent'));
    const correlationId = `launch-${randomUUID()}`;
    const result = await recordOutcomes({ eventStore, ledger, campaignId: audience[0]!.campaignId, correlationId, batchSize: 3 });
    expect(result.recorded).toBe(7);

    const sent = await streamOf(audience[0]!);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      type: 'EmailSent',
      revision: 0,
      data: {
        campaignId: audience[0]!.campaignId,
        variantKey: 'A',
        contactId: audience[0]!.contactId,
        email: audience[0]!.email,
        messageId: audience[0]!.messageId,
        campaignRevision: 3,
        templateId: 'tpl-1',
        templateVersion: 4,
        subject: 'Spring sale',
        contentHash: content.contentHash,
      },
      metadata: { correlationId, actor: 'saga:launch', workspaceId: audience[0]!.workspaceId, schemaVersion: 1 },
    });
    expect(new Date((sent[0]!.data as { sentAt: string }).sentAt).getTime()).not.toBeNaN();
    expect((await streamOf(audience[5]!))[0]).toMatchObject({ type: 'EmailFailed', data: { permanent: true, smtpCode: 550, reason: '550 mailbox unavailable', attempts: 1 } });
    expect((await streamOf(audience[6]!))[0]).toMatchObject({ type: 'EmailRenderFailed', data: { reason: 'template error' } });
    expect(await ledger.outcomesToRecord(audience[0]!.campaignId, 100)).toEqual([]);
  });

  it('with keys, records only those rows (settled and unrecorded among them); the rest wait for a scan', async () => {
    const audience = recipients(6);
    await settle(audience, (_, i) => (i === 4 ? 'failed' : 'sent'));
    const campaignId = audience[0]!.campaignId;
    const keys = (await ledger.outcomesToRecord(campaignId, 100)).map((r) => r.idempotency_key).sort();
    expect(keys).toHaveLength(6);
    // Two of the six, plus a key that is not this campaign's and one that does not exist: nothing else is touched.
    const chosen = [keys[1]!, keys[4]!];
    expect((await ledger.outcomesToRecord(campaignId, 100, [...chosen, 'no-such-key'])).map((r) => r.idempotency_key).sort()).toEqual(chosen);
    expect(await ledger.outcomesToRecord(campaignId, 100, [])).toEqual([]);
    const byKey = await recordOutcomes({ eventStore, ledger, campaignId, correlationId: 'c-keys', keys: chosen });
    expect(byKey.recorded).toBe(2);
    const left = (await ledger.outcomesToRecord(campaignId, 100)).map((r) => r.idempotency_key).sort();
    expect(left).toEqual(keys.filter((k) => !chosen.includes(k)));
    // Recording the same keys again finds nothing; the scan records the other four, each once.
    expect((await recordOutcomes({ eventStore, ledger, campaignId, correlationId: 'c-keys', keys: chosen })).recorded).toBe(0);
    expect((await recordOutcomes({ eventStore, ledger, campaignId, correlationId: 'c-keys' })).recorded).toBe(4);
    for (const r of audience) expect(await streamOf(r), r.contactId).toHaveLength(1);
  });

  it('is idempotent across a crash between the append and markRecorded', async () => {
    const audience = recipients(6);
    const campaignId = audience[0]!.campaignId;
    await settle(audience.slice(0, 4), () => 'sent');
    await recordOutcomes({ eventStore, ledger, campaignId, correlationId: 'c1' });
    // Crash simulation: the events were appended but the ledger never learned it.
    await sql`UPDATE delivery_ledger SET recorded = false WHERE campaign_id = ${campaignId}`.execute(db);
    // Meanwhile two more recipients settle: the next batch mixes recorded and new outcomes.
    await ledger.enqueue(audience.slice(4));
    const fresh = await ledger.claimBatch(campaignId, 10, 'w2');
    expect(fresh).toHaveLength(2);
    for (const row of fresh) {
      await ledger.markSending(row.idempotency_key, 'w2', content);
      await ledger.markSent(row.idempotency_key);
    }
    const again = await recordOutcomes({ eventStore, ledger, campaignId, correlationId: 'c1' });
    expect(again.recorded).toBe(6);
    for (const r of audience) {
      const events = await streamOf(r);
      expect(events.map((e) => e.type)).toEqual(['EmailSent']);
      expect(events[0]!.id).toBe(deterministicUuid(`email:${campaignId}:A:${r.contactId}:EmailSent`));
    }
    // A third run finds nothing left to record.
    await sql`UPDATE delivery_ledger SET recorded = false WHERE campaign_id = ${campaignId}`.execute(db);
    await recordOutcomes({ eventStore, ledger, campaignId, correlationId: 'c1' });
    for (const r of audience) expect(await streamOf(r)).toHaveLength(1);
  });

  it('appends after events that reached the stream first (a bounce that beat the outcome)', async () => {
    const audience = recipients(2);
    const [early] = audience;
    await settle(audience, () => 'sent');
    await eventStore.append(
      emailStreamId(early!.campaignId, early!.contactId),
      [{ type: 'EmailBounced', data: { campaignId: early!.campaignId, contactId: early!.contactId, messageId: early!.messageId, kind: 'soft', reason: 'x', source: 'generic', at: new Date().toISOString() }, metadata: { correlationId: 'b', causationId: null, commandId: null, actor: 'apikey:x', workspaceId: early!.workspaceId, schemaVersion: 1 } }],
      { expectedRevision: 'any' },
    );
    await recordOutcomes({ eventStore, ledger, campaignId: early!.campaignId, correlationId: 'c' });
    expect((await streamOf(early!)).map((e) => e.type)).toEqual(['EmailBounced', 'EmailSent']);
    expect((await streamOf(audience[1]!)).map((e) => e.type)).toEqual(['EmailSent']);
  });
});

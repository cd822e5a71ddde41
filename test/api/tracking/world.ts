import { randomUUID } from 'node:crypto';
import { campaignStreamId } from '../../../src/domain/campaigns/events.js';
import { contactDecider } from '../../../src/domain/contacts/decide.js';
import { contactStreamId } from '../../../src/domain/contacts/events.js';
import { contactIdFor } from '../../../src/domain/contacts/identity.js';
import { handleCommand } from '../../../src/eventstore/commandHandler.js';
import type { EventStore, RecordedEvent } from '../../../src/eventstore/port.js';
import { messageIdFor } from '../../../src/sagas/delivery/identifiers.js';
import type { DeliveryLedger } from '../../../src/sagas/delivery/ledger.js';
import { recordOutcomes } from '../../../src/sagas/delivery/recordOutcomes.js';

/** Campaigns, contacts and sent emails for the tracking and bounce tests, written through the real store. */
export function world(eventStore: EventStore, ledger: DeliveryLedger) {
  const meta = (workspaceId: string) => ({ correlationId: 'setup', causationId: null, commandId: null, actor: 'test', workspaceId, schemaVersion: 1 });
  return {
    async campaign(workspaceId: string, topic: string | null): Promise<string> {
      const campaignId = randomUUID();
      const data = { campaignId, createdAt: new Date().toISOString(), name: 'Spring', sender: { email: 'news@mail.example.com', name: null }, replyTo: null, segmentId: null, templateId: null, templateVersion: null, topic };
      await eventStore.append(campaignStreamId(campaignId), [{ type: 'CampaignCreated', data, metadata: meta(workspaceId) }], { expectedRevision: 'no_stream' });
      return campaignId;
    },
    async contact(workspaceId: string, topics: readonly string[] = ['newsletter']): Promise<{ contactId: string; email: string }> {
      const email = `${randomUUID().slice(0, 8)}@example.org`;
      const contactId = contactIdFor(workspaceId, email);
      const subscriptions = topics.map((topic) => ({ topic, consentTextVersion: 'v1', source: 'test' }));
      const command = { type: 'CreateContact' as const, data: { contactId, email, externalId: null, phone: null, attributes: {}, tags: [], subscriptions, source: 'test', at: new Date().toISOString() } };
      await handleCommand(eventStore, contactDecider, contactStreamId(contactId), command, { commandId: randomUUID(), correlationId: 'setup', causationId: null, actor: 'test', workspaceId });
      return { contactId, email };
    },
    /** Through the ledger and recordOutcomes, as the saga does: the row is findable by Message-ID. */
    async sent(workspaceId: string, campaignId: string, contact: { contactId: string; email: string }, outcome: 'sent' | 'failed' = 'sent'): Promise<string> {
      const messageId = messageIdFor(campaignId, 'A', contact.contactId, 'mail.example.com');
      await ledger.enqueue([{ workspaceId, campaignId, variantKey: 'A', contactId: contact.contactId, email: contact.email, messageId }]);
      const [row] = await ledger.claimBatch(campaignId, 1, 'test');
      await ledger.markSending(row!.idempotency_key, 'test', { campaignRevision: 0, templateId: 't', templateVersion: 1, subject: 's', contentHash: 'h' });
      if (outcome === 'sent') await ledger.markSent(row!.idempotency_key);
      else await ledger.markFailed(row!.idempotency_key, { kind: 'permanent', smtpCode: 550, reason: '550 no', attempts: 1 });
      await recordOutcomes({ eventStore, ledger, campaignId, correlationId: 'launch' });
      return messageId;
    },
    async events(streamId: string): Promise<readonly RecordedEvent[]> {
      const read = await eventStore.readStream(streamId);
      return read.status === 'found' ? read.events : [];
    },
  };
}

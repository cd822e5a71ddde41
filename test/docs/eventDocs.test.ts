/**
 * The published event documentation is generated from the TypeScript types and must match them: regenerate and
 * compare with the committed files (run `npm run docs` after changing an event), and validate events that the
 * real deciders produce against the schema.
 */
import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderDocs } from '../../docs/generate.js';
import { contactDecider } from '../../src/domain/contacts/decide.js';
import type { EmailSent } from '../../src/domain/deliveries/events.js';

const rendered = await renderDocs();
const schema = JSON.parse(rendered.schema) as Record<string, unknown>;
const ajv = new Ajv({ strict: false, allErrors: true });
const validate = ajv.compile(schema);

describe('event documentation', () => {
  it('docs/events.schema.json and docs/asyncapi.yaml are up to date with the event types (npm run docs)', async () => {
    expect(await readFile('docs/events.schema.json', 'utf8')).toBe(rendered.schema);
    expect(await readFile('docs/asyncapi.yaml', 'utf8')).toBe(rendered.asyncapi);
  });

  it('the AsyncAPI document names every event type of every category', () => {
    const document = parse(rendered.asyncapi) as { asyncapi: string; channels: Record<string, { description: string }> };
    expect(document.asyncapi).toBe('2.6.0');
    const contact = document.channels['{prefix}.events.contact.{streamId}.{eventType}']!;
    for (const type of ['ContactCreated', 'ContactSubscribed', 'ContactMerged', 'ContactAbsorbed']) expect(contact.description).toContain(type);
    expect(document.channels['{prefix}.events.email.{streamId}.{eventType}']!.description).toContain('EmailSent');
  });

  it('events produced by the real contact decider validate; a malformed one does not', () => {
    const events = contactDecider.decide(
      {
        type: 'CreateContact',
        data: {
          contactId: '6b3a1f9e-2a4b-5c6d-8e7f-0123456789ab',
          email: 'Ada@Example.com',
          externalId: 'crm-1',
          phone: '+4915112345678',
          attributes: { plan: { type: 'string', value: 'pro' }, seats: { type: 'number', value: 3 }, since: { type: 'date', value: '2024-01-02' } },
          tags: ['vip'],
          subscriptions: [{ topic: 'newsletter', consentTextVersion: 'v3', source: 'form:signup' }],
          source: 'api',
          at: '2026-11-24T10:00:00.000Z',
        },
      },
      contactDecider.initialState(),
    );
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) expect(validate(event), JSON.stringify(validate.errors)).toBe(true);
    const sent: EmailSent = {
      type: 'EmailSent',
      data: { campaignId: 'c', variantKey: 'A', contactId: 'k', email: 'a@b.c', messageId: 'c.A.k@b.c', campaignRevision: 3, templateId: 't', templateVersion: 2, subject: 'Hi', contentHash: 'ab', sentAt: '2026-11-24T10:00:00Z' },
    };
    expect(validate(sent)).toBe(true);
    expect(validate({ type: 'ContactCreated', data: { contactId: 'x' } })).toBe(false);
    expect(validate({ type: 'NoSuchEvent', data: {} })).toBe(false);
  });
});

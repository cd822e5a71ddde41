/**
 * Generates the subscriber documentation from the TypeScript event types:
 *   docs/events.schema.json  JSON Schema (draft-07) of every event's `type` + `data`, and the wire envelope
 *   docs/asyncapi.yaml       AsyncAPI 2.6: NATS subjects, headers, payloads, delivery guarantees
 * Run `npm run docs` after changing an event type; test/docs/eventDocs.test.ts fails when these files drift.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createGenerator } from 'ts-json-schema-generator';
import { stringify } from 'yaml';
import { EVENT_CATEGORIES } from '../src/domain/events.js';

const root = fileURLToPath(new URL('..', import.meta.url));

type Schema = { definitions?: Record<string, SchemaNode> } & Record<string, unknown>;
type SchemaNode = { anyOf?: { $ref?: string }[]; properties?: Record<string, { const?: string }> } & Record<string, unknown>;

export function generateEventSchema(): Schema {
  const generator = createGenerator({
    path: `${root}src/domain/events.ts`,
    tsconfig: `${root}tsconfig.json`,
    type: 'DomainEventEnvelopeData',
    expose: 'export',
    topRef: false,
    jsDoc: 'extended',
    skipTypeCheck: true,
    additionalProperties: false,
  });
  const schema = generator.createSchema('DomainEventEnvelopeData') as Schema;
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://marketing-engine.example/events.schema.json',
    title: 'Marketing engine domain events (type + data)',
    ...schema,
  };
}

/** The event type names per category, read from the generated schema (each union member's `type` const). */
export function eventTypesByCategory(schema: Schema): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const definitions = schema.definitions ?? {};
  for (const [category, { union }] of Object.entries(EVENT_CATEGORIES)) {
    const members = definitions[union]?.anyOf ?? [];
    out[category] = members.map((m) => definitions[(m.$ref ?? '').replace('#/definitions/', '')]?.properties?.type?.const ?? '?');
  }
  return out;
}

export function generateAsyncApi(schema: Schema): string {
  const types = eventTypesByCategory(schema);
  const channels: Record<string, unknown> = {};
  for (const [category, info] of Object.entries(EVENT_CATEGORIES)) {
    channels[`{prefix}.events.${category}.{streamId}.{eventType}`] = {
      description: `${info.description} Stream ids: \`${info.stream}\`. Event types: ${types[category]!.join(', ')}.`,
      parameters: {
        prefix: { $ref: '#/components/parameters/prefix' },
        streamId: { description: `The stream, \`${info.stream}\`.`, schema: { type: 'string' } },
        eventType: { schema: { type: 'string', enum: types[category] } },
      },
      subscribe: {
        operationId: `on${category[0]!.toUpperCase()}${category.slice(1)}Event`,
        summary: `Every ${category} event, in global order (JetStream stream {prefix}_events).`,
        message: { $ref: `#/components/messages/${category}Event` },
      },
    };
  }
  channels['{prefix}.commands.{commandName}'] = {
    description: 'Request/reply for every command (same payloads and error codes as the GraphQL mutations).',
    parameters: { prefix: { $ref: '#/components/parameters/prefix' }, commandName: { schema: { type: 'string' } } },
    publish: {
      operationId: 'sendCommand',
      message: {
        headers: { type: 'object', required: ['Authorization'], properties: { Authorization: { type: 'string', description: 'Bearer <api key>' }, 'Mkt-Correlation-Id': { type: 'string' } } },
        payload: { type: 'object', required: ['input'], properties: { commandId: { type: 'string', description: 'Repeating it returns the first result.' }, input: { type: 'object' } } },
      },
    },
  };
  channels['{prefix}.changes.{projection}.{workspaceId}.{streamId}'] = {
    description: 'Core NATS (not JetStream, may be lost): a read model applied events of this stream. Re-read the read model; used for live GraphQL subscriptions.',
    parameters: { prefix: { $ref: '#/components/parameters/prefix' }, projection: { schema: { type: 'string' } }, workspaceId: { schema: { type: 'string' } }, streamId: { schema: { type: 'string' } } },
    subscribe: { operationId: 'onReadModelChange', message: { payload: { type: 'object', properties: { streamId: { type: 'string' }, positions: { type: 'array', items: { type: 'string' } } } } } },
  };
  const messages: Record<string, unknown> = {};
  for (const [category, info] of Object.entries(EVENT_CATEGORIES)) {
    messages[`${category}Event`] = {
      name: `${category}Event`,
      contentType: 'application/json',
      headers: { $ref: '#/components/schemas/EventHeaders' },
      payload: { allOf: [{ $ref: '#/components/schemas/Envelope' }, { $ref: `./events.schema.json#/definitions/${info.union}` }] },
    };
  }
  const document = {
    asyncapi: '2.6.0',
    info: {
      title: 'Marketing engine events and commands on NATS',
      version: '1.0.0',
      description: [
        'Every event appended to the event store is published once to JetStream by the relay, in global order.',
        'Delivery to a consumer is at least once: JetStream drops republished duplicates inside a 2-minute window',
        '(Nats-Msg-Id = event id); beyond it, skip events whose position is at or below your checkpoint, or de-duplicate',
        'by event id. Mkt-Previous-Position names the event published before this one: if it is above your checkpoint,',
        'you missed events; read them from the event store (or replay the stream) before applying this one.',
        'Order: per stream always; across streams, the store\'s global order.',
        'Schema: events are published in today\'s shape (metadata.schemaVersion is the current version; older stored',
        'versions are upcast before publishing).',
        'Personal data: the event store keeps it sealed under per-contact keys; published events carry it readable.',
        'When a contact is erased (GDPR, ContactErased), the engine purges that contact\'s earlier messages from this',
        'stream (subjects <prefix>.events.contact.contact-<id>.> keep only ContactErased; <prefix>.events.email.email-<campaign>_<id>.>',
        'are emptied), and any event read from the store afterwards shows marker values (email <id>@erased.invalid,',
        'texts [erased], other fields null, attribute values blank) with metadata.erased = true. A subscriber that keeps',
        'personal data must forget the contact when it sees ContactErased.',
      ].join(' '),
    },
    defaultContentType: 'application/json',
    servers: { local: { url: 'nats://127.0.0.1:4222', protocol: 'nats' } },
    channels,
    components: {
      parameters: { prefix: { description: 'NATS_PREFIX (default mkt).', schema: { type: 'string', default: 'mkt' } } },
      messages,
      schemas: {
        EventHeaders: {
          type: 'object',
          properties: {
            'Nats-Msg-Id': { type: 'string', description: 'The event id (uuid).' },
            'Mkt-Position': { type: 'string', description: 'The event\'s global position (decimal).' },
            'Mkt-Previous-Position': { type: 'string', description: 'Position of the event published before it; empty for the first.' },
            traceparent: { type: 'string', description: 'W3C trace context of the relay\'s publish span; only on events appended inside a sampled trace (tracing on).' },
          },
        },
        Envelope: {
          type: 'object',
          required: ['id', 'type', 'streamId', 'revision', 'position', 'recordedAt', 'data', 'metadata'],
          properties: {
            id: { type: 'string', format: 'uuid' },
            type: { type: 'string' },
            streamId: { type: 'string' },
            revision: { type: 'integer', minimum: 0 },
            position: { type: 'string', pattern: '^\\d+$' },
            recordedAt: { type: 'string', format: 'date-time' },
            data: { type: 'object' },
            metadata: {
              type: 'object',
              required: ['correlationId', 'causationId', 'commandId', 'actor', 'workspaceId', 'schemaVersion'],
              properties: {
                correlationId: { type: 'string' },
                causationId: { type: ['string', 'null'] },
                commandId: { type: ['string', 'null'] },
                actor: { type: 'string' },
                workspaceId: { type: 'string' },
                schemaVersion: { type: 'integer', minimum: 1 },
                traceparent: { type: 'string', pattern: '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$', description: 'Optional: W3C traceparent of the command\'s span (tracing on).' },
                erased: { type: 'boolean', const: true, description: 'Present when personal data of this event was erased (GDPR): those fields hold marker values.' },
              },
            },
          },
        },
      },
    },
  };
  return `# Generated by docs/generate.ts from the TypeScript event types (npm run docs). Do not edit.\n${stringify(document, { lineWidth: 0 })}`;
}

export async function renderDocs(): Promise<{ schema: string; asyncapi: string }> {
  const schema = generateEventSchema();
  return { schema: `${JSON.stringify(schema, null, 2)}\n`, asyncapi: generateAsyncApi(schema) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { schema, asyncapi } = await renderDocs();
  await writeFile(`${root}docs/events.schema.json`, schema);
  await writeFile(`${root}docs/asyncapi.yaml`, asyncapi);
  process.stdout.write('wrote docs/events.schema.json and docs/asyncapi.yaml\n');
}

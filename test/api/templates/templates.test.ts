import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../src/api/server.js';
import { contactAttributeKeys } from '../../../src/projections/templates/queries.js';
import { startPipeline } from '../../projections/campaigns/pipeline.js';
import { gql, seedWorkspace, useApiTestEnv, type ApiTestEnv, type SeededWorkspace } from '../support.js';

let env: ApiTestEnv;
let app: FastifyInstance;
let acme: SeededWorkspace;
let other: SeededWorkspace;

beforeAll(async () => {
  env = await useApiTestEnv('api_templates');
  startPipeline(env, 'apitemplates');
  app = await buildServer(env.deps);
  acme = await seedWorkspace(env.db);
  other = await seedWorkspace(env.db);
});
afterAll(() => app.close());

const CREATE = `mutation($input: CreateTemplateInput!, $commandId: String) {
  createTemplate(input: $input, commandId: $commandId) { templateId version receipt { streamId revision position duplicate } }
}`;
const CHANGE = `mutation($input: ChangeTemplateInput!) { changeTemplate(input: $input) { templateId version receipt { position } } }`;
const TEMPLATE = `query($id: ID!, $version: Int, $position: BigInt) {
  template(id: $id, version: $version, consistentWith: $position) { id name currentVersion archived version subject html text versions { version subject } }
}`;
const LIST = `query($first: Int, $after: String, $archived: Boolean, $position: BigInt) {
  templates(first: $first, after: $after, includeArchived: $archived, consistentWith: $position) { edges { node { name subject currentVersion } } pageInfo { hasNextPage endCursor } }
}`;
const PREVIEW = `query($id: ID!, $version: Int, $contactId: ID, $sample: TemplateSample, $position: BigInt) {
  previewTemplate(id: $id, version: $version, contactId: $contactId, sample: $sample, consistentWith: $position) { templateId version subject html text }
}`;

const welcome = { name: 'Welcome', subject: 'Welcome to {{ campaign.name }}', html: '<p>Hi {{ contact.email }}</p><a href="{{ unsubscribe_url }}">bye</a>', text: 'Hi {{ contact.email }}' };

async function create(key: string, input: Record<string, unknown> = welcome, commandId?: string) {
  const response = await gql(app, key, CREATE, { input, commandId });
  expect(response.body.errors).toBeUndefined();
  return response.body.data!.createTemplate as { templateId: string; version: number; receipt: { position: string; duplicate: boolean; revision: number; streamId: string } };
}

describe('templates over GraphQL', () => {
  it('create, change, read any version, rename and archive', async () => {
    const created = await create(acme.keys.marketer.key);
    expect(created).toMatchObject({ version: 1, receipt: { streamId: `template-${created.templateId}`, revision: 0, duplicate: false } });
    const changed = await gql(app, acme.keys.marketer.key, CHANGE, { input: { templateId: created.templateId, subject: 'Hello again', html: '<p>v2</p>' } });
    expect(changed.body.data!.changeTemplate).toMatchObject({ templateId: created.templateId, version: 2 });

    const position = changed.body.data!.changeTemplate.receipt.position;
    const current = await gql(app, acme.keys.auditor.key, TEMPLATE, { id: created.templateId, position });
    expect(current.body.data!.template).toEqual({
      id: created.templateId,
      name: 'Welcome',
      currentVersion: 2,
      archived: false,
      version: 2,
      subject: 'Hello again',
      html: '<p>v2</p>',
      text: null,
      versions: [
        { version: 2, subject: 'Hello again' },
        { version: 1, subject: welcome.subject },
      ],
    });
    const first = await gql(app, acme.keys.auditor.key, TEMPLATE, { id: created.templateId, version: 1 });
    expect(first.body.data!.template).toMatchObject({ version: 1, subject: welcome.subject, html: welcome.html, text: welcome.text });
    expect((await gql(app, acme.keys.auditor.key, TEMPLATE, { id: created.templateId, version: 3 })).body.data!.template).toBeNull();

    await gql(app, acme.keys.marketer.key, `mutation($id: ID!) { renameTemplate(input: { templateId: $id, name: "Hello" }) { templateId } }`, { id: created.templateId });
    const archived = await gql(app, acme.keys.marketer.key, `mutation($id: ID!) { archiveTemplate(input: { templateId: $id }) { receipt { position } } }`, { id: created.templateId });
    const after = await gql(app, acme.keys.auditor.key, TEMPLATE, { id: created.templateId, position: archived.body.data!.archiveTemplate.receipt.position });
    expect(after.body.data!.template).toMatchObject({ name: 'Hello', archived: true });
    const again = await gql(app, acme.keys.marketer.key, CHANGE, { input: { templateId: created.templateId, subject: 'x', html: 'x' } });
    expect(again.body.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_TRANSITION' });
  });

  it('a retried command id returns the first result and writes nothing new', async () => {
    const commandId = `create-${randomUUID()}`;
    const first = await create(acme.keys.marketer.key, welcome, commandId);
    const second = await create(acme.keys.marketer.key, welcome, commandId);
    expect(second).toEqual({ ...first, receipt: { ...first.receipt, duplicate: true } });
  });

  it('lists by name, page by page, without archived ones unless asked', async () => {
    const ws = await seedWorkspace(env.db);
    for (const name of ['Charlie', 'Alpha', 'Bravo']) await create(ws.keys.marketer.key, { ...welcome, name });
    const archived = await create(ws.keys.marketer.key, { ...welcome, name: 'Delta' });
    const done = await gql(app, ws.keys.marketer.key, `mutation($id: ID!) { archiveTemplate(input: { templateId: $id }) { receipt { position } } }`, { id: archived.templateId });
    const position = done.body.data!.archiveTemplate.receipt.position;
    const page1 = await gql(app, ws.keys.auditor.key, LIST, { first: 2, position });
    expect(page1.body.data!.templates.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual(['Alpha', 'Bravo']);
    expect(page1.body.data!.templates.edges[0].node).toEqual({ name: 'Alpha', subject: welcome.subject, currentVersion: 1 });
    const page2 = await gql(app, ws.keys.auditor.key, LIST, { first: 2, after: page1.body.data!.templates.pageInfo.endCursor });
    expect(page2.body.data!.templates).toMatchObject({ edges: [{ node: { name: 'Charlie' } }], pageInfo: { hasNextPage: false } });
    const all = await gql(app, ws.keys.auditor.key, LIST, { first: 10, archived: true });
    expect(all.body.data!.templates.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual(['Alpha', 'Bravo', 'Charlie', 'Delta']);
    const bad = await gql(app, ws.keys.auditor.key, LIST, { after: 'bogus' });
    expect(bad.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('refuses invalid Liquid with the field and position, and writes nothing', async () => {
    const head = await env.eventStore.headPosition();
    const syntax = await gql(app, acme.keys.marketer.key, CREATE, { input: { ...welcome, html: '<p>ok</p>\n{% if contact.email %}<p>open' } });
    expect(syntax.body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/syntax error in html at line 2, column 1/), extensions: { code: 'BAD_USER_INPUT', field: 'input.html' } });
    const unknown = await gql(app, acme.keys.marketer.key, CREATE, { input: { ...welcome, subject: 'Hi {{ contact.nickname }}' } });
    expect(unknown.body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/line 1, column 7: contact.nickname: "nickname" is not a contact field of this workspace \(known: email, tags\)/), extensions: { code: 'BAD_USER_INPUT', field: 'input.subject' } });
    const include = await gql(app, acme.keys.marketer.key, CREATE, { input: { ...welcome, text: '{% include "secrets" %}' } });
    expect(include.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.text' });
    const empty = await gql(app, acme.keys.marketer.key, CREATE, { input: { ...welcome, name: ' ' } });
    expect(empty.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.name' });
    const badId = await gql(app, acme.keys.marketer.key, CHANGE, { input: { templateId: 'nope', subject: 'x', html: 'x' } });
    expect(badId.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.templateId' });
    expect(await env.eventStore.headPosition()).toBe(head);
  });

  it('auditors read but cannot write; other workspaces see nothing', async () => {
    const denied = await gql(app, acme.keys.auditor.key, CREATE, { input: welcome });
    expect(denied.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    const created = await create(acme.keys.service.key);
    const theirs = await gql(app, other.keys.admin.key, TEMPLATE, { id: created.templateId, position: created.receipt.position });
    expect(theirs.body.data!.template).toBeNull();
    const change = await gql(app, other.keys.admin.key, CHANGE, { input: { templateId: created.templateId, subject: 'x', html: 'x' } });
    expect(change.body.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
    const preview = await gql(app, other.keys.admin.key, PREVIEW, { id: created.templateId });
    expect(preview.body.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('previews a version with sample data, escaping HTML only', async () => {
    const created = await create(acme.keys.marketer.key, {
      name: 'Promo',
      subject: '{{ campaign.name }}: for {{ contact.email }}',
      html: '<h1>{{ campaign.name }}</h1>{% for t in contact.tags %}<i>{{ t }}</i>{% endfor %}<a href="{{ view_in_browser_url }}">view</a>',
      text: '{{ campaign.name }} / {{ contact.email }}',
    });
    const sample = { contact: { email: 'ada@example.com', tags: ['<b>vip</b>'] }, campaign: { name: 'Fish & Chips' }, view_in_browser_url: 'https://mkt.test/v?a=1&b=2' };
    const response = await gql(app, acme.keys.auditor.key, PREVIEW, { id: created.templateId, sample, position: created.receipt.position });
    expect(response.body.data!.previewTemplate).toEqual({
      templateId: created.templateId,
      version: 1,
      subject: 'Fish & Chips: for ada@example.com',
      html: '<h1>Fish &amp; Chips</h1><i>&lt;b&gt;vip&lt;/b&gt;</i><a href="https://mkt.test/v?a=1&amp;b=2">view</a>',
      text: 'Fish & Chips / ada@example.com',
    });
    const placeholders = await gql(app, acme.keys.auditor.key, PREVIEW, { id: created.templateId });
    expect(placeholders.body.data!.previewTemplate.subject).toBe('Campaign preview: for preview@example.com');
    const badSample = await gql(app, acme.keys.auditor.key, PREVIEW, { id: created.templateId, sample: { contact: 'x' } });
    expect(badSample.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sample' });
    const firstTag = await create(acme.keys.marketer.key, { name: 'First tag', subject: 'x', html: '{{ contact.tags.first.size }}' });
    const badShape = await gql(app, acme.keys.auditor.key, PREVIEW, { id: firstTag.templateId, sample: { contact: { tags: 5 } }, position: firstTag.receipt.position });
    expect(badShape.body.errors?.[0]).toMatchObject({
      message: 'Cannot render the html at line 1, column 4: undefined variable: contact.tags.first',
      extensions: { code: 'BAD_USER_INPUT', field: 'sample' },
    });
    const noContact = await gql(app, acme.keys.auditor.key, PREVIEW, { id: created.templateId, contactId: randomUUID() });
    expect(noContact.body.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
    const noVersion = await gql(app, acme.keys.auditor.key, PREVIEW, { id: created.templateId, version: 9 });
    expect(noVersion.body.errors?.[0]).toMatchObject({ message: 'Template version 9 not found.', extensions: { code: 'NOT_FOUND' } });
  });

  it("the contact schema comes from the contacts slice's contact_attribute_keys, when it exists", async () => {
    const found = await sql<{ found: boolean }>`SELECT to_regclass('contact_attribute_keys') IS NOT NULL AS found`.execute(env.db);
    const ws = await seedWorkspace(env.db);
    if (found.rows[0]?.found !== true) {
      expect(await contactAttributeKeys(env.db, ws.workspaceId)).toEqual(new Set());
      return;
    }
    await sql`INSERT INTO contact_attribute_keys (workspace_id, key, type, first_seen_at) VALUES (${ws.workspaceId}, 'first_name', 'string', now())`.execute(env.db);
    expect(await contactAttributeKeys(env.db, ws.workspaceId)).toEqual(new Set(['first_name']));
    const ok = await gql(app, ws.keys.marketer.key, CREATE, { input: { ...welcome, subject: 'Hi {{ contact.first_name }}' } });
    expect(ok.body.errors).toBeUndefined();
    const theirs = await gql(app, acme.keys.marketer.key, CREATE, { input: { ...welcome, subject: 'Hi {{ contact.first_name }}' } });
    expect(theirs.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.subject' });
  });

  it("previews for a contact of the workspace, from the contacts slice's read model", async () => {
    const found = await sql<{ found: boolean }>`SELECT to_regclass('contacts') IS NOT NULL AND to_regclass('contact_attribute_keys') IS NOT NULL AS found`.execute(env.db);
    if (found.rows[0]?.found !== true) return; // the contacts slice is not there yet: sample data only
    const ws = await seedWorkspace(env.db);
    const contactId = randomUUID();
    await sql`INSERT INTO contact_attribute_keys (workspace_id, key, type, first_seen_at) VALUES (${ws.workspaceId}, 'first_name', 'string', now())`.execute(env.db);
    const attributes = JSON.stringify({ first_name: { type: 'string', value: '<Grace>' } });
    await sql`
      INSERT INTO contacts (id, workspace_id, email, email_as_given, attributes, tags, status, source, created_at, updated_at, last_position)
      VALUES (${contactId}, ${ws.workspaceId}, 'grace@example.com', 'Grace@Example.com', ${attributes}::jsonb, ARRAY['vip'], 'active', 'api', now(), now(), 1)`.execute(env.db);
    const created = await create(ws.keys.marketer.key, { name: 'Personal', subject: 'For {{ contact.first_name }}', html: '<p>{{ contact.first_name }} {{ contact.tags | join: "," }} {{ contact.email }}</p>' });
    const preview = await gql(app, ws.keys.auditor.key, PREVIEW, { id: created.templateId, contactId, sample: { campaign: { name: 'C' } }, position: created.receipt.position });
    expect(preview.body.data!.previewTemplate).toMatchObject({ subject: 'For <Grace>', html: '<p>&lt;Grace&gt; vip grace@example.com</p>' });
    // Another workspace cannot preview its own template for this contact.
    const theirs = await create(acme.keys.marketer.key);
    const elsewhere = await gql(app, acme.keys.auditor.key, PREVIEW, { id: theirs.templateId, contactId, position: theirs.receipt.position });
    expect(elsewhere.body.errors?.[0]).toMatchObject({ message: 'Contact not found.', extensions: { code: 'NOT_FOUND' } });
  });
});

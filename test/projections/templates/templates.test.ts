import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TemplateCommand } from '../../../src/domain/templates/commands.js';
import { templateDecider } from '../../../src/domain/templates/decide.js';
import { templateSchemaVersionOf, templateStreamId } from '../../../src/domain/templates/events.js';
import { handleCommand } from '../../../src/eventstore/commandHandler.js';
import { findTemplateVersion, listTemplates, listTemplateVersions } from '../../../src/projections/templates/queries.js';
import { useApiTestEnv, type ApiTestEnv } from '../../api/support.js';
import { contextIn, startPipeline, type Pipeline } from '../campaigns/pipeline.js';

let env: ApiTestEnv;
let pipeline: Pipeline;
const workspace = 'ws-templates';

beforeAll(async () => {
  env = await useApiTestEnv('proj_templates');
  pipeline = startPipeline(env, 'projtemplates');
});

async function run(templateId: string, command: TemplateCommand, workspaceId = workspace) {
  return handleCommand(env.eventStore, templateDecider, templateStreamId(templateId), command, contextIn(workspaceId), { schemaVersionOf: templateSchemaVersionOf });
}

describe('templates read model (relay → JetStream → projector)', () => {
  it('keeps every version and the current one, the name and the archived flag', async () => {
    const id = randomUUID();
    await run(id, { type: 'CreateTemplate', data: { templateId: id, name: 'Welcome', subject: 'Hi', html: '<p>1</p>', text: 'one', at: '2025-01-01T00:00:00.000Z' } });
    await run(id, { type: 'ChangeTemplate', data: { subject: 'Hi again', html: '<p>2</p>', text: null, at: '2025-01-02T00:00:00.000Z' } });
    await run(id, { type: 'RenameTemplate', data: { name: 'Welcome mail', at: '2025-01-03T00:00:00.000Z' } });
    const last = await run(id, { type: 'ArchiveTemplate', data: { at: '2025-01-04T00:00:00.000Z' } });
    await pipeline.caughtUp(last.position);

    const all = await listTemplates(env.db, { workspaceId: workspace, after: null, limit: 10, includeArchived: true });
    expect(all.rows).toEqual([
      expect.objectContaining({ id, workspace_id: workspace, name: 'Welcome mail', current_version: 2, archived: true, updated_at: new Date('2025-01-04T00:00:00.000Z') }),
    ]);
    expect((await listTemplates(env.db, { workspaceId: workspace, after: null, limit: 10, includeArchived: false })).rows).toEqual([]);
    expect((await listTemplateVersions(env.db, workspace, id)).map((v) => [v.version, v.subject, v.html, v.text])).toEqual([
      [2, 'Hi again', '<p>2</p>', null],
      [1, 'Hi', '<p>1</p>', 'one'],
    ]);
    expect((await findTemplateVersion(env.db, workspace, id, null))?.version).toBe(2);
    expect((await findTemplateVersion(env.db, workspace, id, 1))?.subject).toBe('Hi');
    expect(await findTemplateVersion(env.db, 'another-workspace', id, null)).toBeUndefined();
  });
});

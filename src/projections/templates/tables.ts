import type { Selectable } from 'kysely';
import type { Int8, Timestamp } from '../db/schema.js';

/** Read-model tables of the templates slice; part of the one Database interface (src/projections/db/schema.ts). */
export interface TemplateTables {
  templates: TemplatesTable;
  template_versions: TemplateVersionsTable;
}

export interface TemplatesTable {
  id: string;
  workspace_id: string;
  name: string;
  /** 1 when created, +1 per content change. */
  current_version: number;
  archived: boolean;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** Position of the last event applied to this row: re-applying an older event changes nothing. */
  last_position: Int8;
}

/** Every version's content: campaigns pin one, and previews and sends render it. */
export interface TemplateVersionsTable {
  template_id: string;
  workspace_id: string;
  version: number;
  subject: string;
  html: string;
  text: string | null;
  created_at: Timestamp;
}

export type TemplateRow = Selectable<TemplatesTable>;
export type TemplateVersionRow = Selectable<TemplateVersionsTable>;

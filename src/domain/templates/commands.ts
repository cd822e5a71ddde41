import type { TemplateContent } from './events.js';

/**
 * Template commands. Content arrives already validated against the workspace's contact schema
 * (validateTemplateContent in render.ts needs the workspace's attribute keys); `at` is the command's time.
 */
export type TemplateCommand =
  | { readonly type: 'CreateTemplate'; readonly data: TemplateContent & { readonly templateId: string; readonly name: string; readonly at: string } }
  | { readonly type: 'ChangeTemplate'; readonly data: TemplateContent & { readonly at: string } }
  | { readonly type: 'RenameTemplate'; readonly data: { readonly name: string; readonly at: string } }
  | { readonly type: 'ArchiveTemplate'; readonly data: { readonly at: string } };

/**
 * Template events (stream `template-<templateId>`). A template is versioned content: version 1 on creation,
 * every content change adds one, so a campaign can pin the exact version it sends. Times are ISO-8601 strings
 * chosen by the command.
 */

/** What a version holds: Liquid sources for the subject line, the HTML body and the plain-text body. */
export interface TemplateContent {
  readonly subject: string;
  readonly html: string;
  /** Null: no plain-text part. */
  readonly text: string | null;
}

export interface TemplateCreated {
  readonly type: 'TemplateCreated';
  readonly data: TemplateContent & {
    readonly templateId: string;
    readonly name: string;
    readonly version: 1;
    readonly createdAt: string;
  };
}

/** New content; always a new version (n + 1). */
export interface TemplateChanged {
  readonly type: 'TemplateChanged';
  readonly data: TemplateContent & { readonly version: number; readonly changedAt: string };
}

export interface TemplateRenamed {
  readonly type: 'TemplateRenamed';
  readonly data: { readonly name: string; readonly renamedAt: string };
}

/** No new campaign may use it; campaigns that pinned one of its versions keep sending it. */
export interface TemplateArchived {
  readonly type: 'TemplateArchived';
  readonly data: { readonly archivedAt: string };
}

export type TemplateEvent = TemplateCreated | TemplateChanged | TemplateRenamed | TemplateArchived;
export type TemplateEventType = TemplateEvent['type'];

/** The schema version each event type is written with today. */
export const TEMPLATE_EVENT_SCHEMA_VERSIONS: Readonly<Record<TemplateEventType, number>> = {
  TemplateCreated: 1,
  TemplateChanged: 1,
  TemplateRenamed: 1,
  TemplateArchived: 1,
};

export const TEMPLATE_EVENT_TYPES = Object.keys(TEMPLATE_EVENT_SCHEMA_VERSIONS) as TemplateEventType[];

export const templateSchemaVersionOf = (eventType: string): number => TEMPLATE_EVENT_SCHEMA_VERSIONS[eventType as TemplateEventType] ?? 1;

/**
 * The upcaster path: a stored template event of any known schema version in today's shape. Every type is still
 * at version 1, so this only refuses versions it does not know (written by a newer engine).
 */
export function upcastTemplateEvent(event: { readonly type: string; readonly data: unknown }, schemaVersion: number): TemplateEvent {
  const current = TEMPLATE_EVENT_SCHEMA_VERSIONS[event.type as TemplateEventType];
  if (current === undefined) throw new Error(`Not a template event: ${event.type}`);
  if (schemaVersion !== current) throw new Error(`${event.type} schema version ${schemaVersion} is unknown (this engine reads ${current})`);
  return event as TemplateEvent;
}

export const templateStreamId = (templateId: string): string => `template-${templateId}`;
export const templateIdOfStream = (streamId: string): string => streamId.slice('template-'.length);

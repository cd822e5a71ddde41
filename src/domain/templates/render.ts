import { Liquid, LiquidError, Tag, type Template, type TagToken, type TopLevelToken, type Variable } from 'liquidjs';
import { DomainError, ValidationError } from '../shared/errors.js';
import type { TemplateContent } from './events.js';

/**
 * Liquid for email templates, locked down: no file system (include/render/layout refuse to parse, and the only
 * template source is an empty in-memory map), no prototype access (`ownPropertyOnly`), unknown variables and
 * filters are errors, and parse size, render time and allocations are bounded. The HTML body escapes every
 * output (`outputEscape`), and `raw` is removed so that contact data can never be written unescaped; the subject
 * and the text body are not HTML and are not escaped.
 */
const LIMITS = { parseLimit: 1_000_000, renderLimit: 2_000, memoryLimit: 20_000_000 } as const;
const FORBIDDEN_TAGS = ['include', 'render', 'layout'] as const;

function createEngine(escapeHtml: boolean): Liquid {
  const liquid = new Liquid({
    ...LIMITS,
    strictVariables: true,
    strictFilters: true,
    ownPropertyOnly: true,
    // `{% if contact.first_name %}` and `| default:` work for a contact without that attribute.
    lenientIf: true,
    relativeReference: false,
    dynamicPartials: false,
    templates: {},
    cache: false,
    ...(escapeHtml ? { outputEscape: 'escape' as const } : {}),
  });
  for (const name of FORBIDDEN_TAGS) liquid.registerTag(name, refusedTag(name));
  if (escapeHtml) liquid.unregisterFilter('raw');
  return liquid;
}

function refusedTag(name: string) {
  return class RefusedTag extends Tag {
    constructor(token: TagToken, remainTokens: TopLevelToken[], liquid: Liquid) {
      super(token, remainTokens, liquid);
      throw new Error(`the ${name} tag is not allowed: templates cannot load other files`);
    }
    *render(): Generator<never, void> {}
  };
}

const htmlEngine = createEngine(true);
const plainEngine = createEngine(false);

export type TemplatePart = keyof TemplateContent;
const PARTS: readonly TemplatePart[] = ['subject', 'html', 'text'];
const engineOf = (part: TemplatePart): Liquid => (part === 'html' ? htmlEngine : plainEngine);

/** A Liquid error as "message at line L, column C" (liquidjs appends its own ", line:L, col:C"). */
function describe(error: unknown): { message: string; line: number | null; column: number | null } {
  if (error instanceof LiquidError) {
    const [line, column] = error.token.getPosition();
    const message = (error.originalError?.message ?? error.message).replace(/, line:\d+, col:\d+[\s\S]*$/, '');
    return { message, line: line ?? null, column: column ?? null };
  }
  return { message: error instanceof Error ? error.message : String(error), line: null, column: null };
}

const where = (line: number | null, column: number | null): string => (line === null ? '' : ` at line ${line}, column ${column}`);

// Validation on save

/** The contact fields every workspace has; custom attribute keys come from the workspace's contact schema. */
export const BUILT_IN_CONTACT_FIELDS: readonly string[] = ['email', 'tags'];

/** What a template may use: `contact.<field>`, `campaign.name`, `unsubscribe_url`, `view_in_browser_url`. */
export interface TemplateSchema {
  readonly attributeKeys: ReadonlySet<string>;
}

/**
 * Checks every part: the Liquid parses (a syntax error names line and column), and every variable the template
 * expects from outside (found by liquidjs' static analysis, so loop variables and assigns are not counted) is
 * one the engine provides. Throws ValidationError on `input.subject` / `input.html` / `input.text`.
 */
export function validateTemplateContent(content: TemplateContent, schema: TemplateSchema): void {
  for (const part of PARTS) {
    const source = content[part];
    if (source !== null) validateTemplatePart(part, source, schema, `input.${part}`);
  }
}

/** One part (e.g. an A/B variant's subject override, field `input.variants[1].subject`). */
export function validateTemplatePart(part: TemplatePart, source: string, schema: TemplateSchema, field: string): void {
  let parsed: Template[];
  try {
    parsed = engineOf(part).parse(source);
  } catch (error) {
    const { message, line, column } = describe(error);
    throw new ValidationError(`Liquid syntax error in ${part}${where(line, column)}: ${message}`, field);
  }
  const globals = engineOf(part).analyzeSync(parsed, { partials: false }).globals;
  for (const variables of Object.values(globals)) {
    for (const variable of variables) {
      const problem = variableProblem(variable, schema);
      if (problem !== null) throw new ValidationError(`Unknown variable in ${part}${where(variable.location.row, variable.location.col)}: ${problem}`, field);
    }
  }
}

function variableProblem(variable: Variable, schema: TemplateSchema): string | null {
  const [root, field] = variable.segments;
  const shown = variable.toString();
  switch (root) {
    case 'contact':
      if (field === undefined) return `${shown} needs a field, e.g. contact.email`;
      if (typeof field !== 'string') return `${shown}: contact fields must be named (contact.first_name), not computed`;
      if (BUILT_IN_CONTACT_FIELDS.includes(field) || schema.attributeKeys.has(field)) return null;
      return `${shown}: "${field}" is not a contact field of this workspace (known: ${[...BUILT_IN_CONTACT_FIELDS, ...[...schema.attributeKeys].sort()].join(', ')})`;
    case 'campaign':
      return field === 'name' ? null : `${shown}: only campaign.name is available`;
    case 'unsubscribe_url':
    case 'view_in_browser_url':
      return field === undefined ? null : `${shown}: ${root} is a string`;
    default:
      return `${shown}: available are contact.<field>, campaign.name, unsubscribe_url and view_in_browser_url`;
  }
}

// Rendering

/** The values a template is rendered with. Contact attributes are plain values (not `{ type, value }`). */
export interface RenderScope {
  readonly contact: Readonly<Record<string, unknown>>;
  readonly campaign: { readonly name: string };
  readonly unsubscribe_url: string;
  readonly view_in_browser_url: string;
}

export interface RenderedTemplate {
  /** One line: line breaks in the result become spaces (a subject is a mail header). */
  readonly subject: string;
  readonly html: string;
  readonly text: string | null;
}

/** A template that validated on save failed to render (limits exceeded, or values of an unexpected shape). */
export class TemplateRenderError extends DomainError {
  readonly code = 'BAD_USER_INPUT';
  constructor(
    readonly part: TemplatePart,
    readonly line: number | null,
    readonly column: number | null,
    detail: string,
    readonly field: string = part,
  ) {
    super(`Cannot render the ${part}${where(line, column)}: ${detail}`);
    this.name = 'TemplateRenderError';
  }
}

/**
 * Renders the three parts. A contact field the template uses but this contact lacks renders empty: validation
 * on save already restricted fields to the workspace's contact schema, and a contact need not have every
 * attribute. Anything else undefined is still an error (strict variables).
 */
export function renderTemplate(content: TemplateContent, scope: RenderScope): RenderedTemplate {
  const render = (part: TemplatePart, source: string): string => {
    const engine = engineOf(part);
    try {
      const { parsed, contactFields } = parsedPart(engine, source);
      return engine.renderSync(parsed, { ...scope, contact: withMissingFields(scope.contact, contactFields) }) as string;
    } catch (error) {
      const { message, line, column } = describe(error);
      throw new TemplateRenderError(part, line, column, message);
    }
  };
  return {
    subject: render('subject', content.subject).replace(/[\r\n]+/g, ' ').trim(),
    html: render('html', content.html),
    text: content.text === null ? null : render('text', content.text),
  };
}

/**
 * Parsed parts by source, so that a launch parses and analyzes each part once, not once per recipient (a parsed
 * template is only read by renderSync). Bounded: the oldest entry goes first once PARSED_LIMIT sources are held.
 */
const PARSED_LIMIT = 256;
const parsedParts = new Map<string, { readonly parsed: Template[]; readonly contactFields: readonly string[] }>();

function parsedPart(engine: Liquid, source: string): { readonly parsed: Template[]; readonly contactFields: readonly string[] } {
  // The engine (HTML-escaping or not) is part of the key: the same source parses differently in each.
  const key = `${engine === htmlEngine ? 'html' : 'plain'}\0${source}`;
  const known = parsedParts.get(key);
  if (known !== undefined) return known;
  const parsed = engine.parse(source);
  const entry = { parsed, contactFields: contactFieldsOf(engine, parsed) };
  if (parsedParts.size >= PARSED_LIMIT) parsedParts.delete(parsedParts.keys().next().value!);
  parsedParts.set(key, entry);
  return entry;
}

function contactFieldsOf(engine: Liquid, parsed: Template[]): string[] {
  const uses = engine.analyzeSync(parsed, { partials: false }).globals.contact ?? [];
  return uses.map((v) => v.segments[1]).filter((s): s is string => typeof s === 'string');
}

function withMissingFields(contact: Readonly<Record<string, unknown>>, fields: readonly string[]): Record<string, unknown> {
  const filled: Record<string, unknown> = { ...contact };
  for (const field of fields) {
    // defineProperty, not assignment: a field named __proto__ must not change the object's prototype.
    if (!Object.hasOwn(filled, field)) Object.defineProperty(filled, field, { value: null, enumerable: true, writable: true, configurable: true });
  }
  return filled;
}

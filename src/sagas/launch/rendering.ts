import type { Kysely } from 'kysely';
import type { LaunchVariant } from '../../domain/launches/events.js';
import type { TemplateContent } from '../../domain/templates/events.js';
import { templateStreamId, upcastTemplateEvent } from '../../domain/templates/events.js';
import { renderTemplate, type RenderScope } from '../../domain/templates/render.js';
import { contactValues } from '../../domain/templates/sample.js';
import type { EventStore } from '../../eventstore/port.js';
import type { Database } from '../../projections/db/schema.js';
import type { RenderedEmail } from '../delivery/deliver.js';
import type { DeliveryLedgerRow } from '../delivery/ledger.js';
import { microBatch } from '../delivery/microBatch.js';
import { trackingLinks } from '../delivery/trackingTokens.js';
import type { LaunchPlan } from './workflow.js';

/**
 * Rendering one recipient's email: the pinned template version (read from the template's stream, the truth,
 * so no projection lag), the variant's subject override, the contact's current values, and the signed tracking
 * links (open pixel, wrapped http(s) links, one-click unsubscribe).
 */

/** A variant's template version cannot be found (the template is not the workspace's, or the version is unknown). */
export class MissingTemplateVersionError extends Error {
  readonly code = 'TEMPLATE_VERSION_MISSING';
  constructor(readonly templateId: string, readonly version: number) {
    super(`Template ${templateId} has no version ${version} in this workspace`);
    this.name = 'MissingTemplateVersionError';
  }
}

export interface VariantContent {
  readonly variant: LaunchVariant;
  readonly content: TemplateContent;
}

/** Each variant's content, by variant key. */
export async function loadVariantContents(eventStore: EventStore, workspaceId: string, variants: readonly LaunchVariant[]): Promise<Map<string, VariantContent>> {
  const contents = new Map<string, VariantContent>();
  for (const variant of variants) {
    const read = await eventStore.readStream(templateStreamId(variant.templateId));
    const events = read.status === 'found' && read.events[0]?.metadata.workspaceId === workspaceId ? read.events : [];
    const version = events
      .map((e) => upcastTemplateEvent(e, e.metadata.schemaVersion))
      .find((e) => (e.type === 'TemplateCreated' || e.type === 'TemplateChanged') && e.data.version === variant.templateVersion);
    if (version === undefined || (version.type !== 'TemplateCreated' && version.type !== 'TemplateChanged')) throw new MissingTemplateVersionError(variant.templateId, variant.templateVersion);
    const { subject, html, text } = version.data;
    contents.set(variant.key, { variant, content: { subject: variant.subject ?? subject, html, text } });
  }
  return contents;
}

export interface RenderSettings {
  readonly trackingSecret: string;
  readonly publicBaseUrl: string;
}

export interface Addressee {
  readonly workspaceId: string;
  readonly campaignId: string;
  readonly variantKey: string;
  readonly contactId: string;
  readonly email: string;
}

/** The whole email for one recipient, from already-loaded content and contact values. Throws when it cannot render. */
export function renderEmail(plan: LaunchPlan, variant: VariantContent, to: Addressee, contact: Readonly<Record<string, unknown>>, settings: RenderSettings): RenderedEmail {
  const links = trackingLinks(settings.trackingSecret, settings.publicBaseUrl, to);
  const scope: RenderScope = {
    contact,
    campaign: { name: plan.campaignName },
    unsubscribe_url: links.unsubscribe,
    // No hosted copy is served yet; the link leads to the public base URL's view path.
    view_in_browser_url: `${settings.publicBaseUrl.replace(/\/+$/, '')}/view/${to.campaignId}`,
  };
  const rendered = renderTemplate(variant.content, scope);
  const ownBase = settings.publicBaseUrl.replace(/\/+$/, '');
  // The engine's own links (unsubscribe, view) are not wrapped: a click on them is not engagement.
  const track = (url: string): string => (url.startsWith(`${ownBase}/`) ? url : links.click(url));
  const html = withOpenPixel(wrapLinks(rendered.html, track), links.openPixel);
  return {
    campaignRevision: plan.campaignRevision,
    templateId: variant.variant.templateId,
    templateVersion: variant.variant.templateVersion,
    message: {
      campaignId: to.campaignId,
      variantKey: to.variantKey,
      contactId: to.contactId,
      to: to.email,
      from: plan.sender,
      replyTo: plan.replyTo,
      subject: rendered.subject,
      html,
      text: rendered.text ?? textOf(rendered.html),
      unsubscribeUrl: links.unsubscribe,
    },
  };
}

/** The render step deliverBatch calls per claimed ledger row: the contact as the contacts read model has it now. */
export function ledgerRenderer(db: Kysely<Database>, plan: LaunchPlan, contents: ReadonlyMap<string, VariantContent>, settings: RenderSettings) {
  // A delivery batch renders its rows concurrently: their contact reads go out as one query per batch.
  const contactOf = microBatch(async (keys: readonly (readonly [workspaceId: string, contactId: string])[]) => {
    const found = [];
    for (const workspaceId of new Set(keys.map(([w]) => w))) {
      const wanted = keys.filter(([w]) => w === workspaceId);
      const rows = await db.selectFrom('contacts').select(['id', 'email', 'tags', 'attributes']).where('workspace_id', '=', workspaceId).where('id', 'in', wanted.map(([, c]) => c)).where('status', '=', 'active').execute();
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const key of wanted) {
        const row = byId.get(key[1]);
        if (row !== undefined) found.push([key, row] as const);
      }
    }
    return new Map(found);
  });
  return async (row: DeliveryLedgerRow): Promise<RenderedEmail> => {
    const variant = contents.get(row.variant_key);
    if (variant === undefined) throw new Error(`variant ${row.variant_key} is not part of this launch`);
    const contact = await contactOf([row.workspace_id, row.contact_id]);
    if (contact === undefined) throw new Error(`contact ${row.contact_id} is no longer an active contact`);
    const to = { workspaceId: row.workspace_id, campaignId: row.campaign_id, variantKey: row.variant_key, contactId: row.contact_id, email: row.email };
    return renderEmail(plan, variant, to, contactValues(contact), settings);
  };
}

const HREF = /href="(https?:\/\/[^"]+)"/gi;

/** Every http(s) link through the click tracker (the signed token carries the target). */
function wrapLinks(html: string, click: (url: string) => string): string {
  return html.replace(HREF, (_, escaped: string) => `href="${click(escaped.replace(/&amp;/g, '&'))}"`);
}

function withOpenPixel(html: string, pixelUrl: string): string {
  const pixel = `<img src="${pixelUrl}" width="1" height="1" alt="" style="display:none">`;
  const body = html.search(/<\/body>/i);
  return body === -1 ? `${html}${pixel}` : `${html.slice(0, body)}${pixel}${html.slice(body)}`;
}

/** A plain-text part for templates without one: the HTML's text. */
function textOf(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>|<\/(p|div|h[1-6]|li|tr)>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/[ \t]+/g, ' ')
    .replace(/\n\s*\n+/g, '\n\n')
    .trim();
}

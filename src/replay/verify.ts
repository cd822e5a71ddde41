import type { EmailSent } from '../domain/deliveries/events.js';
import { launchStreamId, upcastLaunchEvent, type LaunchStarted } from '../domain/launches/events.js';
import { contactValues } from '../domain/templates/sample.js';
import type { EventStore } from '../eventstore/port.js';
import { contentHashOf } from '../sagas/delivery/deliver.js';
import { loadVariantContents, renderEmail, type RenderSettings } from '../sagas/launch/rendering.js';
import { contactKind } from './kinds.js';
import { readStreamAsOf } from './temporal.js';
import type { ContactState } from '../domain/contacts/state.js';

/** The re-rendered email and whether its hash is the one EmailSent recorded. */
export interface Verification {
  readonly matches: boolean;
  /** null when the email could not be re-rendered (see reason). */
  readonly rerenderedHash: string | null;
  readonly subject: string | null;
  readonly html: string | null;
  readonly text: string | null;
  /** The contact stream revision whose state was rendered. */
  readonly contactRevision: number | null;
  /** Why it does not match or could not be re-rendered; null when it matches. */
  readonly reason: string | null;
}

/**
 * How many contact revisions before the send time are tried: the saga rendered from the contacts read model,
 * which can trail the contact's stream by a moment, so the state the hash proves may be a revision or two older.
 */
const CONTACT_REVISIONS_TRIED = 5;

const failed = (reason: string): Verification => ({ matches: false, rerenderedHash: null, subject: null, html: null, text: null, contactRevision: null, reason });

/**
 * Re-renders an email exactly as the launch saga did — the same renderEmail and contentHashOf — from the pinned
 * versions: the launch plan of the campaign revision the email records (LaunchStarted), the variant's template
 * version from the template's stream, and the contact's data as of the send time (its stream folded up to then).
 * The tracking links are signed with TRACKING_SECRET under PUBLIC_BASE_URL, so both must be what the sending
 * process used.
 */
export async function verifySentEmail(eventStore: EventStore, workspaceId: string, sent: EmailSent['data'], render: RenderSettings | null): Promise<Verification> {
  if (render === null) return failed('No TRACKING_SECRET is configured for this process, so the signed tracking links cannot be re-created.');
  const launch = await eventStore.readStream(launchStreamId(sent.campaignId));
  const started = (launch.status === 'found' ? launch.events : [])
    .filter((e) => e.metadata.workspaceId === workspaceId && e.type === 'LaunchStarted')
    .map((e) => upcastLaunchEvent(e, e.metadata.schemaVersion) as LaunchStarted)
    .findLast((e) => e.data.campaignRevision === sent.campaignRevision);
  if (started === undefined) return failed(`No launch of campaign ${sent.campaignId} was started at campaign revision ${sent.campaignRevision}.`);
  const plan = started.data;
  const variant =
    plan.variants.find((v) => v.key === sent.variantKey && v.templateId === sent.templateId && v.templateVersion === sent.templateVersion) ??
    plan.variants.find((v) => v.templateId === sent.templateId && v.templateVersion === sent.templateVersion);
  if (variant === undefined) return failed(`The launch has no variant with template ${sent.templateId} version ${sent.templateVersion}.`);
  let content;
  try {
    content = (await loadVariantContents(eventStore, workspaceId, [variant])).get(variant.key)!;
  } catch (error) {
    return failed(error instanceof Error ? error.message : String(error));
  }

  const contact = await readStreamAsOf(eventStore, contactKind.streamId(sent.contactId), { asOf: new Date(sent.sentAt) });
  const history = contact.status === 'found' && contact.events[0]?.metadata.workspaceId === workspaceId ? contact.events : [];
  const states: { revision: number; state: ContactState }[] = [];
  let state = contactKind.initial();
  for (const event of history) states.push({ revision: event.revision, state: (state = contactKind.evolve(state, event)) });
  const candidates = states.filter((s) => s.state.status === 'active').slice(-CONTACT_REVISIONS_TRIED).reverse();
  if (candidates.length === 0) return failed(`Contact ${sent.contactId} was not an active contact at ${sent.sentAt} (or its data was erased).`);

  const to = { workspaceId, campaignId: sent.campaignId, variantKey: sent.variantKey, contactId: sent.contactId, email: sent.email };
  let newest: Verification | null = null;
  for (const candidate of candidates) {
    if (candidate.state.status !== 'active') continue;
    let verification: Verification;
    try {
      const { message } = renderEmail(plan, { variant, content: content.content }, to, contactValues(candidate.state), render);
      const hash = contentHashOf(message);
      const matches = hash === sent.contentHash && message.subject === sent.subject;
      verification = { matches, rerenderedHash: hash, subject: message.subject, html: message.html, text: message.text, contactRevision: candidate.revision, reason: matches ? null : 'The re-rendered content differs from what was recorded (different contact data, TRACKING_SECRET or PUBLIC_BASE_URL).' };
    } catch (error) {
      verification = { ...failed(`Re-rendering failed: ${error instanceof Error ? error.message : String(error)}`), contactRevision: candidate.revision };
    }
    if (verification.matches) return verification;
    newest ??= verification;
  }
  return newest!;
}

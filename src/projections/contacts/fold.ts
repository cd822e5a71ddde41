import type { AttributeValue, ContactEvent, SuppressionReason } from '../../domain/contacts/events.js';
import type { RecordedEvent } from '../../eventstore/port.js';
import { checkedContactEvent, contactIdOf, ContactEventShapeError } from './eventShape.js';

/**
 * The contacts projection's `apply`, statement for statement, on rows held in memory: applyMany (batch.ts) loads
 * the batch's contacts with their consents and suppressions, folds every event here in log order, then writes
 * only the final rows. Each branch mirrors one SQL statement of projection.ts, including its guards (a row moves
 * only when `last_position < position`; consents and suppressions have their own guard), so that the tables end
 * exactly as applying the events one by one leaves them. Keep the two in step.
 *
 * Timestamps stay the strings they were written or read as (PostgreSQL parses them on write), so no precision is
 * lost on the way through JavaScript dates.
 */

export interface ContactState {
  id: string;
  workspace_id: string;
  email: string;
  email_as_given: string;
  external_id: string | null;
  phone: string | null;
  attributes: Record<string, AttributeValue>;
  tags: string[];
  status: 'active' | 'merged';
  merged_into: string | null;
  suppressed: boolean;
  suppression_reason: SuppressionReason | null;
  source: string;
  created_at: string;
  updated_at: string;
  last_position: bigint;
}

export interface ConsentState {
  workspace_id: string;
  contact_id: string;
  topic: string;
  status: 'subscribed' | 'unsubscribed';
  source: string;
  consent_text_version: string | null;
  reason: string | null;
  at: string;
  changed_at: string;
  last_position: bigint;
}

export interface SuppressionState {
  workspace_id: string;
  contact_id: string;
  email: string;
  reason: SuppressionReason;
  detail: string | null;
  at: string;
  last_position: bigint;
}

export interface AttributeKeyState {
  workspace_id: string;
  key: string;
  type: AttributeValue['type'];
  first_seen_at: string;
}

/** The batch's contacts as loaded, then as folded: every map is keyed by contact id. */
export class ContactsFold {
  readonly contacts = new Map<string, ContactState | null>();
  readonly consents = new Map<string, Map<string, ConsentState>>();
  readonly suppressions = new Map<string, SuppressionState | null>();
  /** First use of each attribute key in the batch (`workspace\0key`); rows already in the table still win. */
  readonly attributeKeys = new Map<string, AttributeKeyState>();
  /**
   * Rows a statement of `apply` wrote (contacts and suppressions by contact id, consents by row object): their
   * final state is written back, if they are still there at the end.
   */
  readonly dirtyContacts = new Set<string>();
  readonly dirtyConsents = new Set<ConsentState>();
  readonly dirtySuppressions = new Set<string>();
  /** `workspace\0email` → a contact that had it while active; checked lazily (it may have been merged or erased since). */
  private readonly activeEmails = new Map<string, string>();

  /** Registers the loaded state of the batch's contacts (absent ones as null). */
  constructor(ids: readonly string[], contacts: readonly ContactState[], consents: readonly ConsentState[], suppressions: readonly SuppressionState[]) {
    for (const id of ids) {
      this.contacts.set(id, null);
      this.consents.set(id, new Map());
      this.suppressions.set(id, null);
    }
    for (const row of contacts) {
      this.contacts.set(row.id, row);
      if (row.status === 'active') this.activeEmails.set(emailKey(row), row.id);
    }
    for (const row of consents) this.consents.get(row.contact_id)?.set(row.topic, row);
    for (const row of suppressions) this.suppressions.set(row.contact_id, row);
  }

  apply(recorded: RecordedEvent): void {
    const event = checkedContactEvent(recorded);
    const contactId = contactIdOf(recorded);
    const workspaceId = recorded.metadata.workspaceId;
    const position = recorded.position;
    const touch = (at: string, change: (row: ContactState) => void = () => {}) => this.touch(contactId, position, at, change);

    switch (event.type) {
      case 'ContactCreated': {
        if (this.contacts.get(contactId) !== null) return; // ON CONFLICT (id) DO NOTHING
        const d = event.data;
        const row: ContactState = {
          id: contactId, workspace_id: workspaceId, email: d.email, email_as_given: d.emailAsGiven, external_id: d.externalId ?? null, phone: d.phone ?? null,
          attributes: { ...d.attributes }, tags: [...d.tags], status: 'active', merged_into: null, suppressed: false, suppression_reason: null,
          source: d.source, created_at: d.createdAt, updated_at: d.createdAt, last_position: position,
        };
        this.claimEmail(recorded, row);
        this.contacts.set(contactId, row);
        this.dirtyContacts.add(contactId);
        this.recordAttributeKeys(workspaceId, d.attributes, d.createdAt);
        return;
      }
      case 'ContactAttributesChanged': {
        const d = event.data;
        const entries = Object.entries(d.changes);
        const set = Object.fromEntries(entries.filter(([, value]) => value !== null)) as Record<string, AttributeValue>;
        const removed = entries.filter(([, value]) => value === null).map(([key]) => key);
        const row = touch(d.changedAt, (r) => {
          const attributes = { ...r.attributes, ...set };
          for (const key of removed) delete attributes[key];
          r.attributes = attributes;
          if (d.phone !== undefined) r.phone = d.phone;
          if (d.externalId !== undefined) r.external_id = d.externalId;
        });
        if (row !== null) this.recordAttributeKeys(workspaceId, set, d.changedAt);
        return;
      }
      case 'ContactTagged': {
        const { tag, at } = event.data;
        touch(at, (r) => void (r.tags.includes(tag) || (r.tags = [...r.tags, tag])));
        return;
      }
      case 'ContactUntagged': {
        const { tag, at } = event.data;
        touch(at, (r) => void (r.tags = r.tags.filter((t) => t !== tag)));
        return;
      }
      case 'ContactSubscribed': {
        const { topic, source, consentTextVersion, at } = event.data;
        if (touch(at) === null) return;
        this.upsertConsents(contactId, [{ workspace_id: workspaceId, contact_id: contactId, topic, status: 'subscribed', source, consent_text_version: consentTextVersion ?? null, reason: null, at, changed_at: at, last_position: position }]);
        return;
      }
      case 'ContactUnsubscribed': {
        const { topic, source, reason, at } = event.data;
        if (touch(at) === null) return;
        this.upsertConsents(contactId, [{ workspace_id: workspaceId, contact_id: contactId, topic, status: 'unsubscribed', source, consent_text_version: null, reason: reason ?? null, at, changed_at: at, last_position: position }]);
        return;
      }
      case 'ContactSuppressed': {
        const { reason, detail, at } = event.data;
        const row = touch(at, (r) => Object.assign(r, { suppressed: true, suppression_reason: reason }));
        if (row === null) return;
        this.upsertSuppression({ workspace_id: workspaceId, contact_id: contactId, email: row.email, reason, detail: detail ?? null, at, last_position: position });
        return;
      }
      case 'ContactUnsuppressed':
        if (touch(event.data.at, (r) => Object.assign(r, { suppressed: false, suppression_reason: null })) === null) return;
        this.suppressions.set(contactId, null);
        return;
      case 'ContactMerged': {
        const survivorId = event.data.survivorId.toLowerCase();
        if (touch(event.data.at, (r) => Object.assign(r, { status: 'merged', merged_into: survivorId })) === null) return;
        this.suppressions.set(contactId, null);
        return;
      }
      case 'ContactAbsorbed':
        this.absorb(event.data, contactId, workspaceId, position);
        return;
      case 'ContactErased':
        this.contacts.set(contactId, null);
        this.consents.set(contactId, new Map());
        this.suppressions.set(contactId, null);
        return;
    }
  }

  private absorb(d: Extract<ContactEvent, { type: 'ContactAbsorbed' }>['data'], contactId: string, workspaceId: string, position: bigint): void {
    const survivor = this.touch(contactId, position, d.at, (r) => {
      // One UPDATE: every expression reads the row as it was (tags already there are not taken twice).
      const before = r.tags;
      r.attributes = { ...r.attributes, ...d.attributes };
      r.tags = [...before, ...d.tags.filter((t) => !before.includes(t))];
      r.phone = d.phone ?? r.phone;
      r.external_id = d.externalId ?? r.external_id;
      if (d.suppression !== null) Object.assign(r, { suppressed: true, suppression_reason: d.suppression.reason });
    });
    if (survivor === null) return;
    const base = { workspace_id: workspaceId, contact_id: contactId, last_position: position, reason: null };
    // Two statements at the same position, as in apply: a topic in both keeps the subscription.
    this.upsertConsents(contactId, d.subscriptions.map((s) => ({ ...base, topic: s.topic, status: 'subscribed' as const, source: s.source, consent_text_version: s.consentTextVersion ?? null, at: s.at, changed_at: s.at })));
    this.upsertConsents(contactId, d.unsubscriptions.map((u) => ({ ...base, topic: u.topic, status: 'unsubscribed' as const, source: `merge:${d.duplicateId}`, consent_text_version: null, at: u.at, changed_at: u.at })));
    if (d.suppression !== null) {
      this.upsertSuppression({ workspace_id: workspaceId, contact_id: contactId, email: survivor.email, reason: d.suppression.reason, detail: `merged from ${d.duplicateEmail}`, at: d.suppression.at, last_position: position });
    }
    this.recordAttributeKeys(workspaceId, d.attributes, d.at);
  }

  /** touchContact: the row moves to `position` only if it exists and is behind it; null otherwise. */
  private touch(contactId: string, position: bigint, at: string, change: (row: ContactState) => void): ContactState | null {
    const row = this.contacts.get(contactId) ?? null;
    if (row === null || !(row.last_position < position)) return null;
    change(row);
    row.updated_at = at;
    row.last_position = position;
    this.dirtyContacts.add(contactId);
    return row;
  }

  /**
   * The partial unique index contacts_email_active, where the final rows cannot show it: `apply` fails on a
   * ContactCreated whose address an active contact holds at that moment. For the batch's contacts the fold
   * knows that moment's state and refuses the batch here; contacts outside the batch do not change during it, so
   * batch.ts's INSERT meets the same conflicts with them.
   */
  private claimEmail(event: RecordedEvent, row: ContactState): void {
    const key = emailKey(row);
    const holder = this.activeEmails.get(key);
    const current = holder === undefined ? null : this.contacts.get(holder) ?? null;
    if (current !== null && current.status === 'active' && emailKey(current) === key) {
      throw new ContactEventShapeError(event, `email ${row.email} is already held by active contact ${holder}`);
    }
    this.activeEmails.set(key, row.id);
  }

  /** upsertConsents: one row per topic (the last wins), each guarded by the consent's own last_position. */
  private upsertConsents(contactId: string, rows: readonly ConsentState[]): void {
    const current = this.consents.get(contactId)!;
    for (const row of new Map(rows.map((r) => [r.topic, r])).values()) {
      const existing = current.get(row.topic);
      if (existing === undefined) {
        current.set(row.topic, { ...row });
        this.dirtyConsents.add(current.get(row.topic)!);
        continue;
      }
      if (!(existing.last_position < row.last_position)) continue;
      if (existing.status !== row.status) existing.changed_at = row.changed_at;
      Object.assign(existing, { status: row.status, source: row.source, consent_text_version: row.consent_text_version ?? existing.consent_text_version, reason: row.reason, at: row.at, last_position: row.last_position });
      this.dirtyConsents.add(existing);
    }
  }

  /** upsertSuppression: insert, or update reason/detail/at when behind (email and workspace stay). */
  private upsertSuppression(row: SuppressionState): void {
    const existing = this.suppressions.get(row.contact_id) ?? null;
    if (existing === null) this.suppressions.set(row.contact_id, { ...row });
    else if (existing.last_position < row.last_position) Object.assign(existing, { reason: row.reason, detail: row.detail, at: row.at, last_position: row.last_position });
    else return;
    this.dirtySuppressions.add(row.contact_id);
  }

  /** recordAttributeKeys: the first type seen for a key wins. */
  private recordAttributeKeys(workspaceId: string, attributes: Readonly<Record<string, AttributeValue>>, at: string): void {
    for (const [key, value] of Object.entries(attributes)) {
      const id = `${workspaceId}\0${key}`;
      if (!this.attributeKeys.has(id)) this.attributeKeys.set(id, { workspace_id: workspaceId, key, type: value.type, first_seen_at: at });
    }
  }
}

const emailKey = (row: Pick<ContactState, 'workspace_id' | 'email'>) => `${row.workspace_id}\0${row.email}`;

import type { AttributeValue, SuppressionReason } from './events.js';

export type Consent =
  | { readonly status: 'subscribed'; readonly consentTextVersion: string; readonly source: string; readonly at: string }
  | { readonly status: 'unsubscribed'; readonly at: string };

export interface ActiveContact {
  readonly status: 'active';
  readonly contactId: string;
  readonly email: string;
  readonly externalId: string | null;
  readonly phone: string | null;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly tags: readonly string[];
  /** Current consent per topic; a topic never mentioned is absent. */
  readonly consents: Readonly<Record<string, Consent>>;
  readonly suppression: { readonly reason: SuppressionReason; readonly at: string } | null;
}

/** The contact was merged into `survivorId`; its stream accepts no more commands. */
export interface MergedContact {
  readonly status: 'merged';
  readonly contactId: string;
  readonly survivorId: string;
}

/** The contact was erased (GDPR); its stream accepts no more commands and its email cannot be used again. */
export interface ErasedContact {
  readonly status: 'erased';
  readonly contactId: string;
}

export type ContactState = { readonly status: 'none' } | ActiveContact | MergedContact | ErasedContact;

export const initialContactState = (): ContactState => ({ status: 'none' });

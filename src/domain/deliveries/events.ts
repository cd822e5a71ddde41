/**
 * Email delivery and engagement events: the contract between the launch saga, the delivery worker, the tracking
 * endpoints, the bounce webhook, campaign stats and the auditors' "what was sent" queries.
 *
 * Stream: one per recipient of a campaign, `email-<campaignId>_<contactId>` (category `email`), so delivery
 * outcomes of many recipients append in batches (appendMany) without contending, and a recipient's whole story
 * for one campaign is one short stream. Times are ISO-8601 strings.
 */

export interface EmailSent {
  readonly type: 'EmailSent';
  readonly data: {
    readonly campaignId: string;
    readonly variantKey: string;
    readonly contactId: string;
    readonly email: string;
    /** Deterministic: `<campaignId>.<variantKey>.<contactId>@<sender domain>`; also the idempotency key's twin. */
    readonly messageId: string;
    /** The campaign stream's revision the launch was decided at. */
    readonly campaignRevision: number;
    readonly templateId: string;
    readonly templateVersion: number;
    readonly subject: string;
    /** sha256 (hex) of the rendered subject, html and text: proves what was sent. */
    readonly contentHash: string;
    readonly sentAt: string;
  };
}

export interface EmailFailed {
  readonly type: 'EmailFailed';
  readonly data: {
    readonly campaignId: string;
    readonly variantKey: string;
    readonly contactId: string;
    readonly email: string;
    readonly messageId: string;
    /** 5xx (or too many 4xx attempts): no more retries. */
    readonly permanent: boolean;
    readonly smtpCode: number | null;
    readonly reason: string;
    readonly attempts: number;
    readonly at: string;
  };
}

/** Rendering the template for this recipient failed; nothing was sent to them. */
export interface EmailRenderFailed {
  readonly type: 'EmailRenderFailed';
  readonly data: { readonly campaignId: string; readonly variantKey: string; readonly contactId: string; readonly reason: string; readonly at: string };
}

export interface EmailBounced {
  readonly type: 'EmailBounced';
  readonly data: {
    readonly campaignId: string;
    readonly contactId: string;
    readonly messageId: string;
    readonly kind: 'hard' | 'soft';
    readonly reason: string;
    /** Which webhook format reported it: 'generic', 'ses', ... */
    readonly source: string;
    readonly at: string;
  };
}

export interface EmailComplained {
  readonly type: 'EmailComplained';
  readonly data: { readonly campaignId: string; readonly contactId: string; readonly messageId: string; readonly source: string; readonly at: string };
}

export interface EmailOpened {
  readonly type: 'EmailOpened';
  readonly data: { readonly campaignId: string; readonly variantKey: string; readonly contactId: string; readonly at: string };
}

export interface EmailClicked {
  readonly type: 'EmailClicked';
  readonly data: { readonly campaignId: string; readonly variantKey: string; readonly contactId: string; readonly url: string; readonly at: string };
}

export type EmailEvent = EmailSent | EmailFailed | EmailRenderFailed | EmailBounced | EmailComplained | EmailOpened | EmailClicked;
export type EmailEventType = EmailEvent['type'];

export const emailStreamId = (campaignId: string, contactId: string): string => `email-${campaignId}_${contactId}`;

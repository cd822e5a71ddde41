/**
 * The names one email goes by. The idempotency key (ledger primary key) and the Message-ID are both derived from
 * campaign, variant and contact, so every retry, every worker and every crash recovery computes the same ones,
 * and a bounce or a provider's message log that quotes the Message-ID leads back to exactly one ledger row.
 */

/** `<campaignId>:<variantKey>:<contactId>`: the delivery ledger's primary key. */
export function idempotencyKeyOf(campaignId: string, variantKey: string, contactId: string): string {
  return `${campaignId}:${variantKey}:${contactId}`;
}

/** `<campaignId>.<variantKey>.<contactId>@<sender domain>`, without angle brackets (as stored and in events). */
export function messageIdFor(campaignId: string, variantKey: string, contactId: string, senderDomain: string): string {
  return `${campaignId}.${variantKey}.${contactId}@${senderDomain.toLowerCase()}`;
}

/** The domain part of an address (`news@mail.example.com` → `mail.example.com`). */
export function senderDomainOf(email: string): string {
  const at = email.lastIndexOf('@');
  const domain = at === -1 ? '' : email.slice(at + 1).trim().toLowerCase();
  if (domain === '' || /[\s<>]/.test(domain)) throw new Error(`Cannot take a sender domain from ${JSON.stringify(email)}`);
  return domain;
}

/** A Message-ID as providers quote it (`<id>`, ` id `) in the stored form: no brackets, no white space. */
export function normalizeMessageId(raw: string): string {
  return raw.trim().replace(/^<+/, '').replace(/>+$/, '').trim();
}

import type { AttributeValue } from '../contacts/events.js';
import { ValidationError } from '../shared/errors.js';
import type { RenderScope } from './render.js';

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The render scope of a preview from untrusted sample JSON
 * (`{ contact: {...}, campaign: { name }, unsubscribe_url, view_in_browser_url }`). What the sample leaves out
 * gets placeholders, so a template can be previewed with only some contact fields.
 */
export function sampleScope(sample: unknown, publicBaseUrl: string): RenderScope {
  if (sample != null && !isRecord(sample)) throw new ValidationError('sample must be a JSON object, e.g. {"contact": {"email": "ada@example.com"}}.', 'sample');
  const given = sample ?? {};
  const contact = given.contact ?? {};
  if (!isRecord(contact)) throw new ValidationError('sample.contact must be an object.', 'sample');
  const campaign = given.campaign ?? {};
  if (!isRecord(campaign) || (campaign.name !== undefined && typeof campaign.name !== 'string')) throw new ValidationError('sample.campaign must be an object with a string name.', 'sample');
  const url = (key: 'unsubscribe_url' | 'view_in_browser_url', fallback: string): string => {
    const value = given[key];
    if (value !== undefined && typeof value !== 'string') throw new ValidationError(`sample.${key} must be a string.`, 'sample');
    return value ?? fallback;
  };
  const base = publicBaseUrl.replace(/\/$/, '');
  return {
    contact: { email: 'preview@example.com', tags: [], ...contact },
    campaign: { name: (campaign.name as string | undefined) ?? 'Campaign preview' },
    unsubscribe_url: url('unsubscribe_url', `${base}/preview/unsubscribe`),
    view_in_browser_url: url('view_in_browser_url', `${base}/preview/view`),
  };
}

/** A contact as templates see it: email, tags and each attribute's plain value (`contact.first_name`). */
export function contactValues(contact: { email: string; tags: readonly string[]; attributes: Readonly<Record<string, AttributeValue>> }): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, attribute] of Object.entries(contact.attributes)) {
    // defineProperty: an attribute named __proto__ stays plain data.
    Object.defineProperty(values, key, { value: attribute.value, enumerable: true, writable: true, configurable: true });
  }
  return Object.assign(values, { email: contact.email, tags: [...contact.tags] });
}

import { createHash, type Hash } from 'node:crypto';
import type { LaunchVariant } from './events.js';

/**
 * How a frozen audience is split over A/B variants, and how it is fingerprinted. Pure (hashing is a function of
 * its input; no clock, no I/O).
 *
 * Split: the audience is ordered by md5(`<campaignId>:<contactId>`) (done in SQL while streaming it), and the
 * variants take contiguous slices of that order sized by their splitPercent: variant i gets the ranks from
 * floor(n · c(i-1) / 100) to floor(n · c(i) / 100), c being the cumulative split. So a contact's variant
 * follows from a hash of campaign and contact (random-looking, independent across campaigns, the same on every
 * run over the same audience), and the variant sizes match the splits to within one recipient.
 */
export function variantAt<V extends Pick<LaunchVariant, 'key' | 'splitPercent'>>(rank: number, total: number, variants: readonly V[]): V {
  if (variants.length === 0) throw new Error('A launch needs at least one variant');
  if (!Number.isInteger(rank) || rank < 0 || rank >= total) throw new Error(`rank ${rank} is outside an audience of ${total}`);
  let cumulative = 0;
  for (const variant of variants) {
    cumulative += variant.splitPercent;
    if (rank < Math.floor((total * cumulative) / 100)) return variant;
  }
  // Splits sum to 100, so only rounding can leave the last ranks here.
  return variants[variants.length - 1]!;
}

/** The variant sizes `variantAt` produces for an audience of `total`. */
export function variantSizes(total: number, variants: readonly Pick<LaunchVariant, 'key' | 'splitPercent'>[]): Record<string, number> {
  const sizes: Record<string, number> = Object.fromEntries(variants.map((v) => [v.key, 0]));
  let cumulative = 0;
  let previous = 0;
  variants.forEach((variant, index) => {
    cumulative += variant.splitPercent;
    const boundary = index === variants.length - 1 ? total : Math.floor((total * cumulative) / 100);
    sizes[variant.key] = boundary - previous;
    previous = boundary;
  });
  return sizes;
}

/**
 * The test sample of an audience of `total` (the first ranks of the same md5 order; the rest is the holdout):
 * floor(total · samplePercent / 100), but at least one recipient per variant while the audience has them, so
 * that every variant is tested. null samplePercent (no test phase): everyone.
 */
export function sampleSizeOf(total: number, samplePercent: number | null, variantCount: number): number {
  if (samplePercent === null || samplePercent >= 100) return total;
  return Math.min(total, Math.max(Math.floor((total * samplePercent) / 100), variantCount));
}

/**
 * sha256 over `<contactId>:<variantKey>\n` lines, fed in ascending contact id order (byte order): the audience's
 * fingerprint in AudienceFrozen. A holdout recipient's line carries HOLDOUT_VARIANT_KEY (`~holdout`): the hash
 * fingerprints the audience as frozen, before any winner is known. Incremental, so a large audience is hashed while it streams past.
 */
export class AudienceHasher {
  private readonly hash: Hash = createHash('sha256');
  private last: string | null = null;
  private size = 0;

  add(contactId: string, variantKey: string): void {
    if (this.last !== null && !(contactId > this.last)) throw new Error(`Audience hash input out of order: ${contactId} after ${this.last}`);
    this.hash.update(`${contactId}:${variantKey}\n`);
    this.last = contactId;
    this.size++;
  }

  get count(): number {
    return this.size;
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/** The fingerprint of a whole audience given in any order (tests, audits). */
export function audienceHash(members: readonly { readonly contactId: string; readonly variantKey: string }[]): string {
  const hasher = new AudienceHasher();
  for (const m of [...members].sort((a, b) => (a.contactId < b.contactId ? -1 : a.contactId > b.contactId ? 1 : 0))) hasher.add(m.contactId, m.variantKey);
  return hasher.digest();
}

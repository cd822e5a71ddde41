import { ValidationError } from '../shared/errors.js';
import type { CampaignVariants } from './events.js';

export const MIN_VARIANTS = 2;
export const MAX_VARIANTS = 5;
export const VARIANT_KEY = /^[A-Za-z0-9_-]{1,20}$/;
export const WINNER_METRICS = ['open_rate', 'click_rate'] as const;
/** A winner is picked at most a month after the test sample was sent. */
export const MAX_WINNER_AFTER_HOURS = 720;

const isPercent = (value: number): boolean => Number.isInteger(value) && value >= 1 && value <= 100;

/**
 * The invariants of an A/B test: 2 to 5 variants with unique keys, whose splits sum to 100 percent, a test sample
 * of 1 to 100 percent, and a known winner metric. Throws ValidationError naming `input.variants` (or the
 * offending setting).
 */
export function validateVariants(definition: CampaignVariants): void {
  const { variants, testSamplePercent, winnerMetric, winnerAfterHours } = definition;
  if (variants.length < MIN_VARIANTS || variants.length > MAX_VARIANTS) {
    throw new ValidationError(`An A/B test needs ${MIN_VARIANTS} to ${MAX_VARIANTS} variants, got ${variants.length}.`, 'input.variants');
  }
  const seen = new Set<string>();
  variants.forEach((variant, index) => {
    if (!VARIANT_KEY.test(variant.key)) throw new ValidationError('A variant key is 1-20 letters, digits, _ or -, e.g. A.', `input.variants[${index}].key`);
    if (seen.has(variant.key)) throw new ValidationError(`Variant keys must be unique; ${variant.key} appears twice.`, 'input.variants');
    seen.add(variant.key);
    if (!isPercent(variant.splitPercent)) throw new ValidationError('splitPercent must be a whole number from 1 to 100.', `input.variants[${index}].splitPercent`);
  });
  const total = variants.reduce((sum, v) => sum + v.splitPercent, 0);
  if (total !== 100) throw new ValidationError(`The variants' splitPercent must sum to 100, got ${total}.`, 'input.variants');
  if (!isPercent(testSamplePercent)) throw new ValidationError('testSamplePercent must be a whole number from 1 to 100.', 'input.testSamplePercent');
  if (!(WINNER_METRICS as readonly string[]).includes(winnerMetric)) throw new ValidationError(`winnerMetric must be one of ${WINNER_METRICS.join(', ')}.`, 'input.winnerMetric');
  if (winnerAfterHours !== null && (!Number.isInteger(winnerAfterHours) || winnerAfterHours < 1 || winnerAfterHours > MAX_WINNER_AFTER_HOURS)) {
    throw new ValidationError(`winnerAfterHours must be a whole number from 1 to ${MAX_WINNER_AFTER_HOURS}, or null to pick the winner by hand.`, 'input.winnerAfterHours');
  }
}

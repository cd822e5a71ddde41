import { InvalidTransitionError } from '../shared/errors.js';
import type { CampaignVariants, WinnerMetric } from './events.js';

/**
 * The A/B test phase of a campaign, pure: which campaigns have one, and how a winner follows from the sample's
 * results. A campaign has a test phase when it has variants and tests on less than its whole audience
 * (testSamplePercent < 100): the sample is split over the variants, the rest (the holdout) waits for the winner.
 */

/** The campaign's A/B definition when it has a test phase; null otherwise (no variants, or a 100 % sample). */
export function testPhaseOf(variants: CampaignVariants | null): CampaignVariants | null {
  return variants !== null && variants.testSamplePercent < 100 ? variants : null;
}

/** ChooseCampaignWinner on a campaign without a test phase: there is nobody left to send a winner to. */
export class NoTestPhaseError extends InvalidTransitionError {
  constructor(from: string) {
    super('campaign', from, 'Choosing a winner of a campaign without an A/B test phase (it needs variants and testSamplePercent below 100)');
    this.name = 'NoTestPhaseError';
  }
}

/** A second ChooseCampaignWinner (by hand after an automatic choice, or twice): the first choice stands. */
export class WinnerAlreadyChosenError extends InvalidTransitionError {
  constructor(
    from: string,
    readonly variantKey: string,
    readonly by: 'auto' | 'manual',
  ) {
    super('campaign', from, `Choosing a winner again (variant ${variantKey} was chosen ${by === 'auto' ? 'automatically' : 'by hand'})`);
    this.name = 'WinnerAlreadyChosenError';
  }
}

/** An automatic choice for a campaign whose winner is to be picked by hand (winnerAfterHours null). */
export class WinnerPickedByHandError extends InvalidTransitionError {
  constructor(from: string) {
    super('campaign', from, 'Choosing a winner automatically when it is to be picked by hand');
    this.name = 'WinnerPickedByHandError';
  }
}

/** One variant's sample: emails sent, and contacts who opened (or clicked, for click_rate) at least once. */
export interface VariantResult {
  readonly key: string;
  readonly sent: number;
  readonly hits: number;
}

/** A rate as shown and recorded: hits / sent rounded to 4 decimals, 0 when nothing was sent. */
export function rateOf(result: VariantResult): number {
  return result.sent === 0 ? 0 : Math.round((result.hits / result.sent) * 10_000) / 10_000;
}

export const hitsOf = (metric: WinnerMetric, counters: { readonly unique_opens: number; readonly unique_clicks: number }): number =>
  metric === 'open_rate' ? counters.unique_opens : counters.unique_clicks;

/**
 * The winner of a sample: the highest rate (hits / sent, compared exactly as fractions, not as rounded floats).
 * Tie-break, deterministic: on equal rates the variant with more emails sent wins (more evidence), and on equal
 * rates and sends the one listed first in the campaign's variants. `results` must be in that order.
 */
export function pickWinner(results: readonly VariantResult[]): { readonly variantKey: string; readonly values: Readonly<Record<string, number>> } {
  if (results.length === 0) throw new Error('A winner needs at least one variant');
  let best = results[0]!;
  for (const candidate of results.slice(1)) {
    const order = compareRates(candidate, best);
    if (order > 0 || (order === 0 && candidate.sent > best.sent)) best = candidate;
  }
  return { variantKey: best.key, values: Object.fromEntries(results.map((r) => [r.key, rateOf(r)])) };
}

/** Sign of rate(a) − rate(b); a variant that sent nothing has rate 0. */
function compareRates(a: VariantResult, b: VariantResult): number {
  const left = a.sent === 0 ? 0 : a.hits * (b.sent === 0 ? 1 : b.sent);
  const right = b.sent === 0 ? 0 : b.hits * (a.sent === 0 ? 1 : a.sent);
  return Math.sign(left - right);
}

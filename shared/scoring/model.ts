/**
 * The score model every contact carries. New contacts start from the priors below; the nightly
 * run (responses issue) updates them from what the contact did.
 *
 * - engagement: 0–1, a decayed share of recent sends the contact responded to (opened/clicked).
 * - propensity.<channel>: the probability that a message on that channel gets a response, as a
 *   Beta(alpha, beta) posterior; `mean` = alpha / (alpha + beta).
 * - value: recency (days since the last conversion, null if none), frequency (conversions),
 *   monetary (revenue from conversions) and expectedValue (revenue expected per conversion).
 * - lead: lead points (contacts issue).
 * - bestHour: the contact's local hour (0–23) with the most responses, or null.
 * - models: what the learned models (shared/learning) predict for the contact, by score name:
 *   `propensity.<goal>` (P(goal within its window | sent on the best channel at the best hour)),
 *   `uplift.<goal>` (that probability minus the probability without a message), `churn`
 *   (1 − P(alive), BG/NBD) and `value.expected90d` (expected revenue in 90 days, BG/NBD ×
 *   Gamma–Gamma). A key is absent when its model is not active or the contact has no score
 *   (churn and value need a conversion in the lookback). Written by the nightly scoring pass.
 */
export interface BetaPosterior {
  alpha: number;
  beta: number;
  mean: number;
}

export interface ValueScore {
  recency: number | null;
  frequency: number;
  monetary: number;
  expectedValue: number;
}

export interface Scores {
  lead: number;
  engagement: number;
  propensity: { email: BetaPosterior; sms: BetaPosterior };
  value: ValueScore;
  bestHour: number | null;
  updatedAt?: string;
  /** Learned model scores by score name (see above); absent before the first scoring pass. */
  models?: Record<string, number>;
  /** When `models` was last computed. */
  modelsAt?: string;
  /** The contact's conversions over the nightly run's lookback (first, last, count, revenue): churn and expected value start from them. */
  conversions?: { first: string; last: string; count: number; revenue: number };
}

/** Priors: a 2 % email and 4 % SMS response rate, each worth 20 observations; engagement 0.3; 50 (currency units) per conversion. */
export const PRIORS = {
  propensity: { email: { alpha: 0.4, beta: 19.6 }, sms: { alpha: 0.8, beta: 19.2 } },
  engagement: 0.3,
  expectedValue: 50,
} as const;

export const beta = (alpha: number, betaParam: number): BetaPosterior => ({ alpha, beta: betaParam, mean: alpha / (alpha + betaParam) });

export function defaultScores(lead = 0): Scores {
  return {
    lead,
    engagement: PRIORS.engagement,
    propensity: {
      email: beta(PRIORS.propensity.email.alpha, PRIORS.propensity.email.beta),
      sms: beta(PRIORS.propensity.sms.alpha, PRIORS.propensity.sms.beta),
    },
    value: { recency: null, frequency: 0, monetary: 0, expectedValue: PRIORS.expectedValue },
    bestHour: null,
  };
}

/** Scores of a stored contact, with priors filled in for anything missing (older items). */
export function scoresOf(stored: Partial<Scores> | undefined): Scores {
  const base = defaultScores(stored?.lead ?? 0);
  return {
    ...base,
    ...stored,
    propensity: { ...base.propensity, ...stored?.propensity },
    value: { ...base.value, ...stored?.value },
    lead: stored?.lead ?? 0,
  } as Scores;
}

/**
 * Names the learned models go by (pure, browser-safe: the console's segment builder reads them).
 *
 * A goal is a conversion event name (a campaign's or journey's `goal.event`, e.g. `purchase`).
 * Its models are `propensity.<goal>` and `uplift.<goal>`; the BTYD pair is one model, `btyd`,
 * scoring `churn` and `value.expected90d`. The same names are the contact's score names
 * (`scores.models[name]`) and what segment rules and the API say.
 */

/** Goals a model can be learnt for: letters, digits and `_ . : -`, 1–100 characters. */
export const LEARNABLE_GOAL = /^[A-Za-z0-9_.:-]{1,100}$/;

/** Goals whose model ids would collide with the channel scores `propensity.email|sms`. */
export const RESERVED_GOAL_NAMES: readonly string[] = ['email', 'sms'];

export const propensityId = (goal: string): string => `propensity.${goal}`;
export const upliftId = (goal: string): string => `uplift.${goal}`;
export const BTYD_ID = 'btyd';
/** The BTYD model's scores. */
export const CHURN_SCORE = 'churn';
export const VALUE_SCORE = 'value.expected90d';

/** A learned score name: `propensity.<goal>`, `uplift.<goal>`, `churn` or `value.expected90d`. */
export const LEARNED_SCORE = /^(?:(?:propensity|uplift)\.(?!(?:email|sms)$)[A-Za-z0-9_.:-]{1,100}|churn|value\.expected90d)$/;

/** The model that produces a learned score (`btyd` for churn and expected value). */
export function modelOfScore(score: string): string {
  return score === CHURN_SCORE || score === VALUE_SCORE ? BTYD_ID : score;
}

export const isLearnableGoal = (goal: string): boolean => LEARNABLE_GOAL.test(goal) && !RESERVED_GOAL_NAMES.includes(goal);

import * as z from 'zod';

/**
 * How far another machine's clock may be from ours before its times stop making sense: a
 * conversion, send or interaction reported this much ahead of our clock has not happened yet,
 * and a schedule starting this much before it has already passed. One figure for every edge
 * (the public `/e/{siteKey}`, `POST /v1/events`, the history import and campaign launches), so a
 * browser or a client server with a slightly wrong clock is treated the same everywhere.
 */
export const CLOCK_SKEW_MS = 10 * 60 * 1000;

const SKEW_WORDS = `${CLOCK_SKEW_MS / 60_000} minutes`;
export const FUTURE_MESSAGE = `must not be in the future (more than ${SKEW_WORDS} ahead of the server's clock)`;

/** Whether `at` lies ahead of `now` by more than the allowed skew: something reported as done that cannot have happened yet. */
export function isInTheFuture(at: Date | string, now: Date = new Date()): boolean {
  return new Date(at).getTime() > now.getTime() + CLOCK_SKEW_MS;
}

/** Whether `at` lies behind `now` by more than the allowed skew: a start time that has already passed. */
export function isInThePast(at: Date | string, now: Date = new Date()): boolean {
  return new Date(at).getTime() < now.getTime() - CLOCK_SKEW_MS;
}

/** An ISO 8601 instant with an offset that is not in the future (checked against the clock when parsed). */
export const PastInstant = z.iso.datetime({ offset: true }).refine((value) => !isInTheFuture(value), FUTURE_MESSAGE);

import type * as z from 'zod';

/**
 * A versioned event contract: the EventBridge source and detail-type, and the zod schema of
 * the detail. Producers, consumers and rule patterns all import the same object, so a change
 * to a contract is a change in one place (and test/unit/event-contracts.test.ts notices it).
 */
export interface EventContract<TDetail extends z.ZodType = z.ZodType> {
  source: string;
  detailType: string;
  version: number;
  detail: TDetail;
}

export function defineEvent<TDetail extends z.ZodType>(contract: EventContract<TDetail>): EventContract<TDetail> {
  return contract;
}

export type DetailOf<C extends EventContract> = z.infer<C['detail']>;

/** An event ready to put on the bus. */
export interface OutgoingEvent {
  source: string;
  detailType: string;
  detail: unknown;
}

/** Builds a typed, validated outgoing event; an invalid detail is a programming error and throws. */
export function makeEvent<C extends EventContract>(contract: C, detail: DetailOf<C>): OutgoingEvent {
  return { source: contract.source, detailType: contract.detailType, detail: contract.detail.parse(detail) };
}

/** The EventBridge pattern that matches any of the given contracts. */
export function patternFor(...contracts: EventContract[]): Record<string, unknown> {
  const sources = [...new Set(contracts.map((c) => c.source))];
  const detailTypes = [...new Set(contracts.map((c) => c.detailType))];
  return { source: sources, 'detail-type': detailTypes };
}

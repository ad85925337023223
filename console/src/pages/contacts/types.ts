/** The contact resources the marketer API answers with (README "Answer shapes"). */
export type ConsentStatus = 'pending' | 'confirmed' | 'withdrawn';
export interface ChannelConsent {
  status: ConsentStatus;
  updatedAt: string;
  source: string;
  wordingVersion?: string;
  confirmedAt?: string;
}
export interface ContactResource {
  id: string;
  email?: string;
  phone?: string;
  country?: string;
  timezone?: string;
  timezoneSource?: string;
  attributes: Record<string, string | number | boolean>;
  tags: string[];
  consent: { email?: ChannelConsent; sms?: ChannelConsent };
  scores: {
    lead?: number;
    engagement?: number;
    propensity?: Partial<Record<'email' | 'sms', { mean: number; alpha?: number; beta?: number }>>;
    value?: { recency?: number | null; frequency?: number; monetary?: number; expectedValue?: number };
    bestHour?: number | null;
    [other: string]: unknown;
  };
  createdAt: string;
  updatedAt: string;
}
export interface Suppression {
  reasons: string[];
  since: string;
}
export interface ContactDetail {
  contact: ContactResource & { behaviour: { last30Days: Record<string, Record<string, number>>; retained: Record<string, Record<string, number>> } };
  suppressed: { email: Suppression | null; sms: Suppression | null };
  reachable: { email: boolean; sms: boolean };
}
export interface TimelineEntry {
  id: string;
  type: string;
  occurredAt: string;
  recordedAt: string;
  channel?: string;
  campaignId?: string;
  sendId?: string;
  data?: Record<string, unknown>;
}
export interface ConsentRecord {
  channel: 'email' | 'sms';
  action: string;
  status: string;
  at: string;
  source: string;
  formId?: string;
  wordingVersion?: string;
  wordingHash?: string;
  ip?: string;
  userAgent?: string;
  doubleOptIn?: 'pending' | 'confirmed' | 'not_required' | 'already_confirmed';
  actor?: string;
}
export interface JourneyPass {
  journeyId: string;
  journeyName: string;
  entry: number;
  version: number;
  status: string;
  stepId: string;
  enteredAt: string;
  waitingUntil?: string;
  waitingFor?: string;
  goalReached: boolean;
  exitReason?: string;
  exitedAt?: string;
}

import type { CampaignResourceBase } from '../../contracts.ts';

/** The campaigns API's resource, plus the responses so far (delivered, opened, clicked, unsubscribed, converted…) once the API carries them. */
export type CampaignResource = CampaignResourceBase & { responses?: Partial<Record<string, number>> };

/** `GET /v1/campaigns/{id}/report`'s live part: the counters as they move. */
export interface LiveReport {
  asOf: string;
  targeted: number;
  holdout: number;
  queued: number;
  deferred: number;
  sent: number;
  failed: number;
  delivered: number;
  opened: number;
  clicked: number;
  unsubscribed: number;
  bounced: number;
  complained: number;
  converted: number;
  revenue: number;
  spent: number;
}

export interface TemplateItem {
  id: string;
  name: string;
  channel: 'email' | 'sms';
  createdAt: string;
}

export interface AttributionRun {
  runId: string;
  status: 'running' | 'completed';
  from: string;
  to: string;
  startedAt: string;
  completedAt?: string;
}

/** Statuses in which the campaign's counters still move. */
export const LIVE_STATUSES: ReadonlySet<string> = new Set(['scheduled', 'running']);

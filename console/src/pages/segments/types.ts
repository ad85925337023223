import type { RuleNode } from '../../contracts.ts';

/** The segments API's answers (functions/segments-api): a version, its statistics, a preview. */
export interface SegmentVersion {
  id: string;
  version: number;
  name: string;
  rule: RuleNode;
  timezone: string;
  createdAt: string;
  createdBy?: string;
}
export interface SegmentStats {
  computedAt: string;
  version: number;
  size: number;
  reachable: { email: number; sms: number };
  responseRate: number | null;
  conversionRate: number | null;
  revenuePerMember: number | null;
}
export type SegmentItem = SegmentVersion & { stats: SegmentStats | null };
export interface SegmentDetail {
  segment: SegmentVersion;
  versions: Array<{ version: number; createdAt: string; createdBy?: string }>;
  stats: SegmentStats | null;
}
interface ChannelForecast {
  expectedResponses: number;
  low: number;
  high: number;
}
/** A learned score the rule compares whose model is not active: no contact has it, so comparisons with it match nobody. */
export interface SegmentWarning {
  path: string;
  message: string;
  model: string;
  status: string;
}
export interface Preview {
  /** Present in answers from API versions that check learned scores. */
  warnings?: SegmentWarning[];
  count: number;
  reachable: { email: number; sms: number };
  sample: Array<{ id: string; email?: string; phone?: string; attributes: Record<string, unknown>; tags: string[] }>;
  forecast: { email: ChannelForecast; sms: ChannelForecast };
  scanned: number;
  computedAt: string;
}

/** An import job as GET /v1/imports[/{id}] answers it (shared/imports/jobs.ts ImportJobView). */
export interface ImportJob {
  id: string;
  kind: string;
  format: string;
  status: 'awaiting_upload' | 'splitting' | 'running' | 'completed' | 'failed';
  source?: unknown;
  url: string;
  createdAt: string;
  createdBy?: string;
  startedAt?: string;
  finishedAt?: string;
  rows: { total: number | null; done: number };
  chunks: { total: number | null; done: number };
  ratePerSecond: number | null;
  summary: Partial<Record<'created' | 'updated' | 'unchanged' | 'failed', number>>;
  error?: { code: string; message: string };
  errors: Array<{ line: number; issues: Array<{ path: string; message: string }> }>;
  errorsUrl?: string;
}

export const ACTIVE = new Set<ImportJob['status']>(['awaiting_upload', 'splitting', 'running']);
export const POLL_MS = 5_000;
export const statusText = (s: ImportJob['status']): string => s.replace(/_/g, ' ');

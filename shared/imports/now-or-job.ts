import { randomUUID } from 'node:crypto';
import { importContactRows, type ContactImportDeps, type ImportResult, type RowResult } from '../contacts/import.ts';
import { importFormatFor, parseImport } from '../contacts/import-parse.ts';
import { mustHandOver, SYNC_SLICE_ROWS, type ImportRowOutcome } from './chunk.ts';
import { jobFromRequest, type HandoffDeps } from './jobs.ts';

export type QueuedImport = { job: { id: string; status: string; url: string } };

/**
 * POST /v1/contacts/import: the body is checked whole (format, header, row limit) before anything
 * is written, then imported a chunk at a time under one job id while the API's time allows.
 * When it runs short, the whole body becomes an import job under that same id and the route
 * answers 202: the import is replay-exact, so the workers recognise the rows already written here
 * (by job id and line) and report them as they were, each row counted once. Never a timeout (and
 * its 500) after writing.
 */
export async function importContactsNowOrAsJob(
  body: string,
  contentType: string | undefined,
  actor: string | undefined,
  deps: { contacts: ContactImportDeps; jobs: HandoffDeps; remainingMs: () => number },
): Promise<{ done: true; result: ImportResult } | ({ done: false } & QueuedImport)> {
  const format = importFormatFor(contentType);
  const raw = parseImport(body, format);
  const id = randomUUID();
  const outcomes: ImportRowOutcome[] = [];
  let msPerRow = 0;
  // A small first slice measures the pace before a full one can run the route out of time.
  for (let start = 0, size = 50; start < raw.length; start += size, size = SYNC_SLICE_ROWS) {
    const slice = raw.slice(start, start + size);
    if (mustHandOver(deps.remainingMs(), msPerRow, slice.length)) return { done: false, job: await jobFromRequest({ kind: 'contacts', format, body, id }, actor, deps.jobs) };
    const began = Date.now();
    outcomes.push(...(await importContactRows(slice, deps.contacts, { ...(actor ? { actor } : {}), origin: { jobId: id } })));
    msPerRow = Math.max(msPerRow, (Date.now() - began) / slice.length);
  }
  const rows: RowResult[] = raw.map((row, i) => {
    const outcome = outcomes[i]!;
    return { row: row.row, line: row.line, status: outcome.status, ...(outcome.id ? { contactId: outcome.id } : {}), ...(outcome.issues ? { issues: outcome.issues } : {}) };
  });
  const summary = { total: rows.length, created: 0, updated: 0, unchanged: 0, failed: 0 };
  for (const r of rows) summary[r.status]++;
  return { done: true, result: { summary, rows } };
}

import type { OutgoingEvent } from '../../../events/contract.ts';
import type { ContactService } from '../../contacts/contact-service.ts';
import type { ContactStore } from '../../contacts/contact-store.ts';
import { runImport, type RowResult } from '../../contacts/import.ts';
import { MAX_IMPORT_ROWS, type RawImportRow } from '../../contacts/import-parse.ts';

export interface ContactRowDeps {
  service: ContactService;
  store: ContactStore;
  publish: (events: OutgoingEvent[]) => Promise<void>;
}

/** Where rows come from: the job and the file line of each row (`RawImportRow.line`). */
export interface ContactRowOrigin {
  jobId: string;
}

/**
 * The one call from the Pinpoint import into the contact import: rows already in the contact
 * import's own shape (`RawImportRow`, each with a record), one result per row in the same order.
 * It goes through the contact import's row import as it stands — the records written as the NDJSON
 * that `runImport` reads — so the two imports cannot drift apart (normalisation, consent, erasure,
 * identity conflicts); when `importContactRows(rows, deps, { actor, origin })` replaces
 * `runImport`, this body becomes that call.
 */
export async function importContactRecords(rows: RawImportRow[], deps: ContactRowDeps, context: { actor?: string; origin: ContactRowOrigin }): Promise<RowResult[]> {
  const results: RowResult[] = [];
  for (let start = 0; start < rows.length; start += MAX_IMPORT_ROWS) {
    const slice = rows.slice(start, start + MAX_IMPORT_ROWS);
    const body = slice.map((row) => JSON.stringify(row.record)).join('\n');
    const imported = await runImport(body, 'application/x-ndjson', deps, context.actor);
    // runImport numbers rows 1… in the body's order.
    const byRow = new Map(imported.rows.map((r) => [r.row, r]));
    slice.forEach((row, index) => {
      const result = byRow.get(index + 1)!;
      results.push({ ...result, row: row.row, line: row.line });
    });
  }
  return results;
}

import type { OutgoingEvent } from '../../../events/contract.ts';
import type { ContactService } from '../../contacts/contact-service.ts';
import type { ContactStore } from '../../contacts/contact-store.ts';
import { importContactRows, type RowResult } from '../../contacts/import.ts';
import type { RawImportRow } from '../../contacts/import-parse.ts';
import type { SuppressionStore } from '../../contacts/suppressions.ts';

export interface ContactRowDeps {
  service: ContactService;
  store: ContactStore;
  suppressions: SuppressionStore;
  publish: (events: OutgoingEvent[]) => Promise<void>;
}

/** Where rows come from: the job and the file line of each row (`RawImportRow.line`). */
export interface ContactRowOrigin {
  jobId: string;
}

/**
 * The one call from the Pinpoint import into the contact import: rows already in the contact
 * import's own shape (`RawImportRow`, each with a record), one result per row in the same order,
 * through the contact import's bulk, replay-exact row import — so the two imports cannot drift
 * apart (normalisation, consent, erasure, identity conflicts).
 */
export async function importContactRecords(rows: RawImportRow[], deps: ContactRowDeps, context: { actor?: string; origin: ContactRowOrigin }): Promise<RowResult[]> {
  const outcomes = await importContactRows(rows, deps, { ...(context.actor ? { actor: context.actor } : {}), origin: context.origin });
  const byLine = new Map(outcomes.map((o) => [o.line, o]));
  return rows.map((row) => {
    const o = byLine.get(row.line)!;
    return { row: row.row, line: row.line, status: o.status, ...(o.id ? { contactId: o.id } : {}), ...(o.issues ? { issues: o.issues } : {}) };
  });
}

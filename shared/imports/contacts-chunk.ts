import type { OutgoingEvent } from '../../events/contract.ts';
import type { ContactService } from '../contacts/contact-service.ts';
import type { ContactStore } from '../contacts/contact-store.ts';
import { runImport } from '../contacts/import.ts';
import type { ChunkProcessor } from './chunk.ts';

/** The `contacts` kind: a chunk's rows (with the CSV header) through the contact import, lines mapped back to the file's. */
export function contactsChunkProcessor(deps: { service: ContactService; store: ContactStore; publish: (events: OutgoingEvent[]) => Promise<void> }): ChunkProcessor {
  return async (chunk) => {
    const body = chunk.header !== undefined ? `${chunk.header}\n${chunk.text}` : chunk.text;
    const result = await runImport(body, chunk.format === 'csv' ? 'text/csv' : 'application/x-ndjson', deps, chunk.actor);
    const offset = chunk.header !== undefined ? 2 : 1;
    return result.rows.map((r) => ({
      line: chunk.lineNumbers ? chunk.lineNumbers[r.line - offset]! : chunk.firstLine + r.line - offset,
      status: r.status,
      ...(r.contactId ? { id: r.contactId } : {}),
      ...(r.issues ? { issues: r.issues } : {}),
    }));
  };
}

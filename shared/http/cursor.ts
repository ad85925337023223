/**
 * Paging cursors: opaque to callers, bound to the list they came from. A cursor names its list
 * (`scope`: "consents/<contactId>", "submissions/<formId>") and the key to continue after; one
 * from another list, or one that does not decode to a key of the expected shape, is a 400 at
 * `query.cursor` — never a DynamoDB error, never a page of some other list.
 */
import { ValidationError } from '../errors.ts';

export function encodeCursor(scope: string, key: readonly string[]): string {
  return Buffer.from(JSON.stringify([scope, ...key]), 'utf8').toString('base64url');
}

const invalid = (message: string) => new ValidationError([{ path: 'query.cursor', message }]);

/** The key parts of a cursor made by encodeCursor for this scope, checked by `valid`; anything else throws a ValidationError at query.cursor. */
export function decodeCursor(cursor: string, scope: string, arity: number, valid: (key: string[]) => boolean): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('is not a cursor this API returned');
  }
  if (!Array.isArray(parsed) || parsed.length !== arity + 1 || !parsed.every((p) => typeof p === 'string')) throw invalid('is not a cursor this API returned');
  const [from, ...key] = parsed as string[];
  if (from !== scope) throw invalid('belongs to another list');
  if (!valid(key)) throw invalid('is not a cursor this API returned');
  return key;
}

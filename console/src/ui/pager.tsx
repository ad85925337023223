import { useState } from 'preact/hooks';
import { ApiError } from '../api.ts';

/**
 * Cursor paging for a list the API pages (`limit` + `cursor`): the cursors followed so far, so
 * the marketer can go back as well as on.
 */
export function usePager() {
  const [cursors, setCursors] = useState<string[]>([]);
  return {
    cursor: cursors[cursors.length - 1],
    first: cursors.length === 0,
    next: (cursor: string) => setCursors((c) => [...c, cursor]),
    back: () => setCursors((c) => c.slice(0, -1)),
  };
}

/** "Previous" and "Next" buttons for a `usePager` list; `nextCursor` is the API's answer's cursor. */
export function Pager({ pager, nextCursor, labels = ['Previous page', 'Next page'] }: { pager: ReturnType<typeof usePager>; nextCursor: string | undefined; labels?: readonly [string, string] }) {
  if (pager.first && !nextCursor) return null;
  return (
    <div class="actions">
      {!pager.first && (
        <button type="button" onClick={pager.back}>
          {labels[0]}
        </button>
      )}
      {nextCursor && (
        <button type="button" onClick={() => pager.next(nextCursor)}>
          {labels[1]}
        </button>
      )}
    </div>
  );
}

/**
 * The API has no such route (yet): the gateway's 404 or 405, not a 404 for a missing record
 * (`not_found`). Pages hide what depends on a route that is not deployed.
 */
export const routeMissing = (error: unknown): boolean => error instanceof ApiError && (error.status === 404 || error.status === 405) && error.code !== 'not_found';

import { num, when } from '../../ui/format.ts';
import { StatusBadge } from '../../ui/page.tsx';
import { useResource } from '../../ui/resource.ts';
import type { Journey } from './types.ts';

/** Every journey, refreshed every 10 s while one runs (Home and the Journeys list). */
export const useJourneys = () => useResource<{ items: Journey[] }>('/v1/journeys', { pollMs: 10_000, poll: (d) => d.items.some((j) => j.status === 'running') });

/** Journeys with status, version and counts. */
export function JourneyTable({ items }: { items: Journey[] }) {
  return (
    <div class="table-wrap" tabIndex={0}>
      <table data-table="journeys">
        <thead>
          <tr>
            <th scope="col">Journey</th>
            <th scope="col">Status</th>
            <th scope="col" class="n">
              Version
            </th>
            <th scope="col" class="n">
              Entries
            </th>
            <th scope="col" class="n">
              In flight
            </th>
            <th scope="col" class="n">
              Held out
            </th>
            <th scope="col" class="n">
              Exited
            </th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {items.map((j) => (
            <tr key={j.id} data-journey={j.id}>
              <th scope="row">
                <a href={`/journeys/${j.id}`}>{j.name}</a>
              </th>
              <td>
                <StatusBadge status={j.status} />
              </td>
              <td class="n">{j.version}</td>
              <td class="n">{num(j.counts.entries)}</td>
              <td class="n">{num(j.counts.inFlight)}</td>
              <td class="n">{num(j.counts.holdout)}</td>
              <td class="n">{num(Object.values(j.counts.exits).reduce((a, b) => a + b, 0))}</td>
              <td>{when(j.updatedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

import { num, when } from '../../ui/format.ts';
import { Empty, ErrorBox, Loading, Page, StatusBadge } from '../../ui/page.tsx';
import { useResource } from '../../ui/resource.ts';
import { CREATE_NOTE, type Journey } from './types.ts';

/** Every journey, newest first, with its counts; refreshed every 10 s while one runs. */
export default function Journeys() {
  const list = useResource<{ items: Journey[] }>('/v1/journeys', { pollMs: 10_000, poll: (d) => d.items.some((j) => j.status === 'running') });
  return (
    <Page title="Journeys">
      <p class="notice">{CREATE_NOTE}</p>
      <ErrorBox error={list.error} />
      {!list.data ? (
        !list.error && <Loading what="journeys" />
      ) : list.data.items.length === 0 ? (
        <Empty>No journeys yet.</Empty>
      ) : (
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
              {list.data.items.map((j) => (
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
      )}
    </Page>
  );
}

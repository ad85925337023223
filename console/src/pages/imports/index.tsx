import { num, when } from '../../ui/format.ts';
import { Pager, usePager } from '../../ui/pager.tsx';
import { Empty, ErrorBox, Loading, Page, StatusBadge } from '../../ui/page.tsx';
import { useResource } from '../../ui/resource.ts';
import { ACTIVE, POLL_MS, type ImportJob } from './types.ts';

/** Import jobs, newest first, refreshed every 5 s while one is under way. */
export default function Imports() {
  const pager = usePager();
  const list = useResource<{ items: ImportJob[]; nextCursor?: string }>('/v1/imports', { query: { limit: 25, cursor: pager.cursor }, pollMs: POLL_MS, poll: (d) => d.items.some((j) => ACTIVE.has(j.status)) });
  return (
    <Page title="Imports">
      <p>Large files (contacts, campaign history, Pinpoint exports) are imported as jobs through the API: create a job, upload the file to its URL, and follow it here. See "Import jobs" in the README.</p>
      <ErrorBox error={list.error} />
      {!list.data ? (
        !list.error && <Loading what="import jobs" />
      ) : list.data.items.length === 0 && pager.first ? (
        <Empty>No import jobs yet.</Empty>
      ) : (
        <>
          <div class="table-wrap" tabIndex={0}>
            <table data-table="imports">
              <thead>
                <tr>
                  <th scope="col">Created</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="n">
                    Rows done
                  </th>
                  <th scope="col" class="n">
                    Failed
                  </th>
                  <th scope="col" class="n">
                    Total
                  </th>
                  <th scope="col">Finished</th>
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((j) => (
                  <tr key={j.id} data-import={j.id}>
                    <th scope="row">
                      <a href={`/imports/${j.id}`}>{when(j.createdAt)}</a>
                    </th>
                    <td>
                      {j.kind} ({j.format})
                    </td>
                    <td>
                      <StatusBadge status={j.status} />
                    </td>
                    <td class="n">{num(j.rows.done)}</td>
                    <td class="n">{num(j.summary.failed ?? 0)}</td>
                    <td class="n">{j.rows.total === null ? '—' : num(j.rows.total)}</td>
                    <td>{when(j.finishedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager pager={pager} nextCursor={list.data.nextCursor} labels={['Newer jobs', 'Older jobs']} />
        </>
      )}
    </Page>
  );
}

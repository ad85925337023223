import { num, when } from '../../ui/format.ts';
import { Empty, ErrorBox, Loading, Page, StatusBadge } from '../../ui/page.tsx';
import { useResource } from '../../ui/resource.ts';
import '../../ui/extra.css';
import { ACTIVE, POLL_MS, statusText, type ImportJob } from './types.ts';

/** One import job: status, progress (polled every 5 s while it runs), the summary and the failed rows. */
export default function ImportDetail({ id }: { id: string }) {
  const res = useResource<{ job: ImportJob }>(`/v1/imports/${id}`, { pollMs: POLL_MS, poll: (d) => ACTIVE.has(d.job.status) });
  const j = res.data?.job;
  const failed = j?.summary.failed ?? 0;
  return (
    <Page title="Import job">
      <p>
        <a href="/imports">← All import jobs</a>
      </p>
      <ErrorBox error={res.error} />
      {!j ? (
        !res.error && <Loading what="the import job" />
      ) : (
        <>
          <p>
            <StatusBadge status={j.status} /> {j.kind} ({j.format}) · created {when(j.createdAt)}
            {j.createdBy && ` by ${j.createdBy}`}
            {j.startedAt && ` · started ${when(j.startedAt)}`}
            {j.finishedAt && ` · finished ${when(j.finishedAt)}`}
          </p>
          <section aria-labelledby="progress-title">
            <h2 id="progress-title">Progress</h2>
            <div role="status" aria-live="polite" data-progress>
              {j.status === 'awaiting_upload' ? (
                <p>Waiting for the file to be uploaded to the job's upload URL.</p>
              ) : j.status === 'splitting' ? (
                <p>Splitting the file into chunks…</p>
              ) : (
                <p>
                  {num(j.rows.done)} of {j.rows.total === null ? '?' : num(j.rows.total)} rows done ({statusText(j.status)})
                  {j.ratePerSecond !== null && j.status === 'running' ? `, ${num(j.ratePerSecond)} rows a second` : ''}.
                </p>
              )}
            </div>
            {j.rows.total ? <progress class="progress" max={j.rows.total} value={j.rows.done} aria-label="Rows done" /> : null}
            <ul class="stats" data-summary>
              {(['created', 'updated', 'unchanged', 'failed'] as const).map((k) => (
                <li key={k} data-count={k}>
                  <strong>{num(j.summary[k] ?? 0)}</strong>
                  {k}
                </li>
              ))}
              <li>
                <strong>
                  {num(j.chunks.done)}/{j.chunks.total === null ? '?' : num(j.chunks.total)}
                </strong>
                chunks
              </li>
            </ul>
          </section>
          {j.error && (
            <p class="form-errors" role="alert">
              The job failed before writing any row: {j.error.message} <code>{j.error.code}</code>
            </p>
          )}
          <h2>Failed rows</h2>
          {j.errors.length === 0 ? (
            <Empty>{failed ? 'The failed rows are listed once their chunk has finished.' : 'No failed rows.'}</Empty>
          ) : (
            <>
              <div class="table-wrap" tabIndex={0}>
                <table data-table="import-errors">
                  <thead>
                    <tr>
                      <th scope="col" class="n">
                        Line
                      </th>
                      <th scope="col">Field</th>
                      <th scope="col">Problem</th>
                    </tr>
                  </thead>
                  <tbody>
                    {j.errors.flatMap((row) =>
                      (row.issues.length ? row.issues : [{ path: '', message: 'failed' }]).map((issue, i) => (
                        <tr key={`${row.line}-${i}`}>
                          <th scope="row" class="n">
                            {row.line}
                          </th>
                          <td>
                            <code>{issue.path || '(row)'}</code>
                          </td>
                          <td>{issue.message}</td>
                        </tr>
                      )),
                    )}
                  </tbody>
                </table>
              </div>
              {failed > j.errors.length && (
                <p class="hint">
                  The first {j.errors.length} of {num(failed)} failed rows. All of them, as CSV: <code>GET /v1/imports/{j.id}/errors</code> once the job has completed.
                </p>
              )}
            </>
          )}
        </>
      )}
    </Page>
  );
}

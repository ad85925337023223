import { useState } from 'preact/hooks';
import { api } from '../../api.ts';
import { ConfirmDialog } from '../../ui/dialog.tsx';
import { num, when } from '../../ui/format.ts';
import { ErrorBox, Loading, Page, StatusBadge } from '../../ui/page.tsx';
import { ReportFrame } from '../../ui/report-frame.tsx';
import { useResource } from '../../ui/resource.ts';
import { ACTIONS, CREATE_NOTE, type Journey } from './types.ts';

const LABEL = { start: 'Start', pause: 'Pause', resume: 'Resume', stop: 'Stop' } as const;

/** One journey: status, version, counts, the transitions its status allows, and its report. */
export default function JourneyDetail({ id }: { id: string }) {
  const res = useResource<{ journey: Journey }>(`/v1/journeys/${id}`, { pollMs: 10_000, poll: (d) => d.journey.status === 'running' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [said, setSaid] = useState('');
  const [stopping, setStopping] = useState(false);
  const [reportKey, setReportKey] = useState(0);
  const j = res.data?.journey;

  const act = async (action: keyof typeof LABEL) => {
    setBusy(true);
    setError(undefined);
    setSaid('');
    try {
      const answer = await api<{ journey?: Journey }>(`/v1/journeys/${id}/${action}`, { method: 'POST' });
      setSaid(`${LABEL[action]}: the journey is ${answer?.journey?.status ?? 'changing'}.`);
      res.refetch();
      setReportKey((k) => k + 1);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      setStopping(false);
    }
  };

  return (
    <Page
      title={j?.name ?? 'Journey'}
      actions={
        j &&
        ACTIONS[j.status].map((a) => (
          <button key={a} type="button" class={a === 'stop' ? 'danger' : a === 'start' || a === 'resume' ? 'primary' : undefined} disabled={busy} onClick={() => (a === 'stop' ? setStopping(true) : void act(a))}>
            {LABEL[a]}
          </button>
        ))
      }
    >
      <p>
        <a href="/journeys">← All journeys</a>
      </p>
      <ErrorBox error={res.error ?? error} />
      <p role="status" aria-live="polite">
        {said}
      </p>
      {!j ? (
        !res.error && <Loading what="the journey" />
      ) : (
        <>
          <p>
            <StatusBadge status={j.status} /> version {j.version} · created {when(j.createdAt)}
            {j.startedAt && ` · started ${when(j.startedAt)}`}
            {j.pausedAt && j.status === 'paused' && ` · paused ${when(j.pausedAt)}`}
            {j.stoppedAt && ` · stopped ${when(j.stoppedAt)}`}
          </p>
          <ul class="stats" data-counts>
            <li>
              <strong>{num(j.counts.entries)}</strong>entries
            </li>
            <li>
              <strong>{num(j.counts.inFlight)}</strong>in flight
            </li>
            <li>
              <strong>{num(j.counts.holdout)}</strong>held out
            </li>
            {Object.entries(j.counts.exits).map(([reason, n]) => (
              <li key={reason}>
                <strong>{num(n)}</strong>exited: {reason.replace(/_/g, ' ')}
              </li>
            ))}
          </ul>
          <p class="hint">{CREATE_NOTE}</p>
          <h2>Report</h2>
          <ReportFrame path={`/v1/journeys/${id}/report.html`} title="Journey report" refreshKey={reportKey} />
        </>
      )}
      <ConfirmDialog
        open={stopping}
        title="Stop this journey for good?"
        danger
        busy={busy}
        confirmLabel="Stop journey"
        onClose={() => setStopping(false)}
        onConfirm={() => void act('stop')}
        body={<p>No one enters it again, every pass in progress ends, and messages still queued for its steps are not sent. A stopped journey cannot be started again.</p>}
      />
    </Page>
  );
}

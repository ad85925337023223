import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../../api.ts';
import { ConfirmDialog } from '../../ui/dialog.tsx';
import { FormErrors } from '../../ui/field.tsx';
import { num, when } from '../../ui/format.ts';
import { Funnel } from '../../ui/funnel.tsx';
import { ErrorBox, Loading, Page, StatusBadge } from '../../ui/page.tsx';
import { ReportFrame } from '../../ui/report-frame.tsx';
import { useResource } from '../../ui/resource.ts';
import type { SegmentItem } from '../segments/types.ts';
import { LIVE_STATUSES, type AttributionRun, type CampaignResource, type LiveReport, type TemplateItem } from './types.ts';
import './campaigns.css';

const POLL_MS = 5_000;
const RUN_POLL_MS = 1_000;
type Action = 'launch' | 'pause' | 'resume' | 'cancel';
const RESPONSES = ['delivered', 'opened', 'clicked', 'unsubscribed', 'converted'] as const;
type ResponseName = (typeof RESPONSES)[number];
const DONE: Record<Action, string> = { launch: 'Launched.', pause: 'Paused.', resume: 'Resumed.', cancel: 'Cancelled.' };
const DOING: Record<Action, string> = { launch: 'Launching…', pause: 'Pausing…', resume: 'Resuming…', cancel: 'Cancelling…' };

/** A campaign: status, definition, lifecycle actions, the live funnel and the report. */
export default function CampaignPage({ id }: { id: string }) {
  const resource = useResource<{ campaign: CampaignResource }>(`/v1/campaigns/${id}`, { pollMs: POLL_MS, poll: (d) => LIVE_STATUSES.has(d.campaign.status) });
  const [latest, setLatest] = useState<CampaignResource>();
  // An action's answer is the campaign as it now is; the next poll replaces it.
  const campaign = latest && resource.data && latest.updatedAt > resource.data.campaign.updatedAt ? latest : (resource.data?.campaign ?? latest);
  if (resource.error && !campaign) {
    return (
      <Page title="Campaign">
        <ErrorBox error={resource.error} />
        <p>
          <a href="/campaigns">Back to campaigns</a>
        </p>
      </Page>
    );
  }
  if (!campaign) return <Loading what="the campaign" />;
  return (
    <CampaignView
      campaign={campaign}
      onChanged={(c) => {
        setLatest(c);
        resource.refetch();
      }}
    />
  );
}

function CampaignView({ campaign: c, onChanged }: { campaign: CampaignResource; onChanged: (c: CampaignResource) => void }) {
  const [busy, setBusy] = useState<Action>();
  const [error, setError] = useState<unknown>();
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [announce, setAnnounce] = useState('');

  const act = async (action: Action) => {
    setBusy(action);
    setError(undefined);
    try {
      const { campaign } = await api<{ campaign: CampaignResource }>(`/v1/campaigns/${c.id}/${action}`, { method: 'POST' });
      setAnnounce(DONE[action]);
      onChanged(campaign);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(undefined);
      setConfirmCancel(false);
    }
  };

  const can = { launch: c.status === 'draft', pause: c.status === 'running', resume: c.status === 'paused', cancel: ['draft', 'scheduled', 'running', 'paused'].includes(c.status) };
  return (
    <Page
      title={c.name}
      actions={
        <>
          {c.status === 'draft' && (
            <a class="button" href={`/campaigns/${c.id}/edit`}>
              Edit
            </a>
          )}
          {can.launch && (
            <button type="button" class="primary" disabled={Boolean(busy)} onClick={() => void act('launch')}>
              Launch
            </button>
          )}
          {can.pause && (
            <button type="button" disabled={Boolean(busy)} onClick={() => void act('pause')}>
              Pause
            </button>
          )}
          {can.resume && (
            <button type="button" class="primary" disabled={Boolean(busy)} onClick={() => void act('resume')}>
              Resume
            </button>
          )}
          {can.cancel && (
            <button type="button" class="danger" disabled={Boolean(busy)} onClick={() => setConfirmCancel(true)}>
              Cancel campaign
            </button>
          )}
        </>
      }
    >
      <p class="campaign-status">
        <StatusBadge status={c.status} /> <span class="muted">{c.launchedAt ? `launched ${when(c.launchedAt)}` : `created ${when(c.createdAt)}`}</span>
        {c.completedAt && <span class="muted"> · completed {when(c.completedAt)}</span>}
      </p>
      <p role="status" class="muted">
        {busy ? DOING[busy] : announce}
      </p>
      {error !== undefined && <FormErrors error={error} claimed={[]} />}
      {error instanceof ApiError && error.issuesAt('schedule').length > 0 && c.status === 'draft' && (
        <p class="notice">
          <a href={`/campaigns/${c.id}/edit`}>Edit the schedule</a> (for example to “Now”) and launch again.
        </p>
      )}
      <LiveCounts campaign={c} />
      <Definition campaign={c} />
      {c.launchedAt && <Report campaign={c} />}
      <ConfirmDialog
        open={confirmCancel}
        title={`Cancel “${c.name}”?`}
        body={<p>Messages not yet sent are dropped and the campaign cannot be launched again. What was sent stays measured.</p>}
        confirmLabel="Cancel campaign"
        danger
        busy={busy === 'cancel'}
        onConfirm={() => void act('cancel')}
        onClose={() => setConfirmCancel(false)}
      />
    </Page>
  );
}

/**
 * The live funnel: the campaign's own counters, and its responses from the resource's
 * `responses` or, where the API does not carry them yet, from the report's live part (which
 * exists from launch). Both refresh every 5 s while the campaign is scheduled or running.
 */
function LiveCounts({ campaign: c }: { campaign: CampaignResource }) {
  const live = LIVE_STATUSES.has(c.status);
  const fromReport = !c.responses && Boolean(c.launchedAt);
  const report = useResource<{ report: { live: LiveReport } }>(fromReport ? `/v1/campaigns/${c.id}/report` : undefined, { pollMs: POLL_MS, poll: () => live });
  const responses: Partial<Record<ResponseName, number>> | undefined = c.responses ?? report.data?.report.live;
  const suppressed = Object.values(c.counters.suppressed ?? {}).reduce((a, b) => a + b, 0);
  const value = (name: ResponseName) => responses?.[name] ?? 0;
  const stages = [
    { label: 'Targeted', value: c.counters.targeted },
    { label: 'Sent', value: c.counters.sent },
    ...(responses
      ? [
          { label: 'Delivered', value: value('delivered') },
          { label: 'Opened', value: value('opened') },
          { label: 'Clicked', value: value('clicked') },
          { label: 'Converted', value: value('converted') },
        ]
      : []),
  ];
  const cell = (name: string, label: string, n: number) => (
    <li key={name}>
      <strong data-count={name}>{n}</strong> {label}
    </li>
  );
  return (
    <section aria-labelledby="live-h" class="live">
      <h2 id="live-h">Live {live && <span class="muted live-note">(refreshes every 5 s)</span>}</h2>
      {c.status === 'draft' ? (
        <p class="muted">Counts start when the campaign is launched.</p>
      ) : (
        <div class="live-grid">
          <Funnel stages={stages} title="Live funnel" />
          <ul class="stats" aria-live="polite">
            {cell('targeted', 'targeted', c.counters.targeted)}
            {cell('sent', 'sent', c.counters.sent)}
            {cell('holdout', 'held out', c.counters.holdout)}
            {cell('deferred', 'deferred', c.counters.deferred)}
            {cell('failed', 'failed', c.counters.failed)}
            {cell('suppressed', 'suppressed', suppressed)}
            {responses && RESPONSES.map((name) => cell(name, name, value(name)))}
          </ul>
        </div>
      )}
      {!responses && c.status !== 'draft' && report.error && <p class="muted">Responses show here once the campaign's report is available.</p>}
      {suppressed > 0 && (
        <p class="hint">
          Suppressed by reason:{' '}
          {Object.entries(c.counters.suppressed)
            .map(([reason, n]) => `${reason} ${num(n)}`)
            .join(', ')}
        </p>
      )}
    </section>
  );
}

const scheduleText = (c: CampaignResource): string => {
  const s = c.schedule;
  if (s.type === 'immediate') return 'Now, at launch';
  if (s.type === 'at') return `${s.at.replace('T', ' ')} ${s.localTime ? "in each contact's local time" : s.timezone}`;
  return `${s.cron} (${s.timezone})`;
};
const quietText = (window: { start: string; end: string } | null | undefined, fallback: string) => (window === null ? 'none' : window ? `${window.start}–${window.end}` : fallback);

function Definition({ campaign: c }: { campaign: CampaignResource }) {
  const segments = useResource<{ items: SegmentItem[] }>('/v1/segments');
  const templates = useResource<{ items: TemplateItem[] }>('/v1/templates');
  const segment = segments.data?.items.find((s) => s.id === c.segmentId);
  const templateName = (id: string | undefined) => (id ? (templates.data?.items.find((t) => t.id === id)?.name ?? id) : undefined);
  const cap = c.limits.frequencyCap;
  const rates = Object.entries(c.limits.sendRatePerSecond).filter(([, v]) => v !== undefined);
  const costs = Object.entries(c.costPerMessage).filter(([, v]) => v !== undefined);
  return (
    <section aria-labelledby="def-h">
      <h2 id="def-h">Definition</h2>
      <dl class="definition">
        <dt>Segment</dt>
        <dd>
          <a href={`/segments/${c.segmentId}`}>{segment?.name ?? c.segmentId}</a>
          {c.segmentVersion ? ` (version ${c.segmentVersion}, fixed at launch)` : ''}
        </dd>
        <dt>Channels</dt>
        <dd>{c.channels === 'best' ? 'best per contact (highest expected value)' : c.channels.join(', then ')}</dd>
        <dt>Variants</dt>
        <dd>
          <ul class="plain">
            {c.variants.map((v) => (
              <li key={v.name}>
                {v.name} (weight {num(v.weight)}):{' '}
                {(['email', 'sms'] as const)
                  .filter((ch) => v.templates[ch])
                  .map((ch) => `${ch} “${templateName(v.templates[ch])}”`)
                  .join(', ')}
              </li>
            ))}
          </ul>
        </dd>
        <dt>Holdout</dt>
        <dd>{num(c.holdoutPercent)} %</dd>
        <dt>Schedule</dt>
        <dd>{scheduleText(c)}</dd>
        <dt>Quiet hours</dt>
        <dd>
          email {quietText(c.limits.quietHours.email, 'none')}, SMS {quietText(c.limits.quietHours.sms, c.marketing ? '21:00–08:00 (default)' : 'none')}
        </dd>
        <dt>Frequency cap</dt>
        <dd>{cap ? [cap.perDay && `${cap.perDay} a day`, cap.perWeek && `${cap.perWeek} a week`].filter(Boolean).join(', ') : 'none'}</dd>
        <dt>Send rate</dt>
        <dd>{rates.length ? rates.map(([ch, v]) => `${ch} ${num(v)}/s`).join(', ') : "the deployment's default"}</dd>
        {c.limits.maxRecipients !== undefined && (
          <>
            <dt>Max recipients</dt>
            <dd>{num(c.limits.maxRecipients)}</dd>
          </>
        )}
        {c.limits.budget !== undefined && (
          <>
            <dt>Budget</dt>
            <dd>
              {num(c.limits.budget)} (spent {num(c.spent)})
            </dd>
          </>
        )}
        <dt>Goal</dt>
        <dd>
          {c.goal.event} within {c.goal.attributionWindowDays} days, {c.goal.model.replace('_', ' ')}
          {c.goal.halfLifeDays ? ` (half-life ${c.goal.halfLifeDays} days)` : ''}
        </dd>
        {costs.length > 0 && (
          <>
            <dt>Cost per message</dt>
            <dd>
              {costs.map(([ch, v]) => `${ch} ${v}`).join(', ')} · spent {num(c.spent)}
            </dd>
          </>
        )}
        <dt>Marketing</dt>
        <dd>{c.marketing ? 'yes (unsubscribe footer, STOP line, quiet hours)' : 'no'}</dd>
        {c.forecast && (
          <>
            <dt>Forecast at launch</dt>
            <dd>
              {num(c.forecast.audience)} contacts; expected responders: email {num(c.forecast.email.expectedResponses)} ({num(c.forecast.email.low)}–{num(c.forecast.email.high)}), SMS {num(c.forecast.sms.expectedResponses)} ({num(c.forecast.sms.low)}–
              {num(c.forecast.sms.high)})
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}

/** "Measure now" runs attribution from the launch to now, waits for it, then reloads the report page. */
function Report({ campaign: c }: { campaign: CampaignResource }) {
  const [run, setRun] = useState<AttributionRun>();
  const [error, setError] = useState<unknown>();
  const [refresh, setRefresh] = useState(0);
  const timer = useRef<ReturnType<typeof setTimeout>>();
  const abort = useRef<AbortController>();
  useEffect(
    () => () => {
      clearTimeout(timer.current);
      abort.current?.abort();
    },
    [],
  );

  const follow = (runId: string, signal: AbortSignal) => {
    timer.current = setTimeout(() => {
      api<{ run: AttributionRun }>(`/v1/attribution/runs/${runId}`, { signal })
        .then(({ run: next }) => {
          setRun(next);
          if (next.status === 'completed') setRefresh((n) => n + 1);
          else follow(runId, signal);
        })
        .catch((err: unknown) => !signal.aborted && setError(err));
    }, RUN_POLL_MS);
  };

  const measure = async () => {
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    setError(undefined);
    try {
      const { run: started } = await api<{ run: AttributionRun }>('/v1/attribution/runs', { body: { from: c.launchedAt, to: new Date().toISOString() }, signal: controller.signal });
      setRun(started);
      follow(started.runId, controller.signal);
    } catch (err) {
      if (!controller.signal.aborted) setError(err);
    }
  };

  const running = run?.status === 'running';
  return (
    <section aria-labelledby="report-h">
      <div class="page-head">
        <h2 id="report-h">Report</h2>
        <button type="button" onClick={() => void measure()} disabled={running}>
          Measure now
        </button>
      </div>
      <p role="status" class="muted">
        {running ? 'Measuring responses since the launch…' : run?.completedAt ? `Measured ${when(run.completedAt)}.` : 'Attribution and lift are measured nightly; “Measure now” measures from the launch until now.'}
      </p>
      {error !== undefined && <FormErrors error={error} claimed={[]} />}
      {/* Reloaded after a measurement, and when the live counts or the status move (the report's live section shows them too). */}
      <ReportFrame path={`/v1/campaigns/${c.id}/report.html`} title="Campaign report" refreshKey={`${refresh}:${c.status}:${c.counters.sent}:${JSON.stringify(c.responses ?? {})}`} />
    </section>
  );
}

import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ApiError } from '../../api.ts';
import { ConfirmDialog } from '../../ui/dialog.tsx';
import { FormErrors, SelectField, TextField } from '../../ui/field.tsx';
import { num, pct, when } from '../../ui/format.ts';
import { Empty, ErrorBox, Loading, Page, StatusBadge } from '../../ui/page.tsx';
import { routeMissing } from '../../ui/pager.tsx';
import { useResource } from '../../ui/resource.ts';
import '../../ui/extra.css';
import type { ConsentRecord, ContactDetail, JourneyPass, TimelineEntry } from './types.ts';

const CHANNELS = ['email', 'sms'] as const;
const REASONS = [
  ['manual', 'Manual (asked us, by phone or letter)'],
  ['unsubscribed', 'Unsubscribed'],
  ['opted_out', 'Opted out (SMS STOP)'],
  ['complained', 'Complained'],
  ['bounced', 'Bounced (never lifted)'],
] as const;

/** One contact: who they are, consent with its evidence, suppressions, scores, journeys and timeline. */
export default function ContactProfile({ id }: { id: string }) {
  const detail = useResource<ContactDetail>(`/v1/contacts/${id}`);
  const c = detail.data?.contact;
  return (
    <Page title={c ? (c.email ?? c.phone ?? 'Contact') : 'Contact'} actions={c && <ExportErase detail={detail.data!} />}>
      <p>
        <a href="/contacts">← All contacts</a>
      </p>
      <ErrorBox error={detail.error} />
      {!detail.data ? (
        !detail.error && <Loading what="the contact" />
      ) : (
        <>
          <Summary detail={detail.data} />
          <Consent detail={detail.data} />
          <Suppressions detail={detail.data} onChange={detail.refetch} />
          <Scores detail={detail.data} />
          <Journeys id={id} />
          <Timeline id={id} />
        </>
      )}
    </Page>
  );
}

function Summary({ detail }: { detail: ContactDetail }) {
  const c = detail.contact;
  const attributes = Object.entries(c.attributes);
  return (
    <div class="grid">
      <div class="card">
        <h2>Profile</h2>
        <dl class="facts">
          <dt>Email</dt>
          <dd>{c.email ?? '—'}</dd>
          <dt>Phone</dt>
          <dd>{c.phone ?? '—'}</dd>
          <dt>Country</dt>
          <dd>{c.country ?? '—'}</dd>
          <dt>Time zone</dt>
          <dd>
            {c.timezone ?? '—'}
            {c.timezoneSource && <span class="muted"> ({c.timezoneSource === 'phone' ? 'from the phone number' : c.timezoneSource === 'explicit' ? 'given' : c.timezoneSource})</span>}
          </dd>
          <dt>Tags</dt>
          <dd>{c.tags.length ? c.tags.join(', ') : '—'}</dd>
          <dt>Created</dt>
          <dd>{when(c.createdAt)}</dd>
          <dt>Updated</dt>
          <dd>{when(c.updatedAt)}</dd>
        </dl>
      </div>
      <div class="card">
        <h2>Attributes</h2>
        {attributes.length === 0 ? (
          <Empty>No attributes.</Empty>
        ) : (
          <dl class="facts" data-attributes>
            {attributes.map(([k, v]) => [<dt key={`${k}-k`}>{k}</dt>, <dd key={`${k}-v`}>{String(v)}</dd>])}
          </dl>
        )}
      </div>
      <div class="card">
        <h2>Reachable</h2>
        <ul class="stats">
          {CHANNELS.map((ch) => (
            <li key={ch} data-reachable={ch}>
              <strong>{detail.reachable[ch] ? 'Yes' : 'No'}</strong>
              {ch === 'email' ? 'by email' : 'by SMS'}
            </li>
          ))}
        </ul>
        <p class="hint">Reachable: the address is there, consent is confirmed and nothing suppresses it.</p>
      </div>
    </div>
  );
}

/** Consent per channel, its current evidence, and the append-only history when the API serves it. */
function Consent({ detail }: { detail: ContactDetail }) {
  const c = detail.contact;
  const history = useResource<{ items: ConsentRecord[]; nextCursor?: string }>(`/v1/contacts/${c.id}/consents`, { query: { limit: 50 } });
  // Until GET …/consents is deployed, the page shows what the contact itself holds.
  const historyMissing = routeMissing(history.error);
  return (
    <>
      <h2>Consent</h2>
      <div class="table-wrap" tabIndex={0}>
        <table data-table="consent">
          <thead>
            <tr>
              <th scope="col">Channel</th>
              <th scope="col">Status</th>
              <th scope="col">Source</th>
              <th scope="col">Wording version</th>
              <th scope="col">Confirmed</th>
              <th scope="col">Changed</th>
            </tr>
          </thead>
          <tbody>
            {CHANNELS.map((ch) => {
              const k = c.consent[ch];
              return (
                <tr key={ch} data-consent={ch}>
                  <th scope="row">{ch === 'email' ? 'Email' : 'SMS'}</th>
                  <td data-status={k?.status ?? 'none'}>{k ? <StatusBadge status={k.status} /> : 'none'}</td>
                  <td>{k?.source ?? '—'}</td>
                  <td>{k?.wordingVersion ?? '—'}</td>
                  <td>{when(k?.confirmedAt)}</td>
                  <td>{when(k?.updatedAt)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {!historyMissing && (
        <>
          <h3>Consent evidence</h3>
          {history.error ? (
            <ErrorBox error={history.error} />
          ) : !history.data ? (
            <Loading what="consent records" />
          ) : history.data.items.length === 0 ? (
            <Empty>No consent records.</Empty>
          ) : (
            <div class="table-wrap" tabIndex={0}>
              <table data-table="consent-records">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Channel</th>
                    <th scope="col">Action</th>
                    <th scope="col">Status</th>
                    <th scope="col">Source</th>
                    <th scope="col">Wording</th>
                    <th scope="col">Double opt-in</th>
                    <th scope="col">From</th>
                  </tr>
                </thead>
                <tbody>
                  {history.data.items.map((r, i) => (
                    <tr key={`${r.at}-${i}`}>
                      <th scope="row">{when(r.at)}</th>
                      <td>{r.channel}</td>
                      <td>{r.action}</td>
                      <td>
                        <StatusBadge status={r.status} />
                      </td>
                      <td>{r.formId ? <a href={`/forms/${r.formId}`}>form</a> : r.source}</td>
                      <td>
                        {r.wordingVersion ?? '—'}
                        {r.wordingHash && (
                          <>
                            <br />
                            <code title="SHA-256 of the wording">{r.wordingHash.slice(0, 12)}…</code>
                          </>
                        )}
                      </td>
                      <td>{r.doubleOptIn ? r.doubleOptIn.replace('_', ' ') : '—'}</td>
                      <td>{[r.actor, r.ip, r.userAgent].filter(Boolean).join(' · ') || '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {history.data?.nextCursor && <p class="hint">Older records: see the contact's export.</p>}
        </>
      )}
    </>
  );
}

function Suppressions({ detail, onChange }: { detail: ContactDetail; onChange: () => void }) {
  const c = detail.contact;
  const channels = CHANNELS.filter((ch) => (ch === 'email' ? c.email : c.phone));
  const [channel, setChannel] = useState<string>(channels[0] ?? 'email');
  const [reason, setReason] = useState('manual');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [said, setSaid] = useState('');
  const add = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setSaid('');
    try {
      const address = channel === 'email' ? { email: c.email } : { phone: c.phone };
      await api('/v1/suppressions', { body: { ...address, channel, reason, ...(note.trim() ? { note: note.trim() } : {}) } });
      setSaid(`Suppressed on ${channel}.`);
      setNote('');
      onChange();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const issues = error instanceof ApiError ? error.issues : [];
  return (
    <>
      <h2>Suppressions</h2>
      <div class="table-wrap" tabIndex={0}>
        <table data-table="suppressions">
          <thead>
            <tr>
              <th scope="col">Channel</th>
              <th scope="col">Suppressed</th>
              <th scope="col">Reasons</th>
              <th scope="col">Since</th>
            </tr>
          </thead>
          <tbody>
            {CHANNELS.map((ch) => {
              const s = detail.suppressed[ch];
              return (
                <tr key={ch} data-suppressed={ch}>
                  <th scope="row">{ch === 'email' ? 'Email' : 'SMS'}</th>
                  <td>{s ? 'yes' : 'no'}</td>
                  <td>{s ? s.reasons.join(', ') : '—'}</td>
                  <td>{when(s?.since)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {channels.length > 0 && (
        <form onSubmit={(e) => void add(e)}>
          <h3>Suppress an address</h3>
          <div class="row">
            <SelectField label="Suppress channel" path="channel" issues={issues} value={channel} onValue={setChannel} options={channels.map((ch) => [ch, ch === 'email' ? `Email (${c.email})` : `SMS (${c.phone})`] as const)} />
            <SelectField label="Reason" path="reason" issues={issues} value={reason} onValue={setReason} options={REASONS} />
            <TextField label="Note" path="note" issues={issues} value={note} onValue={setNote} maxLength={500} />
          </div>
          <FormErrors error={error} claimed={['channel', 'reason', 'note']} />
          <div class="actions">
            <button type="submit" disabled={busy}>
              Add suppression
            </button>
            <span role="status" aria-live="polite">
              {said}
            </span>
          </div>
        </form>
      )}
    </>
  );
}

function Scores({ detail }: { detail: ContactDetail }) {
  const s = detail.contact.scores;
  const behaviour = Object.entries(detail.contact.behaviour.last30Days);
  return (
    <>
      <h2>Scores</h2>
      <ul class="stats" data-scores>
        <li>
          <strong>{num(s.lead)}</strong>lead score
        </li>
        <li>
          <strong>{pct(s.engagement)}</strong>engagement
        </li>
        {CHANNELS.map((ch) => (
          <li key={ch}>
            <strong>{pct(s.propensity?.[ch]?.mean)}</strong>
            {ch === 'email' ? 'email' : 'SMS'} propensity
          </li>
        ))}
        <li>
          <strong>{num(s.value?.expectedValue)}</strong>expected value
        </li>
        <li>
          <strong>{num(s.value?.frequency)}</strong>purchases
        </li>
        <li>
          <strong>{num(s.value?.monetary)}</strong>spent
        </li>
        <li>
          <strong>{typeof s.bestHour === 'number' ? `${String(s.bestHour).padStart(2, '0')}:00` : '—'}</strong>best hour (local)
        </li>
      </ul>
      {behaviour.length > 0 && (
        <>
          <h3>Last 30 days</h3>
          <ul class="stats">
            {behaviour.flatMap(([channel, counts]) =>
              Object.entries(counts).map(([type, n]) => (
                <li key={`${channel}-${type}`}>
                  <strong>{num(n)}</strong>
                  {channel === 'any' ? '' : `${channel} `}
                  {label(type)}
                </li>
              )),
            )}
          </ul>
        </>
      )}
    </>
  );
}

function Journeys({ id }: { id: string }) {
  const passes = useResource<{ items: JourneyPass[] }>(`/v1/contacts/${id}/journeys`);
  return (
    <>
      <h2>Journeys</h2>
      <ErrorBox error={passes.error} />
      {!passes.data ? (
        !passes.error && <Loading what="journeys" />
      ) : passes.data.items.length === 0 ? (
        <Empty>Not in any journey.</Empty>
      ) : (
        <div class="table-wrap" tabIndex={0}>
          <table data-table="contact-journeys">
            <thead>
              <tr>
                <th scope="col">Journey</th>
                <th scope="col">Status</th>
                <th scope="col">Step</th>
                <th scope="col">Entered</th>
                <th scope="col">Waiting until</th>
                <th scope="col">Exit</th>
              </tr>
            </thead>
            <tbody>
              {passes.data.items.map((p) => (
                <tr key={`${p.journeyId}-${p.entry}`}>
                  <th scope="row">
                    <a href={`/journeys/${p.journeyId}`}>{p.journeyName}</a> <span class="muted">v{p.version}</span>
                  </th>
                  <td>
                    <StatusBadge status={p.status} />
                    {p.goalReached && ' · goal reached'}
                  </td>
                  <td>{p.stepId}</td>
                  <td>{when(p.enteredAt)}</td>
                  <td>{p.waitingUntil ? when(p.waitingUntil) : (p.waitingFor ?? '—')}</td>
                  <td>{p.exitReason ? `${p.exitReason}, ${when(p.exitedAt)}` : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

const label = (type: string) => type.replace(/_/g, ' ');

/** The timeline, newest first, 25 at a time. */
function Timeline({ id }: { id: string }) {
  const [entries, setEntries] = useState<TimelineEntry[]>([]);
  const [cursor, setCursor] = useState<string | undefined>();
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(true);
  const [error, setError] = useState<unknown>();
  const load = async (after: string | undefined, signal?: AbortSignal) => {
    setBusy(true);
    try {
      const page = await api<{ items: TimelineEntry[]; nextCursor?: string }>(`/v1/contacts/${id}/timeline`, { query: { limit: 25, cursor: after }, signal });
      setEntries((prev) => (after ? [...prev, ...page.items] : page.items));
      setCursor(page.nextCursor);
      setDone(!page.nextCursor);
      setError(undefined);
    } catch (err) {
      if (!signal?.aborted) setError(err);
    } finally {
      if (!signal?.aborted) setBusy(false);
    }
  };
  useEffect(() => {
    const abort = new AbortController();
    void load(undefined, abort.signal);
    return () => abort.abort();
  }, [id]);
  return (
    <>
      <h2>Timeline</h2>
      <ErrorBox error={error} />
      {entries.length === 0 && busy ? (
        <Loading what="the timeline" />
      ) : entries.length === 0 ? (
        <Empty>Nothing on the timeline yet.</Empty>
      ) : (
        <ol class="timeline" data-timeline aria-label="Timeline, newest first">
          {entries.map((e) => (
            <li key={e.id} data-type={e.type}>
              <strong>{label(e.type)}</strong>
              {e.channel && <span class="muted"> · {e.channel}</span>} · <time dateTime={e.occurredAt}>{when(e.occurredAt)}</time>
              {e.campaignId && (
                <>
                  {' '}
                  · <a href={`/campaigns/${e.campaignId}`}>campaign</a>
                </>
              )}
              {typeof e.data?.formId === 'string' && (
                <>
                  {' '}
                  · <a href={`/forms/${e.data.formId}`}>form</a>
                </>
              )}
              {e.data && Object.keys(e.data).length > 0 && (
                <details>
                  <summary>Details</summary>
                  <pre>{JSON.stringify(e.data, null, 2)}</pre>
                </details>
              )}
            </li>
          ))}
        </ol>
      )}
      {!done && entries.length > 0 && (
        <button type="button" disabled={busy} onClick={() => void load(cursor)}>
          Load older entries
        </button>
      )}
    </>
  );
}

/** Export (a JSON download) and erasure, which the marketer confirms by typing the address. */
function ExportErase({ detail }: { detail: ContactDetail }) {
  const c = detail.contact;
  const { route } = useLocation();
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const address = c.email ?? c.phone ?? c.id;
  const exportJson = async () => {
    setError(undefined);
    try {
      const data = await api<unknown>(`/v1/contacts/${c.id}/export`);
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `contact-${c.id}.json`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setError(err);
    }
  };
  const erase = async () => {
    if (typed.trim().toLowerCase() !== address.toLowerCase()) return;
    setBusy(true);
    try {
      await api(`/v1/contacts/${c.id}`, { method: 'DELETE' });
      route('/contacts');
    } catch (err) {
      setError(err);
      setConfirming(false);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" onClick={() => void exportJson()}>
        Export
      </button>
      <button type="button" class="danger" onClick={() => setConfirming(true)}>
        Erase contact
      </button>
      <ErrorBox error={error} />
      <ConfirmDialog
        open={confirming}
        title="Erase this contact?"
        danger
        busy={busy || typed.trim().toLowerCase() !== address.toLowerCase()}
        confirmLabel="Erase for good"
        onClose={() => {
          setConfirming(false);
          setTyped('');
        }}
        onConfirm={() => void erase()}
        body={
          <>
            <p>Erasure deletes the contact and strips its history; it cannot be undone. The address is suppressed so it is not added back without new consent.</p>
            <TextField label={`Type ${address} to confirm`} value={typed} onValue={setTyped} autocomplete="off" />
          </>
        }
      />
    </>
  );
}

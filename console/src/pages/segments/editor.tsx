import { useLocation, useRoute } from 'preact-iso';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError } from '../../api.ts';
import { issuesFromZod, SegmentRuleDefinition, type ValidationIssue } from '../../contracts.ts';
import { FormErrors, SelectField, TextField } from '../../ui/field.tsx';
import { useDraft } from '../../ui/draft.ts';
import { num, when } from '../../ui/format.ts';
import { ErrorBox, Loading, Page } from '../../ui/page.tsx';
import { useResource } from '../../ui/resource.ts';
import { RuleBuilder } from './rule-builder.tsx';
import { fromRule, newGroup, toRule, type Group } from './rule-model.ts';
import type { Preview, SegmentDetail, SegmentItem, SegmentVersion } from './types.ts';
import './segments.css';

interface Draft {
  name: string;
  timezone: string;
  root: Group;
  /** The version the draft started from (0: a new segment). */
  from: number;
}

const PREVIEW_DELAY_MS = 600;
const ZONES: ReadonlyArray<readonly [string, string]> = (() => {
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return ['UTC', ...zones.filter((z) => z !== 'UTC')].map((z) => [z, z] as const);
})();

const draftOf = (segment: SegmentVersion): Draft => ({ name: segment.name, timezone: segment.timezone, root: fromRule(segment.rule), from: segment.version });

/** A new segment (/segments/new) or a saved one (/segments/:id, `?version=N` shows an older version). */
export default function SegmentEditor({ id }: { id?: string }) {
  const { query } = useRoute();
  const version = query['version'];
  const detail = useResource<SegmentDetail>(id ? `/v1/segments/${id}` : undefined, { query: { version } });
  if (!id) return <Editor key="new" />;
  if (detail.error) {
    return (
      <Page title="Segment">
        <ErrorBox error={detail.error} />
        <p>
          <a href="/segments">Back to segments</a>
        </p>
      </Page>
    );
  }
  if (!detail.data) return <Loading what="the segment" />;
  return <Editor key={id} id={id} detail={detail.data} onSaved={detail.refetch} />;
}

function Editor({ id, detail, onSaved }: { id?: string; detail?: SegmentDetail; onSaved?: () => void }) {
  const { route } = useLocation();
  const { query } = useRoute();
  const [draft, setDraft, clearDraft] = useDraft<Draft>(`segment:${id ?? 'new'}`, () => (detail ? draftOf(detail.segment) : { name: '', timezone: 'UTC', root: newGroup(), from: 0 }));
  const [issues, setIssues] = useState<ValidationIssue[]>([]);
  const [error, setError] = useState<unknown>();
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<string>();
  const segments = useResource<{ items: SegmentItem[] }>('/v1/segments');

  // Another version was opened (?version=N): start from it.
  const loaded = detail?.segment.version;
  useEffect(() => {
    if (detail && loaded !== draft.from) {
      setDraft(draftOf(detail.segment));
      setSaved(undefined);
      setIssues([]);
      setError(undefined);
    }
  }, [loaded]);

  const { rule, paths } = useMemo(() => toRule(draft.root), [draft.root]);
  const preview = usePreview(rule, draft.timezone);

  const latest = detail ? Math.max(...detail.versions.map((v) => v.version)) : 0;
  // Edits kept from an earlier visit (the draft outlives the page): say so, and offer to drop them.
  const changed = useMemo(
    () => Boolean(detail) && JSON.stringify([draft.name, draft.timezone, rule]) !== JSON.stringify([detail!.segment.name, detail!.segment.timezone, toRule(fromRule(detail!.segment.rule)).rule]),
    [detail, draft.name, draft.timezone, rule],
  );
  const update = (patch: Partial<Draft>) => {
    setSaved(undefined);
    setDraft((d) => ({ ...d, ...patch }));
  };

  const save = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setSaved(undefined);
    const found: ValidationIssue[] = [];
    const name = draft.name.trim();
    if (!name) found.push({ path: 'name', message: 'is required' });
    else if (name.length > 200) found.push({ path: 'name', message: 'must be at most 200 characters' });
    const parsed = SegmentRuleDefinition.safeParse({ rule, timezone: draft.timezone });
    if (!parsed.success) found.push(...issuesFromZod(parsed.error.issues));
    setIssues(found);
    if (found.length) {
      setError(new ApiError(400, 'validation_failed', 'Some fields need attention.', found));
      return;
    }
    setSaving(true);
    try {
      const body = { name, rule, timezone: draft.timezone };
      const { segment } = await api<{ segment: SegmentVersion }>(id ? `/v1/segments/${id}` : '/v1/segments', { method: id ? 'PUT' : 'POST', body });
      clearDraft();
      setIssues([]);
      if (!id) {
        route(`/segments/${segment.id}`, true);
        return;
      }
      setDraft(draftOf(segment));
      setSaved(`Saved as version ${segment.version}.`);
      if (query['version']) route(`/segments/${id}`, true);
      else onSaved?.();
    } catch (err) {
      setError(err);
      setIssues(err instanceof ApiError ? err.issues : []);
    } finally {
      setSaving(false);
    }
  };

  const segmentOptions = (segments.data?.items ?? []).filter((s) => s.id !== id).map((s) => [s.id, s.name] as const);
  const title = detail?.segment.name ?? 'New segment';
  return (
    <Page
      title={title}
      actions={
        <a class="button" href="/segments">
          All segments
        </a>
      }
    >
      {detail && (
        <p class="muted">
          Version {detail.segment.version} of {latest}, saved {when(detail.segment.createdAt)}
          {detail.segment.createdBy ? ` by ${detail.segment.createdBy}` : ''}.{' '}
          {detail.segment.version !== latest && <strong>You are looking at an older version: saving makes it version {latest + 1}.</strong>}
        </p>
      )}
      <div class="segment-layout">
        <form onSubmit={save} noValidate class="segment-form">
          <FormErrors error={error} claimed={['name', 'timezone', ...paths.values()]} />
          <div class="row">
            <TextField label="Name" path="name" issues={issues} value={draft.name} onValue={(v) => update({ name: v })} maxLength={200} required />
            <SelectField label="Time zone" path="timezone" issues={issues} hint="where calendar windows such as “the last 30 days” are counted" value={draft.timezone} onValue={(v) => update({ timezone: v })} options={ZONES} />
          </div>
          <RuleBuilder root={draft.root} onChange={(root) => update({ root })} issues={issues} paths={paths} segments={segmentOptions} />
          <div class="actions">
            <button type="submit" class="primary" disabled={saving}>
              Save segment
            </button>
            {changed && !saving && (
              <button
                type="button"
                onClick={() => {
                  setDraft(draftOf(detail!.segment));
                  setIssues([]);
                  setError(undefined);
                }}
              >
                Discard changes
              </button>
            )}
            <p role="status" class="muted">
              {saving ? 'Saving…' : (saved ?? (changed ? `Unsaved changes to version ${detail!.segment.version}.` : ''))}
            </p>
          </div>
        </form>
        <PreviewPanel preview={preview} />
      </div>
      {detail && detail.versions.length > 1 && (
        <section aria-labelledby="versions-h">
          <h2 id="versions-h">Versions</h2>
          <ul class="versions">
            {[...detail.versions]
              .sort((a, b) => b.version - a.version)
              .map((v) => (
                <li key={v.version}>
                  <a href={v.version === latest ? `/segments/${id}` : `/segments/${id}?version=${v.version}`} aria-current={v.version === detail.segment.version ? 'page' : undefined}>
                    Version {v.version}
                  </a>{' '}
                  <span class="muted">
                    {when(v.createdAt)}
                    {v.createdBy ? ` · ${v.createdBy}` : ''}
                  </span>
                </li>
              ))}
          </ul>
        </section>
      )}
    </Page>
  );
}

type PreviewState = { status: 'invalid' } | { status: 'loading'; last?: Preview } | { status: 'ready'; data: Preview } | { status: 'failed'; error: unknown; last?: Preview };

/**
 * The live count: a preview is a parallel scan of the contacts, so it runs 600 ms after the last
 * change, only for a rule that passes the shared schema, and a newer change aborts it.
 */
function usePreview(rule: unknown, timezone: string): PreviewState {
  const [state, setState] = useState<PreviewState>({ status: 'invalid' });
  const key = JSON.stringify({ rule, timezone });
  useEffect(() => {
    const parsed = SegmentRuleDefinition.safeParse({ rule, timezone });
    if (!parsed.success) {
      setState({ status: 'invalid' });
      return;
    }
    const abort = new AbortController();
    const timer = setTimeout(() => {
      setState((s) => ({ status: 'loading', last: s.status === 'ready' ? s.data : s.status !== 'invalid' ? s.last : undefined }));
      api<Preview>('/v1/segments/preview', { body: { rule, timezone }, signal: abort.signal })
        .then((data) => setState({ status: 'ready', data }))
        .catch((error: unknown) => {
          if (!abort.signal.aborted) setState((s) => ({ status: 'failed', error, last: s.status === 'loading' ? s.last : undefined }));
        });
    }, PREVIEW_DELAY_MS);
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [key]); // `key` is the rule and the zone, by value
  return state;
}

function PreviewPanel({ preview }: { preview: PreviewState }) {
  const data = preview.status === 'ready' ? preview.data : preview.status === 'loading' || preview.status === 'failed' ? preview.last : undefined;
  return (
    <section class="card segment-preview" aria-labelledby="preview-h" aria-live="polite" aria-busy={preview.status === 'loading'}>
      <h2 id="preview-h">Preview</h2>
      {preview.status === 'invalid' && <p class="muted">Complete the rule to see how many contacts match.</p>}
      {preview.status === 'failed' && <ErrorBox error={preview.error} />}
      {preview.status === 'loading' && <p class="muted">Counting…</p>}
      {data && (
        <>
          <p class="preview-count">
            <strong data-preview="count">{data.count}</strong> contacts match
          </p>
          {data.warnings && data.warnings.length > 0 && (
            <ul class="preview-warnings" data-preview="warnings">
              {data.warnings.map((w) => (
                <li key={w.path}>
                  <strong>{w.model}</strong>: {w.message}
                </li>
              ))}
            </ul>
          )}
          <ul class="stats">
            <li>
              <strong data-preview="reachable-email">{num(data.reachable.email)}</strong> reachable by email
            </li>
            <li>
              <strong data-preview="reachable-sms">{num(data.reachable.sms)}</strong> reachable by SMS
            </li>
          </ul>
          <h3>Response forecast</h3>
          <p class="hint">Expected responders if every reachable member were sent a message, with a 95 % interval.</p>
          <ul class="stats">
            {(['email', 'sms'] as const).map((ch) => (
              <li key={ch}>
                <strong>{num(data.forecast[ch].expectedResponses)}</strong>
                {ch === 'email' ? 'email' : 'SMS'} ({num(data.forecast[ch].low)}–{num(data.forecast[ch].high)})
              </li>
            ))}
          </ul>
          {data.sample.length > 0 && (
            <details>
              <summary>Sample of members ({data.sample.length})</summary>
              <ul class="sample">
                {data.sample.map((c) => (
                  <li key={c.id}>
                    <a href={`/contacts/${c.id}`}>{c.email ?? c.phone ?? c.id}</a>
                  </li>
                ))}
              </ul>
            </details>
          )}
          <p class="hint">As of {when(data.computedAt)}.</p>
        </>
      )}
    </section>
  );
}

import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ApiError } from '../../api.ts';
import { smsSegments, type ValidationIssue } from '../../contracts.ts';
import { useDraft } from '../../ui/draft.ts';
import { Field, FormErrors, SelectField, TextField } from '../../ui/field.tsx';
import { when } from '../../ui/format.ts';
import { ErrorBox, Loading, Page } from '../../ui/page.tsx';
import { routeMissing } from '../../ui/pager.tsx';
import { useResource } from '../../ui/resource.ts';
import '../../ui/extra.css';
import { CLAIMED, draftIssues, EMPTY, PREVIEW_DELAY_MS, templateBody, type Draft } from './model.ts';
import type { Rendered, SavedTemplate } from './types.ts';

/**
 * Writes a template, or starts from a saved one: templates are immutable in the API (a campaign
 * keeps the exact text it sent), so saving always makes a new template. The draft is previewed as
 * the API renders it, for a chosen contact or with sample data.
 */
export default function TemplateEditor({ id }: { id?: string }) {
  const saved = useResource<{ template: SavedTemplate }>(id ? `/v1/templates/${id}` : undefined);
  if (id && !saved.data) {
    return (
      <Page title="Template">
        <ErrorBox error={saved.error} />
        {!saved.error && <Loading what="the template" />}
      </Page>
    );
  }
  return <Editor key={id ?? 'new'} saved={saved.data?.template} />;
}

function Editor({ saved }: { saved?: SavedTemplate }) {
  const { route } = useLocation();
  const initial: Draft = saved ? { ...EMPTY, ...saved } : EMPTY;
  const [draft, setDraft, clearDraft] = useDraft<Draft>(`template:${saved?.id ?? 'new'}`, initial);
  const [error, setError] = useState<unknown>();
  const [checked, setChecked] = useState<ValidationIssue[]>([]);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof Draft>(key: K) => (value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const changed = !saved || JSON.stringify(templateBody(draft)) !== JSON.stringify(templateBody({ ...EMPTY, ...saved }));

  const save = async (e: Event) => {
    e.preventDefault();
    const local = draftIssues(draft);
    setChecked(local);
    setError(local.length ? new ApiError(400, 'validation_failed', 'Some fields need attention', local) : undefined);
    if (local.length) return;
    setBusy(true);
    try {
      const result = await api<{ template: SavedTemplate }>('/v1/templates', { body: templateBody(draft) });
      clearDraft();
      route(`/templates/${result.template.id}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const saveIssues = error instanceof ApiError ? error.issues : checked;
  const [previewIssues, setPreviewIssues] = useState<ValidationIssue[]>([]);
  const issues = saveIssues.length ? saveIssues : previewIssues;
  const sms = draft.channel === 'sms' ? smsSegments(draft.body) : undefined;

  return (
    <Page title={saved ? saved.name : 'New template'}>
      <p>
        <a href="/templates">← All templates</a>
      </p>
      {saved && (
        <p class="notice" data-immutable>
          Saved templates never change, so campaigns keep exactly what they sent. Edit below and <strong>Save template</strong> to make a <em>new</em> template; this one (created {when(saved.createdAt)}) stays as it is.
        </p>
      )}
      <div class="split">
        <form onSubmit={(e) => void save(e)} aria-label="Template">
          <SelectField
            label="Channel"
            path="channel"
            issues={issues}
            value={draft.channel}
            onValue={(v) => set('channel')(v as Draft['channel'])}
            options={[
              ['email', 'Email'],
              ['sms', 'SMS'],
            ]}
          />
          <TextField label="Name" path="name" issues={issues} value={draft.name} onValue={set('name')} maxLength={200} hint="For you and your team; recipients do not see it." />
          {draft.channel === 'email' ? (
            <>
              <TextField label="Subject" path="subject" issues={issues} value={draft.subject} onValue={set('subject')} hint={'Handlebars: {{default contact.firstName "there"}}'} />
              <Field label="HTML" path="html" issues={issues} hint="The unsubscribe link and postal address are added when the template has none.">
                {(a) => <textarea {...a} rows={12} value={draft.html} onInput={(e) => set('html')((e.currentTarget as HTMLTextAreaElement).value)} spellcheck={false} />}
              </Field>
              <Field label="Text" path="text" issues={issues} hint="The plain-text part, for mail clients that do not show HTML.">
                {(a) => <textarea {...a} rows={6} value={draft.text} onInput={(e) => set('text')((e.currentTarget as HTMLTextAreaElement).value)} />}
              </Field>
            </>
          ) : (
            <Field
              label="Message"
              path="body"
              issues={issues}
              hint={
                sms && (
                  <span aria-live="polite">
                    <span data-sms="segments">{sms.segments}</span> {sms.segments === 1 ? 'segment' : 'segments'} · {sms.encoding} · {sms.characters} characters ({sms.perSegment} per segment). Placeholders count as typed; the preview shows the rendered count.
                  </span>
                )
              }
            >
              {(a) => <textarea {...a} rows={5} value={draft.body} onInput={(e) => set('body')((e.currentTarget as HTMLTextAreaElement).value)} />}
            </Field>
          )}
          <FormErrors error={error} claimed={CLAIMED} />
          <div class="actions">
            <button type="submit" class="primary" disabled={busy || (saved && !changed)}>
              Save template
            </button>
            {saved && !changed && <span class="muted">Change something to save it as a new template.</span>}
          </div>
        </form>
        <Preview draft={draft} saved={saved && !changed ? saved : undefined} onIssues={setPreviewIssues} />
      </div>
    </Page>
  );
}

type PreviewState = { state: 'idle' | 'loading' } | { state: 'done'; rendered: Rendered } | { state: 'error'; error: unknown } | { state: 'unavailable'; why: string };

/**
 * The API's render of the draft for one contact (looked up by email) or with sample data:
 * `POST /v1/templates/render`, 600 ms after the last change. Where that route is not deployed,
 * only a saved, unchanged template can be previewed, and only for a contact.
 */
function Preview({ draft, saved, onIssues }: { draft: Draft; saved?: SavedTemplate; onIssues: (issues: ValidationIssue[]) => void }) {
  const [email, setEmail] = useDraft('template:preview-email', '');
  const [contact, setContact] = useState<{ id?: string; note: string; issues: ValidationIssue[] }>({ note: 'Sample data (no contact chosen).', issues: [] });
  const [inlineMissing, setInlineMissing] = useState(false);
  const [preview, setPreview] = useState<PreviewState>({ state: 'idle' });

  useEffect(() => {
    const address = email.trim();
    if (!address) {
      setContact({ note: 'Sample data (no contact chosen).', issues: [] });
      return;
    }
    const abort = new AbortController();
    const timer = setTimeout(() => {
      api<{ items: Array<{ id: string }> }>('/v1/contacts', { query: { email: address }, signal: abort.signal })
        .then((page) => setContact(page.items[0] ? { id: page.items[0].id, note: `Previewing for ${address}.`, issues: [] } : { note: `No contact has ${address}: sample data.`, issues: [] }))
        .catch((e: unknown) => {
          if (abort.signal.aborted) return;
          setContact({ note: 'Sample data.', issues: e instanceof ApiError ? e.issues.map((i) => ({ path: 'previewEmail', message: i.message })) : [{ path: 'previewEmail', message: (e as Error).message }] });
        });
    }, PREVIEW_DELAY_MS);
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [email]);

  const body = JSON.stringify(templateBody(draft));
  useEffect(() => {
    const abort = new AbortController();
    const timer = setTimeout(() => {
      void (async () => {
        if (!inlineMissing) {
          if (draftIssues(draft).length) {
            setPreview({ state: 'unavailable', why: 'Fill in every field to see the preview.' });
            return;
          }
          setPreview({ state: 'loading' });
          try {
            const rendered = await api<Rendered>('/v1/templates/render', { body: { ...(JSON.parse(body) as object), ...(contact.id ? { contactId: contact.id } : {}) }, signal: abort.signal });
            onIssues([]);
            setPreview({ state: 'done', rendered });
            return;
          } catch (e) {
            if (abort.signal.aborted) return;
            if (routeMissing(e)) {
              setInlineMissing(true);
              return; // the effect runs again with the fallback
            }
            onIssues(e instanceof ApiError ? e.issues : []);
            setPreview({ state: 'error', error: e });
            return;
          }
        }
        if (!saved) {
          setPreview({ state: 'unavailable', why: 'Save the template to preview it (this API previews saved templates only).' });
          return;
        }
        if (!contact.id) {
          setPreview({ state: 'unavailable', why: 'Choose a contact by email to preview this template.' });
          return;
        }
        setPreview({ state: 'loading' });
        try {
          const rendered = await api<Rendered>(`/v1/templates/${saved.id}/render`, { body: { contactId: contact.id }, signal: abort.signal });
          setPreview({ state: 'done', rendered });
        } catch (e) {
          if (!abort.signal.aborted) setPreview({ state: 'error', error: e });
        }
      })();
    }, PREVIEW_DELAY_MS);
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [body, contact.id, inlineMissing, saved?.id]);

  return (
    <section aria-labelledby="preview-title">
      <h2 id="preview-title">Preview</h2>
      <TextField label="Preview for (email)" path="previewEmail" issues={contact.issues} value={email} onValue={setEmail} type="email" autocomplete="off" hint={<span aria-live="polite">{contact.note}</span>} />
      <div role="status" aria-live="polite" class="muted">
        {preview.state === 'loading' ? 'Rendering…' : preview.state === 'unavailable' ? preview.why : ''}
      </div>
      {preview.state === 'error' && <ErrorBox error={preview.error} />}
      {preview.state === 'done' && <RenderedView rendered={preview.rendered} />}
    </section>
  );
}

function RenderedView({ rendered }: { rendered: Rendered }) {
  if (rendered.channel === 'email') {
    return (
      <div data-preview="email">
        <p>
          <strong>Subject:</strong> <span data-preview-subject>{rendered.subject}</span>
        </p>
        <iframe class="preview-frame" title="Email preview" sandbox="" srcdoc={rendered.html} />
        <details>
          <summary>Text part</summary>
          <pre>{rendered.text}</pre>
        </details>
        <p class="hint">Links in previews go nowhere: the unsubscribe link is the inert preview one.</p>
      </div>
    );
  }
  return (
    <div data-preview="sms">
      <pre data-preview-body>{rendered.body}</pre>
      <p class="hint">
        As sent: {rendered.segments.segments} {rendered.segments.segments === 1 ? 'segment' : 'segments'}, {rendered.segments.encoding}
        {rendered.addedOptOut ? ', with the opt-out line added' : ''}.
      </p>
    </div>
  );
}

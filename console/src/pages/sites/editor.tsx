import { useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { api, ApiError } from '../../api.ts';
import { CopyButton } from '../../ui/copy.tsx';
import { ConfirmDialog } from '../../ui/dialog.tsx';
import { useDraft } from '../../ui/draft.ts';
import { Field, FormErrors, TextField } from '../../ui/field.tsx';
import { when } from '../../ui/format.ts';
import { ErrorBox, Loading, Page } from '../../ui/page.tsx';
import { useResource } from '../../ui/resource.ts';
import '../../ui/extra.css';
import { draftOf, EMPTY_SITE, siteBody, type SiteDraft, type SiteView } from './types.ts';

const CLAIMED = ['name', 'allowedOrigins', 'eventNames', 'rateLimit.perIpPerMinute', 'rateLimit.perSitePerMinute'];

/** A new site (`/sites/new`), or one site: its key, its settings (editable) and deletion. */
export default function SiteEditor({ id }: { id?: string }) {
  const view = useResource<SiteView>(id ? `/v1/sites/${id}` : undefined);
  if (id && !view.data) {
    return (
      <Page title="Site">
        <ErrorBox error={view.error} />
        {!view.error && <Loading what="the site" />}
      </Page>
    );
  }
  return <Editor key={id ?? 'new'} view={view.data} onSaved={view.refetch} />;
}

function Editor({ view, onSaved }: { view?: SiteView; onSaved: () => void }) {
  const { route } = useLocation();
  const { query } = useRoute();
  const site = view?.site;
  const [draft, setDraft, clearDraft] = useDraft<SiteDraft>(`site:${site?.id ?? 'new'}`, () => (site ? draftOf(site) : EMPTY_SITE));
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [said, setSaid] = useState('');
  const [deleting, setDeleting] = useState(false);
  const set = <K extends keyof SiteDraft>(k: K) => (value: SiteDraft[K]) => setDraft((d) => ({ ...d, [k]: value }));
  const issues = error instanceof ApiError ? error.issues : [];

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setSaid('');
    try {
      if (site) {
        await api<SiteView>(`/v1/sites/${site.id}`, { method: 'PATCH', body: siteBody(draft, true) });
        clearDraft();
        setSaid('Saved.');
        onSaved();
      } else {
        const created = await api<SiteView>('/v1/sites', { body: siteBody(draft, false) });
        clearDraft();
        route(`/sites/${created.site.id}?created=1`);
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    if (!site) return;
    setBusy(true);
    try {
      await api(`/v1/sites/${site.id}`, { method: 'DELETE' });
      clearDraft();
      route('/sites');
    } catch (err) {
      setError(err);
      setDeleting(false);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Page
      title={site ? site.name : 'New site'}
      actions={
        site && (
          <button type="button" class="danger" onClick={() => setDeleting(true)}>
            Delete site
          </button>
        )
      }
    >
      <p>
        <a href="/sites">← All sites</a>
      </p>
      {site && view && (
        <section aria-labelledby="key-title" class={query.created ? 'notice' : 'card'} data-site-key>
          <h2 id="key-title">{query.created ? 'Site created: its key' : 'Site key'}</h2>
          <p>
            <code>{site.id}</code> <CopyButton text={site.id} label="Copy site key" />
          </p>
          <p class="hint">
            Public, like an analytics key: your pages post to <code>{view.links.conversions}</code>, and only from the allowed origins. Created {when(site.createdAt)}.
          </p>
        </section>
      )}
      <form onSubmit={(e) => void save(e)} aria-label="Site settings">
        <TextField label="Site name" path="name" issues={issues} value={draft.name} onValue={set('name')} maxLength={200} />
        <Field label="Allowed origins (one a line)" path="allowedOrigins" issues={issues} hint="Where the site's pages are served from, like https://shop.example.com">
          {(a) => <textarea {...a} rows={3} value={draft.allowedOrigins} onInput={(e) => set('allowedOrigins')((e.currentTarget as HTMLTextAreaElement).value)} />}
        </Field>
        <TextField label="Event names (comma-separated)" path="eventNames" issues={issues} value={draft.eventNames} onValue={set('eventNames')} hint="Conversion and custom event names the site may report; empty: any." />
        <div class="row">
          <TextField label="Reports per IP per minute" path="rateLimit.perIpPerMinute" issues={issues} value={draft.perIpPerMinute} onValue={set('perIpPerMinute')} inputMode="numeric" />
          <TextField label="Reports per minute in all" path="rateLimit.perSitePerMinute" issues={issues} value={draft.perSitePerMinute} onValue={set('perSitePerMinute')} inputMode="numeric" />
        </div>
        <FormErrors error={error} claimed={CLAIMED} />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            {site ? 'Save site' : 'Create site'}
          </button>
          <span role="status" aria-live="polite">
            {said}
          </span>
        </div>
      </form>
      <ConfirmDialog
        open={deleting}
        title="Delete this site?"
        danger
        busy={busy}
        confirmLabel="Delete site"
        onClose={() => setDeleting(false)}
        onConfirm={() => void remove()}
        body={<p>Its pages can no longer report conversions or visits with this key. What they reported stays on the contacts' timelines.</p>}
      />
    </Page>
  );
}

import { CopyButton } from '../../ui/copy.tsx';
import { when } from '../../ui/format.ts';
import { Pager, routeMissing, usePager } from '../../ui/pager.tsx';
import { Empty, ErrorBox, Loading, Page } from '../../ui/page.tsx';
import { useResource } from '../../ui/resource.ts';
import '../../ui/extra.css';
import { embedSnippet, type SavedForm } from './model.ts';

interface Submission {
  contactId: string;
  at: string;
  submissionId: string;
  fields: Record<string, unknown>;
  [more: string]: unknown;
}

/** One form: its definition, the snippet to paste into a site, and who submitted it. */
export default function FormDetail({ id }: { id: string }) {
  const form = useResource<{ form: SavedForm; links: { submit: string; embed: string } }>(`/v1/forms/${id}`);
  const f = form.data?.form;
  return (
    <Page
      title={f?.name ?? 'Form'}
      actions={
        f && (
          <a class="button" href={`/forms/new?from=${f.id}`}>
            Duplicate
          </a>
        )
      }
    >
      <p>
        <a href="/forms">← All forms</a>
      </p>
      <ErrorBox error={form.error} />
      {!form.data || !f ? (
        !form.error && <Loading what="the form" />
      ) : (
        <>
          <h2>Embed</h2>
          <p>Paste this into your page. The form works without JavaScript and shows each consent wording beside its checkbox.</p>
          <pre data-snippet>{embedSnippet(form.data.links.embed, f.name)}</pre>
          <div class="actions">
            <CopyButton text={embedSnippet(form.data.links.embed, f.name)} label="Copy snippet" />
            <a href={form.data.links.embed} target="_blank" rel="noopener noreferrer">
              Open the form page
            </a>
          </div>
          <p class="hint">
            Scripts and your own HTML can post to <code>{form.data.links.submit}</code> (JSON or urlencoded).
            {f.allowedOrigins.length > 0 ? ` Browsers may post from ${f.allowedOrigins.join(', ')}.` : ' No other site may post from a browser: add allowed origins in a duplicate to embed it elsewhere than in the iframe.'}
          </p>
          <Definition form={f} />
          <Submissions id={id} />
        </>
      )}
    </Page>
  );
}

function Definition({ form }: { form: SavedForm }) {
  return (
    <>
      <h2>Definition</h2>
      <div class="table-wrap" tabIndex={0}>
        <table data-table="form-fields">
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Label</th>
              <th scope="col">Type</th>
              <th scope="col">Required</th>
              <th scope="col">Fills</th>
            </tr>
          </thead>
          <tbody>
            {form.fields.map((x) => (
              <tr key={x.name}>
                <th scope="row">
                  <code>{x.name}</code>
                </th>
                <td>{x.label ?? '—'}</td>
                <td>
                  {x.type}
                  {x.options ? ` (${x.options.join(', ')})` : ''}
                </td>
                <td>{x.required ? 'yes' : 'no'}</td>
                <td>{x.type === 'email' || x.type === 'phone' ? `the contact's ${x.type}` : `attribute ${x.attribute ?? x.name}`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <dl class="facts">
        <dt>Email consent</dt>
        <dd>{form.consent.email ? `“${form.consent.email.text}” (version ${form.consent.email.version})` : '—'}</dd>
        <dt>SMS consent</dt>
        <dd>{form.consent.sms ? `“${form.consent.sms.text}” (version ${form.consent.sms.version})` : '—'}</dd>
        <dt>Double opt-in</dt>
        <dd>{form.doubleOptIn ? 'yes' : 'no'}</dd>
        <dt>Allowed origins</dt>
        <dd>{form.allowedOrigins.join(', ') || 'the embed page only'}</dd>
        <dt>Redirect</dt>
        <dd>{form.redirectUrl ?? '—'}</dd>
        <dt>Default country</dt>
        <dd>{form.defaultCountry ?? '—'}</dd>
        <dt>Tags</dt>
        <dd>{form.tags?.join(', ') || '—'}</dd>
        <dt>Captcha</dt>
        <dd>{form.captcha ? `${form.captcha.provider} (${form.captcha.siteKey})` : 'none'}</dd>
        <dt>Rate limits</dt>
        <dd>
          {form.rateLimit.perIpPerMinute} a minute per IP, {form.rateLimit.perFormPerMinute} a minute in all
        </dd>
        <dt>Honeypot field</dt>
        <dd>
          <code>{form.honeypotField}</code>
        </dd>
        <dt>Created</dt>
        <dd>{when(form.createdAt)}</dd>
      </dl>
    </>
  );
}

/** Submissions, newest first, when the API serves them (else they are on each contact's timeline). */
function Submissions({ id }: { id: string }) {
  const pager = usePager();
  const page = useResource<{ items: Submission[]; nextCursor?: string }>(`/v1/forms/${id}/submissions`, { query: { limit: 25, cursor: pager.cursor } });
  if (routeMissing(page.error)) {
    return <p class="muted">Submissions show on each contact's timeline.</p>;
  }
  const next = page.data?.nextCursor;
  return (
    <>
      <h2>Submissions</h2>
      <ErrorBox error={page.error} />
      {!page.data ? (
        !page.error && <Loading what="submissions" />
      ) : page.data.items.length === 0 && pager.first ? (
        <Empty>No submissions yet.</Empty>
      ) : (
        <>
          <div class="table-wrap" tabIndex={0}>
            <table data-table="submissions">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Contact</th>
                  <th scope="col">Submitted</th>
                </tr>
              </thead>
              <tbody>
                {page.data.items.map((s) => (
                  <tr key={s.submissionId} data-submission={s.submissionId}>
                    <th scope="row">{when(s.at)}</th>
                    <td>
                      <a href={`/contacts/${s.contactId}`}>{s.contactId.slice(0, 8)}…</a>
                    </td>
                    <td>
                      {Object.entries(s.fields)
                        .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
                        .join(' · ')}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager pager={pager} nextCursor={next} labels={['Newer submissions', 'Older submissions']} />
        </>
      )}
    </>
  );
}

import { when } from '../../ui/format.ts';
import { Pager, usePager } from '../../ui/pager.tsx';
import { Empty, ErrorBox, Loading, Page } from '../../ui/page.tsx';
import { useResource } from '../../ui/resource.ts';
import type { SavedForm } from './model.ts';

/** Every form, 50 a page, with a way to sites (conversion reporting), which live beside forms. */
export default function Forms() {
  const pager = usePager();
  const list = useResource<{ items: SavedForm[]; nextCursor?: string }>('/v1/forms', { query: { limit: 50, cursor: pager.cursor } });
  return (
    <Page
      title="Forms"
      actions={
        <>
          <a class="button" href="/sites">
            Sites
          </a>
          <a class="button primary" href="/forms/new">
            New form
          </a>
        </>
      }
    >
      <ErrorBox error={list.error} />
      {!list.data ? (
        !list.error && <Loading what="forms" />
      ) : list.data.items.length === 0 && pager.first ? (
        <Empty>
          No forms yet. <a href="/forms/new">Create one</a> and paste its snippet into your site.
        </Empty>
      ) : (
        <>
          <div class="table-wrap" tabIndex={0}>
            <table data-table="forms">
              <thead>
                <tr>
                  <th scope="col">Form</th>
                  <th scope="col">Fields</th>
                  <th scope="col">Consent</th>
                  <th scope="col">Double opt-in</th>
                  <th scope="col">Allowed origins</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {[...list.data.items]
                  .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
                  .map((f) => (
                    <tr key={f.id} data-form={f.id}>
                      <th scope="row">
                        <a href={`/forms/${f.id}`}>{f.name}</a>
                      </th>
                      <td>{f.fields.map((x) => x.name).join(', ')}</td>
                      <td>{Object.keys(f.consent).join(', ') || '—'}</td>
                      <td>{f.doubleOptIn ? 'yes' : 'no'}</td>
                      <td>{f.allowedOrigins.join(', ') || 'the embed page only'}</td>
                      <td>{when(f.createdAt)}</td>
                    </tr>
                  ))}
              </tbody>
            </table>
          </div>
          <Pager pager={pager} nextCursor={list.data.nextCursor} />
        </>
      )}
    </Page>
  );
}

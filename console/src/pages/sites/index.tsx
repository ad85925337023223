import { when } from '../../ui/format.ts';
import { Empty, ErrorBox, Loading, Page } from '../../ui/page.tsx';
import { useResource } from '../../ui/resource.ts';
import type { Site } from './types.ts';

/** Sites whose pages report conversions, visits and events with their public site key. */
export default function Sites() {
  const list = useResource<{ items: Site[]; nextCursor?: string }>('/v1/sites', { query: { limit: 200 } });
  return (
    <Page
      title="Sites"
      actions={
        <>
          <a class="button" href="/forms">
            Forms
          </a>
          <a class="button primary" href="/sites/new">
            New site
          </a>
        </>
      }
    >
      <p>A site's pages report conversions, visits and page views to the API with the site's public key, from its allowed origins only.</p>
      <ErrorBox error={list.error} />
      {!list.data ? (
        !list.error && <Loading what="sites" />
      ) : list.data.items.length === 0 ? (
        <Empty>
          No sites yet. <a href="/sites/new">Register one</a>.
        </Empty>
      ) : (
        <div class="table-wrap" tabIndex={0}>
          <table data-table="sites">
            <thead>
              <tr>
                <th scope="col">Site</th>
                <th scope="col">Allowed origins</th>
                <th scope="col">Event names</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((s) => (
                <tr key={s.id} data-site={s.id}>
                  <th scope="row">
                    <a href={`/sites/${s.id}`}>{s.name}</a>
                  </th>
                  <td>{s.allowedOrigins.join(', ')}</td>
                  <td>{s.eventNames?.join(', ') ?? 'any'}</td>
                  <td>{when(s.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data?.nextCursor && <p class="hint">Showing the first 200 sites.</p>}
    </Page>
  );
}

import { when } from '../../ui/format.ts';
import { Empty, ErrorBox, Loading, Page } from '../../ui/page.tsx';
import { useResource } from '../../ui/resource.ts';
import type { SavedTemplate } from './types.ts';

/** Every template, newest first. Templates never change: editing one saves a new template. */
export default function Templates() {
  const list = useResource<{ items: SavedTemplate[] }>('/v1/templates');
  return (
    <Page
      title="Templates"
      actions={
        <a class="button primary" href="/templates/new">
          New template
        </a>
      }
    >
      <ErrorBox error={list.error} />
      {!list.data ? (
        !list.error && <Loading what="templates" />
      ) : list.data.items.length === 0 ? (
        <Empty>
          No templates yet. <a href="/templates/new">Write the first one</a>.
        </Empty>
      ) : (
        <div class="table-wrap" tabIndex={0}>
          <table data-table="templates">
            <thead>
              <tr>
                <th scope="col">Template</th>
                <th scope="col">Channel</th>
                <th scope="col">Subject or message</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {[...list.data.items]
                .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
                .map((t) => (
                  <tr key={t.id} data-template={t.id}>
                    <th scope="row">
                      <a href={`/templates/${t.id}`}>{t.name}</a>
                    </th>
                    <td>{t.channel === 'email' ? 'Email' : 'SMS'}</td>
                    <td>{t.channel === 'email' ? t.subject : t.body.length > 80 ? `${t.body.slice(0, 80)}…` : t.body}</td>
                    <td>{when(t.createdAt)}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}

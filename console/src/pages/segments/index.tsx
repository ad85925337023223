import { num, when } from '../../ui/format.ts';
import { Empty, ErrorBox, Loading, Page } from '../../ui/page.tsx';
import { useResource } from '../../ui/resource.ts';
import type { SegmentItem } from './types.ts';

/** Saved segments: name, latest version, when it changed, and the size its last preview found. */
export default function Segments() {
  const segments = useResource<{ items: SegmentItem[] }>('/v1/segments');
  return (
    <Page
      title="Segments"
      actions={
        <a class="button primary" href="/segments/new">
          New segment
        </a>
      }
    >
      <ErrorBox error={segments.error} />
      {!segments.data ? (
        !segments.error && <Loading what="segments" />
      ) : segments.data.items.length === 0 ? (
        <Empty>
          No segments yet. <a href="/segments/new">Build the first one</a>: the count updates as you write the rule.
        </Empty>
      ) : (
        <div class="table-wrap" tabIndex={0}>
          <table data-table="segments">
            <thead>
              <tr>
                <th scope="col">Segment</th>
                <th scope="col" class="n">
                  Version
                </th>
                <th scope="col">Updated</th>
                <th scope="col" class="n">
                  Last known size
                </th>
                <th scope="col" class="n">
                  Reachable by email
                </th>
                <th scope="col" class="n">
                  Reachable by SMS
                </th>
              </tr>
            </thead>
            <tbody>
              {[...segments.data.items]
                .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
                .map((s) => (
                  <tr key={s.id} data-segment={s.id}>
                    <th scope="row">
                      <a href={`/segments/${s.id}`}>{s.name}</a>
                    </th>
                    <td class="n">{s.version}</td>
                    <td>{when(s.createdAt)}</td>
                    <td class="n" title={s.stats ? `as of ${when(s.stats.computedAt)}` : 'not previewed since it was saved'}>
                      {s.stats ? num(s.stats.size) : '—'}
                    </td>
                    <td class="n">{s.stats ? num(s.stats.reachable.email) : '—'}</td>
                    <td class="n">{s.stats ? num(s.stats.reachable.sms) : '—'}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}

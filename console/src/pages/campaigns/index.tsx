import { num, when } from '../../ui/format.ts';
import { Empty, ErrorBox, Loading, Page, StatusBadge } from '../../ui/page.tsx';
import { useResource } from '../../ui/resource.ts';
import { LIVE_STATUSES, type CampaignResource } from './types.ts';

/** Every campaign with its status and counts, newest change first; refreshed while any runs. */
export default function Campaigns() {
  const campaigns = useResource<{ items: CampaignResource[] }>('/v1/campaigns', { pollMs: 10_000, poll: (d) => d.items.some((c) => LIVE_STATUSES.has(c.status)) });
  return (
    <Page
      title="Campaigns"
      actions={
        <a class="button primary" href="/campaigns/new">
          New campaign
        </a>
      }
    >
      <ErrorBox error={campaigns.error} />
      {!campaigns.data ? (
        !campaigns.error && <Loading what="campaigns" />
      ) : campaigns.data.items.length === 0 ? (
        <Empty>
          No campaigns yet. <a href="/campaigns/new">Create one</a> from a template and a segment.
        </Empty>
      ) : (
        <div class="table-wrap" tabIndex={0}>
          <table data-table="campaigns">
            <thead>
              <tr>
                <th scope="col">Campaign</th>
                <th scope="col">Status</th>
                <th scope="col">Channels</th>
                <th scope="col" class="n">
                  Targeted
                </th>
                <th scope="col" class="n">
                  Sent
                </th>
                <th scope="col" class="n">
                  Held out
                </th>
                <th scope="col">Launched</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {[...campaigns.data.items]
                .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
                .map((c) => (
                  <tr key={c.id} data-campaign={c.id}>
                    <th scope="row">
                      <a href={`/campaigns/${c.id}`}>{c.name}</a>
                    </th>
                    <td>
                      <StatusBadge status={c.status} />
                    </td>
                    <td>{c.channels === 'best' ? 'best per contact' : c.channels.join(', ')}</td>
                    <td class="n">{num(c.counters.targeted)}</td>
                    <td class="n">{num(c.counters.sent)}</td>
                    <td class="n">{num(c.counters.holdout)}</td>
                    <td>{when(c.launchedAt)}</td>
                    <td>{when(c.updatedAt)}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}

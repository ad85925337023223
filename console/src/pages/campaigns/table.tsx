import { num, when } from '../../ui/format.ts';
import { StatusBadge } from '../../ui/page.tsx';
import { useResource } from '../../ui/resource.ts';
import { LIVE_STATUSES, type CampaignResource } from './types.ts';

/** Every campaign, refreshed every 10 s while any is scheduled, running or paused (Home and the Campaigns list). */
export const useCampaigns = () => useResource<{ items: CampaignResource[] }>('/v1/campaigns', { pollMs: 10_000, poll: (d) => d.items.some((c) => LIVE_STATUSES.has(c.status)) });

/** Campaigns newest change first, with status, channels, live counts and responses. */
export function CampaignTable({ items }: { items: CampaignResource[] }) {
  return (
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
            <th scope="col" class="n">
              Clicked
            </th>
            <th scope="col" class="n">
              Converted
            </th>
            <th scope="col">Launched</th>
          </tr>
        </thead>
        <tbody>
          {[...items]
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
                <td class="n" data-count="sent">
                  {num(c.counters.sent)}
                </td>
                <td class="n">{num(c.counters.holdout)}</td>
                <td class="n">{num(c.responses?.clicked ?? 0)}</td>
                <td class="n">{num(c.responses?.converted ?? 0)}</td>
                <td>{when(c.launchedAt)}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </div>
  );
}

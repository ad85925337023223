import type { CampaignCounters, CampaignStatus } from '../contracts.ts';
import { num, when } from '../ui/format.ts';
import { Empty, ErrorBox, Loading, Page, StatusBadge } from '../ui/page.tsx';
import { useResource } from '../ui/resource.ts';

interface CampaignItem {
  id: string;
  name: string;
  status: CampaignStatus;
  channels: string[] | 'best';
  launchedAt?: string;
  updatedAt: string;
  counters: CampaignCounters;
  responses?: Record<string, number>;
}
interface JourneyItem {
  id: string;
  name: string;
  status: string;
  version: number;
  updatedAt: string;
  counts: { entries: number; holdout: number; inFlight: number; exits: Record<string, number> };
}

const LIVE = new Set(['scheduled', 'running', 'paused', 'active']);

/** Campaigns and journeys with their status and live counts, refreshed every 10 s while any runs. */
export default function Home() {
  const campaigns = useResource<{ items: CampaignItem[] }>('/v1/campaigns', { pollMs: 10_000, poll: (d) => d.items.some((c) => LIVE.has(c.status)) });
  const journeys = useResource<{ items: JourneyItem[] }>('/v1/journeys', { pollMs: 10_000, poll: (d) => d.items.some((j) => LIVE.has(j.status)) });
  return (
    <Page
      title="Home"
      actions={
        <a class="button primary" href="/campaigns/new">
          New campaign
        </a>
      }
    >
      <h2>Campaigns</h2>
      <ErrorBox error={campaigns.error} />
      {!campaigns.data ? (
        !campaigns.error && <Loading what="campaigns" />
      ) : campaigns.data.items.length === 0 ? (
        <Empty>
          No campaigns yet. <a href="/campaigns/new">Create the first one</a> from a template and a segment.
        </Empty>
      ) : (
        <div class="table-wrap" tabIndex={0}>
          <table data-table="campaigns">
            <thead>
              <tr>
                <th scope="col">Campaign</th>
                <th scope="col">Status</th>
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
      )}
      <h2>Journeys</h2>
      <ErrorBox error={journeys.error} />
      {!journeys.data ? (
        !journeys.error && <Loading what="journeys" />
      ) : journeys.data.items.length === 0 ? (
        <Empty>No journeys yet. Journeys are built through the API for now; their reports open here.</Empty>
      ) : (
        <div class="table-wrap" tabIndex={0}>
          <table data-table="journeys">
            <thead>
              <tr>
                <th scope="col">Journey</th>
                <th scope="col">Status</th>
                <th scope="col" class="n">
                  Version
                </th>
                <th scope="col" class="n">
                  Entries
                </th>
                <th scope="col" class="n">
                  In flight
                </th>
                <th scope="col" class="n">
                  Held out
                </th>
              </tr>
            </thead>
            <tbody>
              {journeys.data.items.map((j) => (
                <tr key={j.id}>
                  <th scope="row">
                    <a href={`/journeys/${j.id}`}>{j.name}</a>
                  </th>
                  <td>
                    <StatusBadge status={j.status} />
                  </td>
                  <td class="n">{j.version}</td>
                  <td class="n">{num(j.counts.entries)}</td>
                  <td class="n">{num(j.counts.inFlight)}</td>
                  <td class="n">{num(j.counts.holdout)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}

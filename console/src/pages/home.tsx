import { Empty, ErrorBox, Loading, Page } from '../ui/page.tsx';
import { CampaignTable, useCampaigns } from './campaigns/table.tsx';
import { JourneyTable, useJourneys } from './journeys/table.tsx';

/** Campaigns and journeys with their status and live counts, refreshed every 10 s while any runs. */
export default function Home() {
  const campaigns = useCampaigns();
  const journeys = useJourneys();
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
        <CampaignTable items={campaigns.data.items} />
      )}
      <h2>Journeys</h2>
      <ErrorBox error={journeys.error} />
      {!journeys.data ? (
        !journeys.error && <Loading what="journeys" />
      ) : journeys.data.items.length === 0 ? (
        <Empty>No journeys yet. Journeys are built through the API for now; their reports open here.</Empty>
      ) : (
        <JourneyTable items={journeys.data.items} />
      )}
    </Page>
  );
}

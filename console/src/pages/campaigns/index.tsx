import { Empty, ErrorBox, Loading, Page } from '../../ui/page.tsx';
import { CampaignTable, useCampaigns } from './table.tsx';

/** Every campaign with its status and counts, newest change first; refreshed while any runs. */
export default function Campaigns() {
  const campaigns = useCampaigns();
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
        <CampaignTable items={campaigns.data.items} />
      )}
    </Page>
  );
}

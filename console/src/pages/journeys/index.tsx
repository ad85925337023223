import { Empty, ErrorBox, Loading, Page } from '../../ui/page.tsx';
import { JourneyTable, useJourneys } from './table.tsx';
import { CREATE_NOTE } from './types.ts';

/** Every journey, newest first, with its counts; refreshed every 10 s while one runs. */
export default function Journeys() {
  const list = useJourneys();
  return (
    <Page title="Journeys">
      <p class="notice">{CREATE_NOTE}</p>
      <ErrorBox error={list.error} />
      {!list.data ? (
        !list.error && <Loading what="journeys" />
      ) : list.data.items.length === 0 ? (
        <Empty>No journeys yet.</Empty>
      ) : (
        <JourneyTable items={list.data.items} />
      )}
    </Page>
  );
}

import { useState } from 'preact/hooks';
import { api, ApiError } from '../../api.ts';
import { FormErrors, TextField } from '../../ui/field.tsx';
import { when } from '../../ui/format.ts';
import { Pager, usePager } from '../../ui/pager.tsx';
import { Empty, ErrorBox, Loading, Page, StatusBadge } from '../../ui/page.tsx';
import { useResource } from '../../ui/resource.ts';
import { lookupQuery } from './lookup.ts';
import type { ContactResource } from './types.ts';

interface ContactPage {
  items: ContactResource[];
  nextCursor?: string;
}

/**
 * Contacts: look one up by email or phone (exact, as the API normalises it), or page through all
 * of them.
 */
export default function Contacts() {
  const [term, setTerm] = useState('');
  const [country, setCountry] = useState('');
  const [found, setFound] = useState<ContactResource[]>();
  const [searching, setSearching] = useState(false);
  const [error, setError] = useState<unknown>();
  const pager = usePager();
  const list = useResource<ContactPage>(found ? undefined : '/v1/contacts', { query: { limit: 50, cursor: pager.cursor } });

  const search = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    if (!term.trim()) {
      setFound(undefined);
      return;
    }
    setSearching(true);
    try {
      const page = await api<ContactPage>('/v1/contacts', { query: lookupQuery(term, country) });
      setFound(page.items);
    } catch (err) {
      setError(err);
      setFound(undefined);
    } finally {
      setSearching(false);
    }
  };
  // The API reports a bad address at `email` or `phone` (or `country`); all belong to the one box.
  const fieldIssues = error instanceof ApiError ? error.issues.map((i) => ({ path: i.path.replace(/^query\./, '') === 'country' ? 'country' : 'term', message: i.message })) : [];

  return (
    <Page title="Contacts">
      <form class="row" role="search" aria-label="Find a contact" onSubmit={(e) => void search(e)}>
        <TextField label="Email or phone" path="term" issues={fieldIssues} value={term} onValue={setTerm} type="search" autocomplete="off" hint="An exact address: jane@example.com, +447400123456, or 07400 123456 with the country." />
        <TextField label="Country (for local numbers)" path="country" issues={fieldIssues} value={country} onValue={setCountry} maxLength={2} placeholder="GB" />
        <div class="field">
          <button type="submit" class="primary" disabled={searching}>
            Search
          </button>
        </div>
      </form>
      <FormErrors error={error instanceof ApiError ? { message: error.message, issues: fieldIssues } : error} claimed={['term', 'country']} />
      {found ? (
        <>
          <p role="status">
            {found.length === 0 ? 'No contact holds that address.' : `Found ${found.length === 1 ? 'one contact' : `${found.length} contacts`}.`}{' '}
            <button
              type="button"
              onClick={() => {
                setFound(undefined);
                setTerm('');
              }}
            >
              Show all contacts
            </button>
          </p>
          {found.length > 0 && <ContactTable contacts={found} />}
        </>
      ) : (
        <>
          <ErrorBox error={list.error} />
          {!list.data ? (
            !list.error && <Loading what="contacts" />
          ) : list.data.items.length === 0 && pager.first ? (
            <Empty>No contacts yet. They arrive through forms, imports and the API.</Empty>
          ) : (
            <>
              <ContactTable contacts={list.data.items} />
              <Pager pager={pager} nextCursor={list.data.nextCursor} />
            </>
          )}
        </>
      )}
    </Page>
  );
}

function ContactTable({ contacts }: { contacts: ContactResource[] }) {
  return (
    <div class="table-wrap" tabIndex={0}>
      <table data-table="contacts">
        <thead>
          <tr>
            <th scope="col">Contact</th>
            <th scope="col">Phone</th>
            <th scope="col">Email consent</th>
            <th scope="col">SMS consent</th>
            <th scope="col">Tags</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {contacts.map((c) => (
            <tr key={c.id} data-contact={c.id}>
              <th scope="row">
                <a href={`/contacts/${c.id}`}>{c.email ?? c.phone ?? c.id}</a>
              </th>
              <td>{c.phone ?? '—'}</td>
              <td>{c.consent.email ? <StatusBadge status={c.consent.email.status} /> : '—'}</td>
              <td>{c.consent.sms ? <StatusBadge status={c.consent.sms.status} /> : '—'}</td>
              <td>{c.tags.join(', ') || '—'}</td>
              <td>{when(c.updatedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

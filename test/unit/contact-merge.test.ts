import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { applyConsents, mergeInput, newContact, type ConsentGrant } from '../../shared/contacts/contact-store.ts';
import type { Channel, Contact, ConsentStatus, TimeZoneSource } from '../../shared/contacts/model.ts';

const CREATED = '2024-01-01T00:00:00.000Z';

function contact(overrides: Partial<Contact> = {}): Contact {
  return { ...newContact('c-1', CREATED), ...overrides };
}

type Grant = ConsentGrant & { record: { at: string } };

function grant(channel: Channel, status: ConsentStatus, at: string, record: Partial<Grant['record']> = {}): Grant {
  return { channel, status, record: { source: 'form', formId: 'form-1', wordingVersion: 'v1', doubleOptIn: status === 'pending' ? 'pending' : 'not_required', at, ...record } };
}

describe('mergeInput', () => {
  test('attributes: only values that differ are written and listed; others are kept', () => {
    // Prepare
    const before = contact({ attributes: { firstName: 'Ada', plan: 'pro', age: 36 } });
    // Act
    const { next, changed } = mergeInput(before, { attributes: { firstName: 'Ada', plan: 'team', vip: true } });
    // Assess
    expect(next.attributes).toEqual({ firstName: 'Ada', plan: 'team', age: 36, vip: true });
    expect(changed).toEqual(['attributes.plan', 'attributes.vip']);
    // The input contact is not touched (the store compares against it).
    expect(before.attributes).toEqual({ firstName: 'Ada', plan: 'pro', age: 36 });
  });

  test('an input identical to the contact changes nothing', () => {
    // Prepare
    const before = contact({ email: 'ada@example.com', phone: '+447400123456', country: 'GB', attributes: { a: 1 }, tags: ['x'], timezone: 'Europe/London', timezoneSource: 'form' });
    // Act
    const { next, changed } = mergeInput(before, { email: 'ada@example.com', phone: '+447400123456', country: 'GB', attributes: { a: 1 }, tags: ['x'], timezone: 'Europe/London', timezoneSource: 'form' });
    // Assess
    expect(changed).toEqual([]);
    expect(next).toEqual(before);
    expect(next).not.toBe(before);
  });

  test('email, phone and country: a new value is listed, an absent one leaves the old value', () => {
    // Prepare
    const before = contact({ email: 'old@example.com', phone: '+447400123456', country: 'GB' });
    // Act
    const emailOnly = mergeInput(before, { email: 'new@example.com' });
    const phoneAndCountry = mergeInput(before, { email: 'old@example.com', phone: '+14155552671', country: 'US' });
    // Assess
    expect(emailOnly.changed).toEqual(['email']);
    expect(emailOnly.next).toMatchObject({ email: 'new@example.com', phone: '+447400123456', country: 'GB' });
    expect(phoneAndCountry.changed).toEqual(['phone', 'country']);
    expect(phoneAndCountry.next).toMatchObject({ email: 'old@example.com', phone: '+14155552671', country: 'US' });
  });

  test('tags: the union, existing order first, new tags appended once; listed only when one is new', () => {
    // Prepare
    const before = contact({ tags: ['newsletter', 'vip'] });
    // Act
    const added = mergeInput(before, { tags: ['vip', 'webinar', 'newsletter', 'trial'] });
    const known = mergeInput(before, { tags: ['vip'] });
    // Assess
    expect(added.next.tags).toEqual(['newsletter', 'vip', 'webinar', 'trial']);
    expect(added.changed).toEqual(['tags']);
    expect(known.next.tags).toEqual(['newsletter', 'vip']);
    expect(known.changed).toEqual([]);
  });

  test('tags (property): never lost, every input tag present, no duplicates for distinct input tags', () => {
    const tag = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
    fc.assert(
      fc.property(fc.uniqueArray(tag), fc.uniqueArray(tag), (existing, incoming) => {
        // Act
        const { next, changed } = mergeInput(contact({ tags: existing }), { tags: incoming });
        // Assess
        expect(next.tags.slice(0, existing.length)).toEqual(existing);
        expect(new Set(next.tags)).toEqual(new Set([...existing, ...incoming]));
        expect(next.tags).toHaveLength(new Set(next.tags).size);
        expect(changed.includes('tags')).toBe(incoming.some((t) => !existing.includes(t)));
      }),
    );
  });

  describe('time zone precedence: explicit > form > phone', () => {
    const sources: TimeZoneSource[] = ['phone', 'form', 'explicit'];
    const rank = (s: TimeZoneSource) => sources.indexOf(s);

    test('a phone guess fills an empty zone but never replaces an explicit or form zone', () => {
      // Prepare
      const empty = contact();
      const told = contact({ timezone: 'America/New_York', timezoneSource: 'explicit' });
      const fromForm = contact({ timezone: 'America/Chicago', timezoneSource: 'form' });
      const guess = { timezone: 'Europe/London', timezoneSource: 'phone' as const };
      // Act
      const filled = mergeInput(empty, guess);
      const keptExplicit = mergeInput(told, guess);
      const keptForm = mergeInput(fromForm, guess);
      // Assess
      expect(filled.next).toMatchObject({ timezone: 'Europe/London', timezoneSource: 'phone' });
      expect(filled.changed).toEqual(['timezone']);
      expect(keptExplicit.next).toMatchObject({ timezone: 'America/New_York', timezoneSource: 'explicit' });
      expect(keptExplicit.changed).toEqual([]);
      expect(keptForm.next).toMatchObject({ timezone: 'America/Chicago', timezoneSource: 'form' });
      expect(keptForm.changed).toEqual([]);
    });

    test('a zone without a source counts as explicit and replaces a form zone', () => {
      // Prepare
      const fromForm = contact({ timezone: 'America/Chicago', timezoneSource: 'form' });
      // Act
      const { next, changed } = mergeInput(fromForm, { timezone: 'Asia/Tokyo' });
      // Assess
      expect(next).toMatchObject({ timezone: 'Asia/Tokyo', timezoneSource: 'explicit' });
      expect(changed).toEqual(['timezone']);
    });

    test('(property) a different zone is taken when its source ranks at least as high; the same zone only upgrades its source', () => {
      const zone = fc.constantFrom('Europe/London', 'Europe/Berlin', 'America/New_York');
      const source = fc.constantFrom(...sources);
      fc.assert(
        fc.property(fc.option(fc.tuple(zone, source), { nil: undefined }), zone, source, (current, incomingZone, incomingSource) => {
          // Prepare
          const before = contact(current ? { timezone: current[0], timezoneSource: current[1] } : {});
          // Act
          const { next, changed } = mergeInput(before, { timezone: incomingZone, timezoneSource: incomingSource });
          // Assess
          const differs = incomingZone !== current?.[0];
          const wins = !current || (differs ? rank(incomingSource) >= rank(current[1]) : rank(incomingSource) > rank(current[1]));
          if (wins) {
            expect(next).toMatchObject({ timezone: incomingZone, timezoneSource: incomingSource });
            expect(changed).toEqual(['timezone']);
          } else {
            expect(next.timezone).toBe(current?.[0]);
            expect(next.timezoneSource).toBe(current?.[1]);
            expect(changed).toEqual([]);
          }
          // Whatever happens, an explicit zone survives any guess.
          if (current?.[1] === 'explicit' && incomingSource !== 'explicit') expect(next.timezone).toBe(current[0]);
        }),
      );
    });
  });
});

describe('applyConsents', () => {
  const T1 = '2024-02-01T10:00:00.000Z';
  const T2 = '2024-03-01T10:00:00.000Z';
  const T3 = '2024-04-01T10:00:00.000Z';

  test('a first grant: one record, one change from undefined, state with confirmedAt and wording', () => {
    // Prepare
    const before = contact();
    // Act
    const { next, changes, records } = applyConsents(before, [grant('email', 'confirmed', T1)], 'c-1');
    // Assess
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ contactId: 'c-1', channel: 'email', action: 'granted', status: 'confirmed', at: T1, formId: 'form-1', doubleOptIn: 'not_required', addressHash: '' });
    expect(records[0]!.sk).toBe(`${T1}#email#${records[0]!.id}`);
    expect(changes).toEqual([{ channel: 'email', from: undefined, to: 'confirmed', record: records[0] }]);
    expect(next.consent.email).toEqual({ status: 'confirmed', updatedAt: T1, source: 'form-1', wordingVersion: 'v1', confirmedAt: T1 });
    expect(before.consent).toEqual({});
  });

  test('a pending (double opt-in) grant never downgrades a confirmed consent: recorded as already_confirmed, no change', () => {
    // Prepare
    const before = contact({ consent: { email: { status: 'confirmed', updatedAt: T1, source: 'form-1', wordingVersion: 'v1', confirmedAt: T1 } } });
    // Act
    const { next, changes, records } = applyConsents(before, [grant('email', 'pending', T2, { wordingVersion: 'v2' })], 'c-1');
    // Assess
    expect(next.consent.email).toMatchObject({ status: 'confirmed', confirmedAt: T1, updatedAt: T2, wordingVersion: 'v2' });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ action: 'granted', status: 'confirmed', doubleOptIn: 'already_confirmed' });
    expect(changes).toEqual([]);
  });

  test('pending → confirmed is the action "confirmed", and confirmedAt is the confirmation time', () => {
    // Prepare
    const before = contact({ consent: { email: { status: 'pending', updatedAt: T1, source: 'form-1', wordingVersion: 'v1' } } });
    // Act
    const { next, changes, records } = applyConsents(before, [grant('email', 'confirmed', T2, { source: 'confirmation', formId: undefined, wordingVersion: undefined, doubleOptIn: 'confirmed' })], 'c-1');
    // Assess
    expect(records[0]).toMatchObject({ action: 'confirmed', status: 'confirmed', doubleOptIn: 'confirmed', source: 'confirmation' });
    expect(changes).toEqual([expect.objectContaining({ channel: 'email', from: 'pending', to: 'confirmed' })]);
    // The wording the person agreed to stays recorded on the state when the confirmation brings none.
    expect(next.consent.email).toEqual({ status: 'confirmed', updatedAt: T2, source: 'confirmation', wordingVersion: 'v1', confirmedAt: T2 });
  });

  test('a repeated confirmed grant keeps the first confirmedAt, writes a record, changes nothing', () => {
    // Prepare
    const before = contact({ consent: { sms: { status: 'confirmed', updatedAt: T1, source: 'form-1', wordingVersion: 'v1', confirmedAt: T1 } } });
    // Act
    const { next, changes, records } = applyConsents(before, [grant('sms', 'confirmed', T2)], 'c-1');
    // Assess
    expect(next.consent.sms).toMatchObject({ status: 'confirmed', confirmedAt: T1, updatedAt: T2 });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ action: 'granted', status: 'confirmed' });
    expect(changes).toEqual([]);
  });

  test('withdrawn: the action "withdrawn", no confirmedAt on the state, a change from confirmed', () => {
    // Prepare
    const before = contact({ consent: { email: { status: 'confirmed', updatedAt: T1, source: 'form-1', confirmedAt: T1 } } });
    // Act
    const { next, changes, records } = applyConsents(before, [grant('email', 'withdrawn', T2, { source: 'unsubscribe', formId: undefined })], 'c-1');
    // Assess
    expect(records[0]).toMatchObject({ action: 'withdrawn', status: 'withdrawn' });
    expect(next.consent.email).toMatchObject({ status: 'withdrawn', source: 'unsubscribe', updatedAt: T2 });
    expect(next.consent.email).not.toHaveProperty('confirmedAt');
    expect(changes).toEqual([expect.objectContaining({ from: 'confirmed', to: 'withdrawn' })]);
  });

  test('an explicit record action wins over the derived one', () => {
    // Prepare / Act
    const { records } = applyConsents(contact(), [grant('sms', 'confirmed', T1, { action: 'confirmed' })], 'c-1');
    // Assess
    expect(records[0]!.action).toBe('confirmed');
  });

  test('several grants: one record each, in order, applied in sequence; changes only on status changes', () => {
    // Prepare
    const before = contact({ consent: { sms: { status: 'confirmed', updatedAt: T1, source: 'api', confirmedAt: T1 } } });
    // Act
    const { next, changes, records } = applyConsents(
      before,
      [grant('email', 'pending', T1), grant('sms', 'confirmed', T2), grant('email', 'confirmed', T3), grant('email', 'pending', T3)],
      'c-1',
    );
    // Assess
    expect(records.map((r) => [r.channel, r.action, r.status])).toEqual([
      ['email', 'granted', 'pending'],
      ['sms', 'granted', 'confirmed'],
      ['email', 'confirmed', 'confirmed'],
      ['email', 'granted', 'confirmed'],
    ]);
    expect(new Set(records.map((r) => r.id)).size).toBe(4);
    expect(changes.map((c) => [c.channel, c.from, c.to])).toEqual([
      ['email', undefined, 'pending'],
      ['email', 'pending', 'confirmed'],
    ]);
    expect(next.consent.email).toMatchObject({ status: 'confirmed', confirmedAt: T3 });
    expect(next.consent.sms).toMatchObject({ status: 'confirmed', confirmedAt: T1 });
  });

  test('(property) invariants over random grant sequences', () => {
    const status = fc.constantFrom<ConsentStatus>('pending', 'confirmed', 'withdrawn');
    const channel = fc.constantFrom<Channel>('email', 'sms');
    const grants = fc.array(fc.tuple(channel, status, fc.integer({ min: 0, max: 1_000_000 })), { maxLength: 12 });
    fc.assert(
      fc.property(grants, grants, (first, second) => {
        // Prepare: state from a first batch, then a second batch applied onto it.
        const toGrants = (list: typeof first) => list.map(([c, s, ms]) => grant(c, s, new Date(Date.parse(T1) + ms).toISOString()));
        const start = applyConsents(contact(), toGrants(first), 'c-1').next;
        // Act
        const { next, changes, records } = applyConsents(start, toGrants(second), 'c-1');
        // Assess
        expect(records).toHaveLength(second.length);
        // The model: per channel, the status and the time it was first confirmed (since the last change).
        const model = new Map<Channel, { status: ConsentStatus; confirmedAt?: string }>(
          (['email', 'sms'] as const).flatMap((c) => (start.consent[c] ? [[c, { status: start.consent[c].status, confirmedAt: start.consent[c].confirmedAt }]] : [])),
        );
        let changeIndex = 0;
        second.forEach(([c, s], i) => {
          const from = model.get(c)?.status;
          const record = records[i]!;
          expect(record.channel).toBe(c);
          // Pending never downgrades confirmed; anything else takes the asked status.
          const to = s === 'pending' && from === 'confirmed' ? 'confirmed' : s;
          expect(record.status).toBe(to);
          if (from !== to) expect(changes[changeIndex++]).toMatchObject({ channel: c, from, to, record });
          model.set(c, { status: to, confirmedAt: to !== 'confirmed' ? undefined : from === 'confirmed' ? model.get(c)?.confirmedAt : record.at });
        });
        expect(changes).toHaveLength(changeIndex);
        for (const c of ['email', 'sms'] as const) {
          expect(next.consent[c]?.status).toBe(model.get(c)?.status);
          expect(next.consent[c]?.confirmedAt).toBe(model.get(c)?.confirmedAt);
        }
      }),
    );
  });
});

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';
import { sesEvent } from '../helpers/ses.ts';

// A deployment that suppresses after 2 soft bounces within 1 day (default: 3 within 30 days).
let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime({ environment: { SOFT_BOUNCE_LIMIT: '2', SOFT_BOUNCE_WINDOW_DAYS: '1' } });
});
afterAll(async () => {
  await t?.stop();
});

type View = { suppressed: { email: { reasons: string[] } | null } };

describe('soft-bounce policy set per deployment', () => {
  test('only soft bounces inside the window count, and the configured number suppresses', async () => {
    const id = (await t.api<{ contact: { id: string } }>('POST', '/v1/contacts', { body: { email: 'flaky@example.com', consent: { email: { status: 'confirmed', wordingVersion: 'r1' } } } })).body.contact.id;
    const soft = (n: number, ageMinutes: number) =>
      sesEvent('Bounce', 'Email Bounced', { messageId: `m-soft-${n}`, to: 'flaky@example.com', tags: { touchloop_contact: id } }, { bounce: { bounceType: 'Transient', bounceSubType: 'MailboxFull', timestamp: new Date(Date.now() - ageMinutes * 60_000).toISOString() } });
    // Two soft bounces three days ago: outside the 1-day window.
    t.runtime.bus.putEvents([soft(1, 3 * 24 * 60), soft(2, 3 * 24 * 60 + 5)]);
    await t.runtime.idle();
    // One recent: one inside the window, under the limit of 2.
    t.runtime.bus.putEvents([soft(3, 10)]);
    await t.runtime.idle();
    expect((await t.api<View>('GET', `/v1/contacts/${id}`)).body.suppressed.email).toBeNull();
    t.runtime.bus.putEvents([soft(4, 1)]);
    await t.runtime.idle();
    expect((await t.api<View>('GET', `/v1/contacts/${id}`)).body.suppressed.email?.reasons).toEqual(['bounced']);
  });
});

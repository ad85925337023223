import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SendBatch } from '../../events/campaigns.ts';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import { CampaignStore, type CounterDeltas } from '../../shared/campaigns/campaign-store.ts';
import { TokenBucket } from '../../shared/campaigns/decisions.ts';
import { dispatchDue, requeuePaused, type DispatchDeps } from '../../shared/campaigns/dispatch.ts';
import { UNSUBSCRIBE_TOKEN_PURPOSE } from '../../shared/links/unsubscribe-link.ts';
import { CampaignInput, type Campaign, type Channel } from '../../shared/campaigns/model.ts';
import { ProviderPermanentError, ProviderThrottledError, type MessageProvider, type OutgoingMessage } from '../../shared/campaigns/providers/provider.ts';
import { dueShardOf, SendStore, sendIdOf, sendPk, type SendRecord } from '../../shared/campaigns/send-store.ts';
import { sendBatch, SendInFlightError, type SenderDeps } from '../../shared/campaigns/sender.ts';
import { emailLookupKey, newContact, phoneLookupKey } from '../../shared/contacts/contact-store.ts';
import type { Contact } from '../../shared/contacts/model.ts';
import { contactsFrom, type ContactsConfig } from '../../shared/contacts/wiring.ts';
import { hourOf } from '../../shared/activity/activity.ts';
import type { Template } from '../../shared/templates/template.ts';
import { TemplateStore } from '../../shared/templates/template-store.ts';
import { verifyToken } from '../../shared/tokens.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

const PUBLIC_BASE_URL = 'https://touchloop.test';
const SENDER_ADDRESS = 'Touchloop Test, 1 Test Street, Testville';
const RUN_ID = '1';
const COST = { email: 0.25, sms: 0.5 } as const;
const QUEUE_URLS = { audienceScan: 'https://sqs.test/audience-scan', email: 'https://sqs.test/email-sends', sms: 'https://sqs.test/sms-sends' };
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

let t: TestRuntime;
let campaigns: CampaignStore;
let sends: SendStore;
let templates: TemplateStore;
let contacts: ReturnType<typeof contactsFrom>;
let emailTemplate: Template;
let smsTemplate: Template;

beforeAll(async () => {
  t = await startTestRuntime();
  const tables = t.runtime.tableNames;
  campaigns = new CampaignStore(tables.campaigns!);
  sends = new SendStore(tables.sends!);
  templates = new TemplateStore(tables.templates!);
  contacts = contactsFrom({ tables: tables as ContactsConfig['tables'], eventBus: process.env.EVENT_BUS_NAME! });
  emailTemplate = await templates.create({
    channel: 'email',
    name: 'Spring sale',
    subject: 'Hi {{default contact.firstName "there"}}',
    html: '<p>Hi {{contact.firstName}}</p>',
    text: 'Hi {{contact.firstName}}',
  });
  smsTemplate = await templates.create({ channel: 'sms', name: 'Spring sale SMS', body: 'Hi {{default contact.firstName "there"}}, 20% off today' });
});
afterAll(async () => {
  await t?.stop();
});

/**
 * A provider that records every call and fails the calls it was told to (1-based, counted
 * across the provider's lifetime), like a provider API that errors on one request.
 */
class FakeProvider implements MessageProvider {
  readonly name = 'fake-provider';
  readonly calls: OutgoingMessage[] = [];
  /** contactId → the provider message id returned for it. */
  readonly accepted = new Map<string, string[]>();
  private readonly failures = new Map<number, Error>();

  constructor(
    readonly channel: Channel = 'email',
    private readonly latencyMs = 0,
  ) {}

  failOnCall(n: number, error: Error): this {
    this.failures.set(n, error);
    return this;
  }

  async send(message: OutgoingMessage): Promise<{ providerMessageId: string }> {
    this.calls.push(message);
    const n = this.calls.length;
    if (this.latencyMs) await delay(this.latencyMs);
    const failure = this.failures.get(n);
    if (failure) throw failure;
    const contactId = message.tags.touchloop_contact ?? message.to;
    const providerMessageId = `fake-${n}-${contactId}`;
    this.accepted.set(contactId, [...(this.accepted.get(contactId) ?? []), providerMessageId]);
    return { providerMessageId };
  }

  callsTo(address: string | undefined): number {
    return this.calls.filter((m) => m.to === address).length;
  }

  messageTo(address: string | undefined): OutgoingMessage {
    const message = this.calls.find((m) => m.to === address);
    if (!message) throw new Error(`no message to ${address}`);
    return message;
  }
}

const senderDeps = (provider: MessageProvider): SenderDeps => ({
  campaigns,
  sends,
  contacts: contacts.store,
  contactService: contacts.service,
  timeline: contacts.timeline,
  templates,
  provider,
  bucket: new TokenBucket(10_000),
  publicBaseUrl: PUBLIC_BASE_URL,
  senderAddress: SENDER_ADDRESS,
  // One recipient at a time, so "the 3rd recipient" is well defined; the parallel case has its own test.
  parallelism: 1,
});

interface Scenario {
  campaign: Campaign;
  contacts: Contact[];
  batch: SendBatch;
}

interface ScenarioOptions {
  channel?: Channel;
  count?: number;
  /** Audience scan segments of the run: 0 lets the run complete once nothing is queued or deferred. */
  fanoutTotal?: number;
  limits?: Record<string, unknown>;
  firstNames?: Array<string | undefined>;
  /** Adjusts a contact before it is written. */
  contact?: (contact: Contact, index: number) => void;
  /** Adjusts a send record before it is written (status, lease, due time). */
  record?: (record: SendRecord, index: number) => SendRecord;
}

let phoneSeq = 1000;

/**
 * A running campaign with contacts (written straight to the tables, with their lookup items)
 * and their send records as a launch leaves them; the campaign counters moved as planPage's
 * deltas would have moved them.
 */
async function scenario(options: ScenarioOptions = {}): Promise<Scenario> {
  const channel = options.channel ?? 'email';
  const count = options.count ?? 3;
  const template = channel === 'email' ? emailTemplate : smsTemplate;
  const input = CampaignInput.parse({
    name: `Spring sale ${randomUUID().slice(0, 8)}`,
    segmentId: randomUUID(),
    channels: [channel],
    variants: [{ name: 'A', weight: 1, templates: { [channel]: template.id } }],
    holdoutPercent: 0,
    schedule: { type: 'immediate' },
    costPerMessage: COST,
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const created = await campaigns.create(input);
  await campaigns.transition(created.id, 'launch', ['draft'], 'scheduled');
  const started = await campaigns.startRun(created.id, RUN_ID, { segmentVersion: 1, fanoutTotal: options.fanoutTotal ?? 1 });
  expect(started?.status).toBe('running');

  const at = new Date().toISOString();
  const people: Contact[] = [];
  const deltas: CounterDeltas = { targeted: 0, queued: 0, deferred: 0 };
  for (let i = 0; i < count; i++) {
    const contact = newContact(randomUUID(), at);
    const firstName = options.firstNames ? options.firstNames[i] : `Person${i}`;
    if (firstName !== undefined) contact.attributes = { firstName };
    if (channel === 'email') {
      contact.email = `${contact.id}@example.com`;
      contact.consent = { email: { status: 'confirmed', updatedAt: at, source: 'test', confirmedAt: at } };
    } else {
      contact.phone = `+1415555${String(phoneSeq++).padStart(4, '0')}`;
      contact.consent = { sms: { status: 'confirmed', updatedAt: at, source: 'test', confirmedAt: at } };
    }
    options.contact?.(contact, i);
    await documentClient.send(new PutCommand({ TableName: t.runtime.tableNames.contacts!, Item: contact }));
    for (const key of [contact.email ? emailLookupKey(contact.email) : undefined, contact.phone ? phoneLookupKey(contact.phone) : undefined]) {
      if (key) await documentClient.send(new PutCommand({ TableName: t.runtime.tableNames.contactLookups!, Item: { key, contactId: contact.id, createdAt: at } }));
    }
    const base: SendRecord = {
      pk: sendPk(created.id, RUN_ID),
      sk: contact.id,
      sendId: sendIdOf(created.id, RUN_ID, contact.id),
      campaignId: created.id,
      runId: RUN_ID,
      contactId: contact.id,
      status: 'queued',
      createdAt: at,
      attempts: 0,
      channel,
      variant: 'A',
      propensity: 0.05,
    };
    const record = options.record ? options.record(base, i) : base;
    expect(await sends.create(record)).toBe(true);
    deltas.targeted!++;
    if (record.status === 'deferred') deltas.deferred!++;
    else deltas.queued!++; // queued, or claimed (sending) after having been queued
    people.push(contact);
  }
  await campaigns.addCounters(created.id, { ...deltas, committed: count * COST[channel] });
  const campaign = (await campaigns.get(created.id))!;
  return {
    campaign,
    contacts: people,
    batch: { campaignId: campaign.id, runId: RUN_ID, channel, recipients: people.map((c) => ({ contactId: c.id, variant: 'A' })) },
  };
}

const recordOf = async (s: Scenario, i: number): Promise<SendRecord> => (await sends.get(s.campaign.id, RUN_ID, s.contacts[i]!.id))!;
const statusesOf = async (s: Scenario): Promise<string[]> => Promise.all(s.contacts.map(async (_, i) => (await recordOf(s, i)).status));
const countersOf = async (s: Scenario): Promise<Campaign> => (await campaigns.get(s.campaign.id))!;
const sentEntries = async (contactId: string) => (await contacts.timeline.all(contactId)).filter((i) => i.type === 'sent');
const acceptedCounts = (provider: FakeProvider, s: Scenario): number[] => s.contacts.map((c) => provider.accepted.get(c.id)?.length ?? 0);

describe('sendBatch: the exactly-once send state machine against DynamoDB Local', () => {
  test('happy path: each recipient gets one personalised, compliant email; records, counters and timelines follow', async () => {
    // Prepare
    const s = await scenario({ count: 3, fanoutTotal: 0, firstNames: ['Ada', 'Grace', undefined] });
    const provider = new FakeProvider();

    // Act
    const outcome = await sendBatch(s.batch, senderDeps(provider));

    // Assess
    expect(outcome).toEqual({ sent: 3, skipped: 0, failed: 0, alreadyDone: 0 });
    expect(s.contacts.map((c) => provider.callsTo(c.email))).toEqual([1, 1, 1]);
    for (const [i, contact] of s.contacts.entries()) {
      const record = await recordOf(s, i);
      const [providerMessageId] = provider.accepted.get(contact.id)!;
      expect(record).toMatchObject({ status: 'sent', providerMessageId, cost: COST.email, attempts: 1 });
      expect(record.leaseUntil).toBeUndefined();
      expect(Date.parse(record.sentAt!)).not.toBeNaN();

      const entries = await sentEntries(contact.id);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        id: record.sendId,
        sendId: record.sendId,
        campaignId: s.campaign.id,
        channel: 'email',
        occurredAt: record.sentAt,
        data: { variant: 'A', runId: RUN_ID, providerMessageId },
      });
    }
    const campaign = await countersOf(s);
    expect(campaign.counters).toMatchObject({ targeted: 3, queued: 0, sent: 3, failed: 0 });
    expect(campaign.spent).toBeCloseTo(3 * COST.email, 10);
    // Audience fully scanned (fanout 0/0) and nothing queued: the one-time run completes.
    expect(campaign.status).toBe('completed');

    // The rendered message: personalised, unsubscribe link in both parts and in the RFC 8058 headers.
    const ada = provider.messageTo(s.contacts[0]!.email);
    expect(ada.subject).toBe('Hi Ada');
    expect(ada.html).toMatch(/^<p>Hi Ada<\/p>/);
    expect(ada.text).toMatch(/^Hi Ada/);
    expect(provider.messageTo(s.contacts[2]!.email).subject).toBe('Hi there');
    const unsubscribe = /^<(.+)>$/.exec(ada.headers?.['List-Unsubscribe'] ?? '')?.[1];
    expect(unsubscribe?.startsWith(`${PUBLIC_BASE_URL}/u/`)).toBe(true);
    expect(ada.headers?.['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    expect(ada.html).toContain(unsubscribe);
    expect(ada.text).toContain(`Unsubscribe: ${unsubscribe}`);
    expect(ada.text).toContain('1 Test Street');
    const token = unsubscribe!.slice(`${PUBLIC_BASE_URL}/u/`.length);
    const adaRecord = await recordOf(s, 0);
    expect(await verifyToken(UNSUBSCRIBE_TOKEN_PURPOSE, token)).toMatchObject({ s: adaRecord.sendId, c: s.contacts[0]!.id, ch: 'email' });
    expect(ada.tags).toEqual({ touchloop_campaign: s.campaign.id, touchloop_run: RUN_ID, touchloop_contact: s.contacts[0]!.id, touchloop_channel: 'email' });
  });

  test('the same batch delivered twice: one message per recipient, one timeline entry, counters moved once', async () => {
    // Prepare
    const s = await scenario({ count: 3 });
    const provider = new FakeProvider();
    const deps = senderDeps(provider);
    await sendBatch(s.batch, deps);

    // Act
    const redelivered = await sendBatch(s.batch, deps);

    // Assess
    expect(redelivered).toEqual({ sent: 0, skipped: 0, failed: 0, alreadyDone: 3 });
    expect(provider.calls).toHaveLength(3);
    expect(s.contacts.map((c) => provider.callsTo(c.email))).toEqual([1, 1, 1]);
    for (const contact of s.contacts) {
      expect(await sentEntries(contact.id)).toHaveLength(1);
      // The frequency-cap counters moved once too.
      const [stored] = await contacts.timeline.activity.attach([(await contacts.store.get(contact.id, true))!], { consistent: true });
      const sentCount = Object.entries(stored?.activity ?? {})
        .filter(([key]) => key.startsWith('sent|email|'))
        .reduce((sum, [, n]) => sum + n, 0);
      expect(sentCount).toBe(1);
    }
    expect((await countersOf(s)).counters).toMatchObject({ queued: 0, sent: 3 });
  });

  test('two workers delivering the same batch at once: still one message per recipient (a loser backs off with SendInFlightError)', async () => {
    // Prepare
    const s = await scenario({ count: 5 });
    const provider = new FakeProvider('email', 5);

    // Act
    const results = await Promise.allSettled([sendBatch(s.batch, senderDeps(provider)), sendBatch(s.batch, senderDeps(provider))]);
    const rejections = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    // The queue redelivers whatever a backed-off worker left.
    await sendBatch(s.batch, senderDeps(provider));

    // Assess
    for (const rejection of rejections) expect(rejection.reason).toBeInstanceOf(SendInFlightError);
    expect(s.contacts.map((c) => provider.callsTo(c.email))).toEqual([1, 1, 1, 1, 1]);
    expect(await statusesOf(s)).toEqual(['sent', 'sent', 'sent', 'sent', 'sent']);
    expect((await countersOf(s)).counters).toMatchObject({ queued: 0, sent: 5 });
  });

  test.each([
    ['a transient error', () => new Error('socket hang up'), Error],
    ['throttling', () => new ProviderThrottledError('Maximum sending rate exceeded'), ProviderThrottledError],
  ])('%s on the 3rd recipient: the batch fails, the 3rd is released, a redelivery sends 3.. once and never 1–2 again', async (_name, makeError, errorClass) => {
    // Prepare
    const s = await scenario({ count: 5 });
    const error = makeError();
    const provider = new FakeProvider().failOnCall(3, error);
    const deps = senderDeps(provider);

    // Act
    const first = await sendBatch(s.batch, deps).catch((e: unknown) => e);

    // Assess
    expect(first).toBe(error);
    expect(first).toBeInstanceOf(errorClass);
    expect(await statusesOf(s)).toEqual(['sent', 'sent', 'queued', 'queued', 'queued']);
    const third = await recordOf(s, 2);
    expect(third.leaseUntil).toBeUndefined();
    expect(third.attempts).toBe(1);
    for (const i of [3, 4]) {
      const untouched = await recordOf(s, i);
      expect(untouched.attempts).toBe(0);
      expect(untouched.leaseUntil).toBeUndefined();
    }
    // Counters moved for what was done before the error.
    expect((await countersOf(s)).counters).toMatchObject({ queued: 3, sent: 2 });

    // Act: the queue redelivers the message.
    const second = await sendBatch(s.batch, deps);

    // Assess
    expect(second).toEqual({ sent: 3, skipped: 0, failed: 0, alreadyDone: 2 });
    expect(s.contacts.map((c) => provider.callsTo(c.email))).toEqual([1, 1, 2, 1, 1]);
    expect(acceptedCounts(provider, s)).toEqual([1, 1, 1, 1, 1]);
    expect(await statusesOf(s)).toEqual(['sent', 'sent', 'sent', 'sent', 'sent']);
    expect((await recordOf(s, 2)).attempts).toBe(2);
    expect((await countersOf(s)).counters).toMatchObject({ queued: 0, sent: 5, failed: 0 });
  });

  test('recipients handled in parallel: a transient failure fails the message, and redeliveries send everyone exactly once', async () => {
    // Prepare
    const s = await scenario({ count: 20 });
    const provider = new FakeProvider().failOnCall(5, new Error('connection reset'));
    const deps = { ...senderDeps(provider), parallelism: 8 };

    // Act
    const first = await sendBatch(s.batch, deps).catch((e: unknown) => e);
    const second = await sendBatch(s.batch, deps);
    const third = await sendBatch(s.batch, deps);

    // Assess
    expect((first as Error).message).toBe('connection reset');
    expect(second.sent + second.alreadyDone).toBe(20);
    expect(third).toEqual({ sent: 0, skipped: 0, failed: 0, alreadyDone: 20 });
    expect(acceptedCounts(provider, s)).toEqual(Array(20).fill(1));
    expect(await statusesOf(s)).toEqual(Array(20).fill('sent'));
    expect((await countersOf(s)).counters).toMatchObject({ queued: 0, sent: 20 });
  });

  test('a failure before the provider call (a read error) leaves the send queued; the redelivery sends it', async () => {
    // Prepare
    const s = await scenario({ count: 2 });
    const provider = new FakeProvider();
    const deps = senderDeps(provider);
    const realGetMany = deps.contacts.getMany.bind(deps.contacts);
    let failures = 1;
    deps.contacts = Object.assign(Object.create(Object.getPrototypeOf(deps.contacts) as object) as typeof deps.contacts, deps.contacts, {
      getMany: async (ids: string[]) => {
        if (ids.includes(s.contacts[1]!.id) && failures-- > 0) throw Object.assign(new Error('throughput exceeded'), { name: 'ProvisionedThroughputExceededException' });
        return realGetMany(ids);
      },
    });

    // Act
    const first = await sendBatch(s.batch, deps).catch((e: unknown) => e);
    const statusesAfterFailure = await statusesOf(s);
    const second = await sendBatch(s.batch, deps);

    // Assess
    expect((first as Error).name).toBe('ProvisionedThroughputExceededException');
    expect(statusesAfterFailure).toEqual(['sent', 'queued']);
    expect(second).toEqual({ sent: 1, skipped: 0, failed: 0, alreadyDone: 1 });
    expect(acceptedCounts(provider, s)).toEqual([1, 1]);
  });

  test('a permanent rejection is recorded as failed with its reason and never retried on redelivery', async () => {
    // Prepare
    const s = await scenario({ count: 3 });
    const provider = new FakeProvider().failOnCall(2, new ProviderPermanentError('Message content rejected', 'rejected'));
    const deps = senderDeps(provider);

    // Act
    const first = await sendBatch(s.batch, deps);
    const redelivered = await sendBatch(s.batch, deps);

    // Assess
    expect(first).toEqual({ sent: 2, skipped: 0, failed: 1, alreadyDone: 0 });
    expect(redelivered).toEqual({ sent: 0, skipped: 0, failed: 0, alreadyDone: 3 });
    expect(provider.calls).toHaveLength(3);
    const failed = await recordOf(s, 1);
    expect(failed).toMatchObject({ status: 'failed', reason: 'rejected', error: 'Message content rejected' });
    expect(failed.leaseUntil).toBeUndefined();
    expect(await statusesOf(s)).toEqual(['sent', 'failed', 'sent']);
    expect(await sentEntries(s.contacts[1]!.id)).toHaveLength(0);
    expect((await countersOf(s)).counters).toMatchObject({ queued: 0, sent: 2, failed: 1 });
  });

  test('an SMS opt-out reported by the provider fails the send and suppresses the phone', async () => {
    // Prepare
    const s = await scenario({ channel: 'sms', count: 2, firstNames: ['Ada', 'Grace'] });
    const [optedOut, other] = s.contacts as [Contact, Contact];
    const provider = new FakeProvider('sms').failOnCall(1, new ProviderPermanentError('The destination phone number is opted out', 'opted_out'));
    const deps = senderDeps(provider);

    // Act
    const outcome = await sendBatch(s.batch, deps);
    const redelivered = await sendBatch(s.batch, deps);

    // Assess
    expect(outcome).toEqual({ sent: 1, skipped: 0, failed: 1, alreadyDone: 0 });
    expect(redelivered.alreadyDone).toBe(2);
    expect(provider.calls).toHaveLength(2);
    expect(await recordOf(s, 0)).toMatchObject({ status: 'failed', reason: 'opted_out' });
    expect((await contacts.store.get(optedOut.id, true))?.suppressed?.sms).toEqual(['opted_out']);
    const suppression = await contacts.suppressions.get('sms', optedOut.phone!);
    expect(suppression?.reasons.opted_out).toMatchObject({ source: 'fake-provider' });
    // The other recipient is unaffected and got the marketing SMS with its STOP line.
    expect((await contacts.store.get(other.id, true))?.suppressed?.sms).toBeUndefined();
    expect(await contacts.suppressions.get('sms', other.phone!)).toBeUndefined();
    expect(provider.messageTo(other.phone).body).toBe('Hi Grace, 20% off today\nReply STOP to opt out');
    expect(await recordOf(s, 1)).toMatchObject({ status: 'sent', cost: COST.sms, segments: 1 });
    expect((await countersOf(s)).counters).toMatchObject({ queued: 0, sent: 1, failed: 1 });
  });

  test('send-time re-check: consent withdrawn, suppressed or capped after launch → skipped with the reason, no message', async () => {
    // Prepare: the third contact already had a message within the day; the campaign caps at one a day.
    const s = await scenario({
      count: 4,
      limits: { frequencyCap: { perDay: 1 } },
      contact: (contact, i) => {
        if (i === 2) contact.activity = { [`sent|email|${hourOf(Date.now() - HOUR_MS)}`]: 1 };
      },
    });
    const [withdrawn, suppressed, capped, eligible] = s.contacts as [Contact, Contact, Contact, Contact];
    await contacts.store.changeConsent(withdrawn.id, { channel: 'email', status: 'withdrawn', record: { source: 'unsubscribe' } });
    await contacts.service.suppress('email', suppressed.email!, 'unsubscribed', { at: new Date().toISOString(), source: 'test' });
    expect((await contacts.store.get(suppressed.id, true))?.suppressed?.email).toEqual(['unsubscribed']);
    const provider = new FakeProvider();

    // Act
    const outcome = await sendBatch(s.batch, senderDeps(provider));

    // Assess
    expect(outcome).toEqual({ sent: 1, skipped: 3, failed: 0, alreadyDone: 0 });
    expect(provider.calls.map((m) => m.to)).toEqual([eligible.email]);
    expect(provider.callsTo(capped.email)).toBe(0);
    expect(await recordOf(s, 0)).toMatchObject({ status: 'skipped', reason: 'consent_withdrawn' });
    expect(await recordOf(s, 1)).toMatchObject({ status: 'skipped', reason: 'suppressed' });
    expect(await recordOf(s, 2)).toMatchObject({ status: 'skipped', reason: 'frequency_cap' });
    expect((await recordOf(s, 0)).leaseUntil).toBeUndefined();
    expect(await recordOf(s, 3)).toMatchObject({ status: 'sent' });
    const { counters } = await countersOf(s);
    expect(counters).toMatchObject({ queued: 0, sent: 1 });
    expect(counters.suppressed).toEqual({ consent_withdrawn: 1, suppressed: 1, frequency_cap: 1 });
  });

  test('a send another worker holds (active lease) → SendInFlightError, provider not called, nothing else touched', async () => {
    // Prepare
    const lease = new Date(Date.now() + 60_000).toISOString();
    const s = await scenario({ count: 2, record: (r, i) => (i === 0 ? { ...r, status: 'sending', leaseUntil: lease, attempts: 1 } : r) });
    const provider = new FakeProvider();

    // Act
    const error = await sendBatch(s.batch, senderDeps(provider)).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(SendInFlightError);
    expect(provider.calls).toHaveLength(0);
    expect(await recordOf(s, 0)).toMatchObject({ status: 'sending', leaseUntil: lease, attempts: 1 });
    expect(await recordOf(s, 1)).toMatchObject({ status: 'queued', attempts: 0 });
    expect((await countersOf(s)).counters).toMatchObject({ queued: 2, sent: 0, failed: 0 });
  });

  test('a send whose lease expired (the worker died after calling the provider) → failed outcome_unknown, never sent again', async () => {
    // Prepare
    const expired = new Date(Date.now() - 60_000).toISOString();
    const s = await scenario({ count: 1, record: (r) => ({ ...r, status: 'sending', leaseUntil: expired, attempts: 1 }) });
    const provider = new FakeProvider();
    const deps = senderDeps(provider);

    // Act
    const outcome = await sendBatch(s.batch, deps);
    const redelivered = await sendBatch(s.batch, deps);

    // Assess
    expect(outcome).toEqual({ sent: 0, skipped: 0, failed: 1, alreadyDone: 0 });
    expect(redelivered).toEqual({ sent: 0, skipped: 0, failed: 0, alreadyDone: 1 });
    expect(provider.calls).toHaveLength(0);
    const record = await recordOf(s, 0);
    expect(record).toMatchObject({ status: 'failed', reason: 'outcome_unknown' });
    expect(record.leaseUntil).toBeUndefined();
    expect((await countersOf(s)).counters).toMatchObject({ queued: 0, failed: 1 });
  });

  test('paused campaign: queued → paused without a message; after resume requeuePaused puts them back on the queue', async () => {
    // Prepare
    const s = await scenario({ count: 3 });
    await campaigns.transition(s.campaign.id, 'pause', ['running'], 'paused');
    const provider = new FakeProvider();
    const enqueued: Array<{ url: string; bodies: Array<{ body: string; delaySeconds?: number }> }> = [];
    const send: NonNullable<DispatchDeps['send']> = async (url, bodies) => {
      enqueued.push({ url, bodies });
      return 1;
    };
    const dispatchDeps: DispatchDeps = { campaigns, sends, queueUrls: QUEUE_URLS, send };

    // Act
    const outcome = await sendBatch(s.batch, senderDeps(provider));

    // Assess
    expect(outcome).toEqual({ sent: 0, skipped: 0, failed: 0, alreadyDone: 0 });
    expect(provider.calls).toHaveLength(0);
    expect(await statusesOf(s)).toEqual(['paused', 'paused', 'paused']);
    expect((await countersOf(s)).counters).toMatchObject({ queued: 0, deferred: 3, sent: 0 });
    // Still paused: nothing is requeued.
    expect(await requeuePaused(s.campaign.id, dispatchDeps)).toBe(0);
    expect(enqueued).toHaveLength(0);

    // Act: resume.
    await campaigns.transition(s.campaign.id, 'resume', ['paused'], 'running');
    const requeued = await requeuePaused(s.campaign.id, dispatchDeps);

    // Assess
    expect(requeued).toBe(3);
    expect(await statusesOf(s)).toEqual(['queued', 'queued', 'queued']);
    expect((await countersOf(s)).counters).toMatchObject({ queued: 3, deferred: 0 });
    expect(enqueued).toHaveLength(1);
    expect(enqueued[0]!.url).toBe(QUEUE_URLS.email);
    expect(enqueued[0]!.bodies).toHaveLength(1);
    expect(enqueued[0]!.bodies[0]!.delaySeconds).toBe(0);
    const body = SendBatch.parse(JSON.parse(enqueued[0]!.bodies[0]!.body));
    expect(body).toMatchObject({ campaignId: s.campaign.id, runId: RUN_ID, channel: 'email' });
    expect([...body.recipients].sort((a, b) => a.contactId.localeCompare(b.contactId))).toEqual(
      [...s.batch.recipients].sort((a, b) => a.contactId.localeCompare(b.contactId)),
    );

    // Act: the requeued message is consumed.
    const resumed = await sendBatch(body, senderDeps(provider));

    // Assess
    expect(resumed.sent).toBe(3);
    expect(s.contacts.map((c) => provider.callsTo(c.email))).toEqual([1, 1, 1]);
    expect((await countersOf(s)).counters).toMatchObject({ queued: 0, deferred: 0, sent: 3 });
  });

  test('cancelled campaign: queued → cancelled, no message, not even on redelivery', async () => {
    // Prepare
    const s = await scenario({ count: 2 });
    await campaigns.transition(s.campaign.id, 'cancel', ['running'], 'cancelled');
    const provider = new FakeProvider();
    const deps = senderDeps(provider);

    // Act
    await sendBatch(s.batch, deps);
    await sendBatch(s.batch, deps);

    // Assess
    expect(provider.calls).toHaveLength(0);
    expect(await statusesOf(s)).toEqual(['cancelled', 'cancelled']);
    expect((await countersOf(s)).counters).toMatchObject({ queued: 0, cancelled: 2, sent: 0 });
  });
});

describe('dispatchDue: deferred sends that fall due', () => {
  test('due sends of a running campaign are queued and enqueued, a cancelled campaign’s are cancelled, the rest stay deferred', async () => {
    // Prepare. The dispatcher runs at `now`, a month ahead: the local runtime's own every-minute
    // dispatcher (real clock) never finds these records due, so it cannot race this test.
    const now = new Date(Date.now() + 30 * DAY_MS);
    const pastDue = new Date(now.getTime() - HOUR_MS).toISOString();
    const notYetDue = new Date(now.getTime() + 2 * DAY_MS).toISOString();
    const deferred = (dueAt: string) => (r: SendRecord): SendRecord => ({ ...r, status: 'deferred', dueAt, dueShard: dueShardOf(r.contactId) });
    const running = await scenario({ count: 3, record: (r, i) => deferred(i < 2 ? pastDue : notYetDue)(r) });
    const cancelled = await scenario({ count: 1, record: deferred(pastDue) });
    await campaigns.transition(cancelled.campaign.id, 'cancel', ['running'], 'cancelled');
    const paused = await scenario({ count: 1, record: deferred(pastDue) });
    await campaigns.transition(paused.campaign.id, 'pause', ['running'], 'paused');
    const enqueued: Array<{ url: string; bodies: Array<{ body: string; delaySeconds?: number }> }> = [];
    const send: NonNullable<DispatchDeps['send']> = async (url, bodies) => {
      enqueued.push({ url, bodies });
      return 1;
    };
    const deps: DispatchDeps = { campaigns, sends, queueUrls: QUEUE_URLS, send };

    // Act
    const totals = await dispatchDue(deps, now);

    // Assess
    expect(totals).toEqual({ queued: 2, cancelled: 1 });
    expect(await statusesOf(running)).toEqual(['queued', 'queued', 'deferred']);
    expect((await recordOf(running, 0)).dueShard).toBeUndefined();
    expect((await recordOf(running, 1)).dueShard).toBeUndefined();
    expect(await recordOf(running, 2)).toMatchObject({ dueAt: notYetDue, dueShard: dueShardOf(running.contacts[2]!.id) });
    expect(await recordOf(cancelled, 0)).toMatchObject({ status: 'cancelled' });
    expect((await recordOf(cancelled, 0)).dueShard).toBeUndefined();
    expect(await recordOf(paused, 0)).toMatchObject({ status: 'deferred', dueShard: dueShardOf(paused.contacts[0]!.id) });

    // One enqueue per shard page and campaign: the two due recipients may sit in different shards.
    expect(new Set(enqueued.map((e) => e.url))).toEqual(new Set([QUEUE_URLS.email]));
    const bodies = enqueued.flatMap((e) => e.bodies);
    expect(bodies.map((b) => b.delaySeconds)).toEqual(bodies.map(() => 0));
    const batches = bodies.map((b) => SendBatch.parse(JSON.parse(b.body)));
    for (const batch of batches) expect(batch).toMatchObject({ campaignId: running.campaign.id, runId: RUN_ID, channel: 'email' });
    expect(batches.flatMap((b) => b.recipients.map((r) => r.contactId)).sort()).toEqual([running.contacts[0]!.id, running.contacts[1]!.id].sort());

    expect((await countersOf(running)).counters).toMatchObject({ queued: 2, deferred: 1 });
    expect((await countersOf(cancelled)).counters).toMatchObject({ deferred: 0, cancelled: 1 });
    expect((await countersOf(paused)).counters).toMatchObject({ deferred: 1, queued: 0 });

    // Act: the next minute's run finds nothing new.
    const enqueuedBefore = enqueued.length;
    const again = await dispatchDue(deps, now);

    // Assess
    expect(again).toEqual({ queued: 0, cancelled: 0 });
    expect(enqueued).toHaveLength(enqueuedBefore);
  });
});

/**
 * The Pinpoint import kinds against DynamoDB Local through the local runtime: the fixtures
 * (written from Pinpoint's documented formats) import with the right consent and suppressions,
 * one contact per user, unsupported channels reported; templates render the fields Pinpoint
 * would have; a replayed chunk, a chunk cut short by a crash and a chunk delivered twice at once
 * each leave the data and the outcomes as one clean run does.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import { useProjectSecret } from '../../shared/aws/secrets.ts';
import { normalizeEmail } from '../../shared/contacts/email.ts';
import type { Contact } from '../../shared/contacts/model.ts';
import { contactsFrom, type ContactsConfig } from '../../shared/contacts/wiring.ts';
import type { ImportChunk, ImportRowOutcome } from '../../shared/imports/chunk.ts';
import { PINPOINT_OPT_OUT_EVIDENCE, type PinpointEndpoint } from '../../shared/imports/pinpoint/endpoints.ts';
import { pinpointProcessor, segmentTag, stableId, type PinpointImportDeps } from '../../shared/imports/pinpoint/processors.ts';
import { ImportRowLedger } from '../../shared/imports/pinpoint/row-ledger.ts';
import { SegmentStore } from '../../shared/segments/segment-store.ts';
import { contactContext, renderEmail, renderSms } from '../../shared/templates/render.ts';
import type { EmailTemplate, SmsTemplate, Template } from '../../shared/templates/template.ts';
import { TemplateStore } from '../../shared/templates/template-store.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, '../fixtures/pinpoint', name), 'utf8');

let t: TestRuntime;
let deps: PinpointImportDeps;
let contacts: ReturnType<typeof contactsFrom>;

beforeAll(async () => {
  t = await startTestRuntime();
  useProjectSecret(process.env.TOUCHLOOP_SECRET_ARN!);
  const tables = t.runtime.tableNames;
  contacts = contactsFrom({ tables: tables as ContactsConfig['tables'], eventBus: process.env.EVENT_BUS_NAME! });
  deps = {
    contacts: { service: contacts.service, store: contacts.store, suppressions: contacts.suppressions, publish: contacts.publish },
    segments: new SegmentStore({ segments: tables.segments!, segmentStats: tables.segmentStats! }),
    templates: new TemplateStore(tables.templates!),
    ledger: new ImportRowLedger(tables.idempotency!),
  };
});
afterAll(async () => {
  await t?.stop();
});

const chunkOf = (kind: ImportChunk['kind'], jobId: string, text: string, extra: Partial<ImportChunk> = {}): ImportChunk => ({
  jobId,
  kind,
  format: kind === 'pinpoint-segment' ? 'csv' : 'ndjson',
  index: 0,
  text,
  firstLine: 1,
  actor: 'marketer@example.com',
  ...extra,
});

async function scanTable(name: string): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documentClient.send(new ScanCommand({ TableName: t.runtime.tableNames[name]!, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Every table, each sorted, once the pipeline's queues are idle: what a replay must leave unchanged. */
async function snapshot(): Promise<string> {
  await t.runtime.idle();
  const out: Record<string, string[]> = {};
  for (const name of Object.keys(t.runtime.tableNames)) out[name] = (await scanTable(name)).map((item) => JSON.stringify(item, Object.keys(item).sort())).sort();
  return JSON.stringify(out);
}

const statuses = (outcomes: ImportRowOutcome[]) => Object.fromEntries(outcomes.map((o) => [o.line, o.status]));

describe('pinpoint-endpoints', () => {
  let first: ImportRowOutcome[];

  beforeAll(async () => {
    first = await pinpointProcessor('pinpoint-endpoints', deps)(chunkOf('pinpoint-endpoints', 'job-endpoints', fixture('endpoints.ndjson')));
  });

  test('one outcome per line: a contact per user across its lines, unsupported channels failed with a reason', async () => {
    expect(statuses(first)).toEqual({ 1: 'created', 2: 'created', 3: 'failed', 4: 'created', 5: 'created', 6: 'failed', 7: 'failed', 8: 'created', 9: 'created', 10: 'failed' });
    const byLine = new Map(first.map((o) => [o.line, o]));
    expect(byLine.get(1)!.id).toBe(byLine.get(4)!.id); // Ana's email and SMS endpoints: one contact
    expect(byLine.get(7)!.id).toBe(byLine.get(8)!.id); // Cai's older email: reported on Cai's contact
    expect(byLine.get(3)!.issues).toEqual([{ path: 'ChannelType', message: expect.stringContaining('APNS') }]);
    expect(byLine.get(6)!.issues).toEqual([{ path: 'ChannelType', message: expect.stringContaining('VOICE') }]);
    expect(byLine.get(10)!.issues).toEqual([{ path: 'ChannelType', message: expect.stringContaining('GCM') }]);
    const people = (await scanTable('contacts')) as unknown as Contact[];
    expect(people.map((c) => c.attributes.pinpointUserId ?? c.phone).sort()).toEqual(['+14155552671', 'user-ana', 'user-ben', 'user-cai', 'user-dee']);
  });

  test('OptOut ALL: consent withdrawn (source import, Pinpoint named) and the address suppressed; no marketing consent invented', async () => {
    const ana = (await contacts.store.findByEmail('ana.silva@example.com'))!;
    expect(ana).toMatchObject({
      phone: '+351912345678',
      country: 'PT',
      timezone: 'Europe/Lisbon',
      attributes: { FirstName: 'Ana', LoyaltyTier: 'gold', LifetimeOrders: '42', pinpointUserId: 'user-ana' },
      suppressed: { sms: ['opted_out'] },
    });
    expect(ana.consent.email).toBeUndefined();
    expect(ana.consent.sms).toMatchObject({ status: 'withdrawn', source: 'import', wordingVersion: PINPOINT_OPT_OUT_EVIDENCE });
    const smsSuppression = await contacts.suppressions.get('sms', '+351912345678');
    expect(smsSuppression?.reasons.opted_out).toMatchObject({ source: 'import', note: expect.stringContaining('Amazon Pinpoint endpoint OptOut=ALL') });
    expect(await contacts.suppressions.get('email', 'ana.silva@example.com')).toBeUndefined();

    const ben = (await contacts.store.findByEmail('ben@example.org'))!;
    expect(ben.consent.email?.status).toBe('withdrawn');
    expect(ben.suppressed?.email).toEqual(['opted_out']);
    const records = await contacts.consents.list(ben.id);
    expect(records).toEqual([expect.objectContaining({ channel: 'email', status: 'withdrawn', source: 'import', actor: 'marketer@example.com', capturedAt: '2025-03-15T08:30:00.000Z' })]);

    for (const email of ['cai@example.co.uk', 'dee@example.com']) expect((await contacts.store.findByEmail(email))!.consent).toEqual({});
    expect(await contacts.store.findByEmail('cai@old.example.net')).toBeUndefined();
  });

  test('replaying the chunk returns the same outcomes and writes nothing', async () => {
    const before = await snapshot();
    const again = await pinpointProcessor('pinpoint-endpoints', deps)(chunkOf('pinpoint-endpoints', 'job-endpoints', fixture('endpoints.ndjson')));
    expect(again).toEqual(first);
    expect(await snapshot()).toBe(before);
  });

  test('the same file as a new job: every contact unchanged, nothing written but the new job ledger', async () => {
    const contactsBefore = JSON.stringify(await scanTable('contacts'));
    const consentsBefore = (await scanTable('consents')).length;
    const rerun = await pinpointProcessor('pinpoint-endpoints', deps)(chunkOf('pinpoint-endpoints', 'job-endpoints-2', fixture('endpoints.ndjson')));
    expect(statuses(rerun)).toEqual({ 1: 'unchanged', 2: 'unchanged', 3: 'failed', 4: 'unchanged', 5: 'unchanged', 6: 'failed', 7: 'failed', 8: 'unchanged', 9: 'unchanged', 10: 'failed' });
    expect(JSON.stringify(await scanTable('contacts'))).toBe(contactsBefore);
    expect((await scanTable('consents')).length).toBe(consentsBefore);
  });

  test('consent option: ACTIVE endpoints confirmed with the wording version, but never over a withdrawal Touchloop recorded', async () => {
    // Cai unsubscribed in Touchloop after the first import.
    const cai = (await contacts.store.findByEmail('cai@example.co.uk'))!;
    await contacts.service.suppress('email', 'cai@example.co.uk', 'unsubscribed', { at: new Date().toISOString(), source: 'unsubscribe' });
    const outcomes = await pinpointProcessor('pinpoint-endpoints', deps, { consent: { consent: 'confirmed', wordingVersion: 'pinpoint-2025' } })(
      chunkOf('pinpoint-endpoints', 'job-endpoints-consent', fixture('endpoints.ndjson')),
    );
    const ana = (await contacts.store.findByEmail('ana.silva@example.com'))!;
    expect(ana.consent.email).toMatchObject({ status: 'confirmed', source: 'import', wordingVersion: 'pinpoint-2025' });
    expect(ana.consent.sms?.status).toBe('withdrawn');
    expect((await contacts.store.findByEmail('dee@example.com'))!.consent.email).toBeUndefined(); // INACTIVE
    expect((await contacts.store.get(cai.id, true))!.consent.email).toBeUndefined();
    expect((await contacts.suppressions.get('email', 'cai@example.co.uk'))?.reasons.unsubscribed).toBeDefined();
    expect(outcomes.find((o) => o.line === 8)!.issues).toEqual([{ path: 'OptOut', message: expect.stringContaining('consent was withdrawn in Touchloop') }]);
  });

  test('a chunk whose first attempt crashed after writing reports what that attempt would have: created, not unchanged', async () => {
    // The same people under other addresses, so this job creates them afresh.
    const text = fixture('endpoints.ndjson').replaceAll('@', '@crash.').replace('+351912345678', '+351912345670').replace('+14155552671', '+14155552672');
    const clean = await pinpointProcessor('pinpoint-endpoints', deps)(
      chunkOf('pinpoint-endpoints', 'job-clean', text.replaceAll('@crash.', '@clean.').replace('+351912345670', '+351912345671').replace('+14155552672', '+14155552673')),
    );
    class CrashingLedger extends ImportRowLedger {
      override settle(): Promise<void> {
        return Promise.reject(new Error('worker crashed'));
      }
    }
    const crashing = { ...deps, ledger: new CrashingLedger(t.runtime.tableNames.idempotency!) };
    await expect(pinpointProcessor('pinpoint-endpoints', crashing)(chunkOf('pinpoint-endpoints', 'job-crash', text))).rejects.toThrow('worker crashed');
    const replay = await pinpointProcessor('pinpoint-endpoints', deps)(chunkOf('pinpoint-endpoints', 'job-crash', text));
    expect(statuses(replay)).toEqual(statuses(clean));
    expect(statuses(replay)[1]).toBe('created');
    const ids = (await scanTable('contacts')).filter((c) => String(c.email ?? '').includes('@crash.') || c.phone === '+14155552672');
    expect(ids).toHaveLength(5);
  });

  test('the same chunk delivered to two workers at once: one contact per user, one suppression, the same contact ids', async () => {
    const text = fixture('endpoints.ndjson').replaceAll('@', '@twice.').replace('+351912345678', '+351912345672').replace('+14155552671', '+14155552674');
    const run = () => pinpointProcessor('pinpoint-endpoints', deps)(chunkOf('pinpoint-endpoints', 'job-twice', text));
    const [a, b] = await Promise.all([run(), run()]);
    expect(a.map((o) => [o.line, o.id])).toEqual(b.map((o) => [o.line, o.id]));
    const people = (await scanTable('contacts')).filter((c) => String(c.email ?? '').includes('@twice.') || c.phone === '+14155552674');
    expect(people).toHaveLength(5);
    const ana = (await contacts.store.findByEmail('ana.silva@twice.example.com'))!;
    expect(ana.consent.sms?.status).toBe('withdrawn');
    expect(ana.suppressed?.sms).toEqual(['opted_out']);
    expect(await contacts.suppressions.get('sms', '+351912345672')).toMatchObject({ reasons: { opted_out: expect.objectContaining({ source: 'import' }) } });
    // Both workers may append the same evidence (the contact import appends a repeated grant rather than contend for the contact): never another status.
    const records = await contacts.consents.list(ana.id);
    expect(records.length).toBeGreaterThanOrEqual(1);
    for (const record of records) expect(record).toMatchObject({ channel: 'sms', status: 'withdrawn', wordingVersion: PINPOINT_OPT_OUT_EVIDENCE });
  });
});

describe('pinpoint-endpoints after an erasure', () => {
  test('an old export does not bring an erased person back, even with the consent option', async () => {
    const dee = (await contacts.store.findByEmail('dee@example.com'))!;
    const erased = await t.api('DELETE', `/v1/contacts/${dee.id}`);
    expect(erased.status, erased.text).toBeLessThan(300);
    const deeLine = fixture('endpoints.ndjson').split('\n')[8]!.replace('"INACTIVE"', '"ACTIVE"');
    const count = (await scanTable('contacts')).length;
    const outcomes = await pinpointProcessor('pinpoint-endpoints', deps, { consent: { consent: 'confirmed', wordingVersion: 'pinpoint-2025' } })(
      chunkOf('pinpoint-endpoints', 'job-after-erasure', deeLine, { firstLine: 9 }),
    );
    expect(outcomes).toEqual([
      {
        line: 9,
        status: 'failed',
        issues: [
          { path: 'Address', message: expect.stringContaining('asked to be erased') },
          { path: 'OptOut', message: expect.stringContaining('its person asked to be erased') },
        ],
      },
    ]);
    expect(await contacts.store.findByEmail('dee@example.com')).toBeUndefined();
    expect((await scanTable('contacts')).length).toBe(count);
  });
});

describe('pinpoint-segment', () => {
  const [header, ...rows] = fixture('segment.csv').trim().split('\n');
  const segmentChunk = (jobId: string) => chunkOf('pinpoint-segment', jobId, rows.join('\n'), { header, firstLine: 2 });

  test('contacts upserted and tagged, one static segment on the tag, opt-outs suppressed, push rows reported', async () => {
    const outcomes = await pinpointProcessor('pinpoint-segment', deps, { segmentName: 'Spring VIPs' })(segmentChunk('job-segment'));
    expect(statuses(outcomes)).toEqual({ 2: 'created', 3: 'created', 4: 'created', 5: 'failed', 6: 'created' });
    expect(outcomes[0]!.id).toBe(outcomes[1]!.id);
    const fay = (await contacts.store.findByEmail('fay@example.com'))!;
    expect(fay).toMatchObject({ phone: '+12125550143', tags: ['pinpoint:Spring VIPs'], attributes: { FirstName: 'Fay', LoyaltyTier: 'gold', Store: 'Brooklyn' }, timezone: 'America/New_York' });
    const gus = (await contacts.store.findByEmail('gus@example.com'))!;
    expect(gus.suppressed?.email).toEqual(['opted_out']);
    expect((await contacts.store.findByEmail('hal@example.com'))!.tags).toEqual(['pinpoint:Spring VIPs']);

    const segment = (await deps.segments.latest(stableId(`pinpoint-segment:${segmentTag('Spring VIPs')}`)))!;
    expect(segment).toMatchObject({ name: 'Spring VIPs', version: 1, rule: { field: 'tags', op: 'contains', value: 'pinpoint:Spring VIPs' }, createdBy: 'marketer@example.com' });
    const preview = await t.api<{ count: number }>('POST', `/v1/segments/${segment.id}/preview`);
    expect(preview.status, preview.text).toBe(200);
    expect(preview.body.count).toBe(3);
  });

  test('a second chunk, a replay and a second job make no second segment; a replay returns the same outcomes', async () => {
    const before = (await scanTable('segments')).length;
    const replay = await pinpointProcessor('pinpoint-segment', deps, { segmentName: 'Spring VIPs' })(segmentChunk('job-segment'));
    expect(statuses(replay)).toEqual({ 2: 'created', 3: 'created', 4: 'created', 5: 'failed', 6: 'created' });
    const second = await pinpointProcessor('pinpoint-segment', deps, { segmentName: 'Spring VIPs' })(segmentChunk('job-segment-2'));
    expect(statuses(second)).toEqual({ 2: 'unchanged', 3: 'unchanged', 4: 'unchanged', 5: 'failed', 6: 'unchanged' });
    expect((await scanTable('segments')).length).toBe(before);
  });

  test('a segment deleted in Touchloop comes back as its next version when the file is imported again', async () => {
    const id = stableId(`pinpoint-segment:${segmentTag('Spring VIPs')}`);
    const deleted = await t.api('DELETE', `/v1/segments/${id}`);
    expect(deleted.status, deleted.text).toBeLessThan(300);
    expect(await deps.segments.latest(id)).toBeUndefined();
    await pinpointProcessor('pinpoint-segment', deps, { segmentName: 'Spring VIPs' })(segmentChunk('job-segment-3'));
    expect(await deps.segments.latest(id)).toMatchObject({ version: 3, rule: { field: 'tags', op: 'contains', value: 'pinpoint:Spring VIPs' } });
  });

  test('a header with a column Pinpoint does not know fails every row and writes no contact', async () => {
    const count = (await scanTable('contacts')).length;
    const outcomes = await pinpointProcessor('pinpoint-segment', deps, { segmentName: 'Broken' })(
      chunkOf('pinpoint-segment', 'job-segment-bad', 'EMAIL,ivy@example.com,x', { header: 'ChannelType,Address,Favourite', firstLine: 2 }),
    );
    expect(outcomes).toEqual([{ line: 2, status: 'failed', issues: [{ path: 'Favourite', message: expect.stringContaining('is not a column') }] }]);
    expect((await scanTable('contacts')).length).toBe(count);
  });
});

describe('pinpoint-templates', () => {
  let outcomes: ImportRowOutcome[];
  beforeAll(async () => {
    outcomes = await pinpointProcessor('pinpoint-templates', deps)(chunkOf('pinpoint-templates', 'job-templates', fixture('templates.ndjson')));
  });

  test('each template created once; the same file again creates nothing new; a replay returns the same outcomes', async () => {
    expect(statuses(outcomes)).toEqual({ 1: 'created', 2: 'created', 3: 'created' });
    const again = await pinpointProcessor('pinpoint-templates', deps)(chunkOf('pinpoint-templates', 'job-templates-2', fixture('templates.ndjson')));
    expect(statuses(again)).toEqual({ 1: 'unchanged', 2: 'unchanged', 3: 'unchanged' });
    expect(again.map((o) => o.id)).toEqual(outcomes.map((o) => o.id));
    expect(await pinpointProcessor('pinpoint-templates', deps)(chunkOf('pinpoint-templates', 'job-templates', fixture('templates.ndjson')))).toEqual(outcomes);
    expect((await scanTable('templates')).map((item) => item.name).sort()).toEqual(['OrderReminder', 'SpringSale', 'Welcome']);
  });

  test('a line with a placeholder Touchloop cannot fill is failed with the reason and creates no template', async () => {
    const count = (await scanTable('templates')).length;
    const bad = JSON.stringify({ TemplateName: 'Geo', TemplateType: 'SMS', Body: 'Hi from {{Location.Country}}' });
    const [outcome] = await pinpointProcessor('pinpoint-templates', deps)(chunkOf('pinpoint-templates', 'job-templates-bad', bad));
    expect(outcome).toEqual({ line: 1, status: 'failed', issues: [{ path: 'body', message: expect.stringContaining('{{Location.Country}} has no Touchloop equivalent') }] });
    expect((await scanTable('templates')).length).toBe(count);
  });

  /**
   * What Pinpoint renders for an endpoint, written independently of the mapping: each
   * `{{Variable}}` is looked up on the endpoint (attribute lists joined by ", "), else its
   * DefaultSubstitutions value, else nothing. Touchloop normalises email addresses (lower case),
   * so {{Address}} is compared normalised.
   */
  function pinpointRender(source: string, endpoint: PinpointEndpoint, defaults: Record<string, string>): string {
    return source.replace(/\{\{\s*([A-Za-z.]+)\s*\}\}/g, (_, variable: string) => {
      const lookup: Record<string, string | undefined> = { Address: endpoint.ChannelType === 'EMAIL' ? normalizeEmail(endpoint.Address!) : endpoint.Address, 'User.UserId': endpoint.User?.UserId, 'Location.City': endpoint.Location?.City };
      const [, map, name] = /^(User\.UserAttributes|Attributes)\.(.+)$/.exec(variable) ?? [];
      const values = map === 'Attributes' ? endpoint.Attributes?.[name!] : map ? endpoint.User?.UserAttributes?.[name!] : undefined;
      const value = values ? values.join(', ') : lookup[variable];
      return value === undefined || value === '' ? (defaults[variable] ?? '') : value;
    });
  }

  const endpointAt = (line: number) => JSON.parse(fixture('endpoints.ndjson').split('\n')[line - 1]!) as PinpointEndpoint;
  const pinpointTemplate = (line: number) => JSON.parse(fixture('templates.ndjson').split('\n')[line - 1]!) as Record<string, string>;

  test('a mapped template renders the same fields for a contact as Pinpoint would for the equivalent endpoint', async () => {
    const [spring, reminder] = (await Promise.all(outcomes.slice(0, 2).map((o) => deps.templates.get(o.id!)))) as Template[];
    const ana = (await contacts.store.findByEmail('ana.silva@example.com'))!;
    const anaEndpoint = endpointAt(1);
    const springSource = pinpointTemplate(1);
    const springDefaults = JSON.parse(springSource.DefaultSubstitutions!) as Record<string, string>;
    const email = renderEmail(spring as EmailTemplate & Template, { contact: contactContext(ana) }, { marketing: false });
    expect(email.subject).toBe(pinpointRender(springSource.Subject!, anaEndpoint, springDefaults));
    expect(email.html).toBe(pinpointRender(springSource.HtmlPart!, anaEndpoint, springDefaults));
    expect(email.text).toBe(pinpointRender(springSource.TextPart!, anaEndpoint, springDefaults));
    expect(email.text).toContain('Hi Ana,\nAs a gold member you get 20% off in Lisboa.');

    const reminderSource = pinpointTemplate(2);
    const reminderDefaults = JSON.parse(reminderSource.DefaultSubstitutions!) as Record<string, string>;
    for (const [email, line] of [['cai@example.co.uk', 8]] as const) {
      const contact = (await contacts.store.findByEmail(email))!;
      const sms = renderSms(reminder as SmsTemplate & Template, { contact: contactContext(contact) }, { marketing: false });
      expect(sms.body).toBe(pinpointRender(reminderSource.Body!, endpointAt(line), reminderDefaults));
      expect(sms.body).toBe('Cai: rugby gear is back. Member user-cai.');
    }
    // The endpoint without a user or attributes: Pinpoint's defaults, the same in Touchloop.
    const guest = (await contacts.store.findByPhone('+14155552671'))!;
    const guestSms = renderSms(reminder as SmsTemplate & Template, { contact: contactContext(guest) }, { marketing: false });
    expect(guestSms.body).toBe(pinpointRender(reminderSource.Body!, endpointAt(5), reminderDefaults));
    expect(guestSms.body).toBe('Hi: outdoor gear is back. Member .');
  });
});

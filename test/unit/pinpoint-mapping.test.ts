import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  attributeNameFor,
  csvCells,
  endpointFromCsv,
  foldGroup,
  groupEndpoints,
  parseEndpointLine,
  pinpointEndpointKey,
  pinpointSegmentRowKey,
  PINPOINT_OPT_OUT_EVIDENCE,
  segmentHeaderProblems,
  type FoldedGroup,
  type PinpointEndpoint,
} from '../../shared/imports/pinpoint/endpoints.ts';
import { parsePinpointImportOptions, PinpointOptionsError, stableId } from '../../shared/imports/pinpoint/processors.ts';
import { mapPinpointTemplate, mapTemplatePart } from '../../shared/imports/pinpoint/templates.ts';

const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, '../fixtures/pinpoint', name), 'utf8');

/** The fixture's endpoints, parsed afresh for each test (no shared mutable state). */
function endpointLines(): Array<{ line: number; endpoint: PinpointEndpoint }> {
  return fixture('endpoints.ndjson')
    .split('\n')
    .map((text, index) => ({ text, line: index + 1 }))
    .filter(({ text }) => text.trim() !== '')
    .map(({ text, line }) => {
      const parsed = parseEndpointLine(line, text);
      if ('issues' in parsed) throw new Error(`fixture line ${line}: ${JSON.stringify(parsed.issues)}`);
      return parsed;
    });
}

function foldedFixture(options: Parameters<typeof foldGroup>[1] = { consent: { consent: 'none' } }): Map<string, FoldedGroup> {
  return new Map(groupEndpoints(endpointLines()).map((group) => [group.key, foldGroup(group, options)]));
}

describe('Pinpoint endpoints → contact records', () => {
  test('one record per user across lines that are not adjacent: email from EMAIL, phone from SMS, attributes as text', () => {
    const ana = foldedFixture().get('user:user-ana')!;
    expect(ana.record).toMatchObject({
      email: 'Ana.Silva@Example.com',
      phone: '+351912345678',
      country: 'PT',
      timezone: 'Europe/Lisbon',
      attributes: {
        FirstName: 'Ana',
        LoyaltyTier: 'gold',
        // A number-looking value stays text, as Pinpoint stores and compares it.
        LifetimeOrders: '42',
        Interests: 'cycling, coffee',
        SmsKeyword: 'JOIN',
        city: 'Lisboa',
        postalCode: '1100-148',
        region: 'Lisboa',
        locale: 'pt_PT',
        pinpointUserId: 'user-ana',
      },
    });
    expect(ana.roles).toEqual([
      { line: 1, role: { kind: 'used' } },
      { line: 3, role: { kind: 'skipped', issues: [{ path: 'ChannelType', message: expect.stringContaining('APNS endpoints are not imported') }] } },
      { line: 4, role: { kind: 'used' } },
    ]);
  });

  test('OptOut ALL → that channel withdrawn with Pinpoint named in the evidence, and the address to suppress; no consent is invented by default', () => {
    const ana = foldedFixture().get('user:user-ana')!;
    expect(ana.record!.consent).toEqual({ sms: { status: 'withdrawn', wordingVersion: PINPOINT_OPT_OUT_EVIDENCE, capturedAt: '2025-04-02T18:45:00.000Z' } });
    expect(ana.optOuts).toEqual([{ line: 4, channel: 'sms', address: '+351912345678', at: '2025-04-02T18:45:00.000Z' }]);
    const ben = foldedFixture().get('user:user-ben')!;
    expect(ben.record!.consent).toEqual({ email: { status: 'withdrawn', wordingVersion: PINPOINT_OPT_OUT_EVIDENCE, capturedAt: '2025-03-15T08:30:00.000Z' } });
  });

  test('the consent option confirms ACTIVE, not opted-out endpoints only: OptOut ALL stays withdrawn, INACTIVE gets nothing', () => {
    const folded = foldedFixture({ consent: { consent: 'confirmed', wordingVersion: 'pinpoint-2025' } });
    expect(folded.get('user:user-ana')!.record!.consent).toEqual({
      email: { status: 'confirmed', wordingVersion: 'pinpoint-2025', capturedAt: '2025-06-01T10:00:00.000Z' },
      sms: { status: 'withdrawn', wordingVersion: PINPOINT_OPT_OUT_EVIDENCE, capturedAt: '2025-04-02T18:45:00.000Z' },
    });
    expect(folded.get('user:user-dee')!.record).toMatchObject({ email: 'dee@example.com' });
    expect(folded.get('user:user-dee')!.record!.consent).toBeUndefined();
  });

  test('two emails for one user: the ACTIVE one is kept, the other reported with why; VOICE reported, never dropped', () => {
    const cai = foldedFixture().get('user:user-cai')!;
    expect(cai.record).toMatchObject({ email: 'cai@example.co.uk', attributes: { FirstName: 'Cai', LoyaltyTier: 'silver', Interests: 'rugby', city: 'Cardiff' } });
    expect(cai.record!.phone).toBeUndefined();
    const roles = Object.fromEntries(cai.roles.map((r) => [r.line, r.role]));
    expect(roles[6]).toEqual({ kind: 'skipped', issues: [{ path: 'ChannelType', message: expect.stringContaining('VOICE') }] });
    expect(roles[7]).toEqual({ kind: 'partial', issues: [{ path: 'Address', message: expect.stringContaining('line 8 was preferred') }] });
    expect(roles[8]).toEqual({ kind: 'used' });
  });

  test('an endpoint without a user is a contact of its own; a user with only push endpoints makes no record', () => {
    const folded = foldedFixture();
    expect(folded.get('line:5')!.record).toMatchObject({ phone: '+14155552671', country: 'US', attributes: { Source: 'checkout', city: 'San Francisco' } });
    expect(folded.get('line:5')!.record!.attributes.pinpointUserId).toBeUndefined();
    const eve = folded.get('user:user-eve')!;
    expect(eve.record).toBeUndefined();
    expect(eve.roles[0]!.role.kind).toBe('skipped');
  });

  test('user attributes win over endpoint attributes of the same name; the most recent endpoint wins among endpoints', () => {
    const lines = [
      { line: 1, endpoint: { ChannelType: 'EMAIL', Address: 'a@example.com', EffectiveDate: '2024-01-01T00:00:00Z', Attributes: { Plan: ['old'], Tier: ['endpoint'] }, User: { UserId: 'u', UserAttributes: { Tier: ['user'] } } } },
      { line: 2, endpoint: { ChannelType: 'SMS', Address: '+14155550100', EffectiveDate: '2025-01-01T00:00:00Z', Attributes: { Plan: ['new'] }, User: { UserId: 'u' } } },
    ] as Array<{ line: number; endpoint: PinpointEndpoint }>;
    const [group] = groupEndpoints(lines);
    expect(foldGroup(group!, { consent: { consent: 'none' } }).record!.attributes).toEqual({ Tier: 'user', Plan: 'new', pinpointUserId: 'u' });
  });

  test('a country that is no ISO alpha-2 code or a zone that is no IANA name is reported, not imported', () => {
    const [group] = groupEndpoints([{ line: 1, endpoint: { ChannelType: 'EMAIL', Address: 'a@example.com', Location: { Country: 'USA' }, Demographic: { Timezone: 'Pacific Standard' } } as PinpointEndpoint }]);
    const folded = foldGroup(group!, { consent: { consent: 'none' } });
    expect(folded.record!.country).toBeUndefined();
    expect(folded.record!.timezone).toBeUndefined();
    expect(folded.notes.map((n) => n.path)).toEqual(['Location.Country', 'Demographic.Timezone']);
  });

  test('bad lines: not JSON, unknown channel type, an attribute that is not a list', () => {
    expect(parseEndpointLine(3, '{"ChannelType": "EMAIL", ')).toEqual({ line: 3, issues: [{ path: '', message: 'is not valid JSON' }] });
    expect(parseEndpointLine(4, '{"ChannelType": "FAX", "Address": "x"}')).toMatchObject({ issues: [{ path: 'ChannelType' }] });
    expect(parseEndpointLine(5, '{"ChannelType": "EMAIL", "Address": "a@example.com", "User": {"UserAttributes": {"x": "y"}}}')).toMatchObject({ issues: [{ path: 'User.UserAttributes.x' }] });
  });

  test('partition keys: every line of a user has the same key; lines without a user have none', () => {
    const keys = fixture('endpoints.ndjson').trim().split('\n').map(pinpointEndpointKey);
    expect(keys).toEqual(['user:user-ana', 'user:user-ben', 'user:user-ana', 'user:user-ana', undefined, 'user:user-cai', 'user:user-cai', 'user:user-cai', 'user:user-dee', 'user:user-eve']);
    expect(pinpointEndpointKey('not json')).toBeUndefined();
    const [header, ...rows] = fixture('segment.csv').trim().split('\n');
    expect(rows.map((row) => pinpointSegmentRowKey(header!, row))).toEqual(['user:user-fay', 'user:user-fay', 'user:user-gus', 'user:user-gus', undefined]);
  });

  test('attribute names Touchloop cannot hold are rewritten the same way for contacts and templates', () => {
    expect(attributeNameFor('favourite-colour')).toBe('favourite_colour');
    expect(attributeNameFor('Shoe Size')).toBe('Shoe_Size');
    expect(attributeNameFor('1stPurchase')).toBeUndefined();
    expect(mapTemplatePart('{{Attributes.favourite-colour}}', 'body', 'sms', {}).source).toBe('{{contact.favourite_colour}}');
  });
});

describe('Pinpoint segment CSV', () => {
  test('rows become endpoints with nested fields and single-value attribute lists', () => {
    const [headerLine, firstRow] = fixture('segment.csv').split('\n');
    const header = csvCells(headerLine!);
    expect(segmentHeaderProblems(header)).toEqual([]);
    const parsed = endpointFromCsv(2, header, csvCells(firstRow!));
    expect(parsed).toMatchObject({
      line: 2,
      endpoint: {
        ChannelType: 'EMAIL',
        Address: 'fay@example.com',
        Location: { Country: 'US' },
        Demographic: { Timezone: 'America/New_York' },
        User: { UserId: 'user-fay', UserAttributes: { FirstName: ['Fay'], LoyaltyTier: ['gold'] } },
        Attributes: { Store: ['Brooklyn'] },
        OptOut: 'NONE',
      },
    });
  });

  test('a row naming only a user is reported: Touchloop finds people by address', () => {
    const header = ['ChannelType', 'Address', 'User.UserId'];
    expect(endpointFromCsv(4, header, ['', '', 'user-zed'])).toEqual({ line: 4, issues: [{ path: 'Address', message: expect.stringContaining('names a user but no address') }] });
    expect(endpointFromCsv(5, header, ['EMAIL', 'zed@example.com', 'user-zed'])).toMatchObject({ endpoint: { User: { UserId: 'user-zed' } } });
  });

  test('a header without ChannelType/Address or with a column Pinpoint does not know is reported for every row', () => {
    expect(segmentHeaderProblems(['Address', 'Email'])).toEqual([
      { path: 'Email', message: expect.stringContaining('is not a column of a Pinpoint segment file') },
      { path: 'ChannelType', message: expect.stringContaining('needs the ChannelType and Address columns') },
    ]);
  });
});

describe('Pinpoint templates → Touchloop templates', () => {
  const templateLines = () => fixture('templates.ndjson').trim().split('\n').map((line) => JSON.parse(line) as unknown);

  test('email response: placeholders mapped, DefaultSubstitutions become default helpers, Address is the email', () => {
    const mapped = mapPinpointTemplate(templateLines()[0]);
    if ('issues' in mapped) throw new Error(JSON.stringify(mapped.issues));
    expect(mapped.template).toEqual({
      channel: 'email',
      name: 'SpringSale',
      subject: '{{default contact.FirstName "there"}}, your spring offer',
      html: '<html><body><p>Hi {{default contact.FirstName "there"}},</p><p>As a {{contact.LoyaltyTier}} member you get 20% off in {{contact.city}}.</p><p>We write to {{contact.email}}.</p></body></html>',
      text: 'Hi {{default contact.FirstName "there"}},\nAs a {{contact.LoyaltyTier}} member you get 20% off in {{contact.city}}.\nWe write to {{contact.email}}.',
    });
  });

  test('SMS response: Attributes and User.UserId mapped; Address would be the phone', () => {
    const mapped = mapPinpointTemplate(templateLines()[1]);
    if ('issues' in mapped) throw new Error(JSON.stringify(mapped.issues));
    expect(mapped.template).toEqual({
      channel: 'sms',
      name: 'OrderReminder',
      body: '{{default contact.FirstName "Hi"}}: {{default contact.Interests "outdoor"}} gear is back. Member {{contact.pinpointUserId}}.',
    });
    expect(mapTemplatePart('{{Address}}', 'body', 'sms', {}).source).toBe('{{contact.phone}}');
  });

  test('a create request with a block helper: the argument becomes a default subexpression; the missing HTML part is made from the text', () => {
    const mapped = mapPinpointTemplate(templateLines()[2]);
    if ('issues' in mapped) throw new Error(JSON.stringify(mapped.issues));
    expect(mapped.template).toMatchObject({ channel: 'email', name: 'Welcome', subject: 'Welcome, {{default contact.FirstName "friend"}}' });
    expect((mapped.template as { text: string }).text).toBe(
      'Welcome aboard, {{default contact.FirstName "friend"}}!\n{{#if contact.LoyaltyTier}}Your tier: {{contact.LoyaltyTier}}{{/if}}',
    );
    expect((mapped.template as { html: string }).html).toContain('<br>');
    expect(mapped.notes).toEqual([{ path: 'HtmlPart', message: expect.stringContaining('made from the text part') }]);
    const withDefault = mapTemplatePart('{{#if User.UserAttributes.Tier}}x{{/if}}', 'body', 'sms', { 'User.UserAttributes.Tier': 'basic' });
    expect(withDefault.source).toBe('{{#if (default contact.Tier "basic")}}x{{/if}}');
  });

  test('placeholders with no Touchloop equivalent fail the row with the part and the reason, each one named', () => {
    const mapped = mapPinpointTemplate({
      TemplateName: 'Bad',
      TemplateType: 'EMAIL',
      Subject: 'Hello from {{Location.Country}}',
      HtmlPart: '<p>{{Metrics.sessions}} visits, code {{CouponCode}}</p>',
      TextPart: 'Endpoint {{Id}}',
    });
    expect('issues' in mapped && mapped.issues).toEqual([
      { path: 'subject', message: expect.stringMatching(/^\{\{Location\.Country\}\} has no Touchloop equivalent/) },
      { path: 'html', message: expect.stringMatching(/^\{\{Metrics\.sessions\}\} has no Touchloop equivalent: endpoint metrics/) },
      { path: 'html', message: expect.stringMatching(/^\{\{CouponCode\}\} has no Touchloop equivalent: not a contact field/) },
      { path: 'text', message: expect.stringMatching(/^\{\{Id\}\} has no Touchloop equivalent/) },
    ]);
  });

  test('defaults with quotes and backslashes survive as Handlebars literals', () => {
    const mapped = mapPinpointTemplate({ TemplateName: 'Q', TemplateType: 'SMS', Body: 'Hi {{User.UserAttributes.Nick}}', DefaultSubstitutions: JSON.stringify({ 'User.UserAttributes.Nick': 'the "best" \\ one' }) });
    if ('issues' in mapped) throw new Error(JSON.stringify(mapped.issues));
    expect((mapped.template as { body: string }).body).toBe('Hi {{default contact.Nick "the \\"best\\" \\\\ one"}}');
  });

  test('push and voice templates, a missing subject, bad DefaultSubstitutions and unknown helpers are reported with their paths', () => {
    expect(mapPinpointTemplate({ TemplateName: 'P', TemplateType: 'PUSH', Body: 'x' })).toEqual({ issues: [{ path: 'TemplateType', message: expect.stringContaining('PUSH templates are not imported') }] });
    expect(mapPinpointTemplate({ TemplateName: 'S', TemplateType: 'EMAIL', HtmlPart: '<p>x</p>', TextPart: 'x' })).toMatchObject({ issues: [{ path: 'Subject' }] });
    expect(mapPinpointTemplate({ TemplateName: 'D', TemplateType: 'SMS', Body: 'x', DefaultSubstitutions: '{not json' })).toMatchObject({ issues: [{ path: 'DefaultSubstitutions' }] });
    expect(mapPinpointTemplate({ TemplateName: 'H', TemplateType: 'SMS', Body: '{{#eq User.UserAttributes.Tier "gold"}}VIP{{/eq}}' })).toMatchObject({ issues: [{ path: 'body', message: expect.stringContaining('not a block helper') }] });
    expect(mapPinpointTemplate({ TemplateType: 'SMS', Body: 'x' })).toMatchObject({ issues: [{ path: 'TemplateName' }] });
  });
});

describe('job options', () => {
  test('segment imports need a segment name short enough for its tag; consent confirmed needs a wording version', () => {
    expect(() => parsePinpointImportOptions('pinpoint-segment', {})).toThrow(PinpointOptionsError);
    expect(() => parsePinpointImportOptions('pinpoint-segment', { segmentName: 'x'.repeat(56) })).toThrow(/options.segmentName/);
    expect(() => parsePinpointImportOptions('pinpoint-endpoints', { consent: { consent: 'confirmed' } })).toThrow(/options.consent/);
    expect(parsePinpointImportOptions('pinpoint-endpoints', undefined)).toEqual({});
    expect(parsePinpointImportOptions('pinpoint-segment', { segmentName: ' VIP ' })).toEqual({ segmentName: 'VIP' });
  });

  test('stable ids are UUID-shaped and differ by name', () => {
    expect(stableId('a')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(stableId('a')).toBe(stableId('a'));
    expect(stableId('a')).not.toBe(stableId('b'));
  });
});

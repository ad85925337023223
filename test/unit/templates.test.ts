import { beforeEach, describe, expect, test } from 'vitest';
import type { Contact } from '../../shared/contacts/model.ts';
import { ValidationError, issuesFromZod } from '../../shared/errors.ts';
import {
  SMS_OPT_OUT,
  TEMPLATE_CACHE_LIMIT,
  clearTemplateCache,
  contactContext,
  formatDate,
  renderEmail,
  renderSms,
  templateCacheStats,
  type RenderContext,
} from '../../shared/templates/render.ts';
import { TemplateInput, TemplateSyntaxError, validateTemplate, type EmailTemplate, type SmsTemplate } from '../../shared/templates/template.ts';

type StoredEmail = EmailTemplate & { id: string; version: number };
type StoredSms = SmsTemplate & { id: string; version: number };

let seq = 0;
// A fresh id per template: the compile cache is keyed by id and version, so tests must not share ids.
function email(parts: Partial<Pick<EmailTemplate, 'subject' | 'html' | 'text'>> = {}, id = `tpl_${++seq}`): StoredEmail {
  return {
    channel: 'email',
    name: 'Spring sale',
    subject: 'Hello',
    html: '<html><body><p>Hi</p></body></html>',
    text: 'Hi',
    ...parts,
    id,
    version: 1,
  };
}

function sms(body: string, id = `tpl_${++seq}`): StoredSms {
  return { channel: 'sms', name: 'Flash sale', body, id, version: 1 };
}

const UNSUBSCRIBE = 'https://t.example.com/u/abc?sig=x&c=1';
const ADDRESS = 'Acme & Sons\n1 Main Street\nSpringfield, IL 62701';

function ctx(contact: Record<string, unknown> = {}, extra: Partial<RenderContext> = {}): RenderContext {
  return { contact, campaign: { id: 'cmp_1', name: 'Spring <Sale>' }, unsubscribeUrl: UNSUBSCRIBE, senderAddress: ADDRESS, ...extra };
}

const marketing = { marketing: true };
const transactional = { marketing: false };

function syntaxIssues(template: EmailTemplate | SmsTemplate): Array<{ path: string; message: string }> {
  try {
    validateTemplate(template);
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateSyntaxError);
    return (error as TemplateSyntaxError).issues;
  }
  throw new Error('validateTemplate accepted the template');
}

const count = (haystack: string, needle: string) => haystack.split(needle).length - 1;

beforeEach(() => clearTemplateCache());

describe('TemplateInput', () => {
  test('parses an email and an SMS template', () => {
    expect(TemplateInput.parse({ channel: 'email', name: ' Spring ', subject: 'S', html: '<p>h</p>', text: 't' })).toEqual({
      channel: 'email',
      name: 'Spring',
      subject: 'S',
      html: '<p>h</p>',
      text: 't',
    });
    expect(TemplateInput.parse({ channel: 'sms', name: 'Flash', body: 'b' })).toEqual({ channel: 'sms', name: 'Flash', body: 'b' });
  });

  test('refuses unknown fields, fields of the other channel, empty parts and oversize parts', () => {
    const paths = (input: unknown) => {
      const result = TemplateInput.safeParse(input);
      return result.success ? [] : issuesFromZod(result.error.issues).map((i) => i.path);
    };
    expect(paths({ channel: 'sms', name: 'x', body: 'b', subject: 's' })).toEqual(['subject']);
    expect(paths({ channel: 'email', name: 'x', subject: '', html: 'h', text: 't' })).toEqual(['subject']);
    expect(paths({ channel: 'email', name: 'x', subject: 's'.repeat(999), html: 'h', text: 't' })).toEqual(['subject']);
    expect(paths({ channel: 'sms', name: 'x', body: 'b'.repeat(1601) })).toEqual(['body']);
    expect(paths({ channel: 'sms', name: 'x', body: 'b'.repeat(1600) })).toEqual([]);
    expect(paths({ channel: 'push', name: 'x', body: 'b' })).toEqual(['channel']);
  });

  test('refuses a subject with a line break (it would end the header)', () => {
    expect(TemplateInput.safeParse({ channel: 'email', name: 'x', subject: 'a\r\nBcc: x@example.com', html: 'h', text: 't' }).success).toBe(false);
  });
});

describe('validateTemplate', () => {
  test('accepts the supported language', () => {
    const html = [
      '<p>{{default contact.firstName "there"}} {{upper (lower contact.city)}} {{formatDate contact.renewsOn "D MMM YYYY" "Europe/Paris"}}</p>',
      '{{#if contact.vip}}VIP{{else if contact.gold}}Gold{{else}}Member{{/if}}',
      '{{#unless contact.optedIn}}x{{/unless}}{{#each contact.items as |item|}}{{@index}} {{item.name}}{{/each}}',
      '{{#with campaign}}{{name}}{{/with}} {{viewInBrowserUrl}} {{!-- a comment --}} {{this.x}} {{@root.unsubscribeUrl}}',
    ].join('\n');
    expect(() => validateTemplate(email({ html, subject: 'Hi {{contact.firstName}}', text: '{{formatDate contact.renewsOn "YYYY-MM-DD"}}' }))).not.toThrow();
  });

  test('reports a parse error at its field, with the line', () => {
    const issues = syntaxIssues(email({ html: '<p>one</p>\n<p>two</p>\n{{#if contact.vip}}<p>open' }));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('html');
    expect(issues[0]!.message).toMatch(/Parse error on line 3/);
  });

  test('reports every broken part, and is a 400 ValidationError', () => {
    let caught: unknown;
    try {
      validateTemplate(email({ subject: 'Hi {{contact.firstName', text: 'x {{/if}}' }));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).status).toBe(400);
    expect((caught as ValidationError).issues.map((i) => i.path)).toEqual(['subject', 'text']);
  });

  test('reports an SMS body error at body', () => {
    expect(syntaxIssues(sms('Hi {{contact.firstName}')).map((i) => i.path)).toEqual(['body']);
  });

  test.each([
    ['a custom helper', '{{shout contact.firstName}}', /shout is not a helper/],
    ['log', '{{log contact.firstName}}', /log is not a helper/],
    ['lookup', '{{lookup contact "firstName"}}', /lookup is not a helper/],
    ['an unknown helper in a sub-expression', '{{upper (shout contact.firstName)}}', /shout is not a helper/],
    ['an unknown block helper', '{{#repeat 3}}x{{/repeat}}', /{{#repeat}} is not a block helper/],
    ['a Mustache-style section', '{{#contact.tags}}x{{/contact.tags}}', /is not a block helper/],
    ['a raw block', '{{{{raw}}}}x{{{{/raw}}}}', /{{#raw}} is not a block helper/],
    ['a partial', 'Hi {{> footer}}', /Partials/],
    ['a partial block', '{{#> layout}}x{{/layout}}', /Partials/],
    ['a decorator', '{{* inline}}', /Decorators/],
    ['a block helper used inline', '{{if contact.vip}}', /if is a block helper/],
    ['a block helper without its argument', '{{#each}}x{{/each}}', /takes exactly 1 argument/],
    ['default with one argument', '{{default contact.firstName}}', /default takes 2 arguments, not 1/],
    ['formatDate with four arguments', '{{formatDate contact.d "YYYY" "UTC" "x"}}', /formatDate takes 2 to 3 arguments, not 4/],
    ['named arguments', '{{upper contact.city style="x"}}', /does not take named arguments/],
    ['an unknown time zone', '{{formatDate contact.d "YYYY" "Mars/Olympus"}}', /"Mars\/Olympus" is not an IANA time zone/],
  ])('refuses %s', (_label, source, message) => {
    const issues = syntaxIssues(email({ text: `line one\n${source}` }));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('text');
    expect(issues[0]!.message).toMatch(message);
    expect(issues[0]!.message).toMatch(/line 2/);
  });
});

describe('renderEmail: values', () => {
  test('substitutes contact, campaign and link values', () => {
    const t = email({
      subject: '{{contact.firstName}}, the {{campaign.name}} is on',
      html: '<p>{{contact.firstName}} {{contact.plan}} {{campaign.id}} <a href="{{viewInBrowserUrl}}">view</a> {{unsubscribeUrl}} {{senderAddress}}</p>',
      text: '{{contact.firstName}} ({{contact.email}})',
    });
    const out = renderEmail(t, ctx({ firstName: 'Ada', plan: 'pro', email: 'ada@example.com' }, { viewInBrowserUrl: 'https://t.example.com/v/1' }), transactional);
    expect(out.subject).toBe('Ada, the Spring <Sale> is on');
    expect(out.html).toBe(
      '<p>Ada pro cmp_1 <a href="https://t.example.com/v/1">view</a> https://t.example.com/u/abc?sig&#x3D;x&amp;c&#x3D;1 Acme &amp; Sons\n1 Main Street\nSpringfield, IL 62701</p>',
    );
    expect(out.text).toBe('Ada (ada@example.com)');
  });

  test('a missing value renders as nothing', () => {
    expect(renderEmail(email({ text: '[{{contact.nothing}}][{{campaign.nothing.deeper}}]' }), ctx(), transactional).text).toBe('[][]');
  });

  test('contactContext exposes attributes and the built-ins, which win over same-named attributes', () => {
    const contact = {
      id: 'c_1',
      email: 'ada@example.com',
      attributes: { firstName: 'Ada', email: 'spoof@example.com', phone: '+15550000000' },
    } as unknown as Contact;
    const out = renderEmail(email({ text: '{{contact.id}}|{{contact.firstName}}|{{contact.email}}|{{contact.phone}}' }), ctx(contactContext(contact)), transactional);
    expect(out.text).toBe('c_1|Ada|ada@example.com|');
  });

  test('default falls back when the value is missing, null, empty or blank, and keeps 0 and false', () => {
    const t = email({ text: '{{default contact.firstName "there"}}' });
    const render = (contact: Record<string, unknown>) => renderEmail(t, ctx(contact), transactional).text;
    expect(render({ firstName: 'Ada' })).toBe('Ada');
    expect(render({})).toBe('there');
    expect(render({ firstName: null })).toBe('there');
    expect(render({ firstName: '' })).toBe('there');
    expect(render({ firstName: '   ' })).toBe('there');
    expect(render({ firstName: 0 })).toBe('0');
    expect(render({ firstName: false })).toBe('false');
  });

  test('default takes its fallback from another value', () => {
    expect(renderEmail(email({ text: '{{default contact.nickname contact.firstName}}' }), ctx({ firstName: 'Ada' }), transactional).text).toBe('Ada');
  });

  test('#if / else if / else', () => {
    const t = email({ text: '{{#if contact.vip}}VIP{{else if contact.gold}}Gold{{else}}Member{{/if}}' });
    expect(renderEmail(t, ctx({ vip: true }), transactional).text).toBe('VIP');
    expect(renderEmail(t, ctx({ gold: 1 }), transactional).text).toBe('Gold');
    expect(renderEmail(t, ctx({}), transactional).text).toBe('Member');
  });

  test('#each and #unless', () => {
    const t = email({ text: '{{#each contact.items}}{{@index}}:{{this}} {{/each}}{{#unless contact.vip}}(join){{/unless}}' });
    expect(renderEmail(t, ctx({ items: ['a', 'b'] }), transactional).text).toBe('0:a 1:b (join)');
  });

  test('upper and lower', () => {
    expect(renderEmail(email({ text: '{{upper contact.city}} {{lower contact.city}} [{{upper contact.none}}]' }), ctx({ city: 'Köln' }), transactional).text).toBe(
      'KÖLN köln []',
    );
  });
});

describe('escaping', () => {
  const evil = '<script>alert("x")</script> & \'q\'';

  test('HTML parts escape values, in content and in attributes', () => {
    const out = renderEmail(email({ html: '<p title="{{contact.firstName}}">{{contact.firstName}}</p>' }), ctx({ firstName: evil }), transactional);
    expect(out.html).not.toContain('<script>');
    expect(out.html).not.toContain('"x"');
    expect(out.html).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;q&#x27;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;q&#x27;</p>',
    );
  });

  test('helper results are escaped in HTML too', () => {
    expect(renderEmail(email({ html: '<p>{{default contact.firstName contact.fallback}}</p>' }), ctx({ fallback: '<b>' }), transactional).html).toBe('<p>&lt;b&gt;</p>');
  });

  test('subject, text part and SMS body are not HTML-escaped', () => {
    const out = renderEmail(email({ subject: 'Hi {{contact.firstName}}', text: 'Hi {{contact.firstName}}' }), ctx({ firstName: evil }), transactional);
    expect(out.subject).toBe(`Hi ${evil}`);
    expect(out.text).toBe(`Hi ${evil}`);
    expect(renderSms(sms('Hi {{contact.firstName}}'), ctx({ firstName: evil }), transactional).body).toBe(`Hi ${evil}`);
  });

  test('a line break in a substituted value cannot break out of the subject', () => {
    expect(renderEmail(email({ subject: 'Hi {{contact.firstName}}!' }), ctx({ firstName: 'Ada\r\nBcc: x@example.com' }), transactional).subject).toBe(
      'Hi Ada Bcc: x@example.com!',
    );
  });
});

describe('formatDate', () => {
  test('formats an instant in a time zone, UTC by default', () => {
    expect(formatDate('2024-03-05T23:30:09Z', 'YYYY-MM-DD HH:mm:ss')).toBe('2024-03-05 23:30:09');
    expect(formatDate('2024-03-05T23:30:09Z', 'YYYY-MM-DD HH:mm', 'Europe/Berlin')).toBe('2024-03-06 00:30');
    expect(formatDate(Date.UTC(2024, 0, 2, 3, 4, 5), 'D/M/YY H:mm')).toBe('2/1/24 3:04');
  });

  test('month names and bracketed literals', () => {
    expect(formatDate('2024-09-05T10:00:00Z', 'D MMM YYYY [at] HH:mm')).toBe('5 Sep 2024 at 10:00');
    expect(formatDate('2024-09-05T10:00:00Z', 'MMMM D')).toBe('September 5');
  });

  test('a calendar date is never shifted by the zone', () => {
    expect(formatDate('2024-03-05', 'YYYY-MM-DD', 'America/Los_Angeles')).toBe('2024-03-05');
  });

  test('a missing or unreadable date renders as nothing; an unknown zone falls back to UTC', () => {
    expect(formatDate(undefined, 'YYYY')).toBe('');
    expect(formatDate('soon', 'YYYY')).toBe('');
    expect(formatDate('2024-02-30', 'YYYY-MM-DD')).toBe('');
    expect(formatDate('2024-03-05T23:30:00Z', 'YYYY-MM-DD', 'Not/AZone')).toBe('2024-03-05');
  });

  test('works in a template with the zone from the contact', () => {
    const t = email({ text: '{{formatDate contact.renewsAt "YYYY-MM-DD HH:mm" contact.timezone}}|{{formatDate contact.renewsAt "HH:mm"}}' });
    expect(renderEmail(t, ctx({ renewsAt: '2024-07-01T12:00:00Z', timezone: 'Asia/Tokyo' }), transactional).text).toBe('2024-07-01 21:00|12:00');
  });
});

describe('renderEmail: marketing footer', () => {
  test('adds an unsubscribe link and the postal address before </body> when the template has neither', () => {
    const out = renderEmail(email({ html: '<html><body><p>Sale!</p></body></html>', text: 'Sale!' }), ctx(), marketing);
    expect(out.addedFooter).toBe(true);
    expect(out.html.startsWith('<html><body><p>Sale!</p>')).toBe(true);
    expect(out.html.endsWith('</div>\n</body></html>')).toBe(true);
    expect(out.html).toContain('<a href="https://t.example.com/u/abc?sig=x&amp;c=1"');
    expect(out.html).toMatch(/>Unsubscribe<\/a>/);
    expect(out.html).toContain('Acme &amp; Sons<br>1 Main Street<br>Springfield, IL 62701');
    expect(out.text).toBe(`Sale!\n\n-- \nUnsubscribe: ${UNSUBSCRIBE}\nAcme & Sons\n1 Main Street\nSpringfield, IL 62701\n`);
  });

  test('adds nothing when the template already carries the unsubscribe URL and the address', () => {
    const t = email({
      html: '<html><body><a href="{{unsubscribeUrl}}">Leave</a> {{senderAddress}}</body></html>',
      text: 'Leave: {{unsubscribeUrl}}\n{{senderAddress}}',
    });
    const out = renderEmail(t, ctx(), marketing);
    expect(out.addedFooter).toBe(false);
    expect(out.html).toBe(
      '<html><body><a href="https://t.example.com/u/abc?sig&#x3D;x&amp;c&#x3D;1">Leave</a> Acme &amp; Sons\n1 Main Street\nSpringfield, IL 62701</body></html>',
    );
    expect(out.text).toBe(`Leave: ${UNSUBSCRIBE}\n${ADDRESS}`);
  });

  test('adds only the postal address when the unsubscribe link is there', () => {
    const out = renderEmail(email({ html: '<body><a href="{{unsubscribeUrl}}">Leave</a></body>', text: 'Leave: {{unsubscribeUrl}}' }), ctx(), marketing);
    expect(out.addedFooter).toBe(true);
    expect(count(out.html, 'href=')).toBe(1);
    expect(out.html).not.toContain('>Unsubscribe<');
    expect(out.html).toContain('Acme &amp; Sons<br>1 Main Street');
    expect(out.text).toBe(`Leave: ${UNSUBSCRIBE}\n\n-- \nAcme & Sons\n1 Main Street\nSpringfield, IL 62701\n`);
  });

  test('adds only the unsubscribe link when the address is there', () => {
    const out = renderEmail(email({ html: '<body>{{senderAddress}}</body>', text: '{{senderAddress}}' }), ctx(), marketing);
    expect(out.addedFooter).toBe(true);
    expect(out.html).toContain('>Unsubscribe</a>');
    expect(count(out.html, '1 Main Street')).toBe(1);
    expect(out.text).toBe(`${ADDRESS}\n\n-- \nUnsubscribe: ${UNSUBSCRIBE}\n`);
  });

  test('footers each part on its own: a link in the text part does not excuse the HTML part', () => {
    const out = renderEmail(email({ html: '<body>Hi</body>', text: 'Leave: {{unsubscribeUrl}} {{senderAddress}}' }), ctx(), marketing);
    expect(out.addedFooter).toBe(true);
    expect(out.html).toContain('>Unsubscribe</a>');
    expect(out.text).toBe(`Leave: ${UNSUBSCRIBE} ${ADDRESS}`);
  });

  test('a link in a branch that did not render does not count', () => {
    const t = email({ html: '<body>{{#if contact.vip}}<a href="{{unsubscribeUrl}}">x</a>{{/if}}{{senderAddress}}</body>' });
    expect(renderEmail(t, ctx({ vip: true }), marketing).html).not.toContain('>Unsubscribe</a>');
    expect(renderEmail(t, ctx({ vip: false }), marketing).html).toContain('>Unsubscribe</a>');
  });

  test('without </body> the footer goes at the end; with several it goes before the last', () => {
    const bare = renderEmail(email({ html: '<p>Sale</p>' }), ctx(), marketing).html;
    expect(bare.startsWith('<p>Sale</p>\n<div class="touchloop-footer"')).toBe(true);
    expect(bare.endsWith('</div>\n')).toBe(true);
    const twice = renderEmail(email({ html: '<!-- </body> --><p>Sale</p></BODY >\n</html>' }), ctx(), marketing).html;
    expect(twice.startsWith('<!-- </body> --><p>Sale</p>\n<div')).toBe(true);
    expect(twice.endsWith('</div>\n</BODY >\n</html>')).toBe(true);
  });

  test('footer values are escaped', () => {
    const out = renderEmail(email(), ctx({}, { unsubscribeUrl: 'https://t.example.com/u/"><script>', senderAddress: '<b>Evil</b> Corp' }), marketing);
    expect(out.html).toContain('href="https://t.example.com/u/&quot;&gt;&lt;script&gt;"');
    expect(out.html).toContain('&lt;b&gt;Evil&lt;/b&gt; Corp');
    expect(out.html).not.toContain('<script>');
  });

  test('a transactional email is left as written, and needs no unsubscribe URL', () => {
    const t = email({ html: '<body>Your receipt</body>', text: 'Your receipt' });
    const out = renderEmail(t, { contact: {} }, transactional);
    expect(out).toEqual({ subject: 'Hello', html: '<body>Your receipt</body>', text: 'Your receipt', addedFooter: false });
  });

  test('a marketing email without an unsubscribe URL or a postal address is refused', () => {
    expect(() => renderEmail(email(), ctx({}, { unsubscribeUrl: undefined }), marketing)).toThrow(/unsubscribeUrl/);
    expect(() => renderEmail(email(), ctx({}, { senderAddress: ' ' }), marketing)).toThrow(/senderAddress/);
  });
});

describe('renderSms', () => {
  test('appends the opt-out instruction to a marketing body that lacks it', () => {
    const out = renderSms(sms('Hi {{contact.firstName}}, 20% off today '), ctx({ firstName: 'Ada' }), marketing);
    expect(out.body).toBe(`Hi Ada, 20% off today\n${SMS_OPT_OUT}`);
    expect(SMS_OPT_OUT).toBe('Reply STOP to opt out');
    expect(out.addedOptOut).toBe(true);
  });

  test('leaves a body that already says STOP, in any case', () => {
    for (const body of ['Sale! Text STOP to end', 'Sale! reply stop to unsubscribe', 'Sale! Stop?']) {
      const out = renderSms(sms(body), ctx(), marketing);
      expect(out).toMatchObject({ body, addedOptOut: false });
    }
  });

  test('STOP inside another word, in a substituted value or in a branch that did not render does not count', () => {
    expect(renderSms(sms('Nonstop deals!'), ctx(), marketing).addedOptOut).toBe(true);
    expect(renderSms(sms('Hi {{contact.firstName}}'), ctx({ firstName: 'Stop' }), marketing).addedOptOut).toBe(true);
    const t = sms('Deals{{#if contact.us}} - reply STOP to end{{/if}}');
    expect(renderSms(t, ctx({ us: true }), marketing).addedOptOut).toBe(false);
    expect(renderSms(t, ctx({ us: false }), marketing).addedOptOut).toBe(true);
  });

  test('a transactional SMS is left as written', () => {
    expect(renderSms(sms('Your code is {{contact.code}}'), ctx({ code: '123456' }), transactional)).toEqual({
      body: 'Your code is 123456',
      addedOptOut: false,
      segments: { encoding: 'GSM-7', characters: 19, segments: 1, perSegment: 160 },
    });
  });

  test('segments are counted on the final body, opt-out included', () => {
    const out = renderSms(sms('a'.repeat(150)), ctx(), marketing);
    expect(out.segments).toEqual({ encoding: 'GSM-7', characters: 150 + 1 + SMS_OPT_OUT.length, segments: 2, perSegment: 153 });
    expect(renderSms(sms('Hi {{contact.firstName}}'), ctx({ firstName: 'Zoë 😀' }), transactional).segments).toMatchObject({ encoding: 'UCS-2', characters: 9 });
  });
});

describe('compile cache', () => {
  test('each part is compiled once per template version, however many recipients', () => {
    const t = email({ subject: 'Hi {{contact.firstName}}', html: '<p>{{contact.firstName}}</p>', text: '{{contact.firstName}}' });
    const outputs = new Set<string>();
    for (let i = 0; i < 50; i++) outputs.add(renderEmail(t, ctx({ firstName: `n${i}` }), marketing).text);
    expect(outputs.size).toBe(50); // the compiled template is cached, not its output
    expect(templateCacheStats()).toEqual({ size: 3, compiles: 3 });

    renderEmail({ ...t, version: 2, text: 'v2 {{contact.firstName}}' }, ctx({ firstName: 'Ada' }), transactional);
    expect(templateCacheStats()).toEqual({ size: 6, compiles: 6 });
  });

  test('a template with a syntax error fails to render and is not cached', () => {
    expect(() => renderSms(sms('Hi {{> partial}}'), ctx(), transactional)).toThrow(TemplateSyntaxError);
    expect(templateCacheStats().size).toBe(0);
  });

  test('the cache is capped and evicts the least recently used template', () => {
    const templates = Array.from({ length: TEMPLATE_CACHE_LIMIT + 1 }, (_, i) => sms(`Msg ${i} {{contact.x}}`, `cap_${i}`));
    for (const t of templates.slice(0, TEMPLATE_CACHE_LIMIT)) renderSms(t, ctx(), transactional);
    expect(templateCacheStats()).toEqual({ size: TEMPLATE_CACHE_LIMIT, compiles: TEMPLATE_CACHE_LIMIT });

    renderSms(templates[0]!, ctx(), transactional); // touched: now the most recently used
    renderSms(templates[TEMPLATE_CACHE_LIMIT]!, ctx(), transactional); // evicts templates[1]
    expect(templateCacheStats()).toEqual({ size: TEMPLATE_CACHE_LIMIT, compiles: TEMPLATE_CACHE_LIMIT + 1 });

    renderSms(templates[0]!, ctx(), transactional);
    expect(templateCacheStats().compiles).toBe(TEMPLATE_CACHE_LIMIT + 1);
    renderSms(templates[1]!, ctx(), transactional);
    expect(templateCacheStats().compiles).toBe(TEMPLATE_CACHE_LIMIT + 2);
  });
});

describe('raw output', () => {
  test('triple braces are refused in HTML parts (contact data must be escaped) and allowed in text parts', async () => {
    const { validateTemplate } = await import('../../shared/templates/template.ts');
    let issues: Array<{ path: string; message: string }> = [];
    try {
      validateTemplate({ channel: 'email', name: 'x', subject: 's', html: '<p>{{{contact.bio}}}</p>', text: 't' });
    } catch (error) {
      issues = (error as { issues: typeof issues }).issues;
    }
    expect(issues).toEqual([{ path: 'html', message: expect.stringMatching(/triple braces/) }]);
    expect(() => validateTemplate({ channel: 'email', name: 'x', subject: 's', html: '<p>{{contact.bio}}</p>', text: '{{{contact.bio}}}' })).not.toThrow();
  });
});

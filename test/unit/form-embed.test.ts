import { describe, expect, test } from 'vitest';
import { FormDefinitionInput, type Form } from '../../shared/forms/definition.ts';
import { labelIssues, renderEmbedHtml, renderResultPage } from '../../shared/forms/embed.ts';
import { escapeAttr, escapeHtml } from '../../shared/html.ts';

function makeForm(input: Partial<FormDefinitionInput> = {}): Form {
  const data = FormDefinitionInput.parse({
    name: 'Spring <newsletter>',
    fields: [
      { name: 'email', type: 'email', required: true, label: 'Your email' },
      { name: 'mobile', type: 'phone' },
      { name: 'first_name', type: 'text', maxLength: 80 },
      { name: 'age', type: 'number' },
      { name: 'vip', type: 'boolean', label: 'I am a VIP' },
      { name: 'plan', type: 'select', options: ['Basic', 'Pro & more'], required: true },
      { name: 'birthday', type: 'date' },
    ],
    consent: { email: { text: 'Send me news by email', version: 'e1' }, sms: { text: 'Text me offers', version: 's1' } },
    ...input,
  });
  return { ...data, id: 'frm_1', createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:00:00.000Z', version: 1 };
}

const ACTION = 'https://api.example.com/f/frm_1';

type Tag = { name: string; attrs: Map<string, string | true>; index: number };

const decode = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

/** A loose tag scanner: enough to check attributes without a DOM library. */
function tags(html: string, name: string): Tag[] {
  const out: Tag[] = [];
  for (const m of html.matchAll(new RegExp(`<${name}(\\s[^>]*)?>`, 'gi'))) {
    const attrs = new Map<string, string | true>();
    for (const a of (m[1] ?? '').matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:="([^"]*)")?/g)) attrs.set(a[1]!.toLowerCase(), a[2] === undefined ? true : decode(a[2]));
    out.push({ name, attrs, index: m.index });
  }
  return out;
}

function one(html: string, name: string, where: (t: Tag) => boolean): Tag {
  const found = tags(html, name).filter(where);
  expect(found).toHaveLength(1);
  return found[0]!;
}

const byName = (n: string) => (t: Tag) => t.attrs.get('name') === n;

/** The text of the label pointing at `id`. */
function labelFor(html: string, id: string): string {
  const m = new RegExp(`<label for="${id}">([\\s\\S]*?)</label>`).exec(html);
  expect(m, `label for ${id}`).not.toBeNull();
  return m![1]!;
}

describe('renderEmbedHtml', () => {
  test('is a complete, accessible document', () => {
    const html = renderEmbedHtml(makeForm(), { actionUrl: ACTION });
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toContain('<title>Spring &lt;newsletter&gt;</title>');
    expect(html.trimEnd()).toMatch(/<\/html>$/);
    expect(renderEmbedHtml(makeForm(), { actionUrl: ACTION, lang: 'de-DE' })).toContain('<html lang="de-DE">');
    expect(renderEmbedHtml(makeForm(), { actionUrl: ACTION, lang: '"><x' })).toContain('<html lang="en">');
  });

  test('posts to the action URL as a plain form', () => {
    const form = one(renderEmbedHtml(makeForm(), { actionUrl: `${ACTION}?a=1&b="2"` }), 'form', () => true);
    expect(form.attrs.get('method')).toBe('post');
    expect(form.attrs.get('action')).toBe(`${ACTION}?a=1&b="2"`);
    expect(form.attrs.get('accept-charset')).toBe('utf-8');
  });

  test('refuses a script URL as action', () => {
    expect(() => renderEmbedHtml(makeForm(), { actionUrl: 'javascript:alert(1)' })).toThrow(/actionUrl/);
  });

  test('one control per field with the right type, label and required flag', () => {
    const html = renderEmbedHtml(makeForm(), { actionUrl: ACTION });
    const expected: [string, string, boolean][] = [
      ['email', 'email', true],
      ['mobile', 'tel', false],
      ['first_name', 'text', false],
      ['age', 'number', false],
      ['vip', 'checkbox', false],
      ['birthday', 'date', false],
    ];
    for (const [name, type, required] of expected) {
      const input = one(html, 'input', byName(name));
      expect(input.attrs.get('type'), name).toBe(type);
      expect(input.attrs.has('required'), name).toBe(required);
      expect(labelFor(html, String(input.attrs.get('id')))).toBeTruthy();
    }
    const select = one(html, 'select', byName('plan'));
    expect(select.attrs.has('required')).toBe(true);
    expect(tags(html, 'option').map((o) => o.attrs.get('value'))).toEqual(['', 'Basic', 'Pro & more']);
    expect(html).toContain('>Pro &amp; more</option>');
    expect(one(html, 'input', byName('first_name')).attrs.get('maxlength')).toBe('80');
    expect(one(html, 'input', byName('first_name')).attrs.get('autocomplete')).toBe('given-name');
    expect(one(html, 'input', byName('email')).attrs.get('autocomplete')).toBe('email');
    expect(labelFor(html, 'tl-f-email')).toContain('Your email');
    expect(labelFor(html, 'tl-f-first_name')).toBe('First name');
    expect(labelFor(html, 'tl-f-vip')).toBe('I am a VIP');
  });

  test('controls appear in the order of the definition', () => {
    const html = renderEmbedHtml(makeForm(), { actionUrl: ACTION });
    const names = [...tags(html, 'input'), ...tags(html, 'select')]
      .sort((a, b) => a.index - b.index)
      .map((t) => t.attrs.get('name'))
      .filter((n) => n !== 'website' && n !== 'tz');
    expect(names).toEqual(['email', 'mobile', 'first_name', 'age', 'vip', 'plan', 'birthday', 'consent_email', 'consent_sms']);
  });

  test('consent checkboxes carry their wording, escaped', () => {
    const html = renderEmbedHtml(
      makeForm({ consent: { email: { text: 'Email me <script>alert("x")</script> & more', version: '1' }, sms: { text: "Text me, it's fine", version: '1' } } }),
      { actionUrl: ACTION },
    );
    const email = one(html, 'input', byName('consent_email'));
    expect(email.attrs.get('type')).toBe('checkbox');
    expect(email.attrs.has('required')).toBe(false);
    expect(labelFor(html, String(email.attrs.get('id')))).toBe('Email me &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more');
    expect(labelFor(html, String(one(html, 'input', byName('consent_sms')).attrs.get('id')))).toBe('Text me, it&#39;s fine');
    expect(html).not.toContain('<script>alert');
  });

  test('only offered consent channels get a checkbox', () => {
    const html = renderEmbedHtml(makeForm({ consent: { email: { text: 'Mail', version: '1' } } }), { actionUrl: ACTION });
    expect(tags(html, 'input').filter(byName('consent_email'))).toHaveLength(1);
    expect(tags(html, 'input').filter(byName('consent_sms'))).toHaveLength(0);
  });

  test('labels, options and submit label are escaped', () => {
    const html = renderEmbedHtml(
      makeForm({
        fields: [
          { name: 'email', type: 'email', label: '<script>steal()</script>' },
          { name: 'pick', type: 'select', options: ['"><img src=x onerror=alert(1)>'] },
        ],
        consent: {},
        submitLabel: '<b>Go</b>',
      }),
      { actionUrl: ACTION },
    );
    expect(labelFor(html, 'tl-f-email')).toBe('&lt;script&gt;steal()&lt;/script&gt;');
    expect(html).not.toContain('<script>steal');
    expect(html).not.toContain('<img');
    expect(tags(html, 'option')[1]?.attrs.get('value')).toBe('"><img src=x onerror=alert(1)>');
    expect(html).toContain('<button type="submit">&lt;b&gt;Go&lt;/b&gt;</button>');
  });

  test('the submit button defaults to Subscribe', () => {
    expect(renderEmbedHtml(makeForm(), { actionUrl: ACTION })).toContain('<button type="submit">Subscribe</button>');
  });

  test('the honeypot is hidden from people', () => {
    const html = renderEmbedHtml(makeForm({ honeypotField: 'company-url' }), { actionUrl: ACTION });
    const hp = one(html, 'input', byName('company-url'));
    expect(hp.attrs.get('tabindex')).toBe('-1');
    expect(hp.attrs.get('autocomplete')).toBe('off');
    expect(hp.attrs.has('required')).toBe(false);
    expect(labelFor(html, String(hp.attrs.get('id')))).toMatch(/leave this field empty/i);
    // Its container is off-screen (a CSS class, not display:none) and hidden from screen readers.
    const wrapper = tags(html, 'div').filter((d) => d.index < hp.index).at(-1)!;
    expect(wrapper.attrs.get('aria-hidden')).toBe('true');
    const cls = String(wrapper.attrs.get('class'));
    expect(html).toMatch(new RegExp(`\\.${cls}\\{position:absolute;left:-10000px`));
    expect(html).not.toContain('display:none');
  });

  test('a hidden tz input, filled by an optional inline script', () => {
    const html = renderEmbedHtml(makeForm(), { actionUrl: ACTION });
    const tz = one(html, 'input', byName('tz'));
    expect(tz.attrs.get('type')).toBe('hidden');
    expect(tz.attrs.get('value')).toBe('');
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
    expect(scripts).toHaveLength(1);
    expect(scripts[0]).toContain(`getElementById("${String(tz.attrs.get('id'))}")`);
    expect(scripts[0]).toContain('Intl.DateTimeFormat().resolvedOptions().timeZone');
    expect(scripts[0]).toMatch(/^try\{.*\}catch\(e\)\{\}$/);
  });

  test('no captcha markup without captcha', () => {
    const html = renderEmbedHtml(makeForm(), { actionUrl: ACTION });
    expect(tags(html, 'script').filter((s) => s.attrs.has('src'))).toHaveLength(0);
    expect(html).not.toMatch(/cf-turnstile|g-recaptcha/);
  });

  test.each([
    ['turnstile', 'cf-turnstile', 'https://challenges.cloudflare.com/turnstile/v0/api.js'],
    ['recaptcha', 'g-recaptcha', 'https://www.google.com/recaptcha/api.js'],
  ] as const)('%s widget and script', (provider, cls, src) => {
    const html = renderEmbedHtml(makeForm({ captcha: { provider, siteKey: 'key"<1>' } }), { actionUrl: ACTION });
    const widget = one(html, 'div', (d) => d.attrs.get('class') === cls);
    expect(widget.attrs.get('data-sitekey')).toBe('key"<1>');
    const widgetIndex = widget.index;
    const formTag = one(html, 'form', () => true);
    expect(widgetIndex).toBeGreaterThan(formTag.index);
    expect(html.indexOf('</form>')).toBeGreaterThan(widgetIndex);
    const script = one(html, 'script', (s) => s.attrs.has('src'));
    expect(script.attrs.get('src')).toBe(src);
    expect(script.attrs.has('async')).toBe(true);
  });
});

describe('renderResultPage', () => {
  test('a thank-you page', () => {
    const html = renderResultPage('thanks', { title: 'Thank you!', message: 'Check your <inbox>.' });
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<title>Thank you!</title>');
    expect(html).toContain('<h1>Thank you!</h1>');
    expect(html).toContain('Check your &lt;inbox&gt;.');
    expect(html).toContain('class="tl-result tl-thanks"');
    expect(html).not.toContain('<ul');
    expect(html).not.toContain('role="alert"');
  });

  test('an error page lists the problems, escaped', () => {
    const html = renderResultPage('error', {
      title: 'Please check the form',
      message: 'Some answers need fixing.',
      issues: [
        { path: 'email', message: 'must be an email address like name@example.com' },
        { path: '<b>', message: '<script>x</script>' },
      ],
    });
    expect(html).toContain('class="tl-result tl-error" role="alert"');
    const items = [...html.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((m) => m[1]);
    expect(items).toEqual(['<strong>email</strong> must be an email address like name@example.com', '<strong>&lt;b&gt;</strong> &lt;script&gt;x&lt;/script&gt;']);
  });

  test('labelIssues shows the labels the visitor saw', () => {
    expect(
      labelIssues(makeForm(), [
        { path: 'email', message: 'is required' },
        { path: 'first_name', message: 'is too long' },
        { path: 'consent_sms', message: 'must be yes or no' },
        { path: 'other', message: 'is not a field of this form' },
      ]),
    ).toEqual([
      { path: 'Your email', message: 'is required' },
      { path: 'First name', message: 'is too long' },
      { path: 'Text message consent', message: 'must be yes or no' },
      { path: 'other', message: 'is not a field of this form' },
    ]);
  });
});

describe('escapeHtml / escapeAttr', () => {
  test('escape the five significant characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
    expect(escapeAttr('" onmouseover="x')).toBe('&quot; onmouseover=&quot;x');
  });
});

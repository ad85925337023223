import { describe, expect, test } from 'vitest';
import { issuesFromZod } from '../../shared/errors.ts';
import { FormDefinitionInput } from '../../shared/forms/definition.ts';

const base = (): FormDefinitionInput => ({
  name: 'Newsletter footer',
  fields: [
    { name: 'email', type: 'email', required: true },
    { name: 'first_name', type: 'text', label: 'First name' },
  ],
});

function issues(input: unknown) {
  const result = FormDefinitionInput.safeParse(input);
  expect(result.success).toBe(false);
  return result.success ? [] : issuesFromZod(result.error.issues);
}

function paths(input: unknown): string[] {
  return issues(input).map((i) => i.path);
}

describe('FormDefinitionInput defaults', () => {
  test('a minimal form gets every default', () => {
    const form = FormDefinitionInput.parse(base());
    expect(form).toEqual({
      name: 'Newsletter footer',
      fields: [
        { name: 'email', type: 'email', required: true },
        { name: 'first_name', type: 'text', label: 'First name', required: false, maxLength: 500, attribute: 'first_name' },
      ],
      allowedOrigins: [],
      consent: {},
      doubleOptIn: false,
      honeypotField: 'website',
      rateLimit: { perIpPerMinute: 10, perFormPerMinute: 600 },
    });
  });

  test('attribute defaults to the name for non-address fields only, and an explicit one is kept', () => {
    const form = FormDefinitionInput.parse({
      ...base(),
      fields: [
        { name: 'phone', type: 'phone' },
        { name: 'plan', type: 'select', options: ['a', 'b'], attribute: 'Plan' },
        { name: 'age', type: 'number' },
      ],
    });
    expect(form.fields.map((f) => f.attribute)).toEqual([undefined, 'Plan', 'age']);
    expect(form.fields.map((f) => f.maxLength)).toEqual([undefined, undefined, undefined]);
  });

  test('an explicit maxLength is kept; partial rate limits are completed', () => {
    const form = FormDefinitionInput.parse({ ...base(), fields: [{ name: 'email', type: 'email' }, { name: 'note', type: 'text', maxLength: 40 }], rateLimit: { perIpPerMinute: 3 } });
    expect(form.fields[1]?.maxLength).toBe(40);
    expect(form.rateLimit).toEqual({ perIpPerMinute: 3, perFormPerMinute: 600 });
  });

  test('defaultCountry is upper-cased; origins are normalised to what browsers send', () => {
    const form = FormDefinitionInput.parse({
      ...base(),
      defaultCountry: 'de',
      allowedOrigins: ['https://Example.com', 'https://shop.example.com:8443/', 'http://localhost:5173', 'https://example.org:443'],
    });
    expect(form.defaultCountry).toBe('DE');
    expect(form.allowedOrigins).toEqual(['https://example.com', 'https://shop.example.com:8443', 'http://localhost:5173', 'https://example.org']);
  });

  test('a full definition is accepted as given', () => {
    const input: FormDefinitionInput = {
      ...base(),
      fields: [
        { name: 'email', type: 'email' },
        { name: 'mobile', type: 'phone' },
      ],
      consent: { email: { text: 'Send me news', version: 'v1' }, sms: { text: 'Text me', version: 'v1' } },
      doubleOptIn: true,
      redirectUrl: 'https://example.com/thanks?x=1',
      attributes: { source: 'footer', score: 3, vip: false },
      tags: ['newsletter'],
      honeypotField: 'company-url',
      captcha: { provider: 'turnstile', siteKey: '0x4AAA' },
      submitLabel: 'Join',
      successMessage: 'Thanks!',
    };
    const form = FormDefinitionInput.parse(input);
    expect(form.consent.sms).toEqual({ text: 'Text me', version: 'v1' });
    expect(form.captcha).toEqual({ provider: 'turnstile', siteKey: '0x4AAA' });
    expect(form.honeypotField).toBe('company-url');
  });
});

describe('FormDefinitionInput field rules', () => {
  test('a select needs options', () => {
    expect(issues({ ...base(), fields: [...base().fields, { name: 'plan', type: 'select' }] })).toEqual([{ path: 'fields[2].options', message: 'is required for a select field' }]);
  });

  test('options are forbidden on non-select fields and must be unique', () => {
    expect(paths({ ...base(), fields: [...base().fields, { name: 'age', type: 'number', options: ['1'] }] })).toEqual(['fields[2].options']);
    expect(paths({ ...base(), fields: [...base().fields, { name: 'plan', type: 'select', options: ['a', 'b', 'a'] }] })).toEqual(['fields[2].options[2]']);
    expect(paths({ ...base(), fields: [...base().fields, { name: 'plan', type: 'select', options: [] }] })).toEqual(['fields[2].options']);
    expect(paths({ ...base(), fields: [...base().fields, { name: 'plan', type: 'select', options: Array.from({ length: 101 }, (_, i) => `o${i}`) }] })).toEqual([
      'fields[2].options',
    ]);
  });

  test('maxLength only on text fields', () => {
    expect(issues({ ...base(), fields: [{ name: 'email', type: 'email', maxLength: 100 }] })).toEqual([{ path: 'fields[0].maxLength', message: 'is only allowed on text fields' }]);
  });

  test('email and phone fields cannot name an attribute', () => {
    expect(paths({ ...base(), fields: [{ name: 'email', type: 'email', attribute: 'mail' }] })).toEqual(['fields[0].attribute']);
  });

  test.each(['Email', '1st', 'first-name', 'a'.repeat(65), '_x', ''])('field name %j is refused', (name) => {
    expect(paths({ ...base(), fields: [...base().fields, { name, type: 'text' }] })).toEqual(['fields[2].name']);
  });

  test.each(['1attr', 'has-dash', 'a'.repeat(65)])('attribute name %j is refused', (attribute) => {
    expect(paths({ ...base(), fields: [...base().fields, { name: 'x', type: 'text', attribute }] })).toEqual(['fields[2].attribute']);
    expect(paths({ ...base(), attributes: { [attribute]: 'v' } })).toEqual([`attributes.${attribute}`]);
  });

  test('unknown keys on a field are refused', () => {
    expect(paths({ ...base(), fields: [{ name: 'email', type: 'email', placeholder: 'x' }] })).toEqual(['fields[0].placeholder']);
  });
});

describe('FormDefinitionInput cross-field rules', () => {
  test('field names are unique', () => {
    expect(issues({ ...base(), fields: [...base().fields, { name: 'first_name', type: 'text' }] })).toEqual([
      { path: 'fields[2].name', message: '"first_name" is already used by another field' },
    ]);
  });

  test('two fields cannot fill the same attribute', () => {
    expect(paths({ ...base(), fields: [...base().fields, { name: 'given', type: 'text', attribute: 'first_name' }] })).toEqual(['fields[2].attribute']);
  });

  test.each(['consent_email', 'consent_sms', 'tz', 'website'])('reserved name %s is refused', (name) => {
    expect(paths({ ...base(), fields: [...base().fields, { name, type: 'text' }] })).toEqual(['fields[2].name']);
  });

  test('the honeypot name is reserved whatever it is, and the default is then free', () => {
    expect(paths({ ...base(), honeypotField: 'nickname', fields: [...base().fields, { name: 'nickname', type: 'text' }] })).toEqual(['fields[2].name']);
    expect(FormDefinitionInput.safeParse({ ...base(), honeypotField: 'nickname', fields: [...base().fields, { name: 'website', type: 'text' }] }).success).toBe(true);
  });

  test.each(['tz', 'consent_sms', 'g-recaptcha-response'])('the honeypot cannot use reserved name %s', (honeypotField) => {
    expect(paths({ ...base(), honeypotField })).toEqual(['honeypotField']);
  });

  test('at most one email and one phone field', () => {
    expect(
      issues({
        ...base(),
        fields: [
          { name: 'email', type: 'email' },
          { name: 'email2', type: 'email' },
          { name: 'phone', type: 'phone' },
          { name: 'phone2', type: 'phone' },
        ],
      }),
    ).toEqual([
      { path: 'fields[1].type', message: 'a form can have only one email field' },
      { path: 'fields[3].type', message: 'a form can have only one phone field' },
    ]);
  });

  test('at least one email or phone field', () => {
    expect(issues({ ...base(), fields: [{ name: 'first_name', type: 'text' }] })).toEqual([{ path: 'fields', message: 'must include an email or a phone field' }]);
    expect(FormDefinitionInput.safeParse({ ...base(), fields: [{ name: 'mobile', type: 'phone' }] }).success).toBe(true);
  });

  test('1..50 fields', () => {
    expect(paths({ ...base(), fields: [] })).toEqual(['fields']);
    const many = Array.from({ length: 51 }, (_, i) => ({ name: i === 0 ? 'email' : `f${i}`, type: i === 0 ? 'email' : 'text' }));
    expect(paths({ ...base(), fields: many })).toEqual(['fields']);
  });

  test('sms consent needs a phone field; email consent needs an email field', () => {
    expect(issues({ ...base(), consent: { sms: { text: 'Text me', version: '1' } } })).toEqual([{ path: 'consent.sms', message: 'needs a phone field on the form' }]);
    expect(issues({ ...base(), fields: [{ name: 'mobile', type: 'phone' }], consent: { email: { text: 'Mail me', version: '1' } } })).toEqual([
      { path: 'consent.email', message: 'needs an email field on the form' },
    ]);
  });

  test('double opt-in needs email consent', () => {
    expect(issues({ ...base(), doubleOptIn: true })).toEqual([{ path: 'doubleOptIn', message: 'needs email consent wording (consent.email)' }]);
    expect(FormDefinitionInput.safeParse({ ...base(), doubleOptIn: true, consent: { email: { text: 'Mail me', version: '1' } } }).success).toBe(true);
  });

  test('consent wording is bounded', () => {
    expect(paths({ ...base(), consent: { email: { text: '', version: '1' } } })).toEqual(['consent.email.text']);
    expect(paths({ ...base(), consent: { email: { text: 'x'.repeat(2001), version: '1' } } })).toEqual(['consent.email.text']);
    expect(paths({ ...base(), consent: { email: { text: 'ok', version: 'v'.repeat(65) } } })).toEqual(['consent.email.version']);
    expect(paths({ ...base(), consent: { push: { text: 'ok', version: '1' } } })).toEqual(['consent.push']);
  });
});

describe('FormDefinitionInput URLs and the rest', () => {
  test.each([
    'https://example.com/path',
    'https://example.com/./',
    'https://example.com/?q=1',
    'https://example.com#x',
    'http://example.com',
    'ftp://example.com',
    'example.com',
    '*',
    'https://user:pw@example.com',
    'http://localhost.evil.com',
  ])('origin %j is refused', (origin) => {
    expect(paths({ ...base(), allowedOrigins: ['https://ok.example', origin] })).toEqual(['allowedOrigins[1]']);
  });

  test('at most 20 origins', () => {
    expect(paths({ ...base(), allowedOrigins: Array.from({ length: 21 }, (_, i) => `https://s${i}.example.com`) })).toEqual(['allowedOrigins']);
  });

  test.each(['http://example.com/thanks', 'javascript:alert(1)', '/thanks', 'not a url'])('redirectUrl %j is refused', (redirectUrl) => {
    expect(issues({ ...base(), redirectUrl })).toEqual([{ path: 'redirectUrl', message: 'must be an https URL (http only for localhost)' }]);
  });

  test('http redirect is fine for localhost', () => {
    expect(FormDefinitionInput.parse({ ...base(), redirectUrl: 'http://127.0.0.1:3000/ok' }).redirectUrl).toBe('http://127.0.0.1:3000/ok');
  });

  test.each(['USA', 'D', 'XX', '12'])('defaultCountry %j is refused', (defaultCountry) => {
    expect(paths({ ...base(), defaultCountry })).toEqual(['defaultCountry']);
  });

  test('attribute values are strings, finite numbers or booleans', () => {
    expect(paths({ ...base(), attributes: { a: null } })).toEqual(['attributes.a']);
    expect(paths({ ...base(), attributes: { a: { nested: 1 } } })).toEqual(['attributes.a']);
    expect(paths({ ...base(), attributes: { a: Number.POSITIVE_INFINITY } })).toEqual(['attributes.a']);
  });

  test('tags 0..20, captcha providers, rate limit bounds, unknown keys', () => {
    expect(paths({ ...base(), tags: Array.from({ length: 21 }, (_, i) => `t${i}`) })).toEqual(['tags']);
    expect(paths({ ...base(), captcha: { provider: 'hcaptcha', siteKey: 'k' } })).toEqual(['captcha.provider']);
    expect(paths({ ...base(), captcha: { provider: 'recaptcha', siteKey: '' } })).toEqual(['captcha.siteKey']);
    expect(paths({ ...base(), rateLimit: { perIpPerMinute: 0 } })).toEqual(['rateLimit.perIpPerMinute']);
    expect(paths({ ...base(), rateLimit: { perIpPerMinute: 1.5 } })).toEqual(['rateLimit.perIpPerMinute']);
    expect(paths({ ...base(), rateLimit: { perFormPerMinute: 100_001 } })).toEqual(['rateLimit.perFormPerMinute']);
    expect(issues({ ...base(), colour: 'red' })).toEqual([{ path: 'colour', message: 'is not a known field' }]);
  });

  test('name is 1..200 characters', () => {
    expect(paths({ ...base(), name: '  ' })).toEqual(['name']);
    expect(paths({ ...base(), name: 'n'.repeat(201) })).toEqual(['name']);
  });
});

import { describe, expect, test } from 'vitest';
import { normalizePhone } from '../../shared/contacts/phone.ts';
import { issuesFromZod } from '../../shared/errors.ts';
import { FormDefinitionInput, type Form } from '../../shared/forms/definition.ts';
import { buildSubmissionSchema, type NormalizedSubmission } from '../../shared/forms/submission.ts';

function makeForm(input: Partial<FormDefinitionInput> = {}): Form {
  const data = FormDefinitionInput.parse({
    name: 'Everything',
    fields: [
      { name: 'email', type: 'email' },
      { name: 'mobile', type: 'phone' },
      { name: 'first_name', type: 'text', maxLength: 10, attribute: 'firstName' },
      { name: 'age', type: 'number' },
      { name: 'vip', type: 'boolean' },
      { name: 'plan', type: 'select', options: ['basic', 'pro', '42'] },
      { name: 'birthday', type: 'date' },
    ],
    consent: { email: { text: 'Email me', version: 'e1' }, sms: { text: 'Text me', version: 's1' } },
    ...input,
  });
  return { ...data, id: 'frm_1', createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:00:00.000Z', version: 1 };
}

const form = makeForm();
const schema = buildSubmissionSchema(form);

function accept(body: unknown, on = schema): NormalizedSubmission {
  const result = on.safeParse(body);
  if (!result.success) expect.fail(`expected success, got ${JSON.stringify(issuesFromZod(result.error.issues))}`);
  return result.data;
}

function reject(body: unknown, on = schema) {
  const result = on.safeParse(body);
  if (result.success) expect.fail(`expected issues, got ${JSON.stringify(result.data)}`);
  return issuesFromZod(result.error.issues);
}

/** The message normalizePhone itself gives, so the test does not depend on its wording. */
function phoneMessage(input: string, country?: string): string {
  try {
    normalizePhone(input, country);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${input} is a valid phone number`);
}

describe('a complete submission', () => {
  test('urlencoded shape: every field type from strings', () => {
    expect(
      accept({
        email: ' Ada@Example.COM ',
        mobile: '+49 151 23456789',
        first_name: '  Ada ',
        age: '36',
        vip: 'on',
        plan: 'pro',
        birthday: '1990-12-10',
        consent_email: 'yes',
        consent_sms: 'on',
        website: '',
        tz: 'Europe/Berlin',
      }),
    ).toEqual({
      email: 'ada@example.com',
      phone: '+4915123456789',
      country: 'DE',
      attributes: { firstName: 'Ada', age: 36, vip: true, plan: 'pro', birthday: '1990-12-10' },
      consent: { email: true, sms: true },
      timezone: 'Europe/Berlin',
      honeypotFilled: false,
    });
  });

  test('JSON shape: numbers and booleans as such', () => {
    expect(
      accept({ email: 'ada@example.com', mobile: '+12015550123', first_name: 'Ada', age: 36.5, vip: false, plan: 42, birthday: '2000-02-29', consent_email: true, consent_sms: false }),
    ).toEqual({
      email: 'ada@example.com',
      phone: '+12015550123',
      country: 'US',
      attributes: { firstName: 'Ada', age: 36.5, vip: false, plan: '42', birthday: '2000-02-29' },
      consent: { email: true, sms: false },
      honeypotFilled: false,
    });
  });

  test('the form attributes are merged in, field values win', () => {
    const withAttributes = buildSubmissionSchema(makeForm({ attributes: { source: 'footer', vip: true, plan: 'basic' } }));
    expect(accept({ email: 'a@example.com', plan: 'pro' }, withAttributes).attributes).toEqual({ source: 'footer', vip: false, plan: 'pro' });
  });

  test('empty optional fields are absent; an unticked checkbox is false', () => {
    expect(accept({ email: 'a@example.com', mobile: '', first_name: '   ', age: '', plan: '', birthday: '', tz: '' })).toEqual({
      email: 'a@example.com',
      attributes: { vip: false },
      consent: { email: false, sms: false },
      honeypotFilled: false,
    });
    expect(accept({ email: 'a@example.com', age: null, first_name: null }).attributes).toEqual({ vip: false });
  });
});

describe('email and phone', () => {
  test('an invalid email gets normalizeEmail’s message at the field', () => {
    expect(reject({ email: 'ada@example' })).toEqual([{ path: 'email', message: 'the domain is not valid' }]);
    expect(reject({ email: 'nope' })).toEqual([{ path: 'email', message: 'must be an email address like name@example.com' }]);
  });

  test('phone numbers use the form’s default country', () => {
    const us = buildSubmissionSchema(makeForm({ defaultCountry: 'us' }));
    expect(accept({ mobile: '(201) 555-0123' }, us)).toMatchObject({ phone: '+12015550123', country: 'US' });
    const de = buildSubmissionSchema(makeForm({ defaultCountry: 'DE' }));
    expect(accept({ mobile: '0151 23456789' }, de)).toMatchObject({ phone: '+4915123456789', country: 'DE' });
  });

  test('an invalid phone gets normalizePhone’s message at the field', () => {
    const issues = reject({ mobile: '12345' });
    expect(issues).toEqual([{ path: 'mobile', message: phoneMessage('12345') }]);
    expect(issues[0]?.message).not.toBe('');
  });

  test('email and phone must be text', () => {
    expect(reject({ email: 5, mobile: 4915123456789 })).toEqual([
      { path: 'email', message: 'must be text' },
      { path: 'mobile', message: 'must be text' },
    ]);
  });

  test('required fields', () => {
    const required = buildSubmissionSchema(
      makeForm({
        fields: [
          { name: 'email', type: 'email', required: true },
          { name: 'mobile', type: 'phone', required: true },
          { name: 'terms', type: 'boolean', required: true },
          { name: 'note', type: 'text', required: true },
        ],
      }),
    );
    expect(reject({ email: ' ', terms: 'false' }, required)).toEqual([
      { path: 'email', message: 'is required' },
      { path: 'mobile', message: 'is required' },
      { path: 'terms', message: 'must be ticked' },
      { path: 'note', message: 'is required' },
    ]);
    expect(accept({ email: 'a@example.com', mobile: '+12015550123', terms: 'on', note: 'hi' }, required).attributes).toEqual({ terms: true, note: 'hi' });
  });
});

describe('field types', () => {
  test.each([
    ['42', 42],
    [' -3.5 ', -3.5],
    ['1e3', 1000],
    ['.5', 0.5],
    [7, 7],
    [0, 0],
  ])('number %j → %j', (age, expected) => {
    expect(accept({ email: 'a@example.com', age }).attributes.age).toBe(expected);
  });

  test.each(['abc', '12abc', '0x10', '1,5', 'Infinity', '1e999', true, [1]])('number %j is refused', (age) => {
    expect(reject({ email: 'a@example.com', age })).toEqual([{ path: 'age', message: Array.isArray(age) ? expect.stringMatching(/more than once/) : 'must be a number' }]);
  });

  test.each([
    [true, true],
    [false, false],
    ['true', true],
    ['FALSE', false],
    ['on', true],
    ['1', true],
    ['0', false],
    [1, true],
    [0, false],
    ['yes', true],
    ['No', false],
  ])('boolean %j → %j', (vip, expected) => {
    expect(accept({ email: 'a@example.com', vip }).attributes.vip).toBe(expected);
  });

  test.each(['maybe', 2, 'y'])('boolean %j is refused', (vip) => {
    expect(reject({ email: 'a@example.com', vip })).toEqual([{ path: 'vip', message: 'must be yes or no' }]);
  });

  test('select must be one of the options', () => {
    expect(reject({ email: 'a@example.com', plan: 'Pro' })).toEqual([{ path: 'plan', message: 'must be one of the choices offered' }]);
    expect(accept({ email: 'a@example.com', plan: ' basic ' }).attributes.plan).toBe('basic');
  });

  test.each([
    ['2023-02-29', 'is not a real date'],
    ['2024-13-01', 'is not a real date'],
    ['2024-04-31', 'is not a real date'],
    ['0000-01-01', 'is not a real date'],
    ['2024-1-5', 'must be a date like 2024-01-31'],
    ['31/01/2024', 'must be a date like 2024-01-31'],
    ['2024-01-31T00:00:00Z', 'must be a date like 2024-01-31'],
    [20240131, 'must be a date like 2024-01-31'],
  ])('date %j is refused: %s', (birthday, message) => {
    expect(reject({ email: 'a@example.com', birthday })).toEqual([{ path: 'birthday', message }]);
  });

  test('a leap day and an early year are real dates', () => {
    expect(accept({ email: 'a@example.com', birthday: '2024-02-29' }).attributes.birthday).toBe('2024-02-29');
    expect(accept({ email: 'a@example.com', birthday: '0050-03-01' }).attributes.birthday).toBe('0050-03-01');
  });

  test('text is trimmed, bounded, CRLF folded, control characters refused', () => {
    expect(accept({ email: 'a@example.com', first_name: 'a\r\nb\tc' }).attributes.firstName).toBe('a\nb\tc');
    expect(accept({ email: 'a@example.com', first_name: 'x'.repeat(10) }).attributes.firstName).toBe('x'.repeat(10));
    expect(accept({ email: 'a@example.com', first_name: 12 }).attributes.firstName).toBe('12');
    expect(reject({ email: 'a@example.com', first_name: 'x'.repeat(11) })).toEqual([{ path: 'first_name', message: 'must be at most 10 characters' }]);
    for (const bad of ['a\u0000b', 'a\u001bb', 'a\u007fb', 'a\u0085b']) {
      expect(reject({ email: 'a@example.com', first_name: bad })).toEqual([{ path: 'first_name', message: 'contains characters that are not allowed' }]);
    }
    expect(reject({ email: 'a@example.com', first_name: true })).toEqual([{ path: 'first_name', message: 'must be text' }]);
    expect(reject({ email: 'a@example.com', first_name: { a: 1 } })).toEqual([{ path: 'first_name', message: 'must be text' }]);
  });

  test('a text field without an explicit maxLength allows 500 characters', () => {
    const plain = buildSubmissionSchema(makeForm({ fields: [{ name: 'email', type: 'email' }, { name: 'note', type: 'text' }], consent: {} }));
    expect(accept({ email: 'a@example.com', note: 'n'.repeat(500) }, plain).attributes.note).toHaveLength(500);
    expect(reject({ email: 'a@example.com', note: 'n'.repeat(501) }, plain)).toEqual([{ path: 'note', message: 'must be at most 500 characters' }]);
  });
});

describe('repeated keys', () => {
  test('an array for a single-value field is refused, per field', () => {
    expect(reject({ email: ['a@example.com', 'b@example.com'], plan: ['basic', 'pro'], vip: ['on', 'on'], consent_email: ['yes', 'yes'] }).map((i) => i.path)).toEqual([
      'email',
      'vip',
      'plan',
      'consent_email',
    ]);
    expect(reject({ email: ['a@example.com', 'b@example.com'] })[0]?.message).toBe('was sent more than once; send a single value');
  });
});

describe('consent', () => {
  test('unticked boxes are false; ticked ones true', () => {
    expect(accept({ email: 'a@example.com' }).consent).toEqual({ email: false, sms: false });
    expect(accept({ email: 'a@example.com', consent_email: 'on' }).consent).toEqual({ email: true, sms: false });
    expect(accept({ mobile: '+12015550123', consent_sms: true }).consent).toEqual({ email: false, sms: true });
  });

  test('consent by email needs the email, by sms needs the phone', () => {
    expect(reject({ consent_email: 'on', first_name: 'Ada' })).toEqual([{ path: 'email', message: 'is required to subscribe by email' }]);
    expect(reject({ email: 'a@example.com', consent_sms: 'on' })).toEqual([{ path: 'mobile', message: 'is required to subscribe by text message' }]);
  });

  test('an invalid address is reported once, not again for consent', () => {
    expect(reject({ email: 'nope', consent_email: 'on' })).toEqual([{ path: 'email', message: 'must be an email address like name@example.com' }]);
  });

  test('a ticked box for a channel the form does not offer is refused; an unticked one is fine', () => {
    const emailOnly = buildSubmissionSchema(makeForm({ consent: { email: { text: 'Email me', version: '1' } } }));
    expect(reject({ email: 'a@example.com', mobile: '+12015550123', consent_sms: 'on' }, emailOnly)).toEqual([{ path: 'consent_sms', message: 'is not offered by this form' }]);
    expect(accept({ email: 'a@example.com', consent_sms: 'false' }, emailOnly).consent).toEqual({ email: false, sms: false });
  });

  test('a consent value that is not yes/no is refused', () => {
    expect(reject({ email: 'a@example.com', consent_email: 'please' })).toEqual([{ path: 'consent_email', message: 'must be yes or no' }]);
  });
});

describe('unknown keys', () => {
  test('each unknown key is an issue at the key', () => {
    expect(reject({ email: 'a@example.com', colour: 'red', _token: 'x', 'a.b': '1' })).toEqual([
      { path: 'colour', message: 'is not a field of this form' },
      { path: '_token', message: 'is not a field of this form' },
      { path: 'a.b', message: 'is not a field of this form' },
    ]);
  });

  test('prototype-looking keys are just unknown keys', () => {
    expect(reject(JSON.parse('{"email":"a@example.com","__proto__":{"x":1},"constructor":"y"}')).map((i) => i.path)).toEqual(['__proto__', 'constructor']);
  });

  test('the honeypot, tz, consent and captcha names are allowed', () => {
    expect(accept({ email: 'a@example.com', website: '', tz: 'UTC', consent_email: '', consent_sms: '', 'cf-turnstile-response': 't', 'g-recaptcha-response': 'r' })).toMatchObject({
      email: 'a@example.com',
    });
  });

  test('a non-object body is one issue', () => {
    for (const body of [undefined, null, 'email=a', ['a']]) expect(reject(body)).toEqual([{ path: '', message: 'The form data is missing or not a set of fields' }]);
  });
});

describe('honeypot', () => {
  test('a filled honeypot is flagged and nothing else is kept, even with other problems', () => {
    expect(accept({ email: 'not an email', website: 'http://spam.example', colour: 'red', consent_sms: 'on' })).toEqual({
      attributes: {},
      consent: { email: false, sms: false },
      honeypotFilled: true,
    });
    expect(accept({ email: 'a@example.com', website: ['', 'x'] }).honeypotFilled).toBe(true);
    expect(accept({ email: 'a@example.com', website: 1 }).honeypotFilled).toBe(true);
  });

  test('an empty or blank honeypot is not flagged', () => {
    expect(accept({ email: 'a@example.com', website: '' }).honeypotFilled).toBe(false);
    expect(accept({ email: 'a@example.com', website: '  ' }).honeypotFilled).toBe(false);
    expect(accept({ email: 'a@example.com' }).honeypotFilled).toBe(false);
  });

  test('a custom honeypot name replaces the default', () => {
    const custom = buildSubmissionSchema(makeForm({ honeypotField: 'company-url' }));
    expect(accept({ email: 'a@example.com', 'company-url': 'x' }, custom).honeypotFilled).toBe(true);
    expect(reject({ email: 'a@example.com', website: '' }, custom)).toEqual([{ path: 'website', message: 'is not a field of this form' }]);
  });
});

describe('time zone', () => {
  test.each([
    ['Europe/Berlin', 'Europe/Berlin'],
    ['america/new_york', 'America/New_York'],
    ['UTC', 'UTC'],
  ])('%j → %j', (tz, expected) => {
    expect(accept({ email: 'a@example.com', tz }).timezone).toBe(expected);
  });

  test.each(['Mars/Olympus', '+01:00', 'Europe/../etc', 'x'.repeat(65), 5, ['Europe/Berlin', 'UTC']])('%j is ignored without an issue', (tz) => {
    const result = accept({ email: 'a@example.com', tz });
    expect(result.timezone).toBeUndefined();
    expect('timezone' in result).toBe(false);
  });
});

describe('captcha', () => {
  test('the token of the configured provider is passed on', () => {
    const turnstile = buildSubmissionSchema(makeForm({ captcha: { provider: 'turnstile', siteKey: 'k' } }));
    expect(accept({ email: 'a@example.com', 'cf-turnstile-response': ' tok ', 'g-recaptcha-response': 'other' }, turnstile).captchaToken).toBe('tok');
    const recaptcha = buildSubmissionSchema(makeForm({ captcha: { provider: 'recaptcha', siteKey: 'k' } }));
    expect(accept({ email: 'a@example.com', 'g-recaptcha-response': 'rtok' }, recaptcha).captchaToken).toBe('rtok');
    expect('captchaToken' in accept({ email: 'a@example.com' }, recaptcha)).toBe(false);
  });

  test('no token is read for a form without captcha', () => {
    expect(accept({ email: 'a@example.com', 'cf-turnstile-response': 'tok' }).captchaToken).toBeUndefined();
  });

  test('a repeated token is refused', () => {
    const turnstile = buildSubmissionSchema(makeForm({ captcha: { provider: 'turnstile', siteKey: 'k' } }));
    expect(reject({ email: 'a@example.com', 'cf-turnstile-response': ['a', 'b'] }, turnstile)).toEqual([
      { path: 'cf-turnstile-response', message: 'was sent more than once; send a single value' },
    ]);
  });
});

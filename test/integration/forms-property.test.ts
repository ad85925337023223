/**
 * Property-based tests of the public submission endpoint (`POST /f/{formId}`): malformed bodies of
 * every shape are refused with a 4xx and write nothing; valid random submissions are accepted and
 * deduplicated by normalised email.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { documentClient } from '../../shared/aws/dynamodb.ts';
import { normalizeEmail } from '../../shared/contacts/email.ts';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => {
  await t?.stop();
});

const PLAN_OPTIONS = ['free', 'pro', 'team'] as const;
const MAX_SUBMISSION_BYTES = 16 * 1024;

/** Every field type, email required, consent offered on both channels, no redirect (JSON and HTML answers). */
const formDefinition = {
  name: 'Property form',
  fields: [
    { name: 'email', type: 'email', required: true },
    { name: 'phone', type: 'phone' },
    { name: 'first_name', type: 'text', attribute: 'firstName' },
    { name: 'age', type: 'number' },
    { name: 'newsletter', type: 'boolean' },
    { name: 'plan', type: 'select', options: [...PLAN_OPTIONS] },
    { name: 'birthday', type: 'date' },
  ],
  consent: {
    email: { text: 'Email me the newsletter', version: 'email-v1' },
    sms: { text: 'Text me offers', version: 'sms-v1' },
  },
  doubleOptIn: false,
  defaultCountry: 'GB',
  // perIpPerMinute is capped at 1000 by the form definition; each property gets its own form,
  // and the limiter counts per form, so no property comes near it.
  rateLimit: { perIpPerMinute: 1000, perFormPerMinute: 100_000 },
};

const FIELD_NAMES = formDefinition.fields.map((f) => f.name);
/** Keys the endpoint reads besides the fields (the honeypot `website` is deliberately absent). */
const EXTRA_KEYS = ['consent_email', 'consent_sms', 'tz', 'cf-turnstile-response', 'g-recaptcha-response'];
const KNOWN_KEYS = new Set([...FIELD_NAMES, ...EXTRA_KEYS, 'website']);
/** Keys whose value is parsed as one scalar: a repeated or array value is refused. (tz and the captcha names are tolerated.) */
const SCALAR_KEYS = [...FIELD_NAMES, 'consent_email', 'consent_sms'];

async function createForm(): Promise<string> {
  const response = await t.api<{ form: { id: string } }>('POST', '/v1/forms', { body: formDefinition });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.form.id;
}

async function countItems(table: string): Promise<number> {
  let total = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documentClient.send(new ScanCommand({ TableName: t.runtime.tableNames[table], Select: 'COUNT', ExclusiveStartKey: start }));
    total += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return total;
}

async function scanItems(table: string): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documentClient.send(new ScanCommand({ TableName: t.runtime.tableNames[table], ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

interface StoredCounts {
  contacts: number;
  contactLookups: number;
  consents: number;
}

async function storedCounts(): Promise<StoredCounts> {
  const [contacts, contactLookups, consents] = await Promise.all([countItems('contacts'), countItems('contactLookups'), countItems('consents')]);
  return { contacts, contactLookups, consents };
}

/** A request as it goes on the wire: bytes and a content type (undefined sends none at all). */
interface RawRequest {
  label: string;
  body: Uint8Array;
  contentType: string | undefined;
}

interface PostResult {
  status: number;
  text: string;
}

/** Posts bytes without a token; a Uint8Array body makes fetch add no content type of its own. */
async function post(formId: string, request: Pick<RawRequest, 'body' | 'contentType'>): Promise<PostResult> {
  const response = await fetch(`${t.runtime.urls.api}/f/${formId}`, {
    method: 'POST',
    headers: request.contentType === undefined ? {} : { 'content-type': request.contentType },
    body: request.body,
    redirect: 'manual',
  });
  return { status: response.status, text: await response.text() };
}

const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));
const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';
const UNSUPPORTED_TYPES = [
  'text/plain',
  'text/plain;charset=UTF-8',
  'application/xml',
  'text/xml',
  'text/html',
  'multipart/form-data; boundary=----touchloop',
  'application/octet-stream',
  'image/png',
] as const;

// ---------------------------------------------------------------------------------------------
// Valid submissions (the base every mutation starts from; the positive property proves it valid)
// ---------------------------------------------------------------------------------------------

type FieldValue = string | number | boolean;
type Fields = Record<string, FieldValue>;
type Encoding = 'json' | 'form';

/** Valid GB mobile numbers (07400 range), in the spellings the endpoint accepts. */
const phoneNumber = fc
  .tuple(fc.integer({ min: 0, max: 999_999 }), fc.constantFrom('national', 'international', 'spaced'))
  .map(([n, style]) => {
    const digits = String(n).padStart(6, '0');
    return style === 'national' ? `07400${digits}` : style === 'international' ? `+447400${digits}` : `07400 ${digits.slice(0, 3)} ${digits.slice(3)}`;
  });
/** Printable ASCII only, at most 60 characters: well inside the text field's 500. */
const firstName = fc.string({ maxLength: 60 });
/**
 * Numbers a person types, at everyday magnitudes (the property is about accepted submissions). Numbers
 * DynamoDB cannot hold — beyond ±(2^53 − 1) or below its 1e-130 magnitude — are refused with 400 at their
 * path; the route fuzz (fuzz-routes.test.ts) and the forms tests cover those.
 */
const ageValue = fc.oneof(fc.integer({ min: -100_000, max: 100_000 }), fc.integer({ min: -100_000, max: 100_000 }).map((n) => n / 100));
const flagValue = fc.constantFrom<FieldValue>(true, false, 'on', 'off', 'yes', 'no', 'true', 'false', '1', '0', 1, 0, 'ON', ' Yes ');
const planValue = fc.constantFrom(...PLAN_OPTIONS).chain((p) => fc.constantFrom(p, ` ${p} `));
const dateValue = fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2100-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
const tzValue = fc.constantFrom('Europe/Berlin', 'America/New_York', 'UTC', 'Asia/Kolkata', 'Not/AZone');

/** The optional part of a valid submission (no email); consent_sms only with a phone. */
const optionalFields: fc.Arbitrary<Fields> = fc
  .record(
    {
      phone: phoneNumber,
      first_name: firstName,
      age: ageValue,
      newsletter: flagValue,
      plan: planValue,
      birthday: dateValue,
      consent_email: fc.constantFrom<FieldValue>(true, 'on'),
      consent_sms: fc.constantFrom<FieldValue>(true, 'on', 'yes'),
      tz: tzValue,
    },
    { requiredKeys: [] },
  )
  .map((fields) => {
    const out: Fields = { ...fields };
    if (out.phone === undefined) delete out.consent_sms;
    return out;
  });

/** A valid submission with a `user<n>@example.com` address (never stored: mutations break it first). */
const validSubmission: fc.Arbitrary<Fields> = fc
  .tuple(fc.nat({ max: 1_000_000 }), optionalFields)
  .map(([n, rest]) => ({ email: `user${n}@example.com`, ...rest }));

/** The urlencoded spelling of a value: what a browser sends for it. */
const formText = (value: FieldValue): string => (value === true ? 'on' : value === false ? 'off' : String(value));

function encodeFields(fields: Fields, encoding: Encoding, repeated: Array<[string, string]> = []): RawRequest {
  if (encoding === 'json') return { label: 'json', body: utf8(JSON.stringify(fields)), contentType: JSON_TYPE };
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) params.append(key, formText(value));
  for (const [key, value] of repeated) params.append(key, value);
  return { label: 'form', body: utf8(params.toString()), contentType: FORM_TYPE };
}

// ---------------------------------------------------------------------------------------------
// Mutations: each turns a valid submission into one that must be refused, with the status
// ---------------------------------------------------------------------------------------------

interface Invalid {
  /** Which rule the mutation breaks. */
  kind: string;
  request: RawRequest;
  expected: 400 | 413 | 415;
}

const invalid = (kind: string, request: Omit<RawRequest, 'label'>, expected: Invalid['expected'], detail = ''): Invalid => ({
  kind,
  request: { ...request, label: detail ? `${kind} (${detail})` : kind },
  expected,
});
const jsonRequest = (value: unknown): Omit<RawRequest, 'label'> => ({ body: utf8(JSON.stringify(value)), contentType: JSON_TYPE });

/** An own property even for `__proto__` (a plain assignment would set the prototype instead). */
const withKey = (fields: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> => Object.fromEntries([...Object.entries(fields), [key, value]]);
const without = (fields: Fields, ...keys: string[]): Fields => Object.fromEntries(Object.entries(fields).filter(([k]) => !keys.includes(k)));

const DATE_SHAPE = /^\d{4}-\d{2}-\d{2}$/;
const NUMBER_SHAPE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Whether a body could possibly be accepted: the honeypot present, or exactly one email value with an @ in it. */
function couldBeAccepted(body: Uint8Array, contentType: string | undefined): boolean {
  const text = Buffer.from(body).toString('utf8');
  if (contentType?.startsWith(FORM_TYPE)) {
    const params = new URLSearchParams(text);
    const emails = params.getAll('email');
    return params.has('website') || (emails.length === 1 && emails[0]!.includes('@'));
  }
  if (contentType?.includes('json')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return false;
    }
    return value !== null && typeof value === 'object' && !Array.isArray(value) && ('website' in value || 'email' in value);
  }
  return false;
}

/** Strings that are no email address: no @ at all, or one of the classic mistakes. */
const invalidEmail = fc.oneof(
  fc.string({ minLength: 1 }).filter((s) => !s.includes('@') && s.trim() !== ''),
  fc.constantFrom(
    'plainaddress',
    '@example.com',
    'user@',
    'user@localhost',
    'a b@example.com',
    'user@@example.com',
    'user@example..com',
    'user@-example.com',
    'user@example.123',
    '"quoted"@example.com',
    'user@exa mple.com',
    '.user@example.com',
    'user.@example.com',
    `${'a'.repeat(65)}@example.com`,
    'ü@example.com',
  ),
  // Arbitrary text around an @, kept only when the app's own rules refuse it.
  fc
    .tuple(fc.string(), fc.string())
    .map(([a, b]) => `${a}@${b}`)
    .filter((s) => {
      try {
        normalizeEmail(s);
        return false;
      } catch {
        return true;
      }
    }),
);
const invalidNumber = fc.oneof(
  fc.constantFrom('abc', 'NaN', 'Infinity', '-Infinity', '0x10', '1,5', '1e', '1e400', '--1', '+', '.', '1 2', '12abc', 'one'),
  fc.string({ minLength: 1 }).filter((s) => s.trim() !== '' && !NUMBER_SHAPE.test(s.trim())),
);
const invalidSelect = fc
  .oneof(fc.constantFrom('FREE', 'enterprise', 'pro,team', 'free pro'), fc.string({ minLength: 1 }))
  .filter((s) => s.trim() !== '' && !(PLAN_OPTIONS as readonly string[]).includes(s.trim()));
const invalidDate = fc.oneof(
  fc.constantFrom('2024-02-30', '2023-02-29', '2024-13-01', '2024-00-10', '2024-04-31', '0000-01-01', '24-01-01', '2024/01/01', '2024-1-1', '20240101', '2024-01-01T00:00:00Z', 'tomorrow', '31.01.2024'),
  fc.string({ minLength: 1 }).filter((s) => s.trim() !== '' && !DATE_SHAPE.test(s.trim())),
);
const invalidFlag = fc
  .oneof(fc.constantFrom('maybe', 'y', 'n', 'checked', '2', 'tru'), fc.string({ minLength: 1 }))
  .filter((s) => !['', 'true', 'on', '1', 'yes', 'false', 'off', '0', 'no'].includes(s.trim().toLowerCase()));
/** Control characters other than tab, CR and LF, placed between letters so trimming cannot remove them. */
const controlChar = fc
  .oneof(fc.integer({ min: 0x00, max: 0x08 }), fc.constantFrom(0x0b, 0x0c), fc.integer({ min: 0x0e, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f }))
  .map((c) => String.fromCharCode(c));
const unknownKey = fc
  .oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.constantFrom('Email', 'EMAIL', 'firstName', 'consent', '__proto__', 'constructor', 'toString', 'email '))
  .filter((k) => !KNOWN_KEYS.has(k));
const scalarKey = fc.constantFrom(...SCALAR_KEYS);
const smallJson = fc.jsonValue({ maxDepth: 2 });

/** Per field, JSON values of a type it never accepts (null counts as absent, so it is not among them). */
const wrongTypes: Record<string, fc.Arbitrary<unknown>> = {
  email: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean()),
  phone: fc.oneof(fc.integer(), fc.boolean()),
  first_name: fc.boolean(),
  age: fc.boolean(),
  newsletter: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })).filter((n) => n !== 0 && n !== 1),
  plan: fc.oneof(fc.boolean(), fc.integer()),
  birthday: fc.oneof(fc.integer(), fc.boolean()),
  consent_email: fc.integer().filter((n) => n !== 0 && n !== 1),
  consent_sms: fc.integer().filter((n) => n !== 0 && n !== 1),
};

const encoding = fc.constantFrom<Encoding>('json', 'form');

/** A valid base with exactly one mutation that must break it, and the status that break gets. */
const invalidSubmission: fc.Arbitrary<Invalid> = fc.oneof(
  fc.tuple(validSubmission, encoding).map(([base, enc]) => invalid('required email missing', encodeFields(without(base, 'email', 'consent_email'), enc), 400, enc)),
  fc.tuple(validSubmission, invalidEmail, encoding).map(([base, email, enc]) => invalid('email not an address', encodeFields({ ...base, email }, enc), 400, enc)),
  fc.tuple(validSubmission, invalidNumber, encoding).map(([base, age, enc]) => invalid('number not numeric', encodeFields({ ...base, age }, enc), 400, enc)),
  fc.tuple(validSubmission, invalidSelect, encoding).map(([base, plan, enc]) => invalid('select value not offered', encodeFields({ ...base, plan }, enc), 400, enc)),
  fc.tuple(validSubmission, invalidDate, encoding).map(([base, birthday, enc]) => invalid('date not real', encodeFields({ ...base, birthday }, enc), 400, enc)),
  fc
    .tuple(validSubmission, fc.constantFrom('newsletter', 'consent_email'), invalidFlag, encoding)
    .map(([base, key, flag, enc]) => invalid('checkbox neither yes nor no', encodeFields({ ...base, [key]: flag }, enc), 400, `${key}, ${enc}`)),
  fc
    .tuple(validSubmission, unknownKey, fc.string(), encoding)
    .map(([base, key, value, enc]) => invalid('unknown key', enc === 'json' ? jsonRequest(withKey(base, key, value)) : encodeFields(base, enc, [[key, value]]), 400, enc)),
  // Repeated keys (urlencoded) where one value is expected: even the same value twice.
  fc.tuple(validSubmission, scalarKey, fc.array(fc.string(), { maxLength: 3 })).map(([base, key, extra]) => {
    const value = formText(base[key] ?? 'x');
    return invalid('repeated key', encodeFields(without(base, key), 'form', [[key, value], [key, value], ...extra.map((e): [string, string] => [key, e])]), 400, key);
  }),
  fc.tuple(validSubmission, scalarKey, fc.array(smallJson, { maxLength: 3 })).map(([base, key, items]) => invalid('array for a scalar', jsonRequest(withKey(without(base, key), key, items)), 400, key)),
  fc
    .tuple(validSubmission, scalarKey, fc.dictionary(fc.string(), smallJson, { maxKeys: 3 }))
    .map(([base, key, object]) => invalid('object for a scalar', jsonRequest(withKey(without(base, key), key, object)), 400, key)),
  fc
    .tuple(validSubmission, fc.constantFrom(...Object.keys(wrongTypes)))
    .chain(([base, key]) => wrongTypes[key]!.map((value) => invalid('wrong JSON type', jsonRequest(withKey(without(base, key), key, value)), 400, key))),
  fc
    .tuple(validSubmission, fc.constantFrom<FieldValue>(true, 'on', 'yes', 1), encoding)
    .map(([base, tick, enc]) => invalid('sms consent without phone', encodeFields({ ...without(base, 'phone'), consent_sms: tick }, enc), 400, enc)),
  fc
    .tuple(validSubmission, fc.string(), controlChar, fc.string(), encoding)
    .map(([base, a, c, b, enc]) => invalid('control character in text', encodeFields({ ...base, first_name: `${a}x${c}x${b}` }, enc), 400, `U+${c.charCodeAt(0).toString(16).padStart(4, '0')}, ${enc}`)),
  // Longer than the text field's 500 characters, the body still under 16 KB.
  fc
    .tuple(validSubmission, fc.integer({ min: 501, max: 8000 }), encoding)
    .map(([base, n, enc]) => invalid('text too long', encodeFields({ ...base, first_name: 'y'.repeat(n) }, enc), 400, `${n} chars, ${enc}`)),
  // Over 16 KB, whatever the body holds.
  fc
    .tuple(validSubmission, fc.integer({ min: 1, max: 40_000 }), fc.constantFrom('first_name', 'padding'), encoding)
    .map(([base, extra, key, enc]) => invalid('body over 16 KB', encodeFields({ ...base, [key]: 'z'.repeat(MAX_SUBMISSION_BYTES + extra) }, enc), 413, `${key}, ${enc}`)),
  // Bytes that are not UTF-8 inside the email (read as U+FFFD, or breaking the JSON).
  fc.tuple(validSubmission, fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([base, bytes]) => {
    const [before, after] = JSON.stringify({ ...base, email: 'PLACEHOLDER@example.com' }).split('PLACEHOLDER') as [string, string];
    const nonAscii = Uint8Array.from(bytes, (b, i) => (i === 0 ? b | 0x80 : b));
    return invalid('non-UTF-8 bytes in email', { body: new Uint8Array(Buffer.concat([utf8(before), nonAscii, utf8(after)])), contentType: JSON_TYPE }, 400);
  }),
  fc
    .tuple(validSubmission, fc.constantFrom('array-of-base', 'string', 'jsonValue'))
    .chain(([base, kind]) =>
      kind === 'array-of-base'
        ? fc.constant<unknown>([base])
        : kind === 'string'
          ? fc.string().map((s): unknown => s)
          : fc.jsonValue().filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)),
    )
    .map((value) => invalid('JSON not an object', jsonRequest(value), 400)),
  fc.tuple(validSubmission, fc.constantFrom('truncated', 'trailing comma', 'single quotes', 'doubled')).map(([base, how]) => {
    const text = JSON.stringify(base);
    const broken = how === 'truncated' ? text.slice(0, -1) : how === 'trailing comma' ? `${text.slice(0, -1)},}` : how === 'single quotes' ? text.replaceAll('"', "'") : `${text}${text}`;
    return invalid('JSON does not parse', { body: utf8(broken), contentType: JSON_TYPE }, 400, how);
  }),
  // A JSON body sent as urlencoded reads as one odd key and no email.
  validSubmission
    .map((base) => invalid('JSON sent as urlencoded', { body: utf8(JSON.stringify(base)), contentType: FORM_TYPE }, 400))
    .filter(({ request }) => !couldBeAccepted(request.body, request.contentType)),
  fc
    .tuple(validSubmission, fc.option(fc.constantFrom(...UNSUPPORTED_TYPES), { nil: undefined }))
    .map(([base, contentType]) => invalid('unsupported content type', { body: utf8(JSON.stringify(base)), contentType }, 415, contentType ?? 'none')),
);

/**
 * Posts invalid requests and checks each status, and that after each request the three contact tables
 * hold exactly as many items as just before it (counted afresh for every request, so a failing case
 * — and every case fast-check tries while shrinking it — is judged on its own).
 */
async function refusalChecker(formId: string): Promise<(request: RawRequest, expected: number) => Promise<void>> {
  return async (request, expected) => {
    const before = await storedCounts();
    const response = await post(formId, request);
    const after = await storedCounts();
    expect(response.status, `${request.label}: ${response.text.slice(0, 300)}`).toBe(expected);
    expect(after, request.label).toEqual(before);
  };
}

describe('malformed submissions are refused with a 4xx and store nothing', () => {
  test('a valid submission with one rule broken → 400 / 413 / 415', { timeout: 60_000 }, async () => {
    // Prepare
    const refused = await refusalChecker(await createForm());
    const kinds = new Set<string>();
    // Act / Assess
    await fc.assert(
      fc.asyncProperty(invalidSubmission, async ({ kind, request, expected }) => {
        kinds.add(kind);
        await refused(request, expected);
      }),
      { numRuns: 150 },
    );
    // Most mutations were exercised: a generator that stopped producing them would pass vacuously.
    expect(kinds.size).toBeGreaterThanOrEqual(15);
  });

  test('arbitrary JSON values → 400 (or 413 over 16 KB)', { timeout: 60_000 }, async () => {
    // Prepare: any JSON value, except objects with the honeypot or any email key (the required field).
    const refused = await refusalChecker(await createForm());
    const arbitraryJson = fc.jsonValue({ maxDepth: 4 }).map(jsonRequest).filter((request) => !couldBeAccepted(request.body, request.contentType));
    // Act / Assess
    await fc.assert(
      fc.asyncProperty(arbitraryJson, async (request) => {
        await refused({ ...request, label: 'arbitrary JSON' }, request.body.length > MAX_SUBMISSION_BYTES ? 413 : 400);
      }),
      { numRuns: 150 },
    );
  });

  test('arbitrary urlencoded keys and values, keys repeated → 400', { timeout: 60_000 }, async () => {
    // Prepare: keys mostly the form's own (so they repeat), values any text including lone surrogates;
    // never the honeypot and never exactly one email value that could be an address.
    const refused = await refusalChecker(await createForm());
    const key = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...FIELD_NAMES, ...EXTRA_KEYS) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) });
    const value = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('on', 'true', '', 'user@example.com', '07400 123456', '2024-01-31', 'free', '42'));
    const urlencoded = fc
      .array(fc.tuple(key, value), { maxLength: 12 })
      .map((pairs): Omit<RawRequest, 'label'> => ({ body: utf8(new URLSearchParams(pairs).toString()), contentType: FORM_TYPE }))
      .filter((request) => !couldBeAccepted(request.body, request.contentType));
    // Act / Assess
    await fc.assert(
      fc.asyncProperty(urlencoded, async (request) => {
        await refused({ ...request, label: 'arbitrary urlencoded' }, 400);
      }),
      { numRuns: 150 },
    );
  });

  test('raw garbage bytes under any content type (or none) → 400 / 415', { timeout: 60_000 }, async () => {
    // Prepare
    const refused = await refusalChecker(await createForm());
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      fc.string({ unit: 'binary', maxLength: 300 }).map(utf8),
      fc.string({ maxLength: 300 }).map(utf8),
      fc.constantFrom('<form><email>a@example.com</email></form>', 'email=a@example.com&email=b@example.com', '{"email":', '\u0000', '').map(utf8),
    );
    const contentType = fc.oneof(fc.constantFrom(...UNSUPPORTED_TYPES), fc.constantFrom(JSON_TYPE, FORM_TYPE, `${JSON_TYPE}; charset=utf-8`), fc.constant(undefined));
    const garbage = fc
      .tuple(bytes, contentType)
      .map(([body, type]): Omit<RawRequest, 'label'> => ({ body, contentType: type }))
      .filter((request) => !couldBeAccepted(request.body, request.contentType));
    // Act / Assess
    await fc.assert(
      fc.asyncProperty(garbage, async (request) => {
        const type = request.contentType;
        const readable = type !== undefined && (type.startsWith(FORM_TYPE) || type.includes('json'));
        await refused({ ...request, label: `garbage as ${type ?? '(none)'}` }, readable ? 400 : 415);
      }),
      { numRuns: 150 },
    );
  });

  test('the 16 KB limit counts body bytes: 16384 bytes are read (400 here), 16385 are refused (413)', async () => {
    // Prepare: a text far over the field's length (two-byte characters), the body exactly at and one over the limit.
    const refused = await refusalChecker(await createForm());
    const sized = (bytes: number): Uint8Array => {
      const shell = JSON.stringify({ email: 'size@example.com', first_name: '' }).length;
      return utf8(JSON.stringify({ email: 'size@example.com', first_name: 'é'.repeat(Math.floor((bytes - shell) / 2)) + 'e'.repeat((bytes - shell) % 2) }));
    };
    const atLimit = sized(MAX_SUBMISSION_BYTES);
    const overLimit = sized(MAX_SUBMISSION_BYTES + 1);
    expect([atLimit.length, overLimit.length]).toEqual([MAX_SUBMISSION_BYTES, MAX_SUBMISSION_BYTES + 1]);
    // Act / Assess
    await refused({ label: 'at the limit', body: atLimit, contentType: JSON_TYPE }, 400);
    await refused({ label: 'one byte over', body: overLimit, contentType: JSON_TYPE }, 413);
  });
});

describe('valid random submissions', () => {
  test('are accepted (200), and each distinct normalised email is exactly one contact', { timeout: 60_000 }, async () => {
    // Prepare
    const formId = await createForm();
    /** One phone per address, so two addresses never compete for a number. */
    const phoneOf = new Map<string, string>();
    const phoneFor = (email: string): string => {
      if (!phoneOf.has(email)) phoneOf.set(email, `+447400${String(phoneOf.size).padStart(6, '0')}`);
      return phoneOf.get(email)!;
    };
    const allEmails = new Set<string>();

    /** Addresses from fast-check's generator (kept when the app's rules accept them as typed) and constructed ones. */
    const address = fc.oneof(
      fc.emailAddress().filter((e) => {
        try {
          return normalizeEmail(e) === e.toLowerCase();
        } catch {
          return false;
        }
      }),
      fc.nat({ max: 50 }).map((n) => `user${n}@example.com`),
    );
    /** How the address is typed: as is, upper-cased, mixed case, surrounded by blanks. */
    const spelling = fc.constantFrom('as-is', 'upper', 'mixed', 'padded');
    const spell = (email: string, how: string): string =>
      how === 'upper' ? email.toUpperCase() : how === 'mixed' ? [...email].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('') : how === 'padded' ? `  ${email}\t` : email;
    const submission = fc.record({ pick: fc.nat(), spelling, withPhone: fc.boolean(), rest: optionalFields, encoding });
    const run = fc.tuple(fc.uniqueArray(address, { minLength: 1, maxLength: 3, selector: (e) => e.toLowerCase() }), fc.array(submission, { minLength: 1, maxLength: 5 }));

    // Act / Assess: each run is checked against the tables as they were just before it, so a failed
    // run cannot mislead the runs fast-check replays while shrinking.
    await fc.assert(
      fc.asyncProperty(run, async ([pool, submissions]) => {
        const requests = submissions.map((s) => {
          const email = pool[s.pick % pool.length]!;
          const normalized = email.toLowerCase();
          const fields: Fields = { ...without(s.rest, 'phone', 'consent_sms'), email: spell(email, s.spelling) };
          if (s.withPhone) {
            fields.phone = phoneFor(normalized).replace('+44', '0');
            if (s.rest.consent_sms !== undefined) fields.consent_sms = s.rest.consent_sms;
          }
          return { normalized, phone: s.withPhone ? phoneFor(normalized) : undefined, fields, request: encodeFields(fields, s.encoding) };
        });
        const [contactsBefore, consentsBefore, interactionsBefore] = await Promise.all([scanItems('contacts'), scanItems('consents'), scanItems('interactions')]);

        const responses = await Promise.all(requests.map((r) => post(formId, r.request)));

        responses.forEach((response, i) => expect(response.status, `${JSON.stringify(requests[i]!.fields)} → ${response.text.slice(0, 300)}`).toBe(200));
        const [contacts, lookups, consents, interactions] = await Promise.all([scanItems('contacts'), scanItems('contactLookups'), scanItems('consents'), scanItems('interactions')]);
        const runEmails = new Set(requests.map((r) => r.normalized));
        const newEmails = [...runEmails].filter((e) => !contactsBefore.some((c) => c.email === e));
        expect(contacts).toHaveLength(contactsBefore.length + newEmails.length);
        for (const r of requests) {
          const matching = contacts.filter((c) => c.email === r.normalized);
          expect(matching, r.normalized).toHaveLength(1);
          expect(lookups.find((l) => l.key === `email#${r.normalized}`)?.contactId).toBe(matching[0]!.id);
          // A phone reaches a contact only with the post that created it (later posts hold it for the owner's confirmation), and only the address's own.
          if (matching[0]!.phone) {
            expect(matching[0]!.phone).toBe(phoneFor(r.normalized));
            expect(lookups.find((l) => l.key === `phone#${matching[0]!.phone}`)?.contactId).toBe(matching[0]!.id);
          }
        }
        for (const email of newEmails) {
          const forEmail = requests.filter((r) => r.normalized === email);
          if (forEmail.every((r) => r.phone)) expect(contacts.find((c) => c.email === email)!.phone).toBe(phoneFor(email));
          if (forEmail.every((r) => !r.phone)) expect(contacts.find((c) => c.email === email)!.phone).toBeUndefined();
        }
        // Every ticked consent of every submission is recorded, or held with the phone it goes with: none is lost.
        const newConsents = consents.filter((c) => !consentsBefore.some((b) => b.sk === c.sk && b.contactId === c.contactId));
        const newEntries = interactions.filter((i) => i.type === 'form_submitted' && !interactionsBefore.some((b) => b.sk === i.sk && b.contactId === i.contactId));
        expect(newEntries).toHaveLength(requests.length);
        const heldSms = newEntries.filter((i) => (i.data as { held?: { grants: Array<{ channel: string }> } }).held?.grants.some((g) => g.channel === 'sms')).length;
        const emailTicks = requests.filter((r) => r.fields.consent_email !== undefined).length;
        const smsTicks = requests.filter((r) => r.fields.consent_sms !== undefined).length;
        expect(newConsents.filter((c) => c.channel === 'email')).toHaveLength(emailTicks);
        expect(newConsents.filter((c) => c.channel === 'sms').length + heldSms).toBe(smsTicks);
        // Over all runs so far: one contact per address, one lookup per address, nothing else.
        for (const e of runEmails) allEmails.add(e);
        const emailsStored = contacts.map((c) => String(c.email)).sort();
        expect(emailsStored).toEqual([...new Set(emailsStored)]);
        expect(lookups.filter((l) => String(l.key).startsWith('email#')).map((l) => String(l.key).slice('email#'.length)).sort()).toEqual(emailsStored);
      }),
      { numRuns: 30 },
    );
    expect(allEmails.size).toBeGreaterThan(5);
  });
});

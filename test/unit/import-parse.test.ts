import { afterEach, describe, expect, test, vi } from 'vitest';
import { ImportFormatError, MAX_IMPORT_ROWS, importFormatFor, parseImport, type RawImportRow } from '../../shared/contacts/import-parse.ts';

/** The error `fn` throws (fails the test when it does not throw). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

const ndjson = (...lines: unknown[]) => lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n');
const positions = (rows: RawImportRow[]) => rows.map(({ row, line }) => ({ row, line }));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('importFormatFor', () => {
  test.each([
    ['text/csv', 'csv'],
    ['text/csv; charset=utf-8', 'csv'],
    ['Application/CSV', 'csv'],
    ['application/x-ndjson', 'ndjson'],
    ['application/jsonl', 'ndjson'],
    [' application/json-lines ; charset=UTF-8', 'ndjson'],
  ])('%j → %s', (contentType, format) => {
    expect(importFormatFor(contentType)).toBe(format);
  });

  test.each([undefined, '', 'application/json', 'text/plain', 'multipart/form-data; boundary=x'])('%j is refused, naming the accepted types', (contentType) => {
    const error = thrown(() => importFormatFor(contentType));
    expect(error).toBeInstanceOf(ImportFormatError);
    expect(error.message).toMatch(/text\/csv/);
    expect(error.message).toMatch(/application\/x-ndjson/);
  });

  test('ImportFormatError is a 400 whose message is shown to the caller', () => {
    const error = thrown(() => importFormatFor('application/json'));
    expect(error).toMatchObject({ name: 'ImportFormatError', status: 400, code: 'invalid_import', expose: true });
    expect(error.message).toMatch(/"application\/json" is not supported/);
  });
});

describe('parseImport: NDJSON', () => {
  test('reads a full record', () => {
    const body = ndjson({
      email: 'Ada@Example.com',
      phone: '+44 7700 900123',
      country: 'GB',
      timezone: 'Europe/London',
      attributes: { firstName: 'Ada', age: 36, vip: true, nickname: null },
      tags: ['vip', 'newsletter'],
      consent: {
        email: { status: 'confirmed', wordingVersion: '2024-01', capturedAt: '2024-01-02T11:00:00+01:00', text: 'Yes, email me' },
        sms: { status: 'withdrawn' },
      },
    });
    expect(parseImport(body, 'ndjson')).toEqual([
      {
        row: 1,
        line: 1,
        record: {
          // not normalised here: that is another module's job
          email: 'Ada@Example.com',
          phone: '+44 7700 900123',
          country: 'GB',
          timezone: 'Europe/London',
          attributes: { firstName: 'Ada', age: 36, vip: true, nickname: null },
          tags: ['vip', 'newsletter'],
          consent: {
            email: { status: 'confirmed', wordingVersion: '2024-01', capturedAt: '2024-01-02T10:00:00.000Z', text: 'Yes, email me' },
            sms: { status: 'withdrawn' },
          },
        },
        problems: [],
      },
    ]);
  });

  test('a minimal row gets empty attributes and tags', () => {
    expect(parseImport('{"phone":"+447700900123"}', 'ndjson')).toEqual([
      { row: 1, line: 1, record: { phone: '+447700900123', attributes: {}, tags: [] }, problems: [] },
    ]);
  });

  test('blank lines are skipped but counted as lines; CRLF and a BOM are fine', () => {
    const body = '\uFEFF\r\n{"email":"a@example.com"}\r\n   \r\n\r\n{"email":"b@example.com"}\r\n\n{"email":"c@example.com"}\n\n';
    const rows = parseImport(body, 'ndjson');
    expect(positions(rows)).toEqual([
      { row: 1, line: 2 },
      { row: 2, line: 5 },
      { row: 3, line: 7 },
    ]);
    expect(rows.map((r) => r.record?.email)).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);
  });

  test('a line that is not JSON is a problem on that row only', () => {
    const rows = parseImport(ndjson({ email: 'a@example.com' }, '{"email": "b@example.com",}', { email: 'c@example.com' }), 'ndjson');
    expect(rows[1]).toEqual({ row: 2, line: 2, problems: [{ path: '', message: 'is not valid JSON' }] });
    expect(rows[0]!.problems).toEqual([]);
    expect(rows[2]!.record?.email).toBe('c@example.com');
  });

  test.each(['[1, 2]', '"ada@example.com"', '42', 'null'])('a line that is JSON but not an object (%s) is a problem', (line) => {
    const [, row] = parseImport(ndjson({ email: 'a@example.com' }, line), 'ndjson');
    expect(row).toEqual({ row: 2, line: 2, problems: [{ path: '', message: expect.stringMatching(/must be a JSON object/) }] });
  });

  test('unknown keys are problems, at the top level and inside consent', () => {
    const [row] = parseImport(
      ndjson({ email: 'a@example.com', firstName: 'Ada', consent: { email: { status: 'confirmed', wordingVersion: 'v1', ip: '1.2.3.4' } } }),
      'ndjson',
    );
    expect(row!.record).toBeUndefined();
    expect(row!.problems).toEqual(
      expect.arrayContaining([
        { path: 'firstName', message: 'is not a known field' },
        { path: 'consent.email.ip', message: 'is not a known field' },
      ]),
    );
    expect(row!.problems).toHaveLength(2);
  });

  test('wrong types are reported at their path', () => {
    const [row] = parseImport(ndjson({ email: 42, tags: 'vip', consent: { sms: { status: 'yes' } } }), 'ndjson');
    expect(row!.problems).toEqual([
      { path: 'email', message: 'must be text' },
      { path: 'tags', message: 'must be a list of tags like ["vip"]' },
      { path: 'consent.sms.status', message: 'must be "confirmed" or "withdrawn"' },
    ]);
  });

  test('attribute names and values are checked', () => {
    const [bad] = parseImport(
      ndjson({
        email: 'a@example.com',
        attributes: { 'first name': 'Ada', _x: 1, ['a'.repeat(65)]: 1, address: { city: 'London' }, bio: 'x'.repeat(2049), list: [1] },
      }),
      'ndjson',
    );
    expect(bad!.record).toBeUndefined();
    expect(bad!.problems).toEqual([
      { path: 'attributes.first name', message: expect.stringMatching(/^is not a valid attribute name/) },
      { path: 'attributes._x', message: expect.stringMatching(/^is not a valid attribute name/) },
      { path: `attributes.${'a'.repeat(65)}`, message: expect.stringMatching(/^is not a valid attribute name/) },
      { path: 'attributes.address', message: 'must be text, a number, true, false or null' },
      { path: 'attributes.bio', message: 'must be at most 2048 characters' },
      { path: 'attributes.list', message: 'must be text, a number, true, false or null' },
    ]);

    const [good] = parseImport(ndjson({ email: 'a@example.com', attributes: { [`A${'b'.repeat(63)}`]: 'x'.repeat(2048), n_1: 0 } }), 'ndjson');
    expect(good!.problems).toEqual([]);
    expect(Object.keys(good!.record!.attributes)).toEqual([`A${'b'.repeat(63)}`, 'n_1']);
  });

  test('tags: 1 to 64 characters, at most 50', () => {
    const ok = parseImport(ndjson({ email: 'a@example.com', tags: [...Array.from({ length: 49 }, (_, i) => `t${i}`), 'x'.repeat(64)] }), 'ndjson');
    expect(ok[0]!.problems).toEqual([]);
    expect(ok[0]!.record!.tags).toHaveLength(50);

    const [tooMany] = parseImport(ndjson({ email: 'a@example.com', tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }), 'ndjson');
    expect(tooMany!.problems).toEqual([{ path: 'tags', message: 'must be at most 50 tags' }]);

    const [badTags] = parseImport(ndjson({ email: 'a@example.com', tags: ['ok', '', 'x'.repeat(65), 7] }), 'ndjson');
    expect(badTags!.problems).toEqual([
      { path: 'tags[1]', message: 'must not be empty' },
      { path: 'tags[2]', message: 'must be at most 64 characters' },
      { path: 'tags[3]', message: 'must be text' },
    ]);
  });

  test('a row needs an email or a phone; null and blank values count as missing', () => {
    const rows = parseImport(ndjson({ attributes: { firstName: 'Ada' } }, { email: '  ', phone: null }, { email: null, phone: '+447700900123' }), 'ndjson');
    expect(rows[0]!.problems).toEqual([{ path: 'email', message: 'a row needs an email or a phone' }]);
    expect(rows[1]!.problems).toEqual([{ path: 'email', message: 'a row needs an email or a phone' }]);
    expect(rows[1]!.record).toEqual({ attributes: {}, tags: [] });
    expect(rows[2]).toEqual({ row: 3, line: 3, record: { phone: '+447700900123', attributes: {}, tags: [] }, problems: [] });
  });

  test('confirmed consent needs a wording version; withdrawn does not', () => {
    const rows = parseImport(
      ndjson(
        { email: 'a@example.com', consent: { email: { status: 'confirmed' }, sms: { status: 'confirmed', wordingVersion: '' } } },
        { email: 'b@example.com', consent: { email: { status: 'withdrawn' } } },
      ),
      'ndjson',
    );
    expect(rows[0]!.problems).toEqual([
      { path: 'consent.email.wordingVersion', message: 'required when consent is given' },
      { path: 'consent.sms.wordingVersion', message: 'required when consent is given' },
    ]);
    expect(rows[1]!.problems).toEqual([]);
    expect(rows[1]!.record!.consent).toEqual({ email: { status: 'withdrawn' } });
  });

  test.each([
    ['2024-01-02', '2024-01-02T00:00:00.000Z'],
    ['2024-01-02T10:00Z', '2024-01-02T10:00:00.000Z'],
    ['2024-01-02T10:00:00.123-05:00', '2024-01-02T15:00:00.123Z'],
  ])('capturedAt %s is read as %s', (capturedAt, iso) => {
    const [row] = parseImport(ndjson({ email: 'a@example.com', consent: { email: { status: 'confirmed', wordingVersion: 'v1', capturedAt } } }), 'ndjson');
    expect(row!.record?.consent?.email?.capturedAt).toBe(iso);
  });

  test.each(['2024-02-30', '2024-01-02T10:00:00', '2024-01-02T25:00:00Z', '02/01/2024', 'yesterday'])('capturedAt %j is a problem', (capturedAt) => {
    const [row] = parseImport(ndjson({ email: 'a@example.com', consent: { email: { status: 'confirmed', wordingVersion: 'v1', capturedAt } } }), 'ndjson');
    expect(row!.record).toBeUndefined();
    expect(row!.problems).toEqual([{ path: 'consent.email.capturedAt', message: expect.stringMatching(/^must be a date like 2024-01-02/) }]);
  });

  test('a JSON array instead of one object per line is refused as a whole', () => {
    const error = thrown(() => parseImport('[{"email":"a@example.com"},\n{"email":"b@example.com"}]', 'ndjson'));
    expect(error).toBeInstanceOf(ImportFormatError);
    expect(error.message).toMatch(/one JSON object per line/);
  });

  test.each(['', '\n \n\r\n', '\uFEFF'])('an empty body (%j) is refused', (body) => {
    const error = thrown(() => parseImport(body, 'ndjson'));
    expect(error).toBeInstanceOf(ImportFormatError);
    expect(error.message).toMatch(/empty/);
  });
});

describe('parseImport: CSV', () => {
  test('maps known columns and bare or prefixed attribute columns; empty cells are left out', () => {
    const body = 'email,phone,country,timezone,firstName,attributes.age,attributes.email\n' + 'ada@example.com,+447700900123,GB,Europe/London,Ada,36,work@example.com\n' + 'bob@example.com,,,,,,\n';
    expect(parseImport(body, 'csv')).toEqual([
      {
        row: 1,
        line: 2,
        record: {
          email: 'ada@example.com',
          phone: '+447700900123',
          country: 'GB',
          timezone: 'Europe/London',
          // CSV values stay strings: "36" is not guessed to be a number
          attributes: { firstName: 'Ada', age: '36', email: 'work@example.com' },
          tags: [],
        },
        problems: [],
      },
      { row: 2, line: 3, record: { email: 'bob@example.com', attributes: {}, tags: [] }, problems: [] },
    ]);
  });

  test('quoted values keep commas, doubled quotes and surrounding spaces; unquoted values are trimmed', () => {
    const body = 'email,company,motto,city\n"ada@example.com","Lovelace, Byron & Co","She said ""hello""","  London  "\nbob@example.com ,  Acme ,plain "quote" inside, Paris\n';
    const rows = parseImport(body, 'csv');
    expect(rows.map((r) => r.record)).toEqual([
      { email: 'ada@example.com', attributes: { company: 'Lovelace, Byron & Co', motto: 'She said "hello"', city: '  London  ' }, tags: [] },
      { email: 'bob@example.com', attributes: { company: 'Acme', motto: 'plain "quote" inside', city: 'Paris' }, tags: [] },
    ]);
  });

  test('BOM, semicolon delimiter, header case and spaces', () => {
    const body = '\uFEFF Email ; FirstName ;TAGS\nada@example.com;Ada;"vip;news"\nbob@example.com;"Bob; Jr";\n';
    const rows = parseImport(body, 'csv');
    expect(rows.map((r) => r.record)).toEqual([
      { email: 'ada@example.com', attributes: { FirstName: 'Ada' }, tags: ['vip', 'news'] },
      { email: 'bob@example.com', attributes: { FirstName: 'Bob; Jr' }, tags: [] },
    ]);
  });

  test('a comma file with semicolons in its values is still read as comma-separated', () => {
    const rows = parseImport('email,tags,note\nada@example.com,vip;news,"a; b; c"\n', 'csv');
    expect(rows[0]!.record).toEqual({ email: 'ada@example.com', attributes: { note: 'a; b; c' }, tags: ['vip', 'news'] });
  });

  test('tags are split on ; and |, trimmed, and empty pieces dropped', () => {
    const rows = parseImport('email,tags\nada@example.com,"vip | news;  spring-2024 ;;|"\nbob@example.com,solo\n', 'csv');
    expect(rows.map((r) => r.record?.tags)).toEqual([['vip', 'news', 'spring-2024'], ['solo']]);
  });

  test('tag limits apply to CSV too', () => {
    const [row] = parseImport(`email,tags\nada@example.com,ok|${'x'.repeat(65)}\n`, 'csv');
    expect(row!.problems).toEqual([{ path: 'tags[1]', message: 'must be at most 64 characters' }]);
  });

  test('row and line numbers stay right after multi-line quoted cells, blank lines and empty rows', () => {
    const body = [
      '', // a blank line before the header
      'email,notes',
      'a@example.com,"first line',
      'second line',
      '',
      'fourth line"',
      '',
      ',', // an all-empty row, as spreadsheets leave behind
      'b@example.com,"one ""quoted"" line"',
      'c@example.com,"x',
      'y"',
      'd@example.com,last',
    ].join('\n');
    const rows = parseImport(body, 'csv');
    expect(positions(rows)).toEqual([
      { row: 1, line: 3 },
      { row: 2, line: 9 },
      { row: 3, line: 10 },
      { row: 4, line: 12 },
    ]);
    expect(rows[0]!.record!.attributes.notes).toBe('first line\nsecond line\n\nfourth line');
    expect(rows[3]!.record!.email).toBe('d@example.com');
  });

  test('line numbers are right with CRLF line endings inside and between rows', () => {
    const body = 'email,notes\r\na@example.com,"x\r\n\r\ny"\r\n\r\nb@example.com,z\r\n';
    const rows = parseImport(body, 'csv');
    expect(positions(rows)).toEqual([
      { row: 1, line: 2 },
      { row: 2, line: 6 },
    ]);
    expect(rows[0]!.record!.attributes.notes).toBe('x\n\ny');
  });

  test.each([
    ['yes', 'confirmed'],
    ['TRUE', 'confirmed'],
    ['1', 'confirmed'],
    ['Confirmed', 'confirmed'],
    ['no', 'withdrawn'],
    ['false', 'withdrawn'],
    ['0', 'withdrawn'],
    ['withdrawn', 'withdrawn'],
  ])('consent value %j means %s', (value, status) => {
    const [row] = parseImport(`email,consent_email,consent_email_version\nada@example.com,${value},2024-01\n`, 'csv');
    expect(row!.problems).toEqual([]);
    expect(row!.record!.consent).toEqual({ email: { status, wordingVersion: '2024-01' } });
  });

  test('consent columns: both channels, version and time; empty means no consent info', () => {
    const body =
      'email,phone,consent_email,consent_email_version,consent_email_at,consent_sms,consent_sms_version,consent_sms_at\n' +
      'ada@example.com,+447700900123,yes,2024-01,2024-01-02T10:00:00Z,no,,\n' +
      'bob@example.com,,,2024-01,2024-01-02,,,\n';
    const rows = parseImport(body, 'csv');
    expect(rows[0]!.problems).toEqual([]);
    expect(rows[0]!.record!.consent).toEqual({
      email: { status: 'confirmed', wordingVersion: '2024-01', capturedAt: '2024-01-02T10:00:00.000Z' },
      sms: { status: 'withdrawn' },
    });
    expect(rows[1]!.problems).toEqual([]);
    expect(rows[1]!.record!.consent).toBeUndefined();
  });

  test('consent problems: unknown value, confirmed without a version, bad time', () => {
    const body = 'email,consent_email,consent_email_version,consent_email_at\n' + 'a@example.com,maybe,v1,\n' + 'b@example.com,yes,,\n' + 'c@example.com,yes,v1,02/01/2024\n';
    const rows = parseImport(body, 'csv');
    expect(rows[0]!.problems).toEqual([{ path: 'consent.email.status', message: expect.stringMatching(/^must be yes, no, true, false, 1, 0, confirmed or withdrawn/) }]);
    expect(rows[0]!.record).toBeUndefined();
    expect(rows[1]!.problems).toEqual([{ path: 'consent.email.wordingVersion', message: 'required when consent is given' }]);
    expect(rows[1]!.record!.consent).toEqual({ email: { status: 'confirmed' } });
    expect(rows[2]!.problems).toEqual([{ path: 'consent.email.capturedAt', message: expect.stringMatching(/^must be a date/) }]);
  });

  test('a row without email and phone, and an attribute that is too long, are row problems', () => {
    const rows = parseImport(`email,phone,firstName,bio\n,,Ada,\nbob@example.com,,Bob,${'x'.repeat(2049)}\n`, 'csv');
    expect(rows[0]).toEqual({
      row: 1,
      line: 2,
      record: { attributes: { firstName: 'Ada' }, tags: [] },
      problems: [{ path: 'email', message: 'a row needs an email or a phone' }],
    });
    expect(rows[1]!.problems).toEqual([{ path: 'attributes.bio', message: 'must be at most 2048 characters' }]);
  });

  test('a value in a column without a header name is a row problem; short rows are fine', () => {
    const rows = parseImport('email,firstName,\nada@example.com,Ada,\nbob@example.com,Bob,,extra\ncy@example.com\n', 'csv');
    expect(rows[0]!.problems).toEqual([]);
    expect(rows[1]!.problems).toEqual([{ path: '', message: 'has a value in column 4, which has no name in the header row' }]);
    expect(rows[2]).toEqual({ row: 3, line: 4, record: { email: 'cy@example.com', attributes: {}, tags: [] }, problems: [] });
  });

  test('an unknown header column is refused, naming it', () => {
    const error = thrown(() => parseImport('email,First Name,city\nada@example.com,Ada,London\n', 'csv'));
    expect(error).toBeInstanceOf(ImportFormatError);
    expect(error.message).toMatch(/Column 2 \("First Name"\)/);
  });

  test('an invalid name after attributes. is refused too', () => {
    const error = thrown(() => parseImport('email,attributes.1st\nada@example.com,x\n', 'csv'));
    expect(error).toBeInstanceOf(ImportFormatError);
    expect(error.message).toMatch(/"attributes\.1st"/);
  });

  test.each([
    ['email,phone,Email', /"Email" more than once \(columns 1 and 3\)/],
    ['email,age,attributes.Age', /"attributes\.Age" more than once \(columns 2 and 3\)/],
    ['email,city, City ', /"City" more than once \(columns 2 and 3\)/],
  ])('duplicate header %j is refused', (header, message) => {
    const error = thrown(() => parseImport(`${header}\nada@example.com,x,y\n`, 'csv'));
    expect(error).toBeInstanceOf(ImportFormatError);
    expect(error.message).toMatch(message);
  });

  test('a file whose first line is data, not a header, is refused', () => {
    const error = thrown(() => parseImport('ada@example.com,Ada\nbob@example.com,Bob\n', 'csv'));
    expect(error).toBeInstanceOf(ImportFormatError);
    expect(error.message).toMatch(/first line must be a header row/);
  });

  test('a header without an email or phone column is refused', () => {
    const error = thrown(() => parseImport('firstName,city\nAda,London\n', 'csv'));
    expect(error).toBeInstanceOf(ImportFormatError);
    expect(error.message).toMatch(/no email or phone column/);
  });

  test('a tab-separated file gets a hint', () => {
    const error = thrown(() => parseImport('email\tfirstName\nada@example.com\tAda\n', 'csv'));
    expect(error).toBeInstanceOf(ImportFormatError);
    expect(error.message).toMatch(/tabs/);
  });

  test.each([
    ['', /empty/],
    ['\uFEFF\n\n', /empty/],
    ['email,phone\n', /no contacts/],
    ['email,phone\n,\n\n', /no contacts/],
  ])('an empty file (%j) is refused', (body, message) => {
    const error = thrown(() => parseImport(body, 'csv'));
    expect(error).toBeInstanceOf(ImportFormatError);
    expect(error.message).toMatch(message);
  });

  test('an unclosed quote is refused, saying where the row starts', () => {
    const error = thrown(() => parseImport('email,notes\nada@example.com,ok\n\nbob@example.com,"never closed\nmore\n', 'csv'));
    expect(error).toBeInstanceOf(ImportFormatError);
    expect(error.message).toMatch(/starting on line 4 is never closed/);
  });

  test('text after a closing quote is refused with its line', () => {
    const error = thrown(() => parseImport('email,notes\nada@example.com,ok\nbob@example.com,"quoted"tail\n', 'csv'));
    expect(error).toBeInstanceOf(ImportFormatError);
    expect(error.message).toMatch(/^Line 3: /);
  });
});

describe('the row limit', () => {
  const csvBody = (rows: number) => 'email,firstName,lastName,city,tags,consent_email,consent_email_version,phone,country,timezone\n' + Array.from({ length: rows }, (_, i) => `user${i}@example.com,Ada,"Love, lace",London,vip;news,yes,2024-01,+447700${String(i).padStart(6, '0')},GB,Europe/London\n`).join('');
  const ndjsonBody = (rows: number) => Array.from({ length: rows }, (_, i) => JSON.stringify({ email: `user${i}@example.com`, attributes: { n: i } })).join('\n');

  // How long this takes is a benchmark figure (`npm run bench -- import-parse`), not a test.
  test(`${MAX_IMPORT_ROWS} CSV rows of 10 columns are accepted, every field read`, () => {
    expect(MAX_IMPORT_ROWS).toBe(10_000);
    const rows = parseImport(csvBody(MAX_IMPORT_ROWS), 'csv');
    expect(rows).toHaveLength(MAX_IMPORT_ROWS);
    expect(rows.every((r) => r.problems.length === 0)).toBe(true);
    expect(rows.map((r) => r.row)).toEqual(Array.from({ length: MAX_IMPORT_ROWS }, (_, i) => i + 1));
    expect(rows.at(-1)).toMatchObject({ row: MAX_IMPORT_ROWS, line: MAX_IMPORT_ROWS + 1 });
    expect(rows.at(-1)!.record).toMatchObject({
      email: `user${MAX_IMPORT_ROWS - 1}@example.com`,
      phone: `+447700${String(MAX_IMPORT_ROWS - 1).padStart(6, '0')}`,
      country: 'GB',
      timezone: 'Europe/London',
      attributes: { firstName: 'Ada', lastName: 'Love, lace', city: 'London' },
      tags: ['vip', 'news'],
    });
  });

  test(`${MAX_IMPORT_ROWS + 1} CSV rows are refused, saying the limit`, () => {
    const error = thrown(() => parseImport(csvBody(MAX_IMPORT_ROWS + 1), 'csv'));
    expect(error).toBeInstanceOf(ImportFormatError);
    expect(error.message).toMatch(/more than 10,000 rows/);
  });

  test('CSV parsing stops soon after the limit instead of reading the whole body', () => {
    // The unclosed quote at the end would be reported if the parser went that far.
    const error = thrown(() => parseImport(`${csvBody(MAX_IMPORT_ROWS + 1)}x@example.com,"never closed\n`, 'csv'));
    expect(error.message).toMatch(/more than 10,000 rows/);
  });

  test(`${MAX_IMPORT_ROWS} NDJSON rows are accepted (blank lines do not count)`, () => {
    const rows = parseImport(`${ndjsonBody(MAX_IMPORT_ROWS)}\n\n\n`, 'ndjson');
    expect(rows).toHaveLength(MAX_IMPORT_ROWS);
    expect(rows.at(-1)?.record?.attributes).toEqual({ n: MAX_IMPORT_ROWS - 1 });
  });

  test(`${MAX_IMPORT_ROWS + 1} NDJSON rows are refused before any line is parsed`, () => {
    const body = ndjsonBody(MAX_IMPORT_ROWS + 1);
    const parse = vi.spyOn(JSON, 'parse');
    const error = thrown(() => parseImport(body, 'ndjson'));
    expect(error).toBeInstanceOf(ImportFormatError);
    expect(error.message).toMatch(/more than 10,000 rows/);
    expect(parse).not.toHaveBeenCalled();
  });
});

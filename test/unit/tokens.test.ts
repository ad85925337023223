import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { InvalidTokenError, signToken, verifyToken } from '../../shared/tokens.ts';

// An explicit secret (the fourth argument) keeps Secrets Manager out of every call.
const SECRET = Buffer.from('test-secret-of-at-least-32-characters!!', 'utf8');
const OTHER_SECRET = Buffer.from('another-secret-of-at-least-32-chars!!!!', 'utf8');
const NOW = new Date('2030-06-01T12:00:00.000Z');
const PAYLOAD = { c: 'contact-1', r: 'record-1', h: 'hash', f: 'form-1' };

/** The error verifyToken throws, or undefined when it verifies. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error;
  }
}

async function expectInvalid(promise: Promise<unknown>, message: string): Promise<void> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(InvalidTokenError);
  expect((error as Error).message).toBe(message);
}

const b64 = (value: string): string => Buffer.from(value, 'utf8').toString('base64url');
const sign = (purpose: string, body: string, secret = SECRET): string => createHmac('sha256', secret).update(`${purpose}.${body}`).digest('base64url');

describe('signToken / verifyToken', () => {
  test('round trip: the payload comes back; the token is body.signature in base64url', async () => {
    // Prepare / Act
    const token = await signToken('doi', PAYLOAD, {}, SECRET);
    const payload = await verifyToken('doi', token, NOW, SECRET);
    // Assess
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(payload).toEqual(PAYLOAD);
  });

  test('(property) any JSON object payload round-trips, with its exp when it expires', async () => {
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.string().filter((k) => k !== 'exp'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }), fc.string({ minLength: 1, maxLength: 20 }), fc.option(fc.integer({ min: 1, max: 10_000_000 })), async (payload, purpose, expiresInSeconds) => {
        // Prepare
        const options = expiresInSeconds === null ? {} : { expiresInSeconds, now: NOW };
        // Act
        const token = await signToken(purpose, payload, options, SECRET);
        const verified = await verifyToken(purpose, token, NOW, SECRET);
        // Assess: JSON semantics (e.g. -0 becomes 0), plus exp in whole seconds.
        const expected = JSON.parse(JSON.stringify(payload)) as Record<string, unknown>;
        expect(verified).toEqual(expiresInSeconds === null ? expected : { ...expected, exp: NOW.getTime() / 1000 + expiresInSeconds });
      }),
      { numRuns: 100 },
    );
  });

  test('a tampered payload is refused (bad signature)', async () => {
    // Prepare: the same signature on a different body.
    const token = await signToken('doi', PAYLOAD, {}, SECRET);
    const signature = token.split('.')[1]!;
    const forged = `${b64(JSON.stringify({ ...PAYLOAD, c: 'contact-2' }))}.${signature}`;
    // Act / Assess
    await expectInvalid(verifyToken('doi', forged, NOW, SECRET), 'bad signature');
  });

  test('(property) a signature with any byte changed is refused', async () => {
    const token = await signToken('doi', PAYLOAD, {}, SECRET);
    const [body, signature] = token.split('.') as [string, string];
    const bytes = Buffer.from(signature, 'base64url');
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), async (index, mask) => {
        // Prepare
        const changed = Buffer.from(bytes);
        changed[index] = changed[index]! ^ mask;
        // Act / Assess
        await expectInvalid(verifyToken('doi', `${body}.${changed.toString('base64url')}`, NOW, SECRET), 'bad signature');
      }),
    );
  });

  test('another purpose or another secret does not verify', async () => {
    // Prepare
    const token = await signToken('doi', PAYLOAD, {}, SECRET);
    // Act / Assess
    await expectInvalid(verifyToken('unsubscribe', token, NOW, SECRET), 'bad signature');
    await expectInvalid(verifyToken('doi', token, NOW, OTHER_SECRET), 'bad signature');
    await expect(verifyToken('doi', token, NOW, SECRET)).resolves.toEqual(PAYLOAD);
  });

  test('expiry: valid up to and including exp, expired one millisecond later; no expiry without expiresInSeconds', async () => {
    // Prepare
    const issued = new Date('2030-01-01T00:00:00.000Z');
    const token = await signToken('doi', PAYLOAD, { expiresInSeconds: 60, now: issued }, SECRET);
    const exp = issued.getTime() + 60_000;
    const forever = await signToken('doi', PAYLOAD, { now: issued }, SECRET);
    // Act / Assess
    await expect(verifyToken('doi', token, new Date(exp), SECRET)).resolves.toMatchObject({ ...PAYLOAD, exp: exp / 1000 });
    await expectInvalid(verifyToken('doi', token, new Date(exp + 1), SECRET), 'expired');
    await expectInvalid(verifyToken('doi', token, NOW, SECRET), 'expired');
    await expect(verifyToken('doi', forever, new Date('2999-01-01T00:00:00.000Z'), SECRET)).resolves.toEqual(PAYLOAD);
  });

  test('an expired token is refused even though its signature is good (signed in the past, verified now)', async () => {
    // Prepare
    const token = await signToken('doi', PAYLOAD, { expiresInSeconds: 3600, now: new Date(NOW.getTime() - 2 * 3600_000) }, SECRET);
    // Act / Assess
    await expectInvalid(verifyToken('doi', token, NOW, SECRET), 'expired');
  });

  test('a correctly signed body that is not JSON → malformed payload', async () => {
    // Prepare
    const body = b64('not json {');
    // Act / Assess
    await expectInvalid(verifyToken('doi', `${body}.${sign('doi', body)}`, NOW, SECRET), 'malformed payload');
  });

  test('malformed shapes: no dot, two dots, short or long signature, characters outside base64url, empty', async () => {
    // Prepare
    const token = await signToken('doi', PAYLOAD, {}, SECRET);
    const [body, signature] = token.split('.') as [string, string];
    const shapes = ['', '.', token.replace('.', ''), `${token}.x`, `${body}.${signature.slice(1)}`, `${body}.${signature}A`, `${body}+.${signature}`, `${body}=.${signature}`, ` ${token}`, `${token}\n`, `a.${signature}`, `${'A'.repeat(4097)}.${signature}`];
    // Act / Assess
    for (const shape of shapes) await expectInvalid(verifyToken('doi', shape, NOW, SECRET), 'malformed token');
  });

  test('(property) arbitrary strings never verify and throw nothing but InvalidTokenError', async () => {
    const alphabet = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split(''));
    // Well-formed shapes (random body, random 43-character signature) as well as any text.
    const shaped = fc.tuple(fc.string({ unit: alphabet, minLength: 2, maxLength: 200 }), fc.string({ unit: alphabet, minLength: 43, maxLength: 43 })).map(([b, s]) => `${b}.${s}`);
    const anyText = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('.', 'A', '_', '-', '=', '+', '/') }), shaped);
    await fc.assert(
      fc.asyncProperty(anyText, fc.constantFrom('doi', 'track', ''), async (text, purpose) => {
        // Act
        const error = await rejection(verifyToken(purpose, text, NOW, SECRET));
        // Assess
        expect(error).toBeInstanceOf(InvalidTokenError);
      }),
      { numRuns: 500 },
    );
  });
});

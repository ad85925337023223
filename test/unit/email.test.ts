import { describe, expect, test } from 'vitest';
import { normalizeEmail } from '../../shared/contacts/email.ts';

describe('normalizeEmail', () => {
  test.each([
    ['  Ada@Example.COM ', 'ada@example.com'],
    ['ada+news@example.com', 'ada+news@example.com'],
    ['Juergen@Bücher.de', 'juergen@xn--bcher-kva.de'],
    ['info@münchen.example', 'info@xn--mnchen-3ya.example'],
    ['a.b-c_d@sub.domain.example.org', 'a.b-c_d@sub.domain.example.org'],
    ['trailing@example.com.', 'trailing@example.com'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeEmail(input)).toBe(expected);
  });

  test('a non-ASCII local part is refused (SES sends only to 7-bit local parts)', () => {
    expect(() => normalizeEmail('jürgen@example.de')).toThrow(/before @/);
  });

  test.each(['', 'plain', '@example.com', 'a@', 'a@b', 'a..b@example.com', '.a@example.com', 'a@-example.com', 'a@example..com', 'a b@example.com', 'a@example.123', `${'x'.repeat(65)}@example.com`])(
    '%j is rejected',
    (input) => {
      expect(() => normalizeEmail(input)).toThrow();
    },
  );
});

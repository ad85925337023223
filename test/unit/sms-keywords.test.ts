import { describe, expect, test } from 'vitest';
import { classifySmsKeyword, OPT_OUT_KEYWORDS } from '../../shared/responses/sms-keywords.ts';

describe('SMS keywords', () => {
  test.each(OPT_OUT_KEYWORDS.flatMap((k) => [k, k.toLowerCase(), `  ${k}  `, `${k[0]}${k.slice(1).toLowerCase()}`]))('%j opts out', (body) => {
    expect(classifySmsKeyword(body)).toBe('opt-out');
  });

  test.each([
    ['START', 'opt-in'],
    ['unstop', 'opt-in'],
    ['Help', 'help'],
    [' HELP ', 'help'],
    ['opt  out', 'opt-out'],
    ['Stop!', 'opt-out'],
  ])('%j → %s', (body, expected) => {
    expect(classifySmsKeyword(body)).toBe(expected);
  });

  test.each(['stop sending me these please', 'STOPPED', 'I want to end this', 'help me', '', 'non-stop', 'TDD'])('%j is not a keyword (a reply)', (body) => {
    expect(classifySmsKeyword(body)).toBeUndefined();
  });
});

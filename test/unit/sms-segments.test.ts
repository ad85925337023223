import { describe, expect, test } from 'vitest';
import { smsSegments } from '../../shared/templates/sms-segments.ts';

const a = (n: number) => 'a'.repeat(n);

describe('smsSegments: GSM-7', () => {
  test('an empty body is no segment', () => {
    expect(smsSegments('')).toEqual({ encoding: 'GSM-7', characters: 0, segments: 0, perSegment: 160 });
  });

  test('160 septets fit one segment, 161 need two of 153', () => {
    expect(smsSegments(a(160))).toEqual({ encoding: 'GSM-7', characters: 160, segments: 1, perSegment: 160 });
    expect(smsSegments(a(161))).toEqual({ encoding: 'GSM-7', characters: 161, segments: 2, perSegment: 153 });
  });

  test('concatenated messages hold 153 septets a segment', () => {
    expect(smsSegments(a(306)).segments).toBe(2);
    expect(smsSegments(a(307)).segments).toBe(3);
  });

  test('the basic table beyond ASCII letters stays GSM-7 at one septet each', () => {
    const body = '@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà\n\r !"#%&\'()*+,-./:;<=>?';
    expect(smsSegments(body)).toMatchObject({ encoding: 'GSM-7', characters: [...body].length, segments: 1 });
  });

  test('extension-table characters count two septets', () => {
    expect(smsSegments('^{}\\[~]|€')).toMatchObject({ encoding: 'GSM-7', characters: 18 });
    expect(smsSegments('€'.repeat(80))).toEqual({ encoding: 'GSM-7', characters: 160, segments: 1, perSegment: 160 });
    expect(smsSegments('€'.repeat(81))).toEqual({ encoding: 'GSM-7', characters: 162, segments: 2, perSegment: 153 });
    expect(smsSegments(a(159) + '€')).toMatchObject({ characters: 161, segments: 2 });
  });

  test('an escape pair is never split across segments', () => {
    // 152 + [€ does not fit the 1 septet left] → 2 + 151 → 1: three segments, though 306 septets would fit two.
    expect(smsSegments(a(152) + '€' + a(152))).toEqual({ encoding: 'GSM-7', characters: 306, segments: 3, perSegment: 153 });
    expect(smsSegments(a(151) + '€' + a(153))).toMatchObject({ characters: 306, segments: 2 });
  });
});

describe('smsSegments: UCS-2', () => {
  test('70 UTF-16 units fit one segment, 71 need two of 67', () => {
    expect(smsSegments('ж'.repeat(70))).toEqual({ encoding: 'UCS-2', characters: 70, segments: 1, perSegment: 70 });
    expect(smsSegments('ж'.repeat(71))).toEqual({ encoding: 'UCS-2', characters: 71, segments: 2, perSegment: 67 });
    expect(smsSegments('ж'.repeat(134)).segments).toBe(2);
    expect(smsSegments('ж'.repeat(135)).segments).toBe(3);
  });

  test('one character outside GSM-7 switches the whole body to UCS-2', () => {
    expect(smsSegments(a(100) + '’')).toEqual({ encoding: 'UCS-2', characters: 101, segments: 2, perSegment: 67 });
    expect(smsSegments('ç')).toMatchObject({ encoding: 'UCS-2' });
  });

  test('extension characters count one unit in UCS-2', () => {
    expect(smsSegments('€ж')).toMatchObject({ encoding: 'UCS-2', characters: 2 });
  });

  test('an emoji counts two units', () => {
    expect(smsSegments('😀'.repeat(35))).toEqual({ encoding: 'UCS-2', characters: 70, segments: 1, perSegment: 70 });
    expect(smsSegments('a' + '😀'.repeat(35))).toEqual({ encoding: 'UCS-2', characters: 71, segments: 2, perSegment: 67 });
  });

  test('a surrogate pair is never split across segments', () => {
    // 66 + [😀 does not fit the 1 unit left] → 2 + 65 → 1: three segments, though 134 units would fit two.
    expect(smsSegments(a(66) + '😀' + a(66))).toEqual({ encoding: 'UCS-2', characters: 134, segments: 3, perSegment: 67 });
    expect(smsSegments(a(65) + '😀' + a(67))).toMatchObject({ characters: 134, segments: 2 });
  });
});

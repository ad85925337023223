/**
 * How many SMS segments a body costs. Carriers bill per segment, and one non-GSM character (an emoji,
 * a curly quote) switches the whole message to UCS-2, cutting a segment from 160 to 70 characters,
 * so the campaign API shows this before anything is sent.
 */

export interface SmsSegmentInfo {
  encoding: 'GSM-7' | 'UCS-2';
  /** Code units in that encoding: septets for GSM-7 (extension-table characters count 2), UTF-16 units for UCS-2 (emoji count 2). */
  characters: number;
  /** 0 for an empty body: there is nothing to send. */
  segments: number;
  /** Capacity of each segment: 160 / 70 for a single-segment message, 153 / 67 once concatenated (the rest carries the UDH). */
  perSegment: number;
}

// GSM 03.38 default alphabet, in table order, without 0x1B (the escape to the extension table).
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
// Extension table: sent as ESC + character, so each costs two septets. \f is the page break.
const GSM_EXTENDED = new Set('\f^{}\\[~]|€');

const LIMITS = {
  'GSM-7': { single: 160, multi: 153 },
  'UCS-2': { single: 70, multi: 67 },
} as const;

/** The size of one character in the body's encoding, or undefined when it is outside GSM-7. */
function gsmSize(ch: string): 1 | 2 | undefined {
  if (GSM_BASIC.has(ch)) return 1;
  if (GSM_EXTENDED.has(ch)) return 2;
  return undefined;
}

// Iterating a string yields code points: astral characters (emoji) are one item of two UTF-16 units.
const ucs2Size = (ch: string): 1 | 2 => (ch.length > 1 ? 2 : 1);

export function smsSegments(body: string): SmsSegmentInfo {
  let encoding: SmsSegmentInfo['encoding'] = 'GSM-7';
  let characters = 0;
  for (const ch of body) {
    const size = gsmSize(ch);
    if (size === undefined) {
      encoding = 'UCS-2';
      break;
    }
    characters += size;
  }
  const size = encoding === 'GSM-7' ? (ch: string) => gsmSize(ch) ?? 1 : ucs2Size;
  if (encoding === 'UCS-2') characters = body.length;

  const { single, multi } = LIMITS[encoding];
  if (characters === 0) return { encoding, characters, segments: 0, perSegment: single };
  if (characters <= single) return { encoding, characters, segments: 1, perSegment: single };

  // A character is never split across segments (an ESC pair in GSM-7, a surrogate pair in UCS-2), so a
  // segment may end one unit short and the count is not simply ceil(characters / multi).
  let segments = 1;
  let used = 0;
  for (const ch of body) {
    const n = size(ch);
    if (used + n > multi) {
      segments += 1;
      used = 0;
    }
    used += n;
  }
  return { encoding, characters, segments, perSegment: multi };
}

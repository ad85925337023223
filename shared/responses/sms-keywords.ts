/**
 * SMS keywords (carrier and CTIA conventions, plus the French ARRET): a message that is exactly
 * one of these words, trimmed, in any case, is a command rather than a reply.
 */
export const OPT_OUT_KEYWORDS = ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'OPTOUT', 'OPT-OUT', 'OPT OUT', 'REVOKE', 'ARRET', 'REMOVE', 'TD'] as const;
export const OPT_IN_KEYWORDS = ['START', 'UNSTOP'] as const;
export const HELP_KEYWORDS = ['HELP'] as const;

export type SmsKeyword = 'opt-out' | 'opt-in' | 'help';

const normalise = (body: string) => body.trim().replace(/\s+/g, ' ').replace(/[.!]+$/, '').toUpperCase();
const OUT = new Set<string>(OPT_OUT_KEYWORDS);
const IN = new Set<string>(OPT_IN_KEYWORDS);
const HELP = new Set<string>(HELP_KEYWORDS);

export function classifySmsKeyword(body: string): SmsKeyword | undefined {
  const word = normalise(body);
  if (OUT.has(word)) return 'opt-out';
  if (IN.has(word)) return 'opt-in';
  if (HELP.has(word)) return 'help';
  return undefined;
}

export const DEFAULT_REPLIES = {
  'opt-out': 'You are unsubscribed and will receive no more messages. Reply START to subscribe again.',
  'opt-in': 'You are subscribed again. Reply STOP to opt out, HELP for help.',
  help: 'Marketing messages. Msg & data rates may apply. Reply STOP to opt out.',
} as const;

import type { ValidationIssue } from '../../contracts.ts';

/** Every field of either channel, so switching channel keeps what was typed. */
export interface Draft {
  channel: 'email' | 'sms';
  name: string;
  subject: string;
  html: string;
  text: string;
  body: string;
}
export const EMPTY: Draft = { channel: 'email', name: '', subject: '', html: '', text: '', body: '' };
export const CLAIMED = ['channel', 'name', 'subject', 'html', 'text', 'body'];
export const PREVIEW_DELAY_MS = 600;

/** The request body for the draft's channel (the API refuses fields of the other channel). */
export function templateBody(d: Draft) {
  return d.channel === 'email' ? { channel: 'email' as const, name: d.name.trim(), subject: d.subject, html: d.html, text: d.text } : { channel: 'sms' as const, name: d.name.trim(), body: d.body };
}

/** The checks the API's schema makes that need no template parser (the API checks the syntax). */
export function draftIssues(d: Draft): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const required = (path: keyof Draft, value: string) => value.trim() === '' && issues.push({ path, message: 'is required' });
  required('name', d.name);
  if (d.name.length > 200) issues.push({ path: 'name', message: 'must be at most 200 characters' });
  if (d.channel === 'email') {
    required('subject', d.subject);
    if (/[\r\n]/.test(d.subject)) issues.push({ path: 'subject', message: 'must not contain line breaks' });
    if (d.subject.length > 998) issues.push({ path: 'subject', message: 'must be at most 998 characters' });
    required('html', d.html);
    required('text', d.text);
  } else {
    required('body', d.body);
    if (d.body.length > 1600) issues.push({ path: 'body', message: 'must be at most 1600 characters' });
  }
  return issues;
}

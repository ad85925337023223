/**
 * Renders templates for one recipient. The language is Handlebars with a fixed set of helpers:
 *
 * - values: `{{contact.firstName}}` (any contact attribute, plus `contact.id`, `contact.email`,
 *   `contact.phone`), `{{campaign.name}}`, `{{campaign.id}}`, `{{unsubscribeUrl}}`, `{{senderAddress}}`,
 *   `{{viewInBrowserUrl}}`; a missing value renders as nothing;
 * - `{{default contact.firstName "there"}}`: the value, or the fallback when it is missing or blank;
 * - `{{#if x}}…{{else}}…{{/if}}`, `{{#unless x}}`, `{{#each list}}`, `{{#with obj}}`;
 * - `{{upper x}}`, `{{lower x}}`;
 * - `{{formatDate x "D MMM YYYY" "Europe/Paris"}}`: see formatDate below.
 *
 * HTML parts are HTML-escaped (Handlebars' default); subjects, text parts and SMS bodies are not.
 * Each part is compiled once per template id and version and cached, so a campaign renders
 * thousands of messages a second; a template's content must therefore never change without a new version.
 */
import Handlebars from 'handlebars';
import type { Contact } from '../contacts/model.ts';
import { escapeAttr, escapeHtml } from '../html.ts';
import { smsSegments, type SmsSegmentInfo } from './sms-segments.ts';
import { zoneDateTimeFormat } from '../schedule-expression.ts';
import {
  analyseTemplatePart,
  compileOptions,
  TemplateSyntaxError,
  type EmailTemplate,
  type InlineHelperName,
  type SmsTemplate,
  type TemplatePart,
} from './template.ts';

export interface RenderContext {
  contact: Record<string, unknown>;
  campaign?: { id: string; name: string };
  unsubscribeUrl?: string;
  /** The sender's postal address (CAN-SPAM); lines separated by \n. */
  senderAddress?: string;
  viewInBrowserUrl?: string;
  [k: string]: unknown;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
  /** Whether an unsubscribe link or the postal address was appended to the HTML or text part. */
  addedFooter: boolean;
}

export interface RenderedSms {
  body: string;
  segments: SmsSegmentInfo;
  addedOptOut: boolean;
}

export interface RenderOptions {
  /** Marketing messages get the legally required unsubscribe / opt-out text; transactional ones are left as written. */
  marketing: boolean;
}

/** The `contact` value templates see: the attributes, then the built-ins (which win over same-named attributes). */
export function contactContext(contact: Contact): Record<string, unknown> {
  return { ...contact.attributes, id: contact.id, email: contact.email, phone: contact.phone };
}

// ---------------------------------------------------------------------------------------------
// Helpers

const isBlank = (value: unknown): boolean => value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
const asText = (value: unknown): string => (value === undefined || value === null ? '' : String(value));

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DATE_TOKENS = /\[([^\]]*)\]|YYYY|YY|MMMM|MMM|MM|M|DD|D|HH|H|mm|ss/g;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

interface DateFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function dateFields(value: unknown, zone: unknown): DateFields | undefined {
  if (typeof value === 'string') {
    // A calendar date (what date form fields store) has no time zone: shift it and a birthday moves a day.
    const m = DATE_ONLY.exec(value.trim());
    if (m) {
      const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
      const d = new Date(Date.UTC(2000, month - 1, day));
      d.setUTCFullYear(year);
      if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return undefined;
      return { year, month, day, hour: 0, minute: 0, second: 0 };
    }
  }
  const ms =
    value instanceof Date ? value.getTime() : typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) return undefined;
  const format = typeof zone === 'string' && zone.trim() !== '' && zone.trim() !== 'UTC' ? zoneDateTimeFormat(zone.trim()) : null;
  if (format === null) {
    const d = new Date(ms);
    if (Number.isNaN(d.getTime())) return undefined;
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
  }
  const f: Record<string, number> = {};
  for (const part of format.formatToParts(ms)) if (part.type !== 'literal') f[part.type] = Number(part.value);
  return { year: f['year'] ?? NaN, month: f['month'] ?? NaN, day: f['day'] ?? NaN, hour: (f['hour'] ?? NaN) % 24, minute: f['minute'] ?? NaN, second: f['second'] ?? NaN };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * `{{formatDate value pattern [zone]}}`. The value is an ISO 8601 string (give timestamps an offset or Z),
 * a `YYYY-MM-DD` calendar date (never shifted by the zone), a Date or epoch milliseconds. Tokens:
 * YYYY YY (year), MMMM MMM (January, Jan), MM M (month), DD D (day), HH H (hour, 24 h), mm (minute),
 * ss (second); `[text]` is printed as is. The zone is an IANA name, UTC by default or when unknown.
 * A missing or unreadable value renders as nothing rather than failing the send.
 */
export function formatDate(value: unknown, pattern: unknown, zone?: unknown): string {
  const f = dateFields(value, zone);
  if (f === undefined || typeof pattern !== 'string') return '';
  return pattern.replace(DATE_TOKENS, (token: string, literal: string | undefined) => {
    if (literal !== undefined) return literal;
    switch (token) {
      case 'YYYY':
        return pad(f.year, 4);
      case 'YY':
        return pad(f.year % 100);
      case 'MMMM':
        return MONTHS[f.month - 1] ?? '';
      case 'MMM':
        return (MONTHS[f.month - 1] ?? '').slice(0, 3);
      case 'MM':
        return pad(f.month);
      case 'M':
        return String(f.month);
      case 'DD':
        return pad(f.day);
      case 'D':
        return String(f.day);
      case 'HH':
        return pad(f.hour);
      case 'H':
        return String(f.hour);
      case 'mm':
        return pad(f.minute);
      default:
        return pad(f.second); // ss
    }
  });
}

// Handlebars passes its options object as the last argument; these helpers ignore it.
const HELPERS: Record<InlineHelperName, Handlebars.HelperDelegate> = {
  default: (value: unknown, fallback: unknown) => (isBlank(value) ? fallback : value),
  upper: (value: unknown) => asText(value).toUpperCase(),
  lower: (value: unknown) => asText(value).toLowerCase(),
  formatDate: (...args: unknown[]) => formatDate(args[0], args[1], args.length > 3 ? args[2] : undefined),
};

// An isolated environment: our helpers do not leak into (or depend on) the global Handlebars instance.
const env = Handlebars.create();
env.unregisterHelper('log');
env.unregisterHelper('lookup');
env.registerHelper(HELPERS);

// ---------------------------------------------------------------------------------------------
// Compile cache

export const TEMPLATE_CACHE_LIMIT = 500;

interface CompiledPart {
  render: Handlebars.TemplateDelegate<RenderContext>;
  /** Whether the template's own text (not a substituted value) says STOP: only used for SMS bodies. */
  staticStop: boolean;
}

const cache = new Map<string, CompiledPart>();
let compiles = 0;

/** For tests and metrics: entries cached and compilations since the last clear. */
export function templateCacheStats(): { size: number; compiles: number } {
  return { size: cache.size, compiles };
}

export function clearTemplateCache(): void {
  cache.clear();
  compiles = 0;
}

const STOP_WORD = /\bstop\b/i;

function staticText(node: hbs.AST.Node | undefined, out: string[]): string[] {
  if (node?.type === 'Program') for (const statement of (node as hbs.AST.Program).body) staticText(statement, out);
  else if (node?.type === 'ContentStatement') out.push((node as hbs.AST.ContentStatement).value);
  else if (node?.type === 'BlockStatement') {
    staticText((node as hbs.AST.BlockStatement).program, out);
    staticText((node as hbs.AST.BlockStatement).inverse, out);
  }
  return out;
}

function compiledPart(id: string, version: number, part: TemplatePart, source: string): CompiledPart {
  const key = `${id}\u0000${version}\u0000${part}`;
  const hit = cache.get(key);
  if (hit !== undefined) {
    // Re-inserting keeps Map order = recency, so eviction below drops the least recently used entry.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  // Stored templates were validated on write; checking again here costs one walk per version and keeps
  // a bad template from failing later, once per recipient.
  const { ast, issues } = analyseTemplatePart(source, part, { compilerCheck: false });
  if (ast === undefined) throw new TemplateSyntaxError(issues);
  compiles += 1;
  const entry: CompiledPart = {
    render: env.compile<RenderContext>(ast, compileOptions(part)),
    staticStop: part === 'body' && STOP_WORD.test(staticText(ast, []).join(' ')),
  };
  if (cache.size >= TEMPLATE_CACHE_LIMIT) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(key, entry);
  return entry;
}

// ---------------------------------------------------------------------------------------------
// Email

/** Whether rendered output contains a value, as written or as Handlebars / our escaping writes it in HTML. */
function contains(output: string, value: string, html: boolean): boolean {
  return output.includes(value) || (html && (output.includes(env.escapeExpression(value)) || output.includes(escapeHtml(value))));
}

const addressLines = (address: string): string[] =>
  address
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');

function insertBeforeBodyEnd(html: string, block: string): string {
  let at = -1;
  for (const m of html.matchAll(/<\/body\s*>/gi)) at = m.index;
  return at < 0 ? html + block : html.slice(0, at) + block + html.slice(at);
}

function htmlFooter(html: string, unsubscribeUrl: string, senderAddress: string): string | undefined {
  const paragraphs: string[] = [];
  if (!contains(html, unsubscribeUrl, true)) paragraphs.push(`<a href="${escapeAttr(unsubscribeUrl)}" style="color:#666666;text-decoration:underline">Unsubscribe</a>`);
  if (!contains(html, senderAddress, true)) paragraphs.push(addressLines(senderAddress).map(escapeHtml).join('<br>'));
  if (paragraphs.length === 0) return undefined;
  const body = paragraphs.map((p) => `<p style="margin:0 0 8px">${p}</p>`).join('');
  return `\n<div class="touchloop-footer" style="margin:24px 0 0;padding:0 16px;font-family:Arial,Helvetica,sans-serif;font-size:12px;line-height:18px;color:#666666;text-align:center">${body}</div>\n`;
}

function textFooter(text: string, unsubscribeUrl: string, senderAddress: string): string | undefined {
  const lines: string[] = [];
  if (!contains(text, unsubscribeUrl, false)) lines.push(`Unsubscribe: ${unsubscribeUrl}`);
  if (!contains(text, senderAddress, false)) lines.push(...addressLines(senderAddress));
  return lines.length === 0 ? undefined : `\n\n-- \n${lines.join('\n')}\n`;
}

function complianceValues(ctx: RenderContext): { unsubscribeUrl: string; senderAddress: string } {
  const { unsubscribeUrl, senderAddress } = ctx;
  // A marketing email without either is unlawful (CAN-SPAM, GDPR/PECR): refuse rather than send it.
  if (typeof unsubscribeUrl !== 'string' || unsubscribeUrl.trim() === '') throw new Error('A marketing email needs ctx.unsubscribeUrl');
  if (typeof senderAddress !== 'string' || senderAddress.trim() === '') throw new Error('A marketing email needs ctx.senderAddress');
  return { unsubscribeUrl, senderAddress };
}

export function renderEmail(template: EmailTemplate & { id: string; version: number }, ctx: RenderContext, options: RenderOptions): RenderedEmail {
  const { id, version } = template;
  // A line break from a substituted value would end the Subject header.
  const subject = compiledPart(id, version, 'subject', template.subject).render(ctx).replace(/\s*[\r\n]+\s*/g, ' ').trim();
  let html = compiledPart(id, version, 'html', template.html).render(ctx);
  let text = compiledPart(id, version, 'text', template.text).render(ctx);
  let addedFooter = false;
  if (options.marketing) {
    const { unsubscribeUrl, senderAddress } = complianceValues(ctx);
    const htmlBlock = htmlFooter(html, unsubscribeUrl, senderAddress);
    if (htmlBlock !== undefined) html = insertBeforeBodyEnd(html, htmlBlock);
    const textBlock = textFooter(text, unsubscribeUrl, senderAddress);
    if (textBlock !== undefined) text = text.trimEnd() + textBlock;
    addedFooter = htmlBlock !== undefined || textBlock !== undefined;
  }
  return { subject, html, text, addedFooter };
}

// ---------------------------------------------------------------------------------------------
// SMS

export const SMS_OPT_OUT = 'Reply STOP to opt out';

export function renderSms(template: SmsTemplate & { id: string; version: number }, ctx: RenderContext, options: RenderOptions): RenderedSms {
  const part = compiledPart(template.id, template.version, 'body', template.body);
  let body = part.render(ctx);
  let addedOptOut = false;
  // The template's own text must carry the instruction: a contact whose name is "Stop" does not count.
  if (options.marketing && !(part.staticStop && STOP_WORD.test(body))) {
    const trimmed = body.trimEnd();
    body = trimmed === '' ? SMS_OPT_OUT : `${trimmed}\n${SMS_OPT_OUT}`;
    addedOptOut = true;
  }
  return { body, segments: smsSegments(body), addedOptOut };
}

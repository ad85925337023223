/**
 * Amazon Pinpoint message templates → Touchloop templates (pure: no I/O).
 *
 * Pinpoint templates are Handlebars too, with message variables named after the endpoint's
 * fields: `{{User.UserAttributes.FirstName}}`, `{{Attributes.Plan}}`, `{{Address}}`,
 * `{{User.UserId}}`, `{{Location.City}}`…, and defaults in `DefaultSubstitutions` (a JSON object
 * of variable → value). Touchloop renders a contact's attributes as `{{contact.<name>}}`, so
 * each variable is rewritten in the syntax tree's own positions (never by a textual search) and
 * a default becomes `{{default contact.<name> "value"}}`. A variable with no Touchloop
 * equivalent fails the row with its part and line: a template that silently renders blanks
 * would reach customers.
 */
import Handlebars from 'handlebars';
import * as z from 'zod';
import { issuesFromZod, type ValidationIssue } from '../../errors.ts';
import { EmailTemplateInput, SmsTemplateInput, templateParts, validateTemplate, TemplateSyntaxError, type EmailTemplate, type SmsTemplate, type TemplatePart } from '../../templates/template.ts';
import { attributeNameFor, PINPOINT_FIELD_ATTRIBUTES, PINPOINT_USER_ID_ATTRIBUTE } from './endpoints.ts';

const optionalText = () => z.string({ error: 'must be text' }).nullish();
/** DefaultSubstitutions: Pinpoint sends it as a JSON string; an object is taken as well. */
const substitutions = z.union([z.string(), z.record(z.string(), z.string({ error: 'must be text' }))], { error: 'must be a JSON object of variable names and default values' }).nullish();

const EmailFields = z.looseObject({
  TemplateName: optionalText(),
  TemplateType: z.literal('EMAIL').optional(),
  Subject: optionalText(),
  HtmlPart: optionalText(),
  TextPart: optionalText(),
  DefaultSubstitutions: substitutions,
});
const SmsFields = z.looseObject({
  TemplateName: optionalText(),
  TemplateType: z.literal('SMS').optional(),
  Body: optionalText(),
  DefaultSubstitutions: substitutions,
});

/**
 * One line of a templates file: a GetEmailTemplate / GetSmsTemplate response (bare, or wrapped as
 * the CLI prints it: `{"EmailTemplateResponse": {…}}`), or a create request as the CLI takes it
 * (`{"TemplateName": "…", "EmailTemplateRequest": {…}}`, likewise SMS).
 */
export interface PinpointTemplate {
  channel: 'email' | 'sms';
  name: string | undefined;
  subject?: string;
  html?: string;
  text?: string;
  body?: string;
  defaults: Record<string, string>;
}

export function readPinpointTemplate(input: unknown): { template: PinpointTemplate } | { issues: ValidationIssue[] } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { issues: [{ path: '', message: 'must be a JSON object: a GetEmailTemplate or GetSmsTemplate response' }] };
  const outer = input as Record<string, unknown>;
  const wrapped = (['EmailTemplateResponse', 'EmailTemplateRequest', 'SMSTemplateResponse', 'SMSTemplateRequest'] as const).find((k) => k in outer);
  const fields = (wrapped ? { TemplateName: outer.TemplateName, ...(outer[wrapped] as object) } : outer) as Record<string, unknown>;
  const prefix = wrapped ?? '';
  if (fields.TemplateType !== undefined && fields.TemplateType !== 'EMAIL' && fields.TemplateType !== 'SMS') {
    return { issues: [{ path: `${prefix ? `${prefix}.` : ''}TemplateType`, message: `${String(fields.TemplateType)} templates are not imported: Touchloop sends email and SMS only` }] };
  }
  const isSms = wrapped ? wrapped.startsWith('SMS') : fields.TemplateType === 'SMS' || ('Body' in fields && !('HtmlPart' in fields) && !('TextPart' in fields));
  const parsed = (isSms ? SmsFields : EmailFields).safeParse(fields);
  if (!parsed.success) return { issues: issuesFromZod(parsed.error.issues, prefix || undefined) };
  const data = parsed.data as Record<string, unknown>;
  let defaults: Record<string, string> = {};
  const raw = data.DefaultSubstitutions as string | Record<string, string> | null | undefined;
  if (typeof raw === 'string' && raw.trim() !== '') {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = undefined;
    }
    const checked = z.record(z.string(), z.string()).safeParse(value);
    if (!checked.success) return { issues: [{ path: `${prefix ? `${prefix}.` : ''}DefaultSubstitutions`, message: 'must be a JSON object of variable names and text values, like {"User.UserAttributes.FirstName": "there"}' }] };
    defaults = checked.data;
  } else if (raw && typeof raw === 'object') defaults = raw;
  const given = (key: string) => (typeof data[key] === 'string' && (data[key] as string) !== '' ? (data[key] as string) : undefined);
  const template: PinpointTemplate = { channel: isSms ? 'sms' : 'email', name: given('TemplateName')?.trim(), defaults };
  if (isSms) template.body = given('Body');
  else Object.assign(template, { subject: given('Subject'), html: given('HtmlPart'), text: given('TextPart') });
  return { template };
}

/** What a Pinpoint variable is in Touchloop's render context, or undefined when it has no equivalent. */
export function touchloopPathFor(variable: string, channel: 'email' | 'sms'): string | undefined {
  const attribute = /^(?:User\.UserAttributes|Attributes)\.(.+)$/.exec(variable);
  if (attribute) {
    const name = attributeNameFor(attribute[1]!);
    return name === undefined ? undefined : `contact.${name}`;
  }
  if (variable === 'User.UserId') return `contact.${PINPOINT_USER_ID_ATTRIBUTE}`;
  if (variable === 'Address') return channel === 'email' ? 'contact.email' : 'contact.phone';
  const field = PINPOINT_FIELD_ATTRIBUTES[variable];
  return field === undefined ? undefined : `contact.${field}`;
}

const WHY_UNSUPPORTED: Array<[RegExp, string]> = [
  [/^Metrics\./, 'endpoint metrics are not imported'],
  [/^Recommendations\./, 'Pinpoint recommender models have no Touchloop equivalent'],
  [/^(?:Demographic|Location)\./, 'this endpoint field is not kept on contacts (Location.Country and Demographic.Timezone are the contact country and time zone, which templates do not show)'],
  [/^(?:Id|ChannelType|EndpointStatus|OptOut|EffectiveDate|CreationDate|CohortId|ApplicationId|RequestId)$/, 'a contact gathers several Pinpoint endpoints, so endpoint fields have no single value'],
];

function unsupportedReason(variable: string): string {
  for (const [pattern, reason] of WHY_UNSUPPORTED) if (pattern.test(variable)) return reason;
  return 'not a contact field: message-specific variables that a Pinpoint send request filled in have no Touchloop source; write the value into the template or into a contact attribute';
}

/** A Handlebars string literal holding `value`. */
const literal = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

interface Replacement {
  start: number;
  end: number;
  text: string;
}

function offsetsOf(source: string): number[] {
  const starts = [0];
  for (let i = 0; i < source.length; i++) if (source[i] === '\n') starts.push(i + 1);
  return starts;
}

/**
 * Rewrites one part's Pinpoint variables; returns the new source and the variables that could
 * not be mapped. A `{{Var}}` with a default becomes `{{default contact.x "value"}}`; a variable
 * used as a helper argument (`{{#if Var}}`) becomes the subexpression `(default contact.x "value")`.
 */
export function mapTemplatePart(source: string, part: TemplatePart, channel: 'email' | 'sms', defaults: Record<string, string>): { source: string; issues: ValidationIssue[] } {
  let ast: hbs.AST.Program;
  try {
    ast = Handlebars.parse(source);
  } catch (error) {
    return { source, issues: [{ path: part, message: error instanceof Error ? error.message : String(error) }] };
  }
  const lineStarts = offsetsOf(source);
  const offset = (pos: hbs.AST.Position) => lineStarts[pos.line - 1]! + pos.column;
  const replacements: Replacement[] = [];
  const issues: ValidationIssue[] = [];
  const blockParams: string[][] = [];

  const mapPath = (node: hbs.AST.PathExpression, asArgument: boolean) => {
    if (node.data || node.depth > 0 || /^(?:this|\.)/.test(node.original)) return; // @index, ../x, this: Handlebars' own
    const head = node.parts[0];
    if (head !== undefined && blockParams.some((names) => names.includes(head))) return; // {{#each items as |item|}}
    const variable = node.original;
    const target = touchloopPathFor(variable, channel);
    if (target === undefined) {
      issues.push({ path: part, message: `{{${variable}}} has no Touchloop equivalent: ${unsupportedReason(variable)} (line ${node.loc.start.line})` });
      return;
    }
    const fallback = defaults[variable];
    const text = fallback === undefined ? target : asArgument ? `(default ${target} ${literal(fallback)})` : `default ${target} ${literal(fallback)}`;
    replacements.push({ start: offset(node.loc.start), end: offset(node.loc.end), text });
  };

  const visitExpression = (node: hbs.AST.Expression | undefined) => {
    if (!node) return;
    if (node.type === 'PathExpression') mapPath(node as hbs.AST.PathExpression, true);
    else if (node.type === 'SubExpression') visitCall(node as hbs.AST.SubExpression);
  };
  const visitCall = (node: hbs.AST.MustacheStatement | hbs.AST.SubExpression | hbs.AST.BlockStatement) => {
    const isCall = node.params.length > 0 || node.type === 'BlockStatement' || node.type === 'SubExpression';
    // The callee of a helper call is the helper's name, not a variable.
    if (!isCall && node.path.type === 'PathExpression') mapPath(node.path as hbs.AST.PathExpression, false);
    node.params.forEach(visitExpression);
    for (const pair of node.hash?.pairs ?? []) visitExpression(pair.value);
  };
  const visit = (node: hbs.AST.Node | undefined): void => {
    if (!node) return;
    switch (node.type) {
      case 'Program': {
        const program = node as hbs.AST.Program;
        blockParams.push(program.blockParams ?? []);
        program.body.forEach(visit);
        blockParams.pop();
        return;
      }
      case 'MustacheStatement':
        visitCall(node as hbs.AST.MustacheStatement);
        return;
      case 'BlockStatement': {
        const block = node as hbs.AST.BlockStatement;
        visitCall(block);
        visit(block.program);
        visit(block.inverse);
        return;
      }
      default:
        return;
    }
  };
  visit(ast);

  let out = source;
  for (const r of replacements.sort((a, b) => b.start - a.start)) out = out.slice(0, r.start) + r.text + out.slice(r.end);
  return { source: out, issues };
}

/** A plain-text part from an HTML one, for Pinpoint email templates that had no TextPart (Touchloop sends both). */
export function textFromHtml(html: string): string {
  return html
    .replace(/<(style|script|head)\b[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|h[1-6]|li|tr|table)>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** An HTML part from a plain-text one (escaped; line breaks kept). Placeholders survive: escaping touches no braces. */
export function htmlFromText(text: string): string {
  const escaped = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<p>${escaped.replace(/\n/g, '<br>\n')}</p>`;
}

export type MappedTemplate = { template: EmailTemplate | SmsTemplate; notes: ValidationIssue[] } | { issues: ValidationIssue[] };

/** One line of a templates file → a Touchloop template, or every reason it cannot become one. */
export function mapPinpointTemplate(input: unknown): MappedTemplate {
  const read = readPinpointTemplate(input);
  if ('issues' in read) return read;
  const source = read.template;
  const notes: ValidationIssue[] = [];
  let candidate: Record<string, unknown>;
  if (source.channel === 'sms') candidate = { channel: 'sms', name: source.name, body: source.body };
  else {
    let { html, text } = source;
    if (html === undefined && text !== undefined) {
      html = htmlFromText(text);
      notes.push({ path: 'HtmlPart', message: 'the template had no HTML part: one was made from the text part' });
    } else if (text === undefined && html !== undefined) {
      text = textFromHtml(html);
      notes.push({ path: 'TextPart', message: 'the template had no text part: one was made from the HTML part' });
    }
    candidate = { channel: 'email', name: source.name, subject: source.subject, html, text };
  }
  const shape = (source.channel === 'sms' ? SmsTemplateInput : EmailTemplateInput).safeParse(candidate);
  if (!shape.success) {
    const pinpointName: Record<string, string> = { name: 'TemplateName', subject: 'Subject', html: 'HtmlPart', text: 'TextPart', body: 'Body' };
    return { issues: issuesFromZod(shape.error.issues).map((i) => ({ ...i, path: pinpointName[i.path] ?? i.path })) };
  }
  const template = shape.data as EmailTemplate | SmsTemplate;
  const issues: ValidationIssue[] = [];
  for (const [part, text] of templateParts(template)) {
    const mapped = mapTemplatePart(text, part, template.channel, source.defaults);
    issues.push(...mapped.issues);
    (template as unknown as Record<string, string>)[part] = mapped.source;
  }
  if (issues.length) return { issues };
  try {
    validateTemplate(template);
  } catch (error) {
    if (error instanceof TemplateSyntaxError) return { issues: error.issues };
    throw error;
  }
  return { template, notes };
}

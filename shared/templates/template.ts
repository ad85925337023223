/**
 * Message templates as marketers write them: an email (subject, HTML and plain-text parts) or an
 * SMS body, in a logic-light subset of Handlebars. This module defines the input schemas and checks
 * a template's syntax at write time, so a broken template is refused with the field path instead of
 * failing in the middle of a campaign. Rendering lives in render.ts.
 */
import Handlebars from 'handlebars';
import * as z from 'zod';
import { ValidationError, type ValidationIssue } from '../errors.ts';

// Subject lines are a header: RFC 5322 caps a line at 998 characters, and a line break would end the header.
export const EmailTemplateInput = z.strictObject({
  channel: z.literal('email'),
  name: z.string().trim().min(1).max(200),
  subject: z
    .string()
    .min(1)
    .max(998)
    .refine((s) => !/[\r\n]/.test(s), 'must not contain line breaks'),
  html: z.string().min(1).max(500_000),
  text: z.string().min(1).max(200_000),
});
export type EmailTemplateInput = z.input<typeof EmailTemplateInput>;
export type EmailTemplate = z.output<typeof EmailTemplateInput>;

// 1600 characters is the longest body carriers accept (10 concatenated GSM-7 segments).
export const SmsTemplateInput = z.strictObject({
  channel: z.literal('sms'),
  name: z.string().trim().min(1).max(200),
  body: z.string().min(1).max(1600),
});
export type SmsTemplateInput = z.input<typeof SmsTemplateInput>;
export type SmsTemplate = z.output<typeof SmsTemplateInput>;

export const TemplateInput = z.discriminatedUnion('channel', [EmailTemplateInput, SmsTemplateInput]);
export type TemplateInput = z.input<typeof TemplateInput>;

export type Template = (EmailTemplate | SmsTemplate) & { id: string; createdAt: string; version: number };

/** The template fields that hold Handlebars source. */
export type TemplatePart = 'subject' | 'html' | 'text' | 'body';

export class TemplateSyntaxError extends ValidationError {
  override name = 'TemplateSyntaxError';
  constructor(issues: ValidationIssue[]) {
    super(issues, 'The template has syntax errors');
  }
}

/**
 * The helpers templates may call, with how many positional arguments each takes. Anything else
 * (Handlebars' `log` and `lookup`, custom helpers, partials, decorators) is refused: templates are
 * written by marketers, so the language stays small enough to review and to render fast.
 */
export const BLOCK_HELPERS = { if: 1, unless: 1, each: 1, with: 1 } as const;
export const INLINE_HELPERS = {
  /** `{{default contact.firstName "there"}}`: the value unless it is missing or blank, else the fallback. */
  default: { min: 2, max: 2 },
  /** `{{upper contact.city}}` */
  upper: { min: 1, max: 1 },
  /** `{{lower contact.city}}` */
  lower: { min: 1, max: 1 },
  /** `{{formatDate contact.renewsOn "D MMM YYYY" "Europe/London"}}`: see formatDate in render.ts for the tokens. */
  formatDate: { min: 2, max: 3 },
} as const;
export type BlockHelperName = keyof typeof BLOCK_HELPERS;
export type InlineHelperName = keyof typeof INLINE_HELPERS;

const isBlockHelper = (name: string): name is BlockHelperName => Object.hasOwn(BLOCK_HELPERS, name);
const isInlineHelper = (name: string): name is InlineHelperName => Object.hasOwn(INLINE_HELPERS, name);

/**
 * The Handlebars compile options for a part. `knownHelpersOnly` makes the compiled code call our
 * helpers directly (faster) and refuse any other helper; `log` and `lookup` are switched off
 * because Handlebars knows them by default. Text parts are not HTML, so they are not escaped.
 */
export function compileOptions(part: TemplatePart): CompileOptions {
  return {
    strict: false,
    knownHelpersOnly: true,
    knownHelpers: { log: false, lookup: false, default: true, upper: true, lower: true, formatDate: true },
    noEscape: part !== 'html',
  };
}

type Node = hbs.AST.Node;

function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone.trim() !== '';
  } catch {
    return false;
  }
}

/** A parsed part and the problems found in it (empty when it may be compiled and rendered). */
export interface AnalysedPart {
  ast: hbs.AST.Program | undefined;
  issues: ValidationIssue[];
}

/**
 * Parses one part and walks its syntax tree for what the compiler alone would let through:
 * partials and decorators (they would fail at render time, per recipient), block sections on
 * plain values (`{{#items}}`, Mustache style) and helper calls with the wrong number of arguments.
 * `compilerCheck: false` skips the final precompile (render.ts compiles the tree itself right after).
 */
export function analyseTemplatePart(source: string, part: TemplatePart, options: { compilerCheck?: boolean } = {}): AnalysedPart {
  let ast: hbs.AST.Program;
  try {
    ast = Handlebars.parse(source);
  } catch (error) {
    return { ast: undefined, issues: [{ path: part, message: error instanceof Error ? error.message : String(error) }] };
  }
  const issues: ValidationIssue[] = [];
  const report = (node: Node, message: string) => issues.push({ path: part, message: `${message} (line ${node.loc.start.line})` });

  const helperName = (path: Node): string | undefined => {
    if (path.type !== 'PathExpression') return undefined;
    const p = path as hbs.AST.PathExpression;
    return !p.data && p.depth === 0 && p.parts.length === 1 && !/^(?:this|\.\.?)(?:[./]|$)/.test(p.original) ? p.parts[0] : undefined;
  };

  const checkCall = (node: hbs.AST.MustacheStatement | hbs.AST.SubExpression | hbs.AST.BlockStatement, block: boolean) => {
    const name = helperName(node.path);
    const label = name ?? String((node.path as { original?: unknown }).original ?? node.path.type);
    const isCall = node.type === 'SubExpression' || node.params.length > 0 || node.hash !== undefined;
    if (block) {
      if (name === undefined || !isBlockHelper(name)) {
        report(node, `{{#${label}}} is not a block helper we provide; use {{#if}}, {{#unless}}, {{#each}} or {{#with}}`);
        return;
      }
      if (node.params.length !== BLOCK_HELPERS[name]) report(node, `{{#${name}}} takes exactly ${BLOCK_HELPERS[name]} argument`);
    } else if (name !== undefined && isBlockHelper(name)) {
      // Handlebars would call it as a helper and throw at render time, recipient by recipient.
      report(node, `${name} is a block helper: write {{#${name} …}}…{{/${name}}}`);
      return;
    } else if (name !== undefined && isInlineHelper(name)) {
      const { min, max } = INLINE_HELPERS[name];
      const n = node.params.length;
      if (n < min || n > max) report(node, `${name} takes ${min === max ? min : `${min} to ${max}`} arguments, not ${n}`);
      if (name === 'formatDate') {
        const tz = node.params[2];
        if (tz?.type === 'StringLiteral' && !isValidTimeZone((tz as hbs.AST.StringLiteral).value)) {
          report(node, `"${(tz as hbs.AST.StringLiteral).value}" is not an IANA time zone`);
        }
      }
    } else if (isCall) {
      report(node, `${label} is not a helper we provide (helpers: ${[...Object.keys(BLOCK_HELPERS), ...Object.keys(INLINE_HELPERS)].join(', ')})`);
      return;
    }
    if (node.hash !== undefined) report(node, `${label} does not take named arguments`);
  };

  const visit = (node: Node | undefined): void => {
    if (node === undefined) return;
    switch (node.type) {
      case 'Program':
        (node as hbs.AST.Program).body.forEach(visit);
        return;
      case 'MustacheStatement': {
        const m = node as hbs.AST.MustacheStatement;
        // Raw output in HTML would let contact data (much of it typed into public forms) inject markup into the email.
        if (part === 'html' && !m.escaped) report(m, 'triple braces {{{…}}} print raw HTML; use {{…}} so values are escaped');
        checkCall(m, false);
        m.params.forEach(visit);
        return;
      }
      case 'SubExpression': {
        const s = node as hbs.AST.SubExpression;
        checkCall(s, false);
        s.params.forEach(visit);
        return;
      }
      case 'BlockStatement': {
        const b = node as hbs.AST.BlockStatement;
        checkCall(b, true);
        b.params.forEach(visit);
        visit(b.program);
        visit(b.inverse);
        return;
      }
      case 'PartialStatement':
      case 'PartialBlockStatement':
        report(node, 'Partials ({{> name}}) are not supported');
        return;
      case 'Decorator':
      case 'DecoratorBlock':
        report(node, 'Decorators ({{* name}}) are not supported');
        return;
      default:
        return; // content, comments, paths and literals need no check
    }
  };
  visit(ast);

  if (issues.length === 0 && options.compilerCheck !== false) {
    // The compiler is the last word (it also knows what our walk does not); precompiling runs it without executing anything.
    try {
      Handlebars.precompile(ast, compileOptions(part));
    } catch (error) {
      issues.push({ path: part, message: error instanceof Error ? error.message : String(error) });
    }
  }
  return { ast: issues.length === 0 ? ast : undefined, issues };
}

/** The Handlebars sources of a template, by field. */
export function templateParts(template: EmailTemplate | SmsTemplate): Array<[TemplatePart, string]> {
  return template.channel === 'email'
    ? [
        ['subject', template.subject],
        ['html', template.html],
        ['text', template.text],
      ]
    : [['body', template.body]];
}

/**
 * Throws TemplateSyntaxError, with every problem at its field (`subject`, `html`, `text`, `body`),
 * unless each part compiles with the helpers we provide. Call it on the parsed TemplateInput.
 */
export function validateTemplate(input: EmailTemplate | SmsTemplate): void {
  const issues = templateParts(input).flatMap(([part, source]) => analyseTemplatePart(source, part).issues);
  if (issues.length > 0) throw new TemplateSyntaxError(issues);
}

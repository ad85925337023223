import type { CountOp, FieldOp, RuleNode, ScoreName, TimeUnit } from '../../contracts.ts';

/**
 * The rule builder's own model: a tree of groups and condition rows whose values are what the
 * marketer typed (strings), converted to the API's rule JSON by `toRule`, which also records the
 * JSON path of every row (`rule.and[1]`), so the API's and zod's issues land beside the row.
 * `fromRule` reads a saved rule back into rows.
 */
export type CondKind =
  | 'attribute'
  | 'email'
  | 'phone'
  | 'country'
  | 'timezone'
  | 'tags'
  | 'createdAt'
  | 'updatedAt'
  | 'reachable'
  | 'consent'
  | 'suppressed'
  | 'hasAddress'
  | 'behaviour'
  | 'score'
  | 'segment';
export type ValueType = 'text' | 'number' | 'boolean' | 'date';

export interface Cond {
  type: 'cond';
  key: string;
  kind: CondKind;
  /** The attribute's name (without `attributes.`). */
  attribute: string;
  valueType: ValueType;
  /** A field op, a count op (behaviour), a score op, or is / isNot (channel conditions, segments). */
  op: string;
  value: string;
  value2: string;
  unit: TimeUnit;
  channel: string;
  event: string;
  eventName: string;
  withinAmount: string;
  withinUnit: TimeUnit;
  /**
   * The score's name: one of SCORES, or what the marketer typed as a learned score
   * (`propensity.<goal>`, `uplift.<goal>`), checked by the shared schema like every other value.
   */
  score: string;
}
export interface Group {
  type: 'group';
  key: string;
  /** all (and), any (or), none (not or). */
  op: 'and' | 'or' | 'none';
  children: Array<Cond | Group>;
}
export type Item = Cond | Group;

export const FIELD_KINDS: ReadonlyArray<readonly [CondKind, string]> = [
  ['attribute', 'Attribute'],
  ['email', 'Email'],
  ['phone', 'Phone'],
  ['country', 'Country'],
  ['timezone', 'Time zone'],
  ['tags', 'Tags'],
  ['createdAt', 'Created'],
  ['updatedAt', 'Updated'],
];
export const CHANNEL_KINDS: ReadonlyArray<readonly [CondKind, string]> = [
  ['reachable', 'Reachable by'],
  ['consent', 'Consent'],
  ['suppressed', 'Suppressed on'],
  ['hasAddress', 'Has an address for'],
];
export const OTHER_KINDS: ReadonlyArray<readonly [CondKind, string]> = [
  ['behaviour', 'Behaviour'],
  ['score', 'Score'],
  ['segment', 'In segment'],
];

const OP_TEXT: Record<FieldOp, string> = {
  eq: 'is',
  neq: 'is not',
  in: 'is one of',
  contains: 'contains',
  startsWith: 'starts with',
  gt: 'greater than',
  gte: 'at least',
  lt: 'less than',
  lte: 'at most',
  between: 'between',
  exists: 'presence',
  withinLast: 'within the last',
  moreThanAgo: 'more than … ago',
};
const DATE_OP_TEXT: Partial<Record<FieldOp, string>> = { eq: 'on', neq: 'not on', gt: 'after', gte: 'on or after', lt: 'before', lte: 'on or before' };
const TEXT_OPS: FieldOp[] = ['eq', 'neq', 'in', 'contains', 'startsWith', 'exists'];
const TAG_OPS: FieldOp[] = ['contains', 'in', 'exists'];
const DATE_OPS: FieldOp[] = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'between', 'withinLast', 'moreThanAgo', 'exists'];
const ATTRIBUTE_OPS: FieldOp[] = ['eq', 'neq', 'in', 'contains', 'startsWith', 'gt', 'gte', 'lt', 'lte', 'between', 'exists', 'withinLast', 'moreThanAgo'];
export const COUNT_OPS: ReadonlyArray<readonly [CountOp, string]> = [
  ['gte', 'at least'],
  ['gt', 'more than'],
  ['eq', 'exactly'],
  ['lte', 'at most'],
  ['lt', 'fewer than'],
  ['neq', 'not exactly'],
];
const SCORE_OPS: ReadonlyArray<readonly [string, string]> = [
  ['gt', 'greater than'],
  ['gte', 'at least'],
  ['lt', 'less than'],
  ['lte', 'at most'],
  ['eq', 'equal to'],
  ['neq', 'not equal to'],
  ['between', 'between'],
];
const IS_OPS: ReadonlyArray<readonly [string, string]> = [
  ['is', 'is'],
  ['isNot', 'is not'],
];
/** The score select's entry for a learned score typed by name (`propensity.<goal>`, `uplift.<goal>`). */
export const LEARNED_SCORE_ENTRY = 'learned';
/** The scores the select lists by name: every contact's, then the learned ones whose names are fixed. */
export const SCORES: ReadonlyArray<readonly [ScoreName, string]> = [
  ['engagement', 'Engagement (0–1)'],
  ['lead', 'Lead points'],
  ['propensity.email', 'Email response propensity'],
  ['propensity.sms', 'SMS response propensity'],
  ['value.monetary', 'Revenue (monetary value)'],
  ['value.frequency', 'Conversions (frequency)'],
  ['value.recency', 'Days since last conversion'],
  ['value.expectedValue', 'Expected value per conversion'],
  ['bestHour', 'Best hour'],
  ['churn', 'Churn risk (learned, 0–1)'],
  ['value.expected90d', 'Expected revenue, next 90 days (learned)'],
];
/** The score select's options: SCORES and the entry for a learned score of a goal. */
export const SCORE_OPTIONS: ReadonlyArray<readonly [string, string]> = [...SCORES, [LEARNED_SCORE_ENTRY, 'Learned score of a goal (propensity or uplift)…']];

/** The score select's value for a row: the score when SCORES lists it, else the learned-score entry (its name is typed). */
export const scoreChoice = (c: Pick<Cond, 'score'>): string => (SCORES.some(([name]) => name === c.score) ? c.score : LEARNED_SCORE_ENTRY);

/** The row after the score select changes: a listed score by name, or the learned-score entry with a goal's propensity to complete. */
export function withScoreChoice(c: Cond, choice: string): Cond {
  if (choice !== LEARNED_SCORE_ENTRY) return { ...c, score: choice };
  return scoreChoice(c) === LEARNED_SCORE_ENTRY ? c : { ...c, score: 'propensity.' };
}
export const EVENTS: ReadonlyArray<readonly [string, string]> = [
  ['sent', 'sent'],
  ['delivered', 'delivered'],
  ['opened', 'opened'],
  ['clicked', 'clicked'],
  ['converted', 'converted'],
  ['unsubscribed', 'unsubscribed'],
  ['bounced', 'bounced'],
  ['complained', 'complained'],
  ['visited', 'visited the site'],
  ['page_viewed', 'viewed a page'],
  ['custom', 'custom event'],
];
export const UNITS: ReadonlyArray<readonly [TimeUnit, string]> = [
  ['hours', 'hours'],
  ['days', 'days'],
  ['weeks', 'weeks'],
  ['months', 'months'],
];

const isChannelKind = (k: CondKind) => k === 'reachable' || k === 'suppressed' || k === 'hasAddress';
const isFieldKind = (k: CondKind) => FIELD_KINDS.some(([f]) => f === k);
const isDateKind = (c: Pick<Cond, 'kind' | 'valueType'>) => c.kind === 'createdAt' || c.kind === 'updatedAt' || (c.kind === 'attribute' && c.valueType === 'date');

/** The operators a row of this kind offers, as [value, text]. */
export function operatorsFor(c: Pick<Cond, 'kind' | 'valueType'>): ReadonlyArray<readonly [string, string]> {
  if (c.kind === 'behaviour') return COUNT_OPS;
  if (c.kind === 'score') return SCORE_OPS;
  if (!isFieldKind(c.kind)) return IS_OPS;
  const ops = c.kind === 'tags' ? TAG_OPS : c.kind === 'createdAt' || c.kind === 'updatedAt' ? DATE_OPS : c.kind === 'attribute' ? ATTRIBUTE_OPS : TEXT_OPS;
  return ops.map((op) => [op, (isDateKind(c) && DATE_OP_TEXT[op]) || (c.kind === 'tags' && op === 'contains' ? 'has tag' : c.kind === 'tags' && op === 'in' ? 'has any of' : OP_TEXT[op])] as const);
}

let seq = 0;
export const newKey = (): string => `k${Date.now().toString(36)}${(seq++).toString(36)}`;

export function newCond(kind: CondKind = 'attribute'): Cond {
  const base: Cond = {
    type: 'cond',
    key: newKey(),
    kind,
    attribute: '',
    valueType: 'text',
    op: 'eq',
    value: '',
    value2: '',
    unit: 'days',
    channel: 'email',
    event: 'clicked',
    eventName: '',
    withinAmount: '30',
    withinUnit: 'days',
    score: 'engagement',
  };
  return withKind(base, kind);
}

/** The row after its field changes: the operator and value reset to what the new kind takes. */
export function withKind(c: Cond, kind: CondKind): Cond {
  const next: Cond = { ...c, kind, value: '', value2: '' };
  next.op = operatorsFor(next)[0]![0];
  if (kind === 'behaviour') {
    next.value = '1';
    next.channel = '';
  }
  if (kind === 'consent') next.channel = 'email';
  if (kind === 'reachable' || kind === 'suppressed' || kind === 'hasAddress') next.value = 'email';
  if (kind === 'consent') next.value = 'confirmed';
  return next;
}

export const newGroup = (op: Group['op'] = 'and', children: Item[] = [newCond()]): Group => ({ type: 'group', key: newKey(), op, children });

/** A number when the text is one, else the text itself (so the API's check names the problem); blank → undefined (required). */
function numberOr(text: string): number | string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

function scalar(c: Cond, text: string): unknown {
  if (c.kind !== 'attribute') return text === '' ? undefined : text;
  switch (c.valueType) {
    case 'number':
      return numberOr(text);
    case 'boolean':
      return text === '' ? undefined : text === 'true';
    case 'date':
      return text === '' ? undefined : { date: text };
    default:
      return text === '' ? undefined : text;
  }
}

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The JSON of one row, and whether it is wrapped in `not` (so its own keys sit under `.not`). */
function condRule(c: Cond): { node: Record<string, unknown>; negated: boolean } {
  const wrap = (node: Record<string, unknown>) => (c.op === 'isNot' ? { node: { not: node }, negated: true } : { node, negated: false });
  if (isChannelKind(c.kind)) return wrap({ [c.kind]: c.value });
  if (c.kind === 'consent') return wrap({ consent: { channel: c.channel, status: c.value } });
  if (c.kind === 'segment') return wrap({ segment: c.value });
  if (c.kind === 'score') {
    return { node: c.op === 'between' ? { score: c.score, op: c.op, values: [numberOr(c.value), numberOr(c.value2)] } : { score: c.score, op: c.op, value: numberOr(c.value) }, negated: false };
  }
  if (c.kind === 'behaviour') {
    const behaviour: Record<string, unknown> = { type: c.event };
    if (c.event === 'custom' && c.eventName.trim()) behaviour['name'] = c.eventName.trim();
    if (c.channel === 'email' || c.channel === 'sms') behaviour['channel'] = c.channel;
    if (c.withinAmount.trim()) behaviour['within'] = { amount: numberOr(c.withinAmount), unit: c.withinUnit };
    behaviour['count'] = { op: c.op, value: numberOr(c.value) };
    return { node: { behaviour }, negated: false };
  }
  const field = c.kind === 'attribute' ? `attributes.${c.attribute.trim()}` : c.kind;
  const op = c.op as FieldOp;
  const node: Record<string, unknown> = { field, op };
  const date = isDateKind(c);
  const one = (text: string) => (date ? (text === '' ? undefined : { date: text }) : scalar(c, text));
  switch (op) {
    case 'exists':
      node['value'] = c.value !== 'false';
      break;
    case 'in':
      node['values'] = list(c.value).map((v) => (c.kind === 'attribute' && c.valueType === 'number' ? numberOr(v) : c.kind === 'attribute' && c.valueType === 'boolean' ? v === 'true' : v));
      break;
    case 'between':
      node['values'] = [one(c.value), one(c.value2)];
      break;
    case 'withinLast':
    case 'moreThanAgo':
      node['amount'] = numberOr(c.value);
      node['unit'] = c.unit;
      break;
    case 'contains':
    case 'startsWith':
      node['value'] = c.value === '' ? undefined : c.value;
      break;
    default:
      node['value'] = one(c.value);
  }
  return { node, negated: false };
}

/** The rule JSON of a group, with each row's and group's JSON path (keyed by `key`) for its errors. */
export function toRule(root: Group, base = 'rule'): { rule: unknown; paths: Map<string, string> } {
  const paths = new Map<string, string>();
  const walk = (item: Item, at: string): unknown => {
    if (item.type === 'cond') {
      const { node, negated } = condRule(item);
      paths.set(item.key, negated ? `${at}.not` : at);
      return node;
    }
    const listKey = item.op === 'and' ? 'and' : 'or';
    const listAt = item.op === 'none' ? `${at}.not.or` : `${at}.${listKey}`;
    paths.set(item.key, listAt);
    const children = item.children.map((child, i) => walk(child, `${listAt}[${i}]`));
    return item.op === 'none' ? { not: { or: children } } : { [listKey]: children };
  };
  return { rule: walk(root, base), paths };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function valueText(v: unknown): string {
  if (isObject(v) && typeof v['date'] === 'string') return v['date'];
  return v === undefined || v === null ? '' : String(v);
}

function valueTypeOf(v: unknown): ValueType {
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'boolean';
  if (isObject(v) && 'date' in v) return 'date';
  return 'text';
}

function fromNode(node: unknown): Item {
  if (!isObject(node)) return newCond();
  if (Array.isArray(node['and'])) return { type: 'group', key: newKey(), op: 'and', children: node['and'].map(fromNode) };
  if (Array.isArray(node['or'])) return { type: 'group', key: newKey(), op: 'or', children: node['or'].map(fromNode) };
  if ('not' in node) {
    const inner = node['not'];
    if (isObject(inner) && Array.isArray(inner['or'])) return { type: 'group', key: newKey(), op: 'none', children: inner['or'].map(fromNode) };
    const item = fromNode(inner);
    if (item.type === 'cond' && operatorsFor(item) === IS_OPS) return { ...item, op: 'isNot' };
    // not(X) = none of [X]
    return { type: 'group', key: newKey(), op: 'none', children: [item] };
  }
  for (const kind of ['reachable', 'suppressed', 'hasAddress', 'segment'] as const) {
    if (typeof node[kind] === 'string') return { ...newCond(kind), op: 'is', value: node[kind] };
  }
  if (isObject(node['consent'])) {
    const consent = node['consent'];
    return { ...newCond('consent'), op: 'is', channel: String(consent['channel'] ?? 'email'), value: String(consent['status'] ?? 'confirmed') };
  }
  if (isObject(node['behaviour'])) {
    const b = node['behaviour'];
    const within = isObject(b['within']) ? b['within'] : undefined;
    const count = isObject(b['count']) ? b['count'] : { op: 'gte', value: 1 };
    return {
      ...newCond('behaviour'),
      event: String(b['type'] ?? 'clicked'),
      eventName: typeof b['name'] === 'string' ? b['name'] : '',
      channel: typeof b['channel'] === 'string' ? b['channel'] : '',
      withinAmount: within ? valueText(within['amount']) : '',
      withinUnit: (within?.['unit'] as TimeUnit | undefined) ?? 'days',
      op: String(count['op'] ?? 'gte'),
      value: valueText(count['value']),
    };
  }
  if (typeof node['score'] === 'string') {
    const values = Array.isArray(node['values']) ? node['values'] : [];
    return { ...newCond('score'), score: node['score'], op: String(node['op'] ?? 'gt'), value: valueText(node['op'] === 'between' ? values[0] : node['value']), value2: valueText(values[1]) };
  }
  if (typeof node['field'] === 'string') {
    const field = node['field'];
    const attribute = field.startsWith('attributes.');
    const kind = (attribute ? 'attribute' : field) as CondKind;
    const op = String(node['op'] ?? 'eq');
    const values = Array.isArray(node['values']) ? node['values'] : [];
    const sample = node['value'] ?? values[0];
    const c: Cond = { ...newCond(kind), attribute: attribute ? field.slice('attributes.'.length) : '', valueType: attribute && op !== 'exists' ? valueTypeOf(sample) : 'text', op };
    if (op === 'in') return { ...c, value: values.map(valueText).join(', ') };
    if (op === 'between') return { ...c, value: valueText(values[0]), value2: valueText(values[1]) };
    if (op === 'withinLast' || op === 'moreThanAgo') return { ...c, value: valueText(node['amount']), unit: (node['unit'] as TimeUnit | undefined) ?? 'days' };
    return { ...c, value: valueText(node['value']) };
  }
  return newCond();
}

/** A saved rule as the builder's tree; the root is always a group. */
export function fromRule(rule: RuleNode | undefined): Group {
  if (!rule) return newGroup();
  const item = fromNode(rule);
  return item.type === 'group' ? item : newGroup('and', [item]);
}

/** The tree with `fn` applied to the item whose key is `key` (undefined from fn removes it). */
export function updateItem(root: Group, key: string, fn: (item: Item) => Item | undefined): Group {
  const walk = (group: Group): Group => ({
    ...group,
    children: group.children.flatMap((child) => {
      if (child.key === key) {
        const next = fn(child);
        return next ? [next] : [];
      }
      return child.type === 'group' ? [walk(child)] : [child];
    }),
  });
  if (root.key === key) {
    const next = fn(root);
    return next && next.type === 'group' ? next : root;
  }
  return walk(root);
}

/** Nesting depth of a group (the root is 1). */
export function depthOf(root: Group, key: string): number {
  const find = (group: Group, depth: number): number => {
    if (group.key === key) return depth;
    for (const child of group.children) {
      if (child.type === 'group') {
        const d = find(child, depth + 1);
        if (d) return d;
      }
    }
    return 0;
  };
  return find(root, 1);
}

/**
 * Amazon EventBridge event-pattern matching, in process.
 *
 * The local event bus routes with the same rule patterns that are deployed to AWS, so this module
 * follows EventBridge's documented semantics ("Amazon EventBridge event patterns", "Content filtering
 * in Amazon EventBridge event patterns", "Arrays in ... event patterns", "Matching null values and
 * empty strings ...") and, where the docs are silent, the behaviour of aws/event-ruler, the open-source
 * engine behind EventBridge (JsonRuleCompiler for validation, ACFinder/ByteMachine for matching).
 *
 * Model (as in event-ruler): an event is a set of leaves (path -> string | number | boolean | null);
 * arrays are "crushed" (each element is a value of the parent path) but matches must be
 * array-consistent: all fields of one nested pattern object must be found in the same array element.
 *
 * Deliberate simplifications, all outside anything the docs specify:
 * - keys containing dots are not conflated with nesting (event-ruler does; its README says not to rely on it);
 * - wildcard "complexity" limits are not enforced, only the syntax rules;
 * - an `exists: false` next to positive fields of the same array element is checked within that
 *   element (event-ruler's result there depends on the alphabetical order of the field names).
 */

/** A JSON object as written in an EventBridge rule. */
export type EventPattern = { [key: string]: unknown };

/** A pattern EventBridge would reject; `path` is the dotted JSON path of the offending field. */
export class InvalidEventPatternError extends Error {
  override readonly name = 'InvalidEventPatternError';
  readonly path: string;

  constructor(path: string, reason: string) {
    super(`${path === '' ? '(pattern)' : path}: ${reason}`);
    this.path = path;
  }
}

export type EventMatcher = (event: unknown) => boolean;

type Primitive = string | number | boolean | null;
type ValueTest = (value: Primitive) => boolean;

/** The match values of one leaf field, e.g. `"state": ["running", { "prefix": "stop" }]`. */
interface LeafSpec {
  /** Any-of test over one leaf value of the event; null when only `exists: false` was given. */
  test: ValueTest | null;
  /** `exists: false` present: the field matches when the event has no leaf value for it. */
  matchesMissing: boolean;
  /** Only `exists: false` present (no positive alternative). */
  absenceOnly: boolean;
}

interface FieldSpec {
  key: string;
  /** The key also names an Object.prototype member ("constructor", "toString", ...). */
  prototypeKey: boolean;
  leaf: LeafSpec | null;
  child: ObjectSpec | null;
}

/** A nested pattern object after `$or` expansion. */
interface ObjectSpec {
  fields: FieldSpec[];
  /** Every leaf below is `exists: false` only; over an array this must hold for every element. */
  absenceOnly: boolean;
  /** The object matches an event value that has no leaves under it (missing, primitive, `[]`). */
  matchesEmpty: boolean;
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

// Patterns are compiled once per object identity; the bus evaluates every rule for every event.
// (Mutating a pattern object after its first use is not supported.)
const compiledPatterns = new WeakMap<object, EventMatcher>();

export function validateEventPattern(pattern: unknown): asserts pattern is EventPattern {
  if (!isObject(pattern)) throw new InvalidEventPatternError('', 'the pattern must be a JSON object');
  compileEventPattern(pattern);
}

export function compileEventPattern(pattern: EventPattern): EventMatcher {
  const cached = compiledPatterns.get(pattern);
  if (cached) return cached;
  if (!isObject(pattern)) throw new InvalidEventPatternError('', 'the pattern must be a JSON object');
  const branches = expandObject(parseObject(pattern, '', false), '').map(finalizeObject);
  const first = branches[0];
  let matcher: EventMatcher;
  if (branches.length === 1 && first) {
    matcher = (event) => isObject(event) && matchObject(first, event);
  } else {
    matcher = (event) => {
      if (!isObject(event)) return false;
      for (const branch of branches) if (matchObject(branch, event)) return true;
      return false;
    };
  }
  compiledPatterns.set(pattern, matcher);
  return matcher;
}

export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  return compileEventPattern(pattern)(event);
}

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

const hasOwn = Object.prototype.hasOwnProperty;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPrimitive(value: unknown): value is Primitive {
  const type = typeof value;
  return type === 'string' || type === 'number' || type === 'boolean' || value === null;
}

function matchObject(spec: ObjectSpec, object: Record<string, unknown>): boolean {
  // Only own properties are event fields. A hasOwn call per field is measurably slow, so it is
  // made only when the value could be inherited: from a non-plain prototype, or a key that
  // Object.prototype itself has (a pattern key "constructor" must not see Object.prototype).
  const plain = Object.getPrototypeOf(object) === Object.prototype;
  for (const field of spec.fields) {
    let value = object[field.key];
    if (value !== undefined && (field.prototypeKey || !plain) && !hasOwn.call(object, field.key)) value = undefined;
    if (field.leaf !== null && !matchLeaf(field.leaf, value)) return false;
    if (field.child !== null && !matchChild(field.child, value)) return false;
  }
  return true;
}

function matchChild(spec: ObjectSpec, value: unknown): boolean {
  if (Array.isArray(value)) {
    if (value.length === 0) return spec.matchesEmpty;
    if (spec.absenceOnly) {
      // A field is absent only if no element has it (event-ruler checks absence across the whole
      // array when no other field pins one element).
      for (const element of value) if (!matchChild(spec, element)) return false;
      return true;
    }
    // Array consistency: one element must satisfy the whole nested pattern.
    for (const element of value) if (matchChild(spec, element)) return true;
    return false;
  }
  if (isObject(value)) return matchObject(spec, value);
  return spec.matchesEmpty;
}

function matchLeaf(leaf: LeafSpec, value: unknown): boolean {
  if (value === undefined) return leaf.matchesMissing;
  if (Array.isArray(value)) {
    // Arrays doc: "If the value in the event is an array, then the event pattern matches if the
    // intersection of the event pattern array and the event array is non-empty" - so every test,
    // anything-but included, is applied per element and any element may satisfy it.
    if (leaf.test !== null && anyLeafValue(value, leaf.test)) return true;
    return leaf.matchesMissing && !hasLeafValue(value);
  }
  // Exists matching only works on leaf nodes: an object value is not a value of this field.
  if (!isPrimitive(value)) return leaf.matchesMissing;
  return leaf.test !== null && leaf.test(value);
}

function anyLeafValue(values: unknown[], test: ValueTest): boolean {
  for (const value of values) {
    if (Array.isArray(value)) {
      if (anyLeafValue(value, test)) return true;
    } else if (isPrimitive(value) && test(value)) {
      return true;
    }
  }
  return false;
}

function hasLeafValue(values: unknown[]): boolean {
  for (const value of values) {
    if (Array.isArray(value) ? hasLeafValue(value) : isPrimitive(value)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Parsing and validation (messages follow event-ruler's JsonRuleCompiler where it has one)
// ---------------------------------------------------------------------------------------------

type ParsedEntry =
  | { kind: 'leaf'; key: string; leaf: LeafSpec }
  | { kind: 'object'; key: string; node: ParsedObject }
  | { kind: 'or'; alternatives: ParsedObject[] };
interface ParsedObject {
  entries: ParsedEntry[];
}

// Field names event-ruler refuses inside "$or" alternatives (Constants.RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP).
const RESERVED_IN_OR = new Set([
  'exactly', 'equals-ignore-case', 'prefix', 'suffix', 'anything-but', 'exists', 'wildcard', 'numeric', 'cidr',
  '=', '<', '<=', '>', '>=', 'regex', 'not-wildcard', 'not-equals-ignore-case', 'date-after', 'date-on-or-after',
  'date-before', 'date-on-or-before', 'in-date-range', 'ip-address-in-range', 'ip-address-not-in-range',
]);

function childPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : JSON.stringify(value);
}

function parseObject(object: Record<string, unknown>, path: string, insideOr: boolean): ParsedObject {
  const keys = Object.keys(object);
  if (keys.length === 0) throw new InvalidEventPatternError(path, 'empty objects are not allowed');
  const entries: ParsedEntry[] = [];
  for (const key of keys) {
    const value = object[key];
    const fieldPath = childPath(path, key);
    if (key === '$or') {
      entries.push({ kind: 'or', alternatives: parseOr(value, fieldPath) });
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(key)) {
      throw new InvalidEventPatternError(fieldPath, `"${key}" is a reserved word and cannot be a field name inside $or`);
    }
    if (Array.isArray(value)) {
      entries.push({ kind: 'leaf', key, leaf: parseLeaf(value, fieldPath) });
    } else if (isObject(value)) {
      entries.push({ kind: 'object', key, node: parseObject(value, fieldPath, insideOr) });
    } else {
      throw new InvalidEventPatternError(fieldPath, `must be an array of match values or a nested object, got ${describe(value)}`);
    }
  }
  return { entries };
}

function parseOr(value: unknown, path: string): ParsedObject[] {
  if (!Array.isArray(value)) throw new InvalidEventPatternError(path, '$or must be an array of at least 2 objects');
  if (value.length < 2) throw new InvalidEventPatternError(path, `$or needs at least 2 objects, got ${value.length}`);
  return value.map((alternative: unknown, index) => {
    const alternativePath = `${path}[${index}]`;
    if (!isObject(alternative)) {
      throw new InvalidEventPatternError(alternativePath, `$or alternatives must be objects, got ${describe(alternative)}`);
    }
    return parseObject(alternative, alternativePath, true);
  });
}

function parseLeaf(values: unknown[], path: string): LeafSpec {
  if (values.length === 0) throw new InvalidEventPatternError(path, 'empty arrays are not allowed');
  const literals = new LiteralSet();
  const tests: ValueTest[] = [];
  let existsTrue = false;
  let existsFalse = false;
  for (const value of values) {
    if (isObject(value)) {
      const operator = parseOperator(value, path);
      if (operator === EXISTS_TRUE) existsTrue = true;
      else if (operator === EXISTS_FALSE) existsFalse = true;
      else tests.push(operator);
    } else if (typeof value === 'string' || typeof value === 'boolean' || value === null) {
      literals.add(value);
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      literals.add(value);
    } else {
      throw new InvalidEventPatternError(path, `match values must be strings, numbers, true, false, null or operator objects, got ${describe(value)}`);
    }
  }
  const literalTest = literals.toTest();
  if (literalTest) tests.unshift(literalTest);
  return {
    // exists: true accepts any leaf value - null included, since the Exists doc keys on the field's
    // presence, not its value - which subsumes every other alternative.
    test: existsTrue ? EXISTS_TRUE : anyOf(tests),
    matchesMissing: existsFalse,
    absenceOnly: existsFalse && !existsTrue && tests.length === 0,
  };
}

// Sentinels from parseOperator; EXISTS_TRUE doubles as the accept-any-value test.
const EXISTS_TRUE: ValueTest = () => true;
const EXISTS_FALSE: ValueTest = () => false;

function anyOf(tests: ValueTest[]): ValueTest | null {
  if (tests.length === 0) return null;
  const [only] = tests;
  if (tests.length === 1 && only) return only;
  return (value) => {
    for (const test of tests) if (test(value)) return true;
    return false;
  };
}

function parseOperator(operator: Record<string, unknown>, path: string): ValueTest {
  const keys = Object.keys(operator);
  const [name] = keys;
  if (name === undefined) throw new InvalidEventPatternError(path, 'empty operator object');
  if (keys.length > 1) {
    throw new InvalidEventPatternError(path, `an operator object has exactly one key, got ${keys.map((k) => `"${k}"`).join(', ')}`);
  }
  const argument = operator[name];
  switch (name) {
    case 'prefix':
    case 'suffix': {
      if (typeof argument === 'string') return name === 'prefix' ? prefixTest(argument) : suffixTest(argument);
      const ignoreCase = isObject(argument) ? equalsIgnoreCaseArgument(argument) : undefined;
      if (ignoreCase === undefined) {
        throw new InvalidEventPatternError(path, `${name} must be a string or { "equals-ignore-case": string }, got ${describe(argument)}`);
      }
      const regex = new RegExp(name === 'prefix' ? `^${escapeRegex(ignoreCase)}` : `${escapeRegex(ignoreCase)}$`, 'iu');
      return (value) => typeof value === 'string' && regex.test(value);
    }
    case 'equals-ignore-case': {
      if (typeof argument !== 'string') throw new InvalidEventPatternError(path, `equals-ignore-case must be a string, got ${describe(argument)}`);
      const regex = ignoreCaseRegex([argument]);
      return (value) => typeof value === 'string' && regex.test(value);
    }
    case 'wildcard': {
      if (typeof argument !== 'string') throw new InvalidEventPatternError(path, `wildcard must be a string, got ${describe(argument)}`);
      const glob = parseWildcard(argument, path);
      return (value) => typeof value === 'string' && glob(value);
    }
    case 'anything-but':
      return parseAnythingBut(argument, path);
    case 'numeric':
      return parseNumeric(argument, path);
    case 'exists':
      if (argument === true) return EXISTS_TRUE;
      if (argument === false) return EXISTS_FALSE;
      throw new InvalidEventPatternError(path, `exists must be true or false, got ${describe(argument)}`);
    case 'cidr':
      return parseCidr(argument, path);
    default:
      throw new InvalidEventPatternError(path, `unknown operator "${name}"`);
  }
}

function equalsIgnoreCaseArgument(argument: Record<string, unknown>): string | undefined {
  const keys = Object.keys(argument);
  const value = argument['equals-ignore-case'];
  return keys.length === 1 && typeof value === 'string' ? value : undefined;
}

function prefixTest(prefix: string): ValueTest {
  return (value) => typeof value === 'string' && value.startsWith(prefix);
}

function suffixTest(suffix: string): ValueTest {
  return (value) => typeof value === 'string' && value.endsWith(suffix);
}

// Only SyntaxCharacters may be escaped under the `u` flag.
function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

// A regex rather than toLowerCase(): no allocation per event, and Unicode case folding.
function ignoreCaseRegex(values: string[]): RegExp {
  return new RegExp(`^(?:${values.map(escapeRegex).join('|')})$`, 'iu');
}

/**
 * anything-but (Content filtering doc, "Anything-but matching"): a single string or number, a
 * non-empty list of only strings or only numbers, or one of { prefix | suffix | equals-ignore-case
 * | wildcard } with a string or list of strings. It is a test on one leaf value, so:
 * - a missing field (or `[]`, or an object) has no value and does not match;
 * - a value of another type than the excluded ones matches (`null`, a number against string
 *   exclusions) - AWS matches `"state": null` against `{ "anything-but": "initializing" }`;
 * - for an array field it matches if ANY element is not excluded, because the Arrays doc defines
 *   array matching as a non-empty intersection and event-ruler tests each element on its own.
 */
function parseAnythingBut(argument: unknown, path: string): ValueTest {
  if (typeof argument === 'string') return (value) => value !== argument;
  if (typeof argument === 'number') {
    checkComparableNumber(argument, path, 'anything-but');
    return (value) => value !== argument;
  }
  if (Array.isArray(argument)) {
    if (argument.length === 0) throw new InvalidEventPatternError(path, 'anything-but list must not be empty');
    if (argument.every((item): item is string => typeof item === 'string')) {
      const excluded = new Set<Primitive>(argument);
      return (value) => !excluded.has(value);
    }
    if (argument.every((item): item is number => typeof item === 'number' && Number.isFinite(item))) {
      for (const item of argument) checkComparableNumber(item, path, 'anything-but');
      const excluded = new Set<Primitive>(argument);
      return (value) => !excluded.has(value);
    }
    throw new InvalidEventPatternError(path, 'anything-but list must contain only strings or only numbers (no null, booleans, objects or mixed types)');
  }
  if (isObject(argument)) {
    const keys = Object.keys(argument);
    const [name] = keys;
    if (name === undefined || keys.length > 1) {
      throw new InvalidEventPatternError(path, 'anything-but object must have exactly one of "prefix", "suffix", "equals-ignore-case", "wildcard"');
    }
    const inner = argument[name];
    let values: string[];
    if (typeof inner === 'string') values = [inner];
    else if (Array.isArray(inner) && inner.length > 0 && inner.every((item): item is string => typeof item === 'string')) values = inner;
    else throw new InvalidEventPatternError(path, `anything-but ${name} must be a string or a non-empty list of strings, got ${describe(inner)}`);
    switch (name) {
      case 'prefix':
      case 'suffix': {
        if (values.includes('')) throw new InvalidEventPatternError(path, `anything-but ${name} must not be empty`);
        const isPrefix = name === 'prefix';
        return (value) => {
          if (typeof value !== 'string') return true;
          for (const affix of values) if (isPrefix ? value.startsWith(affix) : value.endsWith(affix)) return false;
          return true;
        };
      }
      case 'equals-ignore-case': {
        const regex = ignoreCaseRegex(values);
        return (value) => typeof value !== 'string' || !regex.test(value);
      }
      case 'wildcard': {
        const globs = values.map((glob) => parseWildcard(glob, path));
        return (value) => {
          if (typeof value !== 'string') return true;
          for (const glob of globs) if (glob(value)) return false;
          return true;
        };
      }
      default:
        throw new InvalidEventPatternError(path, `unsupported anything-but operator "${name}"`);
    }
  }
  throw new InvalidEventPatternError(path, `anything-but must be a string, a number, a list or an object, got ${describe(argument)}`);
}

// ---------------------------------------------------------------------------------------------
// Literals
// ---------------------------------------------------------------------------------------------

/** Exact-match values of one leaf, tested with Set lookups instead of a loop. */
class LiteralSet {
  private readonly strings = new Set<string>();
  // Numbers compare numerically (event-ruler adds a numeric-equals matcher for every number
  // literal), so 300 matches 300.0 and 3.0e2; a JS number already is that canonical value.
  private readonly numbers = new Set<number>();
  private readonly others = new Set<boolean | null>();
  // event-ruler turns IP-address literals into single-address ranges, so "2001:db8::1" equals
  // "2001:0DB8:0:0:0:0:0:1"; keep the parsed forms for events that are not textually equal.
  private readonly ipv4: number[] = [];
  private readonly ipv6: Uint16Array[] = [];

  add(value: Primitive): void {
    if (typeof value === 'string') {
      this.strings.add(value);
      const v4 = parseIPv4(value);
      if (v4 >= 0) this.ipv4.push(v4);
      else if (parseIPv6(value, ipScratch)) this.ipv6.push(ipScratch.slice());
    } else if (typeof value === 'number') {
      this.numbers.add(value);
    } else {
      this.others.add(value);
    }
  }

  toTest(): ValueTest | null {
    const { strings, numbers, others, ipv4, ipv6 } = this;
    if (strings.size + numbers.size + others.size === 0) return null;
    const hasIps = ipv4.length + ipv6.length > 0;
    // The common `"source": ["x"]` is a single comparison.
    const [onlyString] = strings;
    if (strings.size === 1 && onlyString !== undefined && numbers.size + others.size === 0 && !hasIps) {
      return (value) => value === onlyString;
    }
    return (value) => {
      if (typeof value === 'string') return strings.has(value) || (hasIps && ipLiteralMatches(value, ipv4, ipv6));
      if (typeof value === 'number') return numbers.has(value);
      return others.has(value);
    };
  }
}

function ipLiteralMatches(value: string, ipv4: number[], ipv6: Uint16Array[]): boolean {
  if (ipv4.length > 0) {
    const address = parseIPv4(value);
    if (address >= 0) return ipv4.includes(address);
  }
  if (ipv6.length > 0 && parseIPv6(value, ipScratch)) {
    for (const literal of ipv6) if (sameGroups(literal, ipScratch, 128)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Numeric
// ---------------------------------------------------------------------------------------------

// "Numeric matching ... between -5.0e9 and +5.0e9 inclusive, with 15 digits of precision, or six
// digits to the right of the decimal point" (event-ruler ComparableNumber).
const NUMERIC_LIMIT = 5e9;
const MAX_DECIMALS = 6;

function decimalPlaces(value: number): number {
  if (Number.isInteger(value)) return 0;
  const text = String(Math.abs(value));
  const e = text.indexOf('e');
  const mantissa = e < 0 ? text : text.slice(0, e);
  const exponent = e < 0 ? 0 : Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const fraction = dot < 0 ? 0 : mantissa.length - dot - 1;
  return Math.max(0, fraction - exponent);
}

function checkComparableNumber(value: number, path: string, operator: string): void {
  if (value < -NUMERIC_LIMIT || value > NUMERIC_LIMIT) {
    throw new InvalidEventPatternError(path, `${operator} value ${value} is outside -5e9..5e9`);
  }
  if (decimalPlaces(value) > MAX_DECIMALS) {
    throw new InvalidEventPatternError(path, `${operator} value ${value} has more than ${MAX_DECIMALS} decimal places`);
  }
}

/** `["=", x]`, `["<" | "<=", x]`, `[">" | ">=", x]` or `[">" | ">=", x, "<" | "<=", y]` with x < y. */
function parseNumeric(argument: unknown, path: string): ValueTest {
  if (!Array.isArray(argument)) throw new InvalidEventPatternError(path, `numeric must be an array, got ${describe(argument)}`);
  const items: unknown[] = argument;
  const operand = (index: number, operator: string): number => {
    const value = items[index];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new InvalidEventPatternError(path, `numeric operator "${operator}" needs a number, got ${describe(value)}`);
    }
    checkComparableNumber(value, path, `numeric "${operator}"`);
    return value;
  };
  const first = items[0];
  if (typeof first !== 'string' || !['=', '<', '<=', '>', '>='].includes(first)) {
    throw new InvalidEventPatternError(path, `numeric must start with one of "=", "<", "<=", ">", ">=", got ${describe(first)}`);
  }
  const firstValue = operand(1, first);
  let low = -Infinity;
  let lowInclusive = false;
  let high = Infinity;
  let highInclusive = false;
  if (first === '=') {
    low = high = firstValue;
    lowInclusive = highInclusive = true;
  } else if (first === '<' || first === '<=') {
    high = firstValue;
    highInclusive = first === '<=';
  } else {
    low = firstValue;
    lowInclusive = first === '>=';
  }
  if (items.length > 2) {
    const second = items[2];
    if (first !== '>' && first !== '>=') {
      throw new InvalidEventPatternError(path, `numeric "${first}" takes one number; a range is [">" | ">=", low, "<" | "<=", high]`);
    }
    if (second !== '<' && second !== '<=') {
      throw new InvalidEventPatternError(path, `numeric range upper bound needs "<" or "<=", got ${describe(second)}`);
    }
    high = operand(3, second);
    highInclusive = second === '<=';
    if (items.length > 4) throw new InvalidEventPatternError(path, 'numeric takes at most two comparisons');
    if (!(low < high)) throw new InvalidEventPatternError(path, `numeric range lower bound ${low} must be less than upper bound ${high}`);
  }
  // Only JSON numbers in the supported range are numeric; "5" (a string) never matches.
  return (value) =>
    typeof value === 'number' &&
    value >= -NUMERIC_LIMIT &&
    value <= NUMERIC_LIMIT &&
    (value > low || (lowInclusive && value === low)) &&
    (value < high || (highInclusive && value === high));
}

// ---------------------------------------------------------------------------------------------
// Wildcard
// ---------------------------------------------------------------------------------------------

/**
 * `*` matches any run of characters, including none ("xy*" matches "xy"); `\*` is a literal star
 * and `\\` a literal backslash; any other escape, a trailing backslash or `**` is rejected.
 */
function parseWildcard(pattern: string, path: string): (value: string) => boolean {
  const segments: string[] = [];
  let current = '';
  let previousWasStar = false;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '\\') {
      const next = pattern[i + 1];
      if (next !== '*' && next !== '\\') {
        throw new InvalidEventPatternError(path, `wildcard "${pattern}": invalid escape at position ${i} (only \\* and \\\\ are allowed)`);
      }
      current += next;
      i++;
      previousWasStar = false;
    } else if (char === '*') {
      if (previousWasStar) throw new InvalidEventPatternError(path, `wildcard "${pattern}": consecutive wildcard characters at position ${i}`);
      segments.push(current);
      current = '';
      previousWasStar = true;
    } else {
      current += char;
      previousWasStar = false;
    }
  }
  segments.push(current);
  const [head = '', ...rest] = segments;
  if (rest.length === 0) return (value) => value === head;
  const tail = rest.pop() ?? '';
  const middle = rest;
  const minLength = segments.reduce((sum, segment) => sum + segment.length, 0);
  // Leftmost-first scanning is exact for `*`-only globs and cannot backtrack exponentially.
  return (value) => {
    if (value.length < minLength || !value.startsWith(head) || !value.endsWith(tail)) return false;
    const end = value.length - tail.length;
    let position = head.length;
    for (const segment of middle) {
      const found = value.indexOf(segment, position);
      if (found < 0 || found + segment.length > end) return false;
      position = found + segment.length;
    }
    return position <= end;
  };
}

// ---------------------------------------------------------------------------------------------
// IP addresses
// ---------------------------------------------------------------------------------------------

// Reused parse buffer: matching is synchronous and not re-entrant.
const ipScratch = new Uint16Array(8);

/** Dotted-quad IPv4 to an unsigned 32-bit number, or -1. */
function parseIPv4(text: string): number {
  let result = 0;
  let parts = 0;
  let octet = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : 46; // a virtual final '.'
    if (code >= 48 && code <= 57) {
      octet = octet * 10 + (code - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else if (code === 46) {
      if (digits === 0 || ++parts > 4) return -1;
      result = result * 256 + octet;
      octet = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  return parts === 4 ? result : -1;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

/** Hex-and-colon IPv6 (with at most one `::`) into eight 16-bit groups. */
function parseIPv6(text: string, out: Uint16Array): boolean {
  const length = text.length;
  if (length < 2) return false;
  let groups = 0;
  let gap = -1; // group index where '::' stands
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < length) {
    if (groups === 8) return false;
    let value = 0;
    let digits = 0;
    while (i < length) {
      const hex = hexValue(text.charCodeAt(i));
      if (hex < 0) break;
      if (++digits > 4) return false;
      value = value * 16 + hex;
      i++;
    }
    if (digits === 0) return false;
    out[groups++] = value;
    if (i === length) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < length && text.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = groups;
      i++;
    } else if (i === length) {
      return false; // a single trailing ':'
    }
  }
  if (gap < 0) return groups === 8;
  if (groups > 7) return false;
  const tail = groups - gap;
  for (let k = 1; k <= tail; k++) out[8 - k] = out[groups - k] ?? 0;
  for (let k = gap; k < 8 - tail; k++) out[k] = 0;
  return true;
}

function sameGroups(a: Uint16Array, b: Uint16Array, bits: number): boolean {
  for (let group = 0; group < 8 && bits > 0; group++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if ((((a[group] ?? 0) ^ (b[group] ?? 0)) & mask) !== 0) return false;
  }
  return true;
}

function parseCidr(argument: unknown, path: string): ValueTest {
  if (typeof argument !== 'string') throw new InvalidEventPatternError(path, `cidr must be a string, got ${describe(argument)}`);
  const slash = argument.indexOf('/');
  if (slash < 0 || argument.indexOf('/', slash + 1) >= 0) {
    throw new InvalidEventPatternError(path, `malformed CIDR "${argument}": exactly one "/" required`);
  }
  const address = argument.slice(0, slash);
  const maskText = argument.slice(slash + 1);
  if (!/^\d{1,3}$/.test(maskText)) throw new InvalidEventPatternError(path, `malformed CIDR "${argument}": mask bits must be an integer`);
  const bits = Number(maskText);
  const v4 = parseIPv4(address);
  if (v4 >= 0) {
    if (bits > 32) throw new InvalidEventPatternError(path, `malformed CIDR "${argument}": IPv4 mask must be 0..32`);
    // bits === 0 must give mask 0; a JS shift by 32 would be a no-op.
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    const network = (v4 & mask) >>> 0;
    return (value) => {
      if (typeof value !== 'string') return false;
      const ip = parseIPv4(value);
      return ip >= 0 && ((ip & mask) >>> 0) === network;
    };
  }
  const network = new Uint16Array(8);
  if (!parseIPv6(address, network)) throw new InvalidEventPatternError(path, `malformed CIDR "${argument}": nonstandard IP address "${address}"`);
  if (bits > 128) throw new InvalidEventPatternError(path, `malformed CIDR "${argument}": IPv6 mask must be 0..128`);
  return (value) => typeof value === 'string' && parseIPv6(value, ipScratch) && sameGroups(network, ipScratch, bits);
}

// ---------------------------------------------------------------------------------------------
// $or expansion
// ---------------------------------------------------------------------------------------------

interface MergedField {
  leaf: LeafSpec | null;
  child: MergedObject | null;
}
type MergedObject = Map<string, MergedField>;

// Each $or multiplies the alternatives; event-ruler expands the same way. The cap only guards
// against a runaway pattern eating memory.
const MAX_ALTERNATIVES = 1024;

/**
 * "$or": [A, B] matches if A or B, each merged with the sibling fields, matches. Expanding into
 * $or-free alternatives (like event-ruler's sub-rules) keeps array consistency exact: a sibling
 * field and an $or field that both live under the same array must come from the same element.
 * On a clash of the same leaf the later field in document order wins, as in EventBridge where a
 * repeated key keeps its last value.
 */
function expandObject(node: ParsedObject, path: string): MergedObject[] {
  let variants: MergedObject[] = [new Map()];
  for (const entry of node.entries) {
    let additions: MergedObject[];
    if (entry.kind === 'leaf') {
      additions = [new Map([[entry.key, { leaf: entry.leaf, child: null }]])];
    } else if (entry.kind === 'object') {
      additions = expandObject(entry.node, childPath(path, entry.key)).map((child) => new Map([[entry.key, { leaf: null, child }]]));
    } else {
      additions = entry.alternatives.flatMap((alternative) => expandObject(alternative, path));
    }
    if (variants.length * additions.length > MAX_ALTERNATIVES) {
      throw new InvalidEventPatternError(path, `$or combinations exceed ${MAX_ALTERNATIVES}`);
    }
    const next: MergedObject[] = [];
    for (const variant of variants) for (const addition of additions) next.push(mergeObjects(variant, addition));
    variants = next;
  }
  return variants;
}

function mergeObjects(base: MergedObject, addition: MergedObject): MergedObject {
  const merged = new Map(base);
  for (const [key, field] of addition) {
    const existing = merged.get(key);
    if (!existing) {
      merged.set(key, field);
      continue;
    }
    merged.set(key, {
      leaf: field.leaf ?? existing.leaf,
      child: existing.child && field.child ? mergeObjects(existing.child, field.child) : (field.child ?? existing.child),
    });
  }
  return merged;
}

function finalizeObject(object: MergedObject): ObjectSpec {
  const fields: FieldSpec[] = [];
  let absenceOnly = true;
  let matchesEmpty = true;
  for (const [key, field] of object) {
    const child = field.child ? finalizeObject(field.child) : null;
    const leaf = field.leaf;
    fields.push({ key, prototypeKey: key in Object.prototype, leaf, child });
    if ((leaf && !leaf.absenceOnly) || (child && !child.absenceOnly)) absenceOnly = false;
    if ((leaf && !leaf.matchesMissing) || (child && !child.matchesEmpty)) matchesEmpty = false;
  }
  return { fields, absenceOnly, matchesEmpty };
}

import { describe, expect, test } from 'vitest';
import {
  compileEventPattern,
  InvalidEventPatternError,
  matchesEventPattern,
  validateEventPattern,
} from '../../infra/local/event-pattern.ts';
import type { EventPattern } from '../../infra/local/event-pattern.ts';

type MatchCase = [name: string, pattern: EventPattern, event: Record<string, unknown>, expected: boolean];

function runMatchCases(cases: MatchCase[]): void {
  test.each(cases)('%s', (_name, pattern, event, expected) => {
    expect(matchesEventPattern(pattern, event)).toBe(expected);
  });
}

// Example events from the AWS docs ("Amazon EventBridge event patterns" and aws/event-ruler's README,
// which the content-filtering examples are written against).
const ec2TerminatedEvent = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

const autoScalingEvent = {
  version: '0',
  id: '3e3c153a-8339-4e30-8c35-687ebef853fe',
  'detail-type': 'EC2 Instance Launch Successful',
  source: 'aws.autoscaling',
  account: '123456789012',
  time: '2015-11-11T21:31:47Z',
  region: 'us-east-1',
  resources: [],
  detail: { eventVersion: '', responseElements: null },
};

const macieEvent = {
  version: '0',
  id: '3e355723-fca9-4de3-9fd7-154c289d6b59',
  'detail-type': 'Macie Alert',
  source: 'aws.macie',
  account: '123456789012',
  time: '2017-04-24T22:28:49Z',
  region: 'us-east-1',
  resources: [
    'arn:aws:macie:us-east-1:123456789012:trigger/trigger_id/alert/alert_id',
    'arn:aws:macie:us-east-1:123456789012:trigger/trigger_id',
  ],
  detail: {
    'notification-type': 'ALERT_CREATED',
    name: 'Scanning bucket policies',
    tags: ['Custom_Alert', 'Insider'],
    'risk-score': 80,
    trigger: { 'rule-arn': 'arn:aws:macie:us-east-1:123456789012:trigger/trigger_id', 'alert-type': 'basic', risk: 8 },
  },
};

const readmeEvent = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};

function withDetail(detail: Record<string, unknown>): Record<string, unknown> {
  return { ...readmeEvent, detail: { ...readmeEvent.detail, ...detail } };
}

describe('AWS documentation examples', () => {
  runMatchCases([
    [
      'EC2 instance-termination pattern matches the terminated event',
      { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['terminated'] } },
      ec2TerminatedEvent,
      true,
    ],
    [
      'EC2 instance-termination pattern does not match a running instance',
      { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['terminated'] } },
      { ...ec2TerminatedEvent, detail: { ...ec2TerminatedEvent.detail, state: 'running' } },
      false,
    ],
    ['match values: source is aws.ec2 or aws.fargate', { source: ['aws.ec2', 'aws.fargate'] }, ec2TerminatedEvent, true],
    ['match values: neither listed source', { source: ['aws.s3', 'aws.fargate'] }, ec2TerminatedEvent, false],
    [
      'auto scaling: responseElements [null] matches null',
      { source: ['aws.autoscaling'], 'detail-type': ['EC2 Instance Launch Successful'], detail: { responseElements: [null] } },
      autoScalingEvent,
      true,
    ],
    ['auto scaling: eventVersion [""] matches the empty string', { detail: { eventVersion: [''] } }, autoScalingEvent, true],
    ['null and "" are not interchangeable: [""] vs null', { detail: { responseElements: [''] } }, autoScalingEvent, false],
    ['null and "" are not interchangeable: [null] vs ""', { detail: { eventVersion: [null] } }, autoScalingEvent, false],
    [
      'Macie: risk-score 80 and trigger.risk 8',
      { source: ['aws.macie'], 'detail-type': ['Macie Alert'], detail: { 'risk-score': [80], trigger: { risk: [8] } } },
      macieEvent,
      true,
    ],
    ['Macie: trigger.risk 9 does not match', { detail: { 'risk-score': [80], trigger: { risk: [9] } } }, macieEvent, false],
    [
      'arrays doc: non-empty intersection of pattern and event arrays',
      {
        resources: [
          'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
          'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
          'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
        ],
      },
      {
        resources: [
          'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
          'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        ],
      },
      true,
    ],
    ['prefix: time starts with 2017-10-02', { time: [{ prefix: '2017-10-02' }] }, readmeEvent, true],
    ['anything-but: state is not initializing', { detail: { state: [{ 'anything-but': 'initializing' }] } }, readmeEvent, true],
    ['anything-but number: x-limit is not 123', { detail: { 'x-limit': [{ 'anything-but': 123 }] } }, readmeEvent, true],
    [
      'anything-but string list: running is not stopped/overloaded',
      { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
      readmeEvent,
      true,
    ],
    [
      'anything-but string list: stopped is excluded',
      { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
      withDetail({ state: 'stopped' }),
      false,
    ],
    ['anything-but number list: 301.8 not in 100/200/300', { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } }, readmeEvent, true],
    ['anything-but number list: 300 is excluded', { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } }, withDetail({ 'x-limit': 300 }), false],
    ['anything-but prefix: running does not start with init', { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, readmeEvent, true],
    ['anything-but prefix: initializing starts with init', { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, withDetail({ state: 'initializing' }), false],
    [
      'numeric: c-count (0,5], d-count < 10, x-limit = 3.018e2',
      { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }], 'd-count': [{ numeric: ['<', 10] }], 'x-limit': [{ numeric: ['=', 3.018e2] }] } },
      readmeEvent,
      true,
    ],
    ['cidr: 10.0.0.33 is in 10.0.0.0/24', { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } }, readmeEvent, true],
    [
      'exists false: event without detail.c-count',
      { detail: { 'c-count': [{ exists: false }] } },
      { 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['initializing', 'running'] } },
      true,
    ],
    [
      'exists false: c-count that is an object is not a leaf, so it is absent',
      { detail: { 'c-count': [{ exists: false }] } },
      { detail: { state: ['initializing', 'running'], 'c-count': { c1: 100 } } },
      true,
    ],
    [
      'exists true: event with detail.state',
      { detail: { state: [{ exists: true }] } },
      { source: 'aws.ec2', detail: { 'instance-id': 'i-abcd1111', state: 'pending' } },
      true,
    ],
    [
      'exists true: event without detail.state does not match',
      { detail: { state: [{ exists: true }] } },
      { detail: { 'c-count': { c1: 100 } } },
      false,
    ],
    [
      'complex example: prefix + anything-but + numeric + cidr',
      {
        time: [{ prefix: '2017-10-02' }],
        detail: {
          state: [{ 'anything-but': 'initializing' }],
          'c-count': [{ numeric: ['>', 0, '<=', 5] }],
          'd-count': [{ numeric: ['<', 10] }],
          'x-limit': [{ 'anything-but': [100, 200, 300] }],
          'source-ip': [{ cidr: '10.0.0.0/8' }],
        },
      },
      readmeEvent,
      true,
    ],
    [
      'complex example fails when one field (d-count) is out of range',
      {
        time: [{ prefix: '2017-10-02' }],
        detail: { state: [{ 'anything-but': 'initializing' }], 'd-count': [{ numeric: ['<', 10] }] },
      },
      withDetail({ 'd-count': 10 }),
      false,
    ],
  ]);
});

describe('exact values', () => {
  runMatchCases([
    ['string matches exactly', { source: ['aws.ec2'] }, { source: 'aws.ec2' }, true],
    ['strings are case-sensitive', { source: ['aws.ec2'] }, { source: 'AWS.EC2' }, false],
    ['fields not in the pattern are ignored', { source: ['aws.ec2'] }, { source: 'aws.ec2', other: 1 }, true],
    ['every pattern field must match (AND)', { source: ['aws.ec2'], region: ['eu-west-1'] }, { source: 'aws.ec2', region: 'us-east-1' }, false],
    ['a pattern field missing from the event fails', { source: ['aws.ec2'], region: ['eu-west-1'] }, { source: 'aws.ec2' }, false],
    ['number matches a number', { n: [300] }, { n: 300 }, true],
    ['numbers compare numerically (300 vs 300.0)', { n: [300] }, JSON.parse('{"n": 300.0}') as Record<string, unknown>, true],
    ['numbers compare numerically (300 vs 3.0e2)', { n: [300] }, JSON.parse('{"n": 3.0e2}') as Record<string, unknown>, true],
    ['number pattern does not match a numeric string', { n: [300] }, { n: '300' }, false],
    ['string pattern does not match a number', { n: ['300'] }, { n: 300 }, false],
    ['large number (account id) matches exactly', { n: [123456789012] }, { n: 123456789012 }, true],
    ['false matches false', { b: [false] }, { b: false }, true],
    ['false does not match "false"', { b: [false] }, { b: 'false' }, false],
    ['false does not match 0', { b: [false] }, { b: 0 }, false],
    ['true does not match false', { b: [true] }, { b: false }, false],
    ['null does not match the string "null"', { x: [null] }, { x: 'null' }, false],
    ['null does not match a missing field', { x: [null] }, {}, false],
    ['"" does not match a missing field', { x: [''] }, {}, false],
    ['IPv6 literal matches another spelling of the same address', { ip: ['2001:db8::1'] }, { ip: '2001:0DB8:0:0:0:0:0:1' }, true],
    ['IPv4 literal does not match a different address', { ip: ['10.0.0.1'] }, { ip: '10.0.0.2' }, false],
    ['a leaf pattern does not match an object value', { detail: ['x'] }, { detail: { x: 1 } }, false],
    ['inherited properties are not event fields', { source: ['aws.ec2'] }, Object.create({ source: 'aws.ec2' }) as Record<string, unknown>, false],
    ['a key named like an Object.prototype member is not inherited', JSON.parse('{"__proto__": {"__proto__": [null]}}') as EventPattern, {}, false],
    ['an own "__proto__" field parsed from JSON matches', JSON.parse('{"__proto__": {"__proto__": [null]}}') as EventPattern, JSON.parse('{"__proto__": {"__proto__": null}}') as Record<string, unknown>, true],
  ]);
});

describe('nested objects', () => {
  runMatchCases([
    ['deep path matches', { a: { b: { c: ['x'] } } }, { a: { b: { c: 'x', d: 1 } } }, true],
    ['deep path with the wrong value', { a: { b: { c: ['x'] } } }, { a: { b: { c: 'y' } } }, false],
    ['missing intermediate object', { a: { b: { c: ['x'] } } }, { a: {} }, false],
    ['intermediate value is a string', { a: { b: ['x'] } }, { a: 'b' }, false],
    ['same nesting required: flat dotted key is not nested', { a: { b: ['x'] } }, { 'a.b': 'x' }, false],
    ['exists false below a missing intermediate object', { a: { b: [{ exists: false }] } }, { other: 1 }, true],
    ['exists false below a null intermediate value', { a: { b: [{ exists: false }] } }, { a: null }, true],
    ['deep exists false fails when the leaf is present', { a: { b: { c: { d: [{ exists: false }] } } } }, { a: { b: { c: { d: 'v' } } } }, false],
  ]);
});

describe('arrays in events', () => {
  const employees = {
    employees: [
      [
        { firstName: 'John', lastName: 'Doe', ids: [1234, 1000, 9999] },
        { firstName: 'Anna', lastName: 'Smith' },
      ],
      [{ firstName: 'Peter', lastName: 'Jones', ids: [] }],
    ],
  };
  runMatchCases([
    ['any element of an event array may match', { tags: ['b'] }, { tags: ['a', 'b'] }, true],
    ['no element matches', { tags: ['c'] }, { tags: ['a', 'b'] }, false],
    ['nested arrays are crushed', { tags: ['d'] }, { tags: [['a'], ['b', ['d']]] }, true],
    ['empty event array has no values', { tags: ['a'] }, { tags: [] }, false],
    ['[null] does not match an empty array (AWS-validated)', { resources: [null] }, { resources: [] }, false],
    ['null element of an array matches [null]', { tags: [null] }, { tags: ['a', null] }, true],
    ['prefix applies per element', { tags: [{ prefix: 'x-' }] }, { tags: ['a', 'x-b'] }, true],
    ['nested pattern over an array of objects (README)', { employees: { firstName: ['Anna'] } }, employees, true],
    ['array consistency: John has id 1000', { employees: { firstName: ['John'], ids: [1000] } }, employees, true],
    ['array consistency: Anna has no id 1000', { employees: { firstName: ['Anna'], ids: [1000] } }, employees, false],
    ['array consistency: Anna and Jones are different elements', { employees: { firstName: ['Anna'], lastName: ['Jones'] } }, employees, false],
    ['array consistency: Anna has no ids (exists false)', { employees: { firstName: ['Anna'], ids: [{ exists: false }] } }, employees, true],
    ['array consistency: Anna has no ids (exists true)', { employees: { firstName: ['Anna'], ids: [{ exists: true }] } }, employees, false],
    ['leaf values only: an array of objects has no value "b"', { employees: ['b'] }, employees, false],
    ['absence across an array: one element has the field', { items: { discount: [{ exists: false }] } }, { items: [{ discount: 1 }, { sku: 'a' }] }, false],
    ['absence across an array: no element has the field', { items: { discount: [{ exists: false }] } }, { items: [{ sku: 'a' }, { sku: 'b' }] }, true],
    ['absence across an empty array', { items: { discount: [{ exists: false }] } }, { items: [] }, true],
  ]);
});

describe('null, empty string and missing fields', () => {
  runMatchCases([
    ['exists true matches a null value', { x: [{ exists: true }] }, { x: null }, true],
    ['exists false does not match a null value', { x: [{ exists: false }] }, { x: null }, false],
    ['exists true matches an empty string', { x: [{ exists: true }] }, { x: '' }, true],
    ['exists true does not match an object (leaf nodes only)', { x: [{ exists: true }] }, { x: { y: 1 } }, false],
    ['exists true does not match an empty array', { x: [{ exists: true }] }, { x: [] }, false],
    ['exists false matches an empty array', { x: [{ exists: false }] }, { x: [] }, true],
    ['exists true matches a non-empty array', { x: [{ exists: true }] }, { x: ['a'] }, true],
    ['exists false or a value: value present', { x: [{ exists: false }, 'a'] }, { x: 'a' }, true],
    ['exists false or a value: field missing', { x: [{ exists: false }, 'a'] }, {}, true],
    ['exists false or a value: other value', { x: [{ exists: false }, 'a'] }, { x: 'b' }, false],
    ['anything-but matches null (AWS-validated)', { x: [{ 'anything-but': 'initializing' }] }, { x: null }, true],
    ['anything-but list matches null (AWS-validated)', { x: [{ 'anything-but': ['stopped', 'running'] }] }, { x: null }, true],
    ['anything-but does not match a missing field', { x: [{ 'anything-but': 'initializing' }] }, { y: 1 }, false],
    ['anything-but does not match an object value', { x: [{ 'anything-but': 'a' }] }, { x: { a: 1 } }, false],
    ['anything-but does not match an empty array', { x: [{ 'anything-but': 'a' }] }, { x: [] }, false],
    ['prefix "" matches the empty string', { x: [{ prefix: '' }] }, { x: '' }, true],
    ['prefix "" does not match null', { x: [{ prefix: '' }] }, { x: null }, false],
  ]);
});

describe('prefix, suffix and equals-ignore-case', () => {
  runMatchCases([
    ['prefix matches', { region: [{ prefix: 'us-' }] }, { region: 'us-east-1' }, true],
    ['prefix does not match', { region: [{ prefix: 'us-' }] }, { region: 'eu-west-1' }, false],
    ['prefix is case-sensitive', { region: [{ prefix: 'us-' }] }, { region: 'US-east-1' }, false],
    ['prefix only works on strings', { n: [{ prefix: '1' }] }, { n: 12 }, false],
    ['prefix equals-ignore-case matches (doc)', { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } }, { detail: { service: 'eventbridge' } }, true],
    ['prefix equals-ignore-case is still a prefix', { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } }, { detail: { service: 'xEVENTB' } }, false],
    ['suffix matches (doc)', { FileName: [{ suffix: '.png' }] }, { FileName: 'image.png' }, true],
    ['suffix is case-sensitive', { FileName: [{ suffix: '.png' }] }, { FileName: 'image.PNG' }, false],
    ['suffix equals-ignore-case matches (doc)', { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } }, { detail: { FileName: 'image.PNG' } }, true],
    ['suffix equals-ignore-case is still a suffix', { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } }, { detail: { FileName: 'png.jpg' } }, false],
    ['equals-ignore-case matches (doc)', { Name: [{ 'equals-ignore-case': 'alice' }] }, { Name: 'ALICE' }, true],
    ['equals-ignore-case is whole-string', { Name: [{ 'equals-ignore-case': 'alice' }] }, { Name: 'Alicia' }, false],
    ['equals-ignore-case treats regex characters literally', { Name: [{ 'equals-ignore-case': 'a.c' }] }, { Name: 'ABC' }, false],
    ['equals-ignore-case only works on strings', { b: [{ 'equals-ignore-case': 'true' }] }, { b: true }, false],
  ]);
});

describe('anything-but variants', () => {
  runMatchCases([
    ['anything-but on an array: one element not excluded', { state: [{ 'anything-but': 'stopped' }] }, { state: ['stopped', 'running'] }, true],
    ['anything-but on an array: every element excluded', { state: [{ 'anything-but': ['stopped', 'failed'] }] }, { state: ['stopped', 'failed'] }, false],
    ['anything-but number vs numeric string', { n: [{ 'anything-but': [100, 200] }] }, { n: '100' }, true],
    ['anything-but number compares numerically', { n: [{ 'anything-but': 100 }] }, JSON.parse('{"n": 1.0e2}') as Record<string, unknown>, false],
    ['anything-but string vs number', { s: [{ 'anything-but': 'zdd' }] }, { s: 5 }, true],
    ['anything-but prefix on a number matches (AWS-validated)', { state: [{ 'anything-but': { prefix: 'init' } }] }, { state: 12 }, true],
    ['anything-but prefix list: excluded', { region: [{ 'anything-but': { prefix: ['us-', 'eu-'] } }] }, { region: 'eu-west-1' }, false],
    ['anything-but prefix list: allowed', { region: [{ 'anything-but': { prefix: ['us-', 'eu-'] } }] }, { region: 'ap-south-1' }, true],
    ['anything-but suffix: excluded (doc)', { FileName: [{ 'anything-but': { suffix: '.png' } }] }, { FileName: 'a.png' }, false],
    ['anything-but suffix: allowed', { FileName: [{ 'anything-but': { suffix: '.png' } }] }, { FileName: 'a.jpg' }, true],
    ['anything-but equals-ignore-case: excluded (doc)', { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] }, { state: 'INITIALIZING' }, false],
    ['anything-but equals-ignore-case: allowed', { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] }, { state: 'running' }, true],
    ['anything-but equals-ignore-case list', { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'Failed'] } }] }, { state: 'FAILED' }, false],
    ['anything-but wildcard: excluded (doc)', { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] }, { FilePath: '/usr/lib/x.so' }, false],
    ['anything-but wildcard: allowed', { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] }, { FilePath: '/usr/bin/x' }, true],
    ['anything-but wildcard on a number matches (AWS-validated)', { FilePath: [{ 'anything-but': { wildcard: '*/dir/*' } }] }, { FilePath: 123 }, true],
    ['anything-but wildcard list', { FilePath: [{ 'anything-but': { wildcard: ['*.png', '*.jpg'] } }] }, { FilePath: 'a.jpg' }, false],
  ]);
});

describe('numeric', () => {
  const range = { v: [{ numeric: ['>', 0, '<=', 5] }] };
  runMatchCases([
    ['upper bound inclusive', range, { v: 5 }, true],
    ['lower bound exclusive', range, { v: 0 }, false],
    ['just above the lower bound', range, { v: 0.000001 }, true],
    ['just above the upper bound', range, { v: 5.000001 }, false],
    ['>= includes the bound', { v: [{ numeric: ['>=', 0, '<', 5] }] }, { v: 0 }, true],
    ['< excludes the bound', { v: [{ numeric: ['>=', 0, '<', 5] }] }, { v: 5 }, false],
    ['= with a float', { v: [{ numeric: ['=', 301.8] }] }, { v: 301.8 }, true],
    ['= with a different float', { v: [{ numeric: ['=', 301.8] }] }, { v: 301.9 }, false],
    ['negative numbers', { v: [{ numeric: ['<', -1.5] }] }, { v: -2 }, true],
    ['a numeric-looking string does not match', { v: [{ numeric: ['<', 10] }] }, { v: '3' }, false],
    ['a boolean does not match', { v: [{ numeric: ['>=', 0] }] }, { v: true }, false],
    ['null does not match', { v: [{ numeric: ['>=', 0] }] }, { v: null }, false],
    ['any element of a number array', { v: [{ numeric: ['<', 10] }] }, { v: [20, 3] }, true],
    ['values outside -5e9..5e9 are not comparable', { v: [{ numeric: ['>', 0] }] }, { v: 6e9 }, false],
    ['numeric OR exact string', { v: [{ numeric: ['>', 100] }, 'unlimited'] }, { v: 'unlimited' }, true],
  ]);
});

describe('cidr', () => {
  runMatchCases([
    ['IPv4 inside /24 (last address)', { ip: [{ cidr: '10.0.0.0/24' }] }, { ip: '10.0.0.255' }, true],
    ['IPv4 outside /24', { ip: [{ cidr: '10.0.0.0/24' }] }, { ip: '10.0.1.0' }, false],
    ['IPv4 /32 is a single address', { ip: [{ cidr: '192.168.1.1/32' }] }, { ip: '192.168.1.2' }, false],
    ['IPv4 /0 matches every IPv4 address', { ip: [{ cidr: '0.0.0.0/0' }] }, { ip: '203.0.113.9' }, true],
    ['not an IP address', { ip: [{ cidr: '10.0.0.0/8' }] }, { ip: '10.0.0' }, false],
    ['cidr only works on strings', { ip: [{ cidr: '10.0.0.0/8' }] }, { ip: 10 }, false],
    ['IPv6 inside the prefix', { ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:db8:1::1' }, true],
    ['IPv6 outside the prefix', { ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:db9::1' }, false],
    ['IPv6 prefix not on a group boundary', { ip: [{ cidr: '2001:db8:8000::/33' }] }, { ip: '2001:db8:7fff::1' }, false],
    ['IPv6 cidr does not match an IPv4 address', { ip: [{ cidr: '::/0' }] }, { ip: '10.0.0.1' }, false],
  ]);
});

describe('wildcard', () => {
  runMatchCases([
    ['star matches a run of characters', { s: [{ wildcard: 'Simple*Service' }] }, { s: 'SimpleQueueService' }, true],
    ['star matches zero characters', { s: [{ wildcard: 'Simple*Service' }] }, { s: 'SimpleService' }, true],
    ['wildcard is case-sensitive', { s: [{ wildcard: 'Simple*Service' }] }, { s: 'simplequeueservice' }, false],
    ['several stars, in order', { s: [{ wildcard: 'a*b*c' }] }, { s: 'aXXbYYc' }, true],
    ['several stars, wrong order', { s: [{ wildcard: 'a*b*c' }] }, { s: 'acb' }, false],
    ['segments must not overlap', { s: [{ wildcard: 'ab*ba' }] }, { s: 'aba' }, false],
    ['escaped star is literal: matches "*"', { s: [{ wildcard: 'file\\*.txt' }] }, { s: 'file*.txt' }, true],
    ['escaped star is literal: no run of characters', { s: [{ wildcard: 'file\\*.txt' }] }, { s: 'file1.txt' }, false],
    ['escaped backslash is a literal backslash', { s: [{ wildcard: 'C:\\\\*' }] }, { s: 'C:\\Windows' }, true],
    ['no star means an exact match', { s: [{ wildcard: 'abc' }] }, { s: 'abcd' }, false],
    ['wildcard only works on strings', { s: [{ wildcard: '*' }] }, { s: 5 }, false],
  ]);
});

describe('$or', () => {
  const cloudwatch: EventPattern = {
    source: ['aws.cloudwatch'],
    $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
  };
  const parallel: EventPattern = {
    $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }],
    detail: { $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }] },
  };
  const sameArray: EventPattern = {
    detail: { items: { sku: ['A'] } },
    $or: [{ detail: { items: { qty: [1] } } }, { detail: { items: { qty: [2] } } }],
  };
  runMatchCases([
    ['doc: source and first alternative', cloudwatch, { source: 'aws.cloudwatch', metricName: 'CPUUtilization' }, true],
    ['doc: source and second alternative', cloudwatch, { source: 'aws.cloudwatch', namespace: 'AWS/ES' }, true],
    ['doc: no alternative matches', cloudwatch, { source: 'aws.cloudwatch', metricName: 'Other', namespace: 'AWS/S3' }, false],
    ['doc: sibling field still required', cloudwatch, { source: 'aws.ec2', metricName: 'CPUUtilization' }, false],
    ['nested inside detail, parallel with a top-level $or', parallel, { namespace: 'AWS/EC2', detail: { 'detail-type': 'CloudWatch Alarm State Change' } }, true],
    ['nested inside detail: detail alternatives all fail', parallel, { namespace: 'AWS/EC2', detail: { source: 'aws.ec2' } }, false],
    [
      '$or nested in an $or alternative',
      { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPU'] }, { metricType: ['M'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] }] },
      { source: 'aws.cloudwatch', metricType: 'M', spaceId: 1000 },
      true,
    ],
    [
      '$or nested in an $or alternative: inner $or fails',
      { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPU'] }, { metricType: ['M'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] }] },
      { source: 'aws.cloudwatch', metricType: 'M', spaceId: 1 },
      false,
    ],
    ['$or with exists false', { $or: [{ a: [{ exists: false }] }, { a: ['x'] }] }, { b: 1 }, true],
    ['alternatives merge with siblings in the same array element', sameArray, { detail: { items: [{ sku: 'A', qty: 2 }] } }, true],
    ['alternatives merge with siblings: different elements do not combine', sameArray, { detail: { items: [{ sku: 'A', qty: 3 }, { sku: 'B', qty: 1 }] } }, false],
  ]);
});

describe('matcher behaviour', () => {
  test('a non-object event never matches', () => {
    expect(matchesEventPattern({ x: [{ exists: false }] }, 'not an event')).toBe(false);
    expect(matchesEventPattern({ x: [{ exists: false }] }, [])).toBe(false);
  });

  test('compiled matchers are cached per pattern object', () => {
    const pattern: EventPattern = { source: ['a'] };
    expect(compileEventPattern(pattern)).toBe(compileEventPattern(pattern));
    expect(compileEventPattern(pattern)({ source: 'a' })).toBe(true);
  });
});

describe('validation', () => {
  type InvalidCase = [name: string, pattern: unknown, message: string];
  const invalid: InvalidCase[] = [
    ['pattern is null', null, '(pattern): the pattern must be a JSON object'],
    ['pattern is an array', [{ source: ['a'] }], '(pattern): the pattern must be a JSON object'],
    ['pattern is empty', {}, '(pattern): empty objects are not allowed'],
    ['nested object is empty', { detail: {} }, 'detail: empty objects are not allowed'],
    ['leaf is a bare string', { source: 'aws.ec2' }, 'source: must be an array of match values or a nested object, got "aws.ec2"'],
    ['leaf is a bare number', { detail: { n: 5 } }, 'detail.n: must be an array of match values or a nested object, got 5'],
    ['leaf array is empty', { source: [] }, 'source: empty arrays are not allowed'],
    ['leaf array contains an array', { source: [['a']] }, 'source: match values must be strings, numbers, true, false, null or operator objects, got an array'],
    ['empty operator object', { x: [{}] }, 'x: empty operator object'],
    ['operator with two keys', { x: [{ prefix: 'a', suffix: 'b' }] }, 'x: an operator object has exactly one key, got "prefix", "suffix"'],
    ['unknown operator', { detail: { x: [{ contains: 'a' }] } }, 'detail.x: unknown operator "contains"'],
    ['operators are case-sensitive (AWS-validated)', { x: [{ NUMERIC: ['=', 5] }] }, 'x: unknown operator "NUMERIC"'],
    ['prefix is a number', { x: [{ prefix: 5 }] }, 'x: prefix must be a string or { "equals-ignore-case": string }, got 5'],
    ['prefix object with another key', { x: [{ prefix: { wildcard: 'a' } }] }, 'x: prefix must be a string or { "equals-ignore-case": string }, got an object'],
    ['suffix equals-ignore-case is not a string', { x: [{ suffix: { 'equals-ignore-case': 1 } }] }, 'x: suffix must be a string or { "equals-ignore-case": string }, got an object'],
    ['equals-ignore-case is not a string', { x: [{ 'equals-ignore-case': ['a'] }] }, 'x: equals-ignore-case must be a string, got an array'],
    ['numeric operand is a string', { detail: { amount: [{ numeric: ['<', '5'] }] } }, 'detail.amount: numeric operator "<" needs a number, got "5"'],
    ['numeric is not an array', { x: [{ numeric: 5 }] }, 'x: numeric must be an array, got 5'],
    ['numeric unknown operator', { x: [{ numeric: ['!=', 5] }] }, 'x: numeric must start with one of "=", "<", "<=", ">", ">=", got "!="'],
    ['numeric range in the wrong order', { x: [{ numeric: ['<', 10, '>', 0] }] }, 'x: numeric "<" takes one number; a range is [">" | ">=", low, "<" | "<=", high]'],
    ['numeric range with a bad upper operator', { x: [{ numeric: ['>', 0, '>', 10] }] }, 'x: numeric range upper bound needs "<" or "<=", got ">"'],
    ['numeric range missing its upper number', { x: [{ numeric: ['>', 0, '<'] }] }, 'x: numeric operator "<" needs a number, got undefined'],
    ['numeric empty range (equal bounds)', { x: [{ numeric: ['>=', 5, '<=', 5] }] }, 'x: numeric range lower bound 5 must be less than upper bound 5'],
    ['numeric with too many terms', { x: [{ numeric: ['>', 0, '<', 10, '<', 20] }] }, 'x: numeric takes at most two comparisons'],
    ['numeric value out of range', { x: [{ numeric: ['>', 6e9] }] }, 'x: numeric ">" value 6000000000 is outside -5e9..5e9'],
    ['numeric value with 7 decimals', { x: [{ numeric: ['=', 0.1234567] }] }, 'x: numeric "=" value 0.1234567 has more than 6 decimal places'],
    ['exists is not a boolean', { x: [{ exists: 'yes' }] }, 'x: exists must be true or false, got "yes"'],
    ['cidr without a mask', { x: [{ cidr: '10.0.0.0' }] }, 'x: malformed CIDR "10.0.0.0": exactly one "/" required'],
    ['cidr mask too large', { x: [{ cidr: '10.0.0.0/33' }] }, 'x: malformed CIDR "10.0.0.0/33": IPv4 mask must be 0..32'],
    ['cidr mask not a number', { x: [{ cidr: '10.0.0.0/ab' }] }, 'x: malformed CIDR "10.0.0.0/ab": mask bits must be an integer'],
    ['cidr bad address', { x: [{ cidr: '10.0.0.256/24' }] }, 'x: malformed CIDR "10.0.0.256/24": nonstandard IP address "10.0.0.256"'],
    ['cidr is not a string', { x: [{ cidr: 10 }] }, 'x: cidr must be a string, got 10'],
    ['wildcard with consecutive stars', { x: [{ wildcard: 'a**b' }] }, 'x: wildcard "a**b": consecutive wildcard characters at position 2'],
    ['wildcard with an invalid escape', { x: [{ wildcard: 'a\\b' }] }, 'x: wildcard "a\\b": invalid escape at position 1 (only \\* and \\\\ are allowed)'],
    ['wildcard with a trailing backslash', { x: [{ wildcard: 'a\\' }] }, 'x: wildcard "a\\": invalid escape at position 1 (only \\* and \\\\ are allowed)'],
    ['wildcard is not a string', { x: [{ wildcard: 1 }] }, 'x: wildcard must be a string, got 1'],
    ['anything-but empty list', { x: [{ 'anything-but': [] }] }, 'x: anything-but list must not be empty'],
    ['anything-but mixed list', { x: [{ 'anything-but': ['a', 1] }] }, 'x: anything-but list must contain only strings or only numbers (no null, booleans, objects or mixed types)'],
    ['anything-but list with null', { x: [{ 'anything-but': [null] }] }, 'x: anything-but list must contain only strings or only numbers (no null, booleans, objects or mixed types)'],
    ['anything-but boolean', { x: [{ 'anything-but': true }] }, 'x: anything-but must be a string, a number, a list or an object, got true'],
    ['anything-but empty prefix', { x: [{ 'anything-but': { prefix: '' } }] }, 'x: anything-but prefix must not be empty'],
    ['anything-but prefix with equals-ignore-case (AWS-validated)', { x: [{ 'anything-but': { prefix: { 'equals-ignore-case': 'a' } } }] }, 'x: anything-but prefix must be a string or a non-empty list of strings, got an object'],
    ['anything-but unsupported nested operator', { x: [{ 'anything-but': { numeric: ['>', 1] } }] }, 'x: anything-but numeric must be a string or a non-empty list of strings, got an array'],
    ['anything-but object with two keys', { x: [{ 'anything-but': { prefix: 'a', suffix: 'b' } }] }, 'x: anything-but object must have exactly one of "prefix", "suffix", "equals-ignore-case", "wildcard"'],
    ['anything-but wildcard with consecutive stars', { x: [{ 'anything-but': { wildcard: ['ok*', 'a**'] } }] }, 'x: wildcard "a**": consecutive wildcard characters at position 2'],
    ['anything-but number out of range', { x: [{ 'anything-but': [1, 6e9] }] }, 'x: anything-but value 6000000000 is outside -5e9..5e9'],
    ['$or is not an array', { $or: { a: ['x'] } }, '$or: $or must be an array of at least 2 objects'],
    ['$or with one alternative', { detail: { $or: [{ a: ['x'] }] } }, 'detail.$or: $or needs at least 2 objects, got 1'],
    ['$or alternative is not an object', { $or: [{ a: ['x'] }, 'b'] }, '$or[1]: $or alternatives must be objects, got "b"'],
    ['$or alternative is empty', { $or: [{ a: ['x'] }, {}] }, '$or[1]: empty objects are not allowed'],
    ['reserved field name inside $or', { $or: [{ numeric: [1] }, { b: [2] }] }, '$or[0].numeric: "numeric" is a reserved word and cannot be a field name inside $or'],
    ['error path inside a nested $or alternative', { detail: { $or: [{ a: ['x'] }, { b: { c: [{ prefix: 1 }] } }] } }, 'detail.$or[1].b.c: prefix must be a string or { "equals-ignore-case": string }, got 1'],
  ];

  test.each(invalid)('rejects: %s', (_name, pattern, message) => {
    let caught: unknown;
    try {
      validateEventPattern(pattern);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidEventPatternError);
    expect((caught as Error).message).toBe(message);
  });

  test('the error carries its name and JSON path', () => {
    let caught: unknown;
    try {
      validateEventPattern({ detail: { amount: [{ numeric: ['<', 'x'] }] } });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(Error);
    expect(caught).toMatchObject({ name: 'InvalidEventPatternError', path: 'detail.amount' });
  });

  test('matchesEventPattern rejects an invalid pattern instead of matching nothing', () => {
    expect(() => matchesEventPattern({ source: [] }, { source: 'a' })).toThrow(InvalidEventPatternError);
  });

  const valid: Array<[name: string, pattern: EventPattern]> = [
    ['every operator at once', {
      a: ['x', 1, true, null, { prefix: 'p' }, { suffix: 's' }, { 'equals-ignore-case': 'e' }, { wildcard: 'w*' }],
      b: [{ numeric: ['>=', -5e9, '<', 5e9] }, { exists: true }, { cidr: '2001:db8::/32' }],
      c: [{ 'anything-but': { wildcard: ['*.a', '*.b'] } }, { 'anything-but': { 'equals-ignore-case': ['x', 'y'] } }],
      d: [{ prefix: { 'equals-ignore-case': 'p' } }, { suffix: { 'equals-ignore-case': 's' } }],
    }],
    ['reserved words are ordinary field names outside $or', { prefix: ['a'], numeric: [1] }],
    ['escaped stars next to a wildcard', { x: [{ wildcard: '\\**\\*' }] }],
    ['numeric with six decimals', { x: [{ numeric: ['=', 0.123456] }] }],
    ['deeply nested $or', { a: { $or: [{ b: ['1'] }, { c: { $or: [{ d: ['2'] }, { e: ['3'] }] } }] } }],
  ];

  test.each(valid)('accepts: %s', (_name, pattern) => {
    expect(() => validateEventPattern(pattern)).not.toThrow();
  });
});

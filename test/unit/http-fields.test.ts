import { describe, expect, test } from 'vitest';
import { readFields } from '../../shared/http/fields.ts';

describe('readFields', () => {
  test('urlencoded: repeated keys become lists; a field named __proto__ or constructor stays an own field', () => {
    const fields = readFields('email=user0%40example.com&tag=a&tag=b&__proto__=&constructor=x', 'application/x-www-form-urlencoded; charset=utf-8');
    expect(Object.keys(fields)).toEqual(['email', 'tag', '__proto__', 'constructor']);
    expect(fields.email).toBe('user0@example.com');
    expect(fields.tag).toEqual(['a', 'b']);
    expect(Object.getPrototypeOf(fields)).toBe(Object.prototype);
  });

  test('JSON objects only; text/plain JSON only when asked (sendBeacon); anything else → 415', () => {
    expect(readFields('{"a":1}', 'application/json')).toEqual({ a: 1 });
    expect(readFields('{"a":1}', 'text/plain;charset=UTF-8', { jsonAsText: true })).toEqual({ a: 1 });
    expect(() => readFields('{"a":1}', 'text/plain')).toThrow(expect.objectContaining({ status: 415 }));
    expect(() => readFields('[1]', 'application/json')).toThrow(expect.objectContaining({ status: 400, code: 'invalid_json' }));
    expect(() => readFields('{', 'application/json')).toThrow(expect.objectContaining({ status: 400, code: 'invalid_json' }));
  });
});

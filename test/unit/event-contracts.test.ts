import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import * as z from 'zod';
import { allContracts } from '../../events/index.ts';

/**
 * Event contracts are versioned. Each version's JSON Schema is committed under test/contracts/.
 * A change that removes or retypes a field, or makes a new field required, breaks consumers
 * still holding older events in queues: it fails here and needs a new contract version.
 * New contracts: `UPDATE_CONTRACTS=1 npx vitest run test/unit/event-contracts.test.ts` writes
 * the missing files (it never overwrites one).
 */
type Schema = { type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; items?: Schema; anyOf?: Schema[]; enum?: unknown[]; format?: string };

const dir = path.join(import.meta.dirname, '..', 'contracts');

function incompatibilities(before: Schema, after: Schema, at: string): string[] {
  const problems: string[] = [];
  if (JSON.stringify(before.type) !== JSON.stringify(after.type)) problems.push(`${at}: type ${JSON.stringify(before.type)} → ${JSON.stringify(after.type)}`);
  if (before.enum && after.enum) {
    const removed = before.enum.filter((v) => !after.enum!.includes(v));
    if (removed.length) problems.push(`${at}: enum values removed ${JSON.stringify(removed)}`);
  }
  for (const [name, prop] of Object.entries(before.properties ?? {})) {
    const next = after.properties?.[name];
    if (!next) problems.push(`${at}.${name}: removed`);
    else problems.push(...incompatibilities(prop, next, `${at}.${name}`));
  }
  const newlyRequired = (after.required ?? []).filter((r) => !(before.required ?? []).includes(r));
  if (newlyRequired.length) problems.push(`${at}: newly required ${newlyRequired.join(', ')}`);
  if (before.items && after.items) problems.push(...incompatibilities(before.items, after.items, `${at}[]`));
  return problems;
}

describe('event contracts', () => {
  test.each(allContracts.map((c) => [`${c.detailType} v${c.version}`, c] as const))('%s stays compatible with its committed schema', (_, contract) => {
    const file = path.join(dir, `${contract.detailType}.v${contract.version}.json`);
    const current = z.toJSONSchema(contract.detail) as Schema;
    if (!existsSync(file)) {
      if (process.env.UPDATE_CONTRACTS) writeFileSync(file, `${JSON.stringify(current, null, 2)}\n`);
      else throw new Error(`No committed schema for ${contract.detailType} v${contract.version}: run with UPDATE_CONTRACTS=1 to write ${path.relative(process.cwd(), file)}`);
    }
    const committed = JSON.parse(readFileSync(file, 'utf8')) as Schema;
    expect(incompatibilities(committed, current, contract.detailType)).toEqual([]);
  });

  test('the compatibility check notices removed, retyped and newly required fields', () => {
    const before = z.toJSONSchema(z.object({ a: z.string(), b: z.number(), c: z.enum(['x', 'y']) })) as Schema;
    const after = z.toJSONSchema(z.object({ b: z.string(), c: z.enum(['x']), d: z.boolean() })) as Schema;
    expect(incompatibilities(before, after, 'e')).toEqual(['e.a: removed', 'e.b: type "number" → "string"', 'e.c: enum values removed ["y"]', 'e: newly required d']);
  });

  test('source and detail-type pairs are unique', () => {
    const keys = allContracts.map((c) => `${c.source}|${c.detailType}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

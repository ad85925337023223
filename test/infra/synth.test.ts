import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { BUNDLE_BUDGET_BYTES } from '../../infra/constructs/touchloop-function.ts';
import { repoRoot } from '../../infra/paths.ts';
import { topology } from '../../infra/topology.ts';

const out = mkdtempSync(path.join(tmpdir(), 'touchloop-synth-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

test('npm run synth works offline: a template and one esbuild bundle per function, no Docker', () => {
  execFileSync('npx', ['cdk', 'synth', '--quiet', '--output', out], {
    cwd: repoRoot,
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', DOCKER: '/bin/false' },
    stdio: 'pipe',
  });
  const template = JSON.parse(readFileSync(path.join(out, 'Touchloop.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }> };
  const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
  expect(functions.length).toBeGreaterThanOrEqual(Object.keys(topology.functions).length);
  const bundles = readdirSync(out).filter((d) => d.startsWith('asset.') && existsSync(path.join(out, d, 'index.mjs')));
  expect(bundles).toHaveLength(Object.keys(topology.functions).length);
  for (const bundle of bundles) {
    const code = readFileSync(path.join(out, bundle, 'index.mjs'), 'utf8');
    expect(code).toMatch(/export\s*\{[^}]*\bhandler\b/);
    // What ships is the code alone: no source map by default, and none of zod's 64 locale files (a quarter of every bundle when imported whole).
    expect(readdirSync(path.join(out, bundle))).toEqual(['index.mjs']);
    expect(code).not.toContain('Ungültige Eingabe');
    expect(Buffer.byteLength(code), `${bundle} within the bundle budget`).toBeLessThanOrEqual(BUNDLE_BUDGET_BYTES);
  }
}, 120_000);

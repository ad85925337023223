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
  const template = JSON.parse(readFileSync(path.join(out, 'Touchloop.template.json'), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties?: { Code?: { S3Key?: string }; Environment?: { Variables?: Record<string, string> } } }>;
  };
  // Which function each bundle belongs to: its asset hash is the function's code key.
  const functionOfAsset = new Map(
    Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.Environment?.Variables?.POWERTOOLS_SERVICE_NAME)
      .map((r) => [`asset.${String(r.Properties!.Code!.S3Key).replace(/\.zip$/, '')}`, r.Properties!.Environment!.Variables!.POWERTOOLS_SERVICE_NAME!]),
  );
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
    const name = functionOfAsset.get(bundle)!;
    const budget = (topology.functions as Record<string, { bundleBudgetKb?: number }>)[name]?.bundleBudgetKb;
    expect(Buffer.byteLength(code), `${name} (${bundle}) within its bundle budget`).toBeLessThanOrEqual(budget ? budget * 1024 : BUNDLE_BUDGET_BYTES);
  }
}, 120_000);

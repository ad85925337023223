import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_SETTINGS, repoRoot } from '../infra/constructs/touchloop-function.ts';
import { topology } from '../infra/topology.ts';
import { median, print } from './harness.ts';

/** Which package (or part of one) an input file of a bundle belongs to. */
function packageOf(file: string): string {
  if (file.includes('zod/v4/locales')) return 'zod locales';
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (!match) return '(project)';
  if (match[1] === 'libphonenumber-js') return /metadata\.min|\/min\//.test(file) ? 'libphonenumber-js (min metadata)' : 'libphonenumber-js';
  return match[1]!;
}

/**
 * The functions' bundles as the CDK stack builds them (same esbuild settings, no source maps):
 * size per function, what the largest packages weigh across them, and the time a cold Node.js
 * process takes to import a bundle (median of fresh processes; the handler's own cold start on
 * Lambda adds its SDK clients' set-up).
 */
export async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'touchloop-bundles-'));
  const sizes: Array<{ name: string; bytes: number; file: string }> = [];
  const byPackage = new Map<string, number[]>();
  try {
    for (const [name, def] of Object.entries(topology.functions)) {
      const file = path.join(dir, `${name}.mjs`);
      const result = await build({ entryPoints: [path.join(repoRoot, def.entry)], bundle: true, platform: 'node', format: 'esm', ...BUNDLE_SETTINGS, mainFields: [...BUNDLE_SETTINGS.mainFields], banner: { js: BUNDLE_SETTINGS.banner }, outfile: file, metafile: true, logLevel: 'error' });
      const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint)!;
      sizes.push({ name, bytes: output.bytes, file });
      const perPackage = new Map<string, number>();
      for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) perPackage.set(packageOf(input), (perPackage.get(packageOf(input)) ?? 0) + bytesInOutput);
      for (const [pkg, bytes] of perPackage) byPackage.set(pkg, [...(byPackage.get(pkg) ?? []), bytes]);
    }
    sizes.sort((a, b) => a.bytes - b.bytes);
    const largest = sizes[sizes.length - 1]!;
    // Cold import: a fresh process per sample, with the environment a handler reads at cold start.
    const env = { ...process.env, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' };
    const probe = path.join(dir, 'probe.mjs');
    writeFileSync(probe, "const t = performance.now(); try { await import(process.argv[2]); } catch {} console.log(performance.now() - t);");
    const importMs = (file: string) => median(Array.from({ length: 7 }, () => Number(execFileSync(process.execPath, [probe, file], { env, encoding: 'utf8' }).trim())));
    const medianBundle = sizes[Math.floor(sizes.length / 2)]!;
    print(`Function bundles (${sizes.length} functions, esbuild ESM, minified, no source maps)`, [
      { name: 'median bundle', value: median(sizes.map((s) => s.bytes)) / 1024, unit: 'KB', target: 'well under the 932 KB of before' },
      { name: `largest bundle (${largest.name})`, value: largest.bytes / 1024, unit: 'KB' },
      { name: 'all bundles together', value: sizes.reduce((sum, s) => sum + s.bytes, 0) / 1024 / 1024, unit: 'MB' },
      { name: `cold import of the median bundle (${medianBundle.name}), median of 7`, value: importMs(medianBundle.file), unit: 'ms' },
      { name: `cold import of the largest bundle (${largest.name}), median of 7`, value: importMs(largest.file), unit: 'ms' },
    ]);
    const heaviest = [...byPackage].map(([pkg, list]) => ({ pkg, functions: list.length, median: median(list) })).sort((a, b) => b.median - a.median).slice(0, 10);
    print('Heaviest packages (median KB in the bundles that include them)', heaviest.map((h) => ({ name: `${h.pkg} (in ${h.functions} bundles)`, value: h.median / 1024, unit: 'KB' })));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

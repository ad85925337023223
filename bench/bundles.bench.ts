import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_SETTINGS, repoRoot } from '../infra/constructs/touchloop-function.ts';
import { queueEnvVar, tableEnvVar } from '../events/wiring.ts';
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

/** One function's bundle with the stack's esbuild settings (and optionally packages left out); its output's metafile entry. */
async function bundle(entry: string, outfile: string, external: string[] = []) {
  const result = await build({ entryPoints: [path.join(repoRoot, entry)], bundle: true, platform: 'node', format: 'esm', ...BUNDLE_SETTINGS, mainFields: [...BUNDLE_SETTINGS.mainFields], banner: { js: BUNDLE_SETTINGS.banner }, external, outfile, metafile: true, logLevel: 'error' });
  return Object.values(result.metafile.outputs).find((o) => o.entryPoint)!;
}

/**
 * The functions' bundles as the CDK stack builds them (same esbuild settings, no source maps):
 * size per function, what the largest packages weigh across them, and the time a cold Node.js
 * process takes to import a bundle (median of fresh processes; the handler's own cold start on
 * Lambda adds its SDK clients' set-up).
 */
export async function run(): Promise<void> {
  // Inside the repository, so a bundle that leaves the AWS SDK external resolves it from node_modules (as Lambda resolves the runtime's).
  const dir = mkdtempSync(path.join(repoRoot, '.bench-bundles-'));
  const sizes: Array<{ name: string; bytes: number; file: string }> = [];
  const byPackage = new Map<string, number[]>();
  try {
    for (const [name, def] of Object.entries(topology.functions)) {
      const file = path.join(dir, `${name}.mjs`);
      const output = await bundle(def.entry, file);
      sizes.push({ name, bytes: output.bytes, file });
      const perPackage = new Map<string, number>();
      for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) perPackage.set(packageOf(input), (perPackage.get(packageOf(input)) ?? 0) + bytesInOutput);
      for (const [pkg, bytes] of perPackage) byPackage.set(pkg, [...(byPackage.get(pkg) ?? []), bytes]);
    }
    sizes.sort((a, b) => a.bytes - b.bytes);
    const largest = sizes[sizes.length - 1]!;
    // Cold import: a fresh process per sample, with every variable a handler reads at cold start
    // (placeholders), so the whole module initialises; an import that fails is reported, not timed.
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'x',
      ...Object.fromEntries(Object.keys(topology.tables).map((t) => [tableEnvVar(t), `placeholder-${t}`])),
      ...Object.fromEntries(Object.keys(topology.queues).map((q) => [queueEnvVar(q), `https://sqs.us-east-1.amazonaws.com/123456789012/${q}`])),
      EVENT_BUS_NAME: 'placeholder-bus',
      TOUCHLOOP_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:placeholder',
      EMAIL_FROM: 'News <news@example.com>',
      PUBLIC_BASE_URL: 'https://api.example.com',
      SCHEDULE_GROUP: 'placeholder',
      SCHEDULER_ROLE_ARN: 'arn:aws:iam::123456789012:role/placeholder',
      LAUNCH_QUEUE_ARN: 'arn:aws:sqs:us-east-1:123456789012:launches',
    };
    const probe = path.join(dir, 'probe.mjs');
    writeFileSync(probe, "const t = performance.now(); try { await import(process.argv[2]); } catch (e) { console.log('failed ' + e.message); process.exit(0); } console.log(performance.now() - t);");
    const importMs = (file: string) =>
      median(
        Array.from({ length: 7 }, () => {
          const out = execFileSync(process.execPath, [probe, file], { env, encoding: 'utf8' }).trim();
          if (out.startsWith('failed')) throw new Error(`${path.basename(file)}: ${out}`);
          return Number(out);
        }),
      );
    const perFunction = sizes.map((s) => ({ ...s, importMs: importMs(s.file) }));
    const medianBundle = perFunction[Math.floor(perFunction.length / 2)]!;
    print(`Function bundles (${sizes.length} functions, esbuild ESM, minified, no source maps)`, [
      { name: 'median bundle', value: median(sizes.map((s) => s.bytes)) / 1024, unit: 'KB', target: '≤ 250 KB per function' },
      { name: `largest bundle (${largest.name})`, value: largest.bytes / 1024, unit: 'KB' },
      { name: 'all bundles together', value: sizes.reduce((sum, s) => sum + s.bytes, 0) / 1024 / 1024, unit: 'MB' },
      { name: `cold import, median function (${medianBundle.name}), median of 7`, value: medianBundle.importMs, unit: 'ms', target: '≤ 100 ms' },
      { name: 'cold import, slowest function, median of 7', value: Math.max(...perFunction.map((f) => f.importMs)), unit: 'ms' },
    ]);
    print('Per function: bundle KB · cold import ms (median of 7 fresh processes)', perFunction.map((f) => ({ name: `${f.name} (${(f.bytes / 1024).toFixed(0)} KB)`, value: f.importMs, unit: 'ms' })));
    // The same bundles leaving the AWS SDK to the Lambda runtime's copy (CDK's default for Node.js
    // 18+): smaller uploads, but the version is the runtime's, and Node resolves the SDK's many
    // files at cold start instead of reading one minified file.
    const external: Array<{ name: string; bytes: number; importMs: number }> = [];
    for (const f of [medianBundle, perFunction[perFunction.length - 1]!]) {
      const file = path.join(dir, `${f.name}.external.mjs`);
      const def = topology.functions[f.name as keyof typeof topology.functions];
      external.push({ name: f.name, bytes: (await bundle(def.entry, file, ['@aws-sdk/*', '@smithy/*'])).bytes, importMs: importMs(file) });
    }
    print('The same with the AWS SDK left to the runtime (not what ships; for comparison)', external.flatMap((e) => [
      { name: `${e.name}: bundle`, value: e.bytes / 1024, unit: 'KB' },
      { name: `${e.name}: cold import, median of 7`, value: e.importMs, unit: 'ms' },
    ]));
    const heaviest = [...byPackage].map(([pkg, list]) => ({ pkg, functions: list.length, median: median(list) })).sort((a, b) => b.median - a.median).slice(0, 10);
    print('Heaviest packages (median KB in the bundles that include them)', heaviest.map((h) => ({ name: `${h.pkg} (in ${h.functions} bundles)`, value: h.median / 1024, unit: 'KB' })));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { consoleDist } from '../../infra/console/build.ts';

/**
 * The console's first load stays small: the JavaScript and CSS a browser fetches to show Home
 * when signing in with OIDC (the heavier case: the entry, its static imports, the Home chunk and
 * the OIDC client), gzipped, is at most 300 KB. The build is console/dist from the test setup.
 */
interface Chunk {
  file: string;
  imports?: string[];
  dynamicImports?: string[];
  css?: string[];
  isEntry?: boolean;
  src?: string;
}
const BUDGET_BYTES = 300 * 1024;
const manifest = JSON.parse(readFileSync(path.join(consoleDist, '.vite', 'manifest.json'), 'utf8')) as Record<string, Chunk>;

function closure(keys: string[]): Set<string> {
  const files = new Set<string>();
  const visit = (key: string) => {
    const chunk = manifest[key];
    if (!chunk || files.has(chunk.file)) return;
    files.add(chunk.file);
    for (const css of chunk.css ?? []) files.add(css);
    for (const next of chunk.imports ?? []) visit(next);
  };
  keys.forEach(visit);
  return files;
}

describe('console bundle', () => {
  test('first load (entry + Home + OIDC client) is at most 300 KB gzipped; every page is its own chunk', () => {
    const entry = Object.entries(manifest).find(([, c]) => c.isEntry)![0];
    const home = Object.keys(manifest).find((k) => k.endsWith('pages/home.tsx'));
    const oidc = Object.keys(manifest).find((k) => k.endsWith('auth/oidc.ts'));
    expect(home, 'Home is a lazy chunk').toBeDefined();
    expect(oidc, 'the OIDC client is loaded only when config asks for it').toBeDefined();
    const files = closure([entry, home!, oidc!]);
    const gz = [...files].reduce((sum, file) => sum + gzipSync(readFileSync(path.join(consoleDist, file)), { level: 9 }).length, 0);
    console.log(`console first load: ${files.size} files, ${(gz / 1024).toFixed(1)} KB gzipped (budget ${BUDGET_BYTES / 1024} KB)`);
    expect(gz).toBeLessThanOrEqual(BUDGET_BYTES);
    // Pages other than Home are not in the first load.
    const pages = Object.keys(manifest).filter((k) => /pages\//.test(k) && !k.endsWith('pages/home.tsx'));
    for (const page of pages) expect(files.has(manifest[page]!.file), page).toBe(false);
  });

  test('the built files reference no other origin (no CDN scripts, fonts or styles)', () => {
    const built = Object.values(manifest).flatMap((c) => [c.file, ...(c.css ?? [])]);
    for (const file of [...new Set(built), 'index.html']) {
      const text = readFileSync(path.join(consoleDist, file), 'utf8');
      expect(text, file).not.toMatch(/<script[^>]+src=["']https?:|@import\s+url\(["']?https?:|url\(["']?https?:\/\//);
    }
  });
});

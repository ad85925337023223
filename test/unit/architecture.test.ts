/**
 * The layout's rules, checked on the source: folders in shared/ point one way (no cycles between
 * them), contracts in events/ depend on nothing of ours, shared/ never reaches into functions/ or
 * infra/, and the README's list of adapters (modules that call AWS through the SDK) is the real one.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { repoRoot } from '../../infra/paths.ts';

function filesUnder(dir: string): string[] {
  return readdirSync(path.join(repoRoot, dir)).flatMap((name) => {
    const rel = path.join(dir, name);
    return statSync(path.join(repoRoot, rel)).isDirectory() ? filesUnder(rel) : rel.endsWith('.ts') ? [rel] : [];
  });
}

/** Value imports of a module (type-only imports and re-exports carry no dependency at run time: the bundlers erase them). */
function importsOf(file: string): string[] {
  const source = readFileSync(path.join(repoRoot, file), 'utf8');
  return [...source.matchAll(/^import\s+(?!type\s)[^'"]*?from\s+'([^']+)'|^export\s+(?!type\s)[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1] ?? m[2]!);
}
const resolve = (from: string, specifier: string) => (specifier.startsWith('.') ? path.normalize(path.join(path.dirname(from), specifier)) : specifier);
const folderOf = (file: string) => {
  const parts = file.split('/');
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : `${parts[0]}/(root)`;
};

const shared = filesUnder('shared');

describe('layout', () => {
  test('folders in shared/ point one way: no cycle between them', () => {
    const edges = new Map<string, Set<string>>();
    for (const file of shared) {
      for (const target of importsOf(file).map((s) => resolve(file, s)).filter((t) => t.startsWith('shared/'))) {
        const [a, b] = [folderOf(file), folderOf(target)];
        if (a !== b) edges.set(a, new Set([...(edges.get(a) ?? []), b]));
      }
    }
    expect(edges.size).toBeGreaterThan(5); // the check reads real imports
    const cycles: string[] = [];
    const visit = (node: string, trail: string[]) => {
      for (const next of edges.get(node) ?? []) {
        if (trail.includes(next)) cycles.push([...trail.slice(trail.indexOf(next)), next].join(' → '));
        else visit(next, [...trail, next]);
      }
    };
    for (const node of edges.keys()) visit(node, [node]);
    expect([...new Set(cycles)]).toEqual([]);
  });

  test('events/ depends on nothing of ours; shared/ never reaches into functions/ or infra/; a handler never imports another', () => {
    for (const file of filesUnder('events')) expect(importsOf(file).map((s) => resolve(file, s)).filter((t) => /^(shared|functions|infra)\//.test(t)), file).toEqual([]);
    for (const file of shared) expect(importsOf(file).map((s) => resolve(file, s)).filter((t) => /^(functions|infra)\//.test(t)), file).toEqual([]);
    for (const file of filesUnder('functions')) {
      const own = file.split('/')[1];
      expect(importsOf(file).map((s) => resolve(file, s)).filter((t) => t.startsWith('functions/') && t.split('/')[1] !== own), file).toEqual([]);
    }
  });

  test("the README lists exactly the adapters: the modules of shared/ that call AWS through the SDK", () => {
    const adapters = shared.filter((file) => importsOf(file).some((s) => s.startsWith('@aws-sdk/'))).sort();
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const section = /<!-- adapters -->([\s\S]*?)<!-- \/adapters -->/.exec(readme)?.[1] ?? '';
    const listed = [...section.matchAll(/`(shared\/[^`]+\.ts)`/g)].map((m) => m[1]!).sort();
    expect(listed, 'README "Pure code and adapters" (between <!-- adapters --> markers)').toEqual(adapters);
  });
});

describe('the console (browser) reaches the API code only through console/src/contracts.ts', () => {
  const consoleFiles = readdirRecursive('console/src').filter((f) => /\.tsx?$/.test(f));
  /** Static and dynamic value imports of a console module (`import(...)` chunks count). */
  const consoleImports = (file: string) => {
    const source = readFileSync(path.join(repoRoot, file), 'utf8');
    return [...importsOf(file), ...[...source.matchAll(/import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]!)];
  };
  /** What may never reach a browser bundle: Node built-ins, the AWS SDK and other server-only code. */
  const FORBIDDEN = /^(node:|@aws-sdk\/|@middy\/|@aws-lambda-powertools\/|handlebars$|jose$|shared\/aws\/|(fs|path|crypto|url|http|https|os|stream|zlib|util)$)/;

  test('no console file but contracts.ts imports shared/ or events/', () => {
    expect(consoleFiles.length).toBeGreaterThan(5); // the check reads real files
    const offenders = consoleFiles
      .filter((file) => file !== 'console/src/contracts.ts')
      .flatMap((file) => consoleImports(file).map((s) => resolve(file, s)).filter((t) => /^(shared|events|functions|infra)\//.test(t)).map((t) => `${file} → ${t}`));
    expect(offenders).toEqual([]);
  });

  test("nothing reachable from contracts.ts imports Node built-ins, the AWS SDK or server-only libraries (the chain is named)", () => {
    const chains: string[] = [];
    const seen = new Set<string>();
    const walk = (file: string, trail: string[]) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const specifier of importsOf(file)) {
        const target = resolve(file, specifier);
        if (FORBIDDEN.test(target)) chains.push([...trail, file, target].join(' → '));
        else if (/^(shared|events)\//.test(target)) walk(target, [...trail, file]);
      }
    };
    walk('console/src/contracts.ts', []);
    expect(seen.size).toBeGreaterThan(3); // it walked real imports
    expect(chains).toEqual([]);
  });

  test('the walk would catch a forbidden import (a server module is flagged)', () => {
    // shared/contacts/consents.ts writes through the SDK: were contracts.ts to import it, the test above would fail.
    expect(importsOf('shared/contacts/consents.ts').some((s) => FORBIDDEN.test(resolve('shared/contacts/consents.ts', s)))).toBe(true);
  });
});

function readdirRecursive(dir: string): string[] {
  return readdirSync(path.join(repoRoot, dir)).flatMap((name) => {
    const rel = path.join(dir, name);
    return statSync(path.join(repoRoot, rel)).isDirectory() ? readdirRecursive(rel) : [rel];
  });
}

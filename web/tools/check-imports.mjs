#!/usr/bin/env node
// Fails (exit 1) when the modules under web/src import each other in a cycle, type-only
// imports included (`import type { Ctx } from '../app'` in a view made app.ts -> views ->
// app.ts). Run by `npm run check` (and so by `make web`).
//
//   node tools/check-imports.mjs [src-dir]

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const EXTENSIONS = ['.ts', '.tsx', '.js', '.mjs'];
// import … from '…', export … from '…', import '…' and import('…')
const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s[^'"]*?\bfrom\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*\(?\s*['"]([^'"]+)['"]/g;

function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (EXTENSIONS.some((e) => name.endsWith(e)) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out.sort();
}

function resolveImport(from, spec, files) {
  if (!spec.startsWith('.')) return null; // a package, not ours
  const base = resolve(dirname(from), spec);
  for (const candidate of [base, ...EXTENSIONS.map((e) => base + e), ...EXTENSIONS.map((e) => join(base, 'index' + e))]) {
    if (files.has(candidate)) return candidate;
  }
  return null; // a CSS file or an asset
}

/** The import graph of a source tree: file -> files it imports. */
export function importGraph(dir) {
  const files = new Set(sourceFiles(resolve(dir)));
  const graph = new Map();
  for (const file of files) {
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    const deps = new Set();
    for (const m of text.matchAll(IMPORT_RE)) {
      const target = resolveImport(file, m[1] ?? m[2], files);
      if (target) deps.add(target);
    }
    graph.set(file, [...deps].sort());
  }
  return graph;
}

/** Every cycle found by a depth-first walk, each as a list of files (first == last). */
export function findCycles(graph) {
  const state = new Map(); // file -> 'open' | 'done'
  const stack = [];
  const cycles = [];
  const visit = (file) => {
    state.set(file, 'open');
    stack.push(file);
    for (const dep of graph.get(file) ?? []) {
      if (state.get(dep) === 'open') cycles.push([...stack.slice(stack.indexOf(dep)), dep]);
      else if (!state.has(dep)) visit(dep);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
  const graph = importGraph(dir);
  const cycles = findCycles(graph);
  if (cycles.length > 0) {
    for (const c of cycles) console.error(`import cycle: ${c.map((f) => relative(dir, f)).join(' -> ')}`);
    console.error('Views take what they need from ctx.ts (or another leaf module), never from app.ts.');
    process.exit(1);
  }
  console.log(`check-imports: ${graph.size} modules, no import cycle`);
}

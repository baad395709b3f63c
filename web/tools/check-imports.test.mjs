// node --test: the cycle check finds the cycle it exists for, and passes web/src as it is.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findCycles, importGraph } from './check-imports.mjs';

function tree(files) {
  const dir = mkdtempSync(join(tmpdir(), 'check-imports-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

test('a view importing a type from app.ts is a cycle', () => {
  const dir = tree({
    'app.ts': "import { renderFeed } from './views/feed';\nexport interface Ctx { me: string }\n",
    'views/feed.ts': "import type { Ctx } from '../app';\nexport function renderFeed(c: Ctx) { return c; }\n",
  });
  const cycles = findCycles(importGraph(dir));
  assert.equal(cycles.length, 1);
  assert.deepEqual(cycles[0].map((f) => f.slice(dir.length + 1)), ['app.ts', 'views/feed.ts', 'app.ts']);
});

test('re-exports, side-effect and dynamic imports count; packages, CSS and comments do not', () => {
  const dir = tree({
    'a.ts': "import 'vite';\nimport './style.css';\n// import { x } from './c';\nexport { b } from './b';\n",
    'b.ts': "export const b = () => import('./c');\n",
    'c.ts': "/* import './a'; */\nimport './a';\n",
    'style.css': '',
  });
  const graph = importGraph(dir);
  assert.deepEqual(graph.get(join(dir, 'a.ts')), [join(dir, 'b.ts')]);
  assert.equal(findCycles(graph).length, 1);
});

test('the app itself has no import cycle', () => {
  const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
  assert.deepEqual(findCycles(importGraph(src)), []);
});

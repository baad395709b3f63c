// node --test: src/pager.ts (transpiled by TypeScript's own transpileModule, with a tiny
// stand-in for the few DOM calls it makes), no browser. The e2e journey never has more
// than one page, so the paging itself is checked here.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

class FakeElement {
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.children = [];
    this.attributes = {};
    this.dataset = {};
    this.listeners = {};
    this.hidden = false;
    this.disabled = false;
    this.className = '';
  }
  setAttribute(k, v) {
    this.attributes[k] = v;
    if (k === 'hidden' || k === 'disabled') this[k] = true;
  }
  addEventListener(ev, fn) {
    (this.listeners[ev] ??= []).push(fn);
  }
  click() {
    for (const fn of this.listeners.click ?? []) fn({});
  }
  appendChild(c) {
    this.children.push(c);
    return c;
  }
  get textContent() {
    return this.children.map((c) => c.textContent).join('');
  }
}
globalThis.document = {
  createElement: (tag) => new FakeElement(tag),
  createTextNode: (text) => ({ textContent: text }),
};

const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const out = mkdtempSync(join(tmpdir(), 'pager-test-'));
for (const name of ['pager', 'dom', 'text']) {
  const js = ts.transpileModule(readFileSync(join(src, `${name}.ts`), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
  }).outputText;
  writeFileSync(join(out, `${name}.mjs`), js.replace(/from '\.\/(\w+)'/g, "from './$1.mjs'"));
}
const { pager } = await import(pathToFileURL(join(out, 'pager.mjs')).href);

/** A fetch whose answers the test hands out, one per call, in any order. */
function pending() {
  const calls = [];
  const fetch = (cursor) =>
    new Promise((resolve, reject) => {
      calls.push({ cursor, resolve, reject });
    });
  return { calls, fetch };
}
const tick = () => new Promise((r) => setImmediate(r));

function make(fetch) {
  const shown = [];
  const failures = [];
  const p = pager({
    label: 'Load more',
    className: 'btn',
    fetch,
    show: (items, first) => shown.push({ items, first }),
    failed: (e) => failures.push(e),
  });
  return { p, shown, failures };
}

test('pages follow next_cursor; the button shows only while there is a next page', async () => {
  const { calls, fetch } = pending();
  const { p, shown } = make(fetch);
  assert.equal(p.button.textContent, 'Load more');
  assert.equal(p.button.hidden, true);
  assert.equal(p.atEnd, true);
  const first = p.load(true);
  assert.equal(p.button.disabled, true); // while loading
  calls[0].resolve({ items: [1, 2], next_cursor: 'c2' });
  await first;
  assert.deepEqual(shown, [{ items: [1, 2], first: true }]);
  assert.equal(p.button.hidden, false);
  assert.equal(p.button.disabled, false);
  assert.equal(p.atEnd, false);

  p.button.click();
  assert.equal(calls[1].cursor, 'c2');
  calls[1].resolve({ items: [3], next_cursor: null });
  await tick();
  assert.deepEqual(shown[1], { items: [3], first: false });
  assert.equal(p.button.hidden, true);
  assert.equal(p.atEnd, true);
});

test('a start-over drops the answer of the request it overtook', async () => {
  const { calls, fetch } = pending();
  const { p, shown, failures } = make(fetch);
  const old = p.load(true);
  const fresh = p.load(true);
  calls[1].resolve({ items: ['new'], next_cursor: null });
  await fresh;
  calls[0].resolve({ items: ['old'], next_cursor: 'stale' });
  await old;
  assert.deepEqual(shown, [{ items: ['new'], first: true }]);
  assert.equal(p.atEnd, true); // the stale cursor was not taken
  const again = p.load(true);
  calls[2].reject(new Error('overtaken'));
  const newest = p.load(true);
  calls[3].resolve({ items: [], next_cursor: null });
  await Promise.all([again, newest]);
  assert.deepEqual(failures, []); // an overtaken failure is not reported either
});

test('a failed page is reported, the button enabled again, the cursor kept', async () => {
  const { calls, fetch } = pending();
  const { p, failures } = make(fetch);
  const first = p.load(true);
  calls[0].resolve({ items: [1], next_cursor: 'c2' });
  await first;
  const next = p.load(false);
  const boom = new Error('offline');
  calls[1].reject(boom);
  await next;
  assert.deepEqual(failures, [boom]);
  assert.equal(p.button.disabled, false);
  assert.equal(p.button.hidden, false);
  p.button.click();
  assert.equal(calls[2].cursor, 'c2'); // "Load more" retries the same page
});

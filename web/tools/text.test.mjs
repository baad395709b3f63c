// node --test: src/text.ts (issue 27) — which URLs become links (http/https only, trailing
// punctuation left out, brackets balanced), and the short relative times.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import ts from 'typescript';

// Just enough DOM for linkify(): elements with properties, text nodes.
globalThis.document = {
  createElement: (tag) => ({ tag, textContent: '' }),
  createTextNode: (text) => ({ text }),
};
const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const out = mkdtempSync(join(tmpdir(), 'text-test-'));
const js = ts.transpileModule(readFileSync(join(src, 'text.ts'), 'utf8'), {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
}).outputText;
writeFileSync(join(out, 'text.mjs'), js);
const { linkify, safeHref, shortRelative, LINK_REL } = await import(pathToFileURL(join(out, 'text.mjs')).href);

const shape = (nodes) => nodes.map((n) => (n.tag === 'a' ? { a: n.textContent, href: n.href } : n.text));

test('only http and https become links, with the safe attributes', () => {
  const nodes = linkify('see https://example.com/x?a=1&b=2. and javascript:alert(1) data:text/html,x ftp://h/f');
  assert.deepEqual(shape(nodes), [
    'see ',
    { a: 'https://example.com/x?a=1&b=2', href: 'https://example.com/x?a=1&b=2' },
    '. and javascript:alert(1) data:text/html,x ftp://h/f',
  ]);
  const a = nodes[1];
  assert.equal(a.rel, LINK_REL);
  assert.equal(LINK_REL, 'noopener nofollow ugc');
  assert.equal(a.target, '_blank');
  assert.equal(safeHref('javascript:alert(1)'), null);
  assert.equal(safeHref('JAVASCRIPT://example.com/%0Aalert(1)'), null);
  assert.equal(safeHref('https://'), null);
  assert.equal(safeHref('HTTP://Example.COM'), 'http://example.com/');
});

test('brackets and punctuation', () => {
  assert.deepEqual(shape(linkify('(https://en.wikipedia.org/wiki/Foo_(bar)) ok')), [
    '(',
    { a: 'https://en.wikipedia.org/wiki/Foo_(bar)', href: 'https://en.wikipedia.org/wiki/Foo_(bar)' },
    ') ok',
  ]);
  assert.deepEqual(shape(linkify('go to http://a.example!')), ['go to ', { a: 'http://a.example', href: 'http://a.example/' }, '!']);
  assert.deepEqual(shape(linkify('no links here')), ['no links here']);
  assert.deepEqual(shape(linkify('')), ['']);
});

test('short relative times', () => {
  const now = new Date('2026-12-06T12:00:00Z');
  const ago = (s) => new Date(now.getTime() - s * 1000);
  assert.equal(shortRelative(ago(0), now), 'just now');
  assert.equal(shortRelative(ago(-30), now), 'just now'); // a little ahead of this clock
  assert.equal(shortRelative(ago(44), now), 'just now');
  assert.equal(shortRelative(ago(180), now), '3 min');
  assert.equal(shortRelative(ago(59 * 60), now), '59 min');
  assert.equal(shortRelative(ago(2 * 3600), now), '2 h');
  assert.equal(shortRelative(ago(3 * 86400), now), '3 d');
  assert.match(shortRelative(ago(30 * 86400), now), /Nov|11/);
  assert.equal(shortRelative(new Date('nonsense'), now), '');
});

// After `vite build`: writes NAME.gz (gzip, level 9) next to every text file of dist/ that
// gzip makes smaller, for `bsocial serve` to send as is to clients that accept gzip
// (src/bsocial/http/static_files.cpp; nginx passes it through). Prints the sizes.
// Deterministic: no file name or time in the gzip header, so a rebuild gives the same bytes.

import { readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, gzipSync } from 'node:zlib';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', process.argv[2] ?? 'dist');
const TEXT = new Set(['.js', '.mjs', '.css', '.html', '.svg', '.json', '.map', '.txt']);

function* files(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (e.isFile()) yield p;
  }
}

let plain = 0;
let zipped = 0;
for (const f of [...files(dist)]) {
  if (f.endsWith('.gz')) {
    unlinkSync(f); // a stale one from an earlier build
    continue;
  }
  if (!TEXT.has(path.extname(f))) continue;
  const body = readFileSync(f);
  const gz = gzipSync(body, { level: constants.Z_BEST_COMPRESSION });
  if (gz.length >= body.length) continue;
  writeFileSync(`${f}.gz`, gz);
  plain += body.length;
  zipped += gz.length;
  console.log(`  ${path.relative(dist, f).padEnd(40)} ${String(body.length).padStart(8)} B -> ${String(gz.length).padStart(7)} B gzip`);
}
console.log(`compressed: ${plain} B -> ${zipped} B gzip`);

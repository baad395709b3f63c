#!/usr/bin/env node
// Fails (exit 1) when generated/api-types.ts is not what openapi-typescript makes of
// docs/openapi.yaml today: after changing the contract, run `npm run gen-api-types` and
// commit both. Run by `npm run check` (and so by `make web`).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const checkedIn = join(web, 'generated', 'api-types.ts');
const tmp = mkdtempSync(join(tmpdir(), 'api-types-'));
try {
  const fresh = join(tmp, 'api-types.ts');
  execFileSync(join(web, 'node_modules', '.bin', 'openapi-typescript'), [join(web, '..', 'docs', 'openapi.yaml'), '-o', fresh], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (readFileSync(fresh, 'utf8') !== readFileSync(checkedIn, 'utf8')) {
    console.error('web/generated/api-types.ts is stale: docs/openapi.yaml changed. Run `npm --prefix web run gen-api-types` and commit it.');
    process.exit(1);
  }
  console.log('check-api-types: web/generated/api-types.ts matches docs/openapi.yaml');
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

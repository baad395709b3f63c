// What the browser tests share: Debian's Chromium through playwright-core (no browser is
// downloaded), waits on text and visibility, and a watch for CSP violations, uncaught
// errors and dialogs. Used by journey.mjs and proxy_journey.mjs.

import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = path.resolve(here, '..', '..', 'web');
// playwright-core is a devDependency of web/ (pinned in web/package-lock.json)
const { chromium } = createRequire(path.join(webDir, 'package.json'))('playwright-core');

export const T = 15_000; // ordinary UI wait

/** Headless Chromium (CHROMIUM, default /usr/bin/chromium). */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Waits until the locator's text matches (string: contains; RegExp: test). */
export async function expectText(locator, expected, timeout = T) {
  const deadline = Date.now() + timeout;
  let last = null;
  for (;;) {
    try {
      last = await locator.first().textContent({ timeout: 1000 });
    } catch {
      last = null;
    }
    const ok = last !== null && (expected instanceof RegExp ? expected.test(last) : last.includes(expected));
    if (ok) return last;
    if (Date.now() > deadline) {
      throw new Error(`expected ${locator} to have text ${expected}, last text: ${JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function visible(locator, timeout = T) {
  await locator.first().waitFor({ state: 'visible', timeout });
}

/** Records CSP violations, uncaught errors and dialogs of `page` in `problems`. */
export function watch(page, who, problems) {
  page.on('console', (msg) => {
    const text = msg.text();
    if (/Content Security Policy|Refused to (execute|load|apply|connect)/i.test(text)) {
      problems.push(`${who}: CSP violation: ${text}`);
    }
  });
  page.on('pageerror', (err) => problems.push(`${who}: uncaught error: ${err.message}`));
  page.on('dialog', async (d) => {
    problems.push(`${who}: a dialog opened (${d.type()}: ${d.message()}) - script injection?`);
    await d.dismiss();
  });
}

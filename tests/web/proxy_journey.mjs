// The web app through the project's own nginx (deploy/nginx/bsocial.conf), in Chromium:
// register, log out, log in (session cookie), post, comment — the post and the comment
// appear — and the notification socket goes live. Every write is a cookie-authenticated
// request carrying the browser's Origin (http://127.0.0.1:NGINXPORT), which the server
// must recognise as its own origin behind the proxy (issue 22).
//
// Started by tests/web/test_web_e2e.py::test_browser_through_nginx, which passes:
//   BSOCIAL_WEB_URL        nginx's origin, e.g. http://127.0.0.1:PORT
//   BSOCIAL_SCREENSHOT_DIR where to write screenshots
//   CHROMIUM               optional, default /usr/bin/chromium
// Exit code 0 = every check passed.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import { expectText, launch, visible, watch } from './browser.mjs';

const BASE = (process.env.BSOCIAL_WEB_URL ?? '').replace(/\/$/, '');
const SHOTS = process.env.BSOCIAL_SCREENSHOT_DIR;
if (!BASE || !SHOTS) {
  console.error('BSOCIAL_WEB_URL and BSOCIAL_SCREENSHOT_DIR must be set');
  process.exit(2);
}
mkdirSync(SHOTS, { recursive: true });
const step = (msg) => console.log(`[proxy] ${msg}`);

const tag = randomBytes(4).toString('hex');
const u = { username: `px_${tag}`, email: `px_${tag}@example.com`, password: `proxy ${tag} pass` };
const text = `Through nginx ${tag}`;
const problems = [];
const browser = await launch();
const writes = []; // every non-GET API answer the page got: [method, path, status]
try {
  const page = await (await browser.newContext()).newPage();
  watch(page, 'proxy', problems);
  page.on('response', (r) => {
    const m = r.request().method();
    if (m !== 'GET' && r.url().includes('/api/')) writes.push([m, new URL(r.url()).pathname, r.status()]);
  });
  const failed = async (name) => {
    await page.screenshot({ path: path.join(SHOTS, `proxy-${name}.png`), fullPage: true });
    return `API writes seen: ${JSON.stringify(writes)}`;
  };
  try {
    step(`register ${u.username} at ${BASE}`);
    await page.goto(`${BASE}/#/register`);
    await visible(page.locator('#register-form'));
    await page.fill('#f-first_name', 'Proxy');
    await page.fill('#f-last_name', 'Tester');
    await page.fill('#f-username', u.username);
    await page.fill('#f-email', u.email);
    await page.fill('#f-password', u.password);
    await page.fill('#f-password_confirmation', u.password);
    await page.click('#register-form button[type=submit]');
    await visible(page.locator('#logout'));

    step('log out, log in again (cookie)');
    await page.click('#logout');
    await visible(page.locator('#login-form'));
    await page.fill('#f-login', u.username);
    await page.fill('#f-password', u.password);
    await page.click('#login-form button[type=submit]');
    await visible(page.locator('#logout'));
    await expectText(page.locator('.view h1'), 'Feed');

    step('post');
    await page.fill('.post-composer textarea', text);
    await page.click('.post-composer button[type=submit]');
    const post = page.locator('article.post', { hasText: text });
    await expectText(page.locator('.post-list article.post .post-content'), text);

    step('comment');
    await post.locator('.comments-toggle').click();
    await post.locator('.comment-composer textarea').fill('A comment through nginx');
    await post.locator('.comment-composer button[type=submit]').click();
    await expectText(post.locator('.comments-list .comment-content'), 'A comment through nginx');

    step('the notification socket through nginx');
    await page.click('a[data-nav=notifications]');
    await expectText(page.locator('#stream-status'), 'Live');
    await page.screenshot({ path: path.join(SHOTS, 'proxy-done.png'), fullPage: true });
  } catch (e) {
    throw new Error(`${e.message}\n${await failed('failed')}`);
  }
  const refused = writes.filter(([, , status]) => status >= 400);
  assert.deepEqual(refused, [], `writes refused through nginx: ${JSON.stringify(refused)}`);
  assert.deepEqual(problems, [], `problems seen in the browser:\n${problems.join('\n')}`);
  step('passed');
} finally {
  await browser.close();
}

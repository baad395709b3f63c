// Browser end-to-end journey of the bSocial web app (web/), driven by playwright-core
// against Debian's Chromium (/usr/bin/chromium; no browser is downloaded).
//
// Started by tests/web/test_web_e2e.py, which runs the real backend (Kafka, `bsocial
// serve --static-dir web/dist`, `bsocial notifier`), and by tests/compose/compose_test.py
// against nginx's published port (compose.yaml: two replicas behind nginx); they pass:
//   BSOCIAL_WEB_URL        the app's origin, e.g. http://127.0.0.1:PORT
//   BSOCIAL_SCREENSHOT_DIR where to write screenshots (NN-name.png)
//   BSOCIAL_LOGIN_MAX_FAILURES the server's failed-login limit (for the 429 check)
//   CHROMIUM               optional, default /usr/bin/chromium
// Exit code 0 = every check passed; the first failed check throws with a message.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { T, expectText, launch, visible, watch as watchFor } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

const BASE = (process.env.BSOCIAL_WEB_URL ?? '').replace(/\/$/, '');
const SHOTS = process.env.BSOCIAL_SCREENSHOT_DIR ?? path.join(here, 'screenshots');
const MAX_FAILURES = Number(process.env.BSOCIAL_LOGIN_MAX_FAILURES ?? '3');
const LIVE_T = 30_000; // comment -> outbox -> Kafka -> notifier -> SQL -> WebSocket

if (!BASE) {
  console.error('BSOCIAL_WEB_URL is not set');
  process.exit(2);
}
mkdirSync(SHOTS, { recursive: true });

const problems = []; // CSP violations, uncaught errors, dialogs: checked at the end
let shotNo = 0;
const t0 = Date.now();
function step(msg) {
  console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
}

async function shot(page, name) {
  shotNo += 1;
  const file = path.join(SHOTS, `${String(shotNo).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  step(`screenshot ${file}`);
}

function watch(page, who) {
  watchFor(page, who, problems);
}

async function register(page, u, { mismatchFirst = false } = {}) {
  await page.goto(`${BASE}/#/register`);
  await visible(page.locator('#register-form'));
  await page.fill('#f-first_name', u.first);
  await page.fill('#f-last_name', u.last);
  await page.fill('#f-username', u.username);
  await page.fill('#f-email', u.email);
  await page.fill('#f-password', u.password);
  if (mismatchFirst) {
    // the server's 422 names the field; the form shows it next to that field
    await page.fill('#f-password_confirmation', `${u.password} typo`);
    await page.click('#register-form button[type=submit]');
    await expectText(page.locator('#f-password_confirmation-error'), /\S/);
    await visible(page.locator('#f-password_confirmation-error'));
    await shot(page, 'register-field-error');
  }
  await page.fill('#f-password_confirmation', u.password);
  await page.click('#register-form button[type=submit]');
  // registering logs straight in and lands on the feed
  await visible(page.locator('#logout'));
  await expectText(page.locator('.view h1'), 'Feed');
  await expectText(page.locator('.me-link'), `@${u.username}`);
}

async function login(page, loginName, password) {
  await visible(page.locator('#login-form'));
  await page.fill('#f-login', loginName);
  await page.fill('#f-password', password);
  await page.click('#login-form button[type=submit]');
}

async function publish(page, text) {
  await page.fill('.post-composer textarea', text);
  await page.click('.post-composer button[type=submit]');
  // the new post is first in the list
  await expectText(page.locator('.post-list article.post .post-content'), text);
}

const ada = { first: 'Ada', last: 'Lovelace', username: 'ada', email: 'ada@example.com', password: 'analytical engine' };
const charles = { first: 'Charles', last: 'Babbage', username: 'charles', email: 'charles@example.com', password: 'difference engine' };
const XSS = '<img src=x onerror=alert(1)>';

const browser = await launch();
step(`chromium ${browser.version()} against ${BASE}`);

try {
  const viewport = { width: 1100, height: 800 };
  const adaCtx = await browser.newContext({ viewport });
  const charlesCtx = await browser.newContext({ viewport });
  const A = await adaCtx.newPage();
  const C = await charlesCtx.newPage();
  watch(A, 'ada');
  watch(C, 'charles');
  // Ada's notification sockets pass through Playwright (to the real server), so the test
  // can cut one and watch the app reconnect.
  const adaSockets = [];
  await adaCtx.routeWebSocket(/\/api\/v1\/notifications\/stream$/, (ws) => {
    ws.connectToServer(); // messages flow both ways unchanged
    adaSockets.push(ws);
  });

  // ---- the HTML answer carries the security headers (checklist S12)
  const resp = await A.goto(`${BASE}/`);
  assert.ok(resp, 'no response for /');
  assert.equal(resp.status(), 200, 'GET / must serve the app');
  const headers = resp.headers();
  const csp = headers['content-security-policy'];
  assert.ok(csp, `no Content-Security-Policy on /; headers: ${JSON.stringify(headers)}`);
  for (const d of ["script-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]) {
    assert.ok(csp.includes(d), `CSP lacks ${d}: ${csp}`);
  }
  assert.ok(!/unsafe-inline|unsafe-eval/.test(csp), `CSP allows unsafe-*: ${csp}`);
  // connect-src 'self' only: the live notifications below prove the same-origin WebSocket passes
  assert.ok(!/(^|\s)wss?:/.test(csp), `CSP allows WebSockets to any host: ${csp}`);
  assert.equal(headers['x-content-type-options'], 'nosniff', 'X-Content-Type-Options: nosniff on /');
  step(`CSP on /: ${csp}`);
  // not logged in: the login screen
  await visible(A.locator('#login-form'));
  await shot(A, 'login-screen');

  // ---- Ada registers (first with a mismatched confirmation), logs out, logs in by e-mail
  step('ada registers');
  await register(A, ada, { mismatchFirst: true });
  await shot(A, 'ada-empty-feed');
  await A.click('#logout');
  await visible(A.locator('#login-form'));
  await expectText(A.locator('#login-form .alert'), 'logged out');
  step('ada logs in with her e-mail');
  await login(A, ada.email, ada.password);
  await visible(A.locator('#logout'));
  await expectText(A.locator('.view h1'), 'Feed');

  // ---- failed logins: wrong password shows a readable error; over the limit a 429 with Retry-After
  step('failed logins and the rate limit (429)');
  await C.goto(`${BASE}/#/login`);
  for (let i = 1; i <= MAX_FAILURES; i++) {
    await login(C, 'nobody_here', 'wrong password');
    await expectText(C.locator('#login-form .alert'), 'Wrong username, e-mail or password');
    await C.locator('#login-form .alert').evaluate((el) => { el.textContent = ''; });
  }
  await login(C, 'nobody_here', 'wrong password');
  await expectText(C.locator('#login-form .alert'), /Try again in \d+ (second|minute)/);
  await expectText(C.locator('#login-form button[type=submit]'), /^Wait /);
  await shot(C, 'rate-limited');
  // the limit is per identifier: typing another one enables the button again
  await C.fill('#f-login', 'somebody_else');
  await expectText(C.locator('#login-form button[type=submit]'), /^Log in$/);

  // ---- Charles registers and posts (one post is an XSS attempt: it must show as text)
  step('charles registers and posts');
  await register(C, charles);
  await publish(C, 'The engine runs.');
  await publish(C, XSS);
  const xssCard = C.locator('article.post', { hasText: XSS });
  await visible(xssCard);
  assert.equal(await xssCard.locator('.post-content').textContent(), XSS);
  assert.equal(await C.locator('.post-content img').count(), 0, 'post content became markup');
  assert.equal(await C.locator('img').count(), 0, 'an <img> appeared in the page');
  await C.goto(`${BASE}/#/feed`); // the notification page below must update without any reload after this
  await visible(C.locator('article.post', { hasText: 'The engine runs.' }));
  await C.evaluate(() => { window.__bsocialNoReload = 'still here'; });

  // ---- Ada finds Charles by username prefix and follows him
  step('ada finds and follows charles');
  await A.click('a[data-nav=people]');
  await visible(A.locator('#people-q'));
  await A.fill('#people-q', 'char');
  await A.press('#people-q', 'Enter');
  await visible(A.locator('a.user-row[data-username=charles]'));
  await shot(A, 'people-search');
  await A.click('a.user-row[data-username=charles]');
  await expectText(A.locator('#follow-button'), 'Follow');
  await expectText(A.locator('#followers-count'), '0 followers');
  await A.click('#follow-button');
  await expectText(A.locator('#follow-button'), 'Unfollow');
  await expectText(A.locator('#followers-count'), '1 follower');
  // his posts are visible to her now, newest first
  await expectText(A.locator('.profile-posts article.post .post-content'), XSS);
  await shot(A, 'charles-profile-followed');

  // ---- Ada sees Charles's post in her feed and comments
  step('ada reads her feed and comments');
  await A.click('a[data-nav=feed]');
  const engine = A.locator('article.post', { hasText: 'The engine runs.' });
  await visible(engine);
  const xssInFeed = A.locator('article.post', { hasText: XSS });
  await visible(xssInFeed);
  assert.equal(await xssInFeed.locator('.post-content').textContent(), XSS);
  assert.equal(await A.locator('.post-content img').count(), 0, 'post content became markup in the feed');
  await engine.locator('.comments-toggle').click();
  await expectText(engine.locator('.comments .muted'), 'No comments yet');
  await engine.locator('.comment-composer textarea').fill('Splendid!');
  await engine.locator('.comment-composer button[type=submit]').click();
  await expectText(engine.locator('.comments-list .comment-content'), 'Splendid!');
  await expectText(engine.locator('.comments-toggle'), '1 comment');
  await shot(A, 'ada-feed-commented');
  await A.setViewportSize({ width: 390, height: 844 }); // a phone
  await shot(A, 'ada-feed-phone');
  await A.setViewportSize(viewport);

  // ---- Charles is notified live over the WebSocket, without reloading
  step('charles gets the notification live');
  await expectText(C.locator('#nav-notifications .badge'), '1', LIVE_T);
  await expectText(C.locator('.toast-notify'), '@ada commented on “The engine runs.”');
  await expectText(C.locator('.toast-notify'), 'Splendid!');
  assert.equal(await C.evaluate(() => window.__bsocialNoReload), 'still here', 'the page was reloaded');
  await shot(C, 'charles-live-notification');
  await C.click('a[data-nav=notifications]');
  await expectText(C.locator('#stream-status'), 'Live');
  const n = C.locator('#notification-list li.notification');
  // grouped by post, unread until read (issue 27): the row names the post
  await expectText(n, "@ada commented on ‘The engine runs.’");
  assert.equal(await C.locator('#notification-list li.notification.unread').count(), 1);
  await C.click('#mark-all-read');
  // read: the badge is cleared
  await C.locator('#nav-notifications .badge').waitFor({ state: 'hidden', timeout: T });
  assert.equal(await C.locator('#notification-list li.notification.unread').count(), 0);
  assert.equal(await C.evaluate(() => window.__bsocialNoReload), 'still here', 'the page was reloaded');
  // the app acked it on the socket: nothing is left to claim
  {
    let items = null;
    for (let i = 0; i < 50; i++) {
      const r = await charlesCtx.request.post(`${BASE}/api/v1/notifications/claim`);
      assert.equal(r.status(), 200, `claim answered ${r.status()}`);
      items = (await r.json()).items;
      if (items.length === 0) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.deepEqual(items, [], 'the notification was not acked over the WebSocket');
  }
  // the fallback: "Check now" claims over HTTP (nothing new here)
  await C.click('#check-notifications');
  await expectText(C.locator('.toast-info'), 'No new notifications');
  await shot(C, 'charles-notifications');
  // the notification opens the post with its comments
  await n.first().locator('a').click();
  await expectText(C.locator('article.post .comments-list'), 'Splendid!');
  await shot(C, 'charles-post-with-comment');

  // ---- the socket drops: the app reconnects by itself (backoff 0.5-1 s for the first retry)
  step('ada\'s socket drops; the app reconnects');
  await A.click('a[data-nav=notifications]');
  await expectText(A.locator('#stream-status'), 'Live');
  const before = adaSockets.length;
  await adaSockets[before - 1].close({ code: 4000, reason: 'test: connection lost' });
  await expectText(A.locator('#stream-status'), /Reconnecting|Connecting|Live/);
  const deadline = Date.now() + T;
  while (adaSockets.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(adaSockets.length > before, 'no new WebSocket after the drop');
  await expectText(A.locator('#stream-status'), 'Live');
  await A.click('a[data-nav=feed]');

  // ---- logging out returns to the login screen, and the session is over
  step('charles logs out; ada comments meanwhile; charles logs in and is told');
  await C.click('#logout');
  await visible(C.locator('#login-form'));
  await C.goto(`${BASE}/#/feed`);
  await C.reload();
  await visible(C.locator('#login-form'));
  await visible(engine);
  await engine.locator('.comments-toggle').click(); // the feed was rendered afresh: open the comments
  await engine.locator('.comment-composer textarea').fill('On second thought: marvellous.');
  await engine.locator('.comment-composer button[type=submit]').click();
  await expectText(engine.locator('.comments-toggle'), '2 comments');
  await login(C, charles.username, charles.password);
  await visible(C.locator('#logout'));
  // delivered when the socket connects (or live, if the notifier is slower than the login)
  await expectText(C.locator('#nav-notifications .badge'), '1', LIVE_T);
  await expectText(C.locator('.toast-notify'), 'marvellous');
  await shot(C, 'charles-back-notified');
  await C.click('#logout');
  await visible(C.locator('#login-form'));
  step('ada logs out');
  await A.click('#logout');
  await visible(A.locator('#login-form'));
  await expectText(A.locator('#login-form .alert'), 'logged out');
  assert.equal(await A.locator('.toast').count(), 0, 'toasts of the old session are still shown');
  const me = await adaCtx.request.get(`${BASE}/api/v1/users/me`);
  assert.equal(me.status(), 401, 'the session must be over after logging out');
  await shot(A, 'final-logged-out');

  assert.deepEqual(problems, [], `problems seen in the browser:\n${problems.join('\n')}`);
  step('journey passed');
} finally {
  await browser.close();
}

// Browser journey of issue 27's "grouped notifications" and "text and time" (Chromium via
// playwright-core, against the real backend: started by tests/web/test_web_e2e.py, which
// passes BSOCIAL_WEB_URL, BSOCIAL_SCREENSHOT_DIR and CHROMIUM).
//
// Two people in two browsers, Nora (the author) and Omar (a commenter, on a phone), plus two
// commenters driven over the API (Pia, Quinn):
//   - 30 comments on one of Nora's posts (Pia 1, Quinn 1, Omar 28) become ONE row: "@omar and
//     2 others commented on ‘Hello everyone, …’", 30 comments, unread; the badge counts
//     unread groups; "Mark all as read" clears it, on the server (a reload keeps it read);
//     a new comment makes the group unread again, live;
//   - an RTL post and an RTL name are laid out right-to-left (computed direction);
//   - a URL in a post is a link (http/https only, rel="noopener nofollow ugc",
//     target=_blank), a `javascript:` text is not;
//   - at 390 px wide the author and the time (the post's link) are inside the viewport;
//   - relative times update (a fake clock: "just now" → "3 min" → "2 h"), absolute in title.
// Screenshots: notifications-grouped.png, notifications-phone.png, text-rtl-links.png.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { T, expectText, launch, visible, watch } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = path.resolve(here, '..', '..', 'web');
const AXE = readFileSync(createRequire(path.join(webDir, 'package.json')).resolve('axe-core/axe.min.js'), 'utf8');
const BASE = (process.env.BSOCIAL_WEB_URL ?? '').replace(/\/$/, '');
const SHOTS = process.env.BSOCIAL_SCREENSHOT_DIR ?? path.join(here, 'screenshots');
const LIVE_T = 60_000; // 30 comments -> outbox -> Kafka -> notifier -> SQL -> WebSocket

if (!BASE) {
  console.error('BSOCIAL_WEB_URL is not set');
  process.exit(2);
}
mkdirSync(SHOTS, { recursive: true });
const problems = [];
const t0 = Date.now();
const step = (msg) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
const shot = async (page, name) => {
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false, animations: 'disabled' });
  step(`screenshot ${file}`);
};

// ---- the API, for the setup only (what is under test is what the browser shows)
async function api(method, p, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(`${BASE}/api/v1${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${p} answered ${r.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}
const suffix = Date.now().toString(36).slice(-5);
async function person(username, first, last) {
  const u = { username: `${username}_${suffix}`, first, last, password: `pass phrase of ${username}` };
  await api('POST', '/users', {
    body: {
      first_name: first, last_name: last, username: u.username, email: `${u.username}@example.com`,
      password: u.password, password_confirmation: u.password,
    },
  });
  u.token = (await api('POST', '/sessions', { body: { login: u.username, password: u.password } })).token;
  return u;
}
const commentOn = (u, postId, content) => api('POST', `/posts/${postId}/comments`, { token: u.token, body: { content } });

async function uiLogin(page, u) {
  await page.goto(`${BASE}/#/login`);
  await visible(page.locator('#login-form'));
  await page.fill('#f-login', u.username);
  await page.fill('#f-password', u.password);
  await page.click('#login-form button[type=submit]');
  await visible(page.locator('#logout'));
}

async function audit(page, name) {
  await page.evaluate(AXE);
  const bad = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  });
  step(`axe ${name}: ${bad.length} serious or critical`);
  assert.deepEqual(bad, [], `axe on ${name}`);
}

/** The element's box is inside the viewport (and not empty). */
async function insideViewport(page, locator, what) {
  await locator.evaluate((el) => el.scrollIntoView({ block: 'center' }));
  const box = await locator.boundingBox();
  const vp = page.viewportSize();
  assert.ok(box, `${what}: no box (not rendered)`);
  assert.ok(box.width > 4 && box.height > 4, `${what}: empty box ${JSON.stringify(box)}`);
  assert.ok(box.x >= 0 && box.x + box.width <= vp.width + 0.5, `${what}: outside the ${vp.width} px viewport: ${JSON.stringify(box)}`);
  // nothing covers it: the topmost element at its centre is it or inside it
  const hit = await locator.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const top = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
    return !!top && (el === top || el.contains(top));
  });
  assert.ok(hit, `${what}: covered or clipped`);
  return box;
}

const browser = await launch();
step(`chromium ${browser.version()} against ${BASE}`);
try {
  // ---- people and posts
  step('nora, omar, pia and quinn register; nora posts');
  const nora = await person('nora', 'نورا', 'Al-Hashimi-Worthington-Fitzgerald');
  const omar = await person('omar', 'Omar', 'Abdulrahman-Montgomery');
  const pia = await person('pia', 'Pia', 'P');
  const quinn = await person('quinn', 'Quinn', 'Q');
  for (const u of [omar, pia, quinn]) await api('PUT', `/users/me/following/${nora.username}`, { token: u.token });
  const LONG = 'Hello everyone, these are the first words of a rather long post about engines, gears and the people who build them';
  const RTL = 'שלום לכולם! זה פוסט בעברית, והוא נכתב מימין לשמאל.';
  const LINKS = 'Read https://example.com/docs?a=1&b=2. Not a link: javascript:alert(1) nor data:text/html,hi';
  const post = (content) => api('POST', '/posts', { token: nora.token, body: { content } }).then((r) => r.post);
  const long = await post(LONG);
  const rtl = await post(RTL);
  const links = await post(LINKS);

  // ---- 30 comments on one post: Pia, Quinn, then Omar 28 times
  step('30 comments on the long post');
  await commentOn(pia, long.id, 'Lovely.');
  await commentOn(quinn, long.id, 'Agreed!');
  for (let i = 1; i <= 28; i++) await commentOn(omar, long.id, `Comment number ${i}`);

  const noraCtx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const N = await noraCtx.newPage();
  watch(N, 'nora', problems);
  await uiLogin(N, nora);
  step('nora: one group, unread, badge 1');
  await expectText(N.locator('#nav-notifications .badge'), /^1$/, LIVE_T);
  await N.click('a[data-nav=notifications]');
  const rows = N.locator('#notification-list li.notification');
  const row = rows.filter({ hasText: 'Hello everyone' });
  await expectText(row, '30 comments', LIVE_T);
  assert.equal(await rows.count(), 1, 'one row for 30 comments on one post');
  const text = (await row.locator('.notification-text').textContent()).trim();
  assert.match(text, new RegExp(`^@${omar.username} and 2 others commented on ‘Hello everyone, these are the first words of a rather long post about engines,…’$`), text);
  assert.ok(await row.evaluate((el) => el.classList.contains('unread')), 'the group is unread');
  await expectText(row, '30 new');
  assert.equal(await row.locator('a').getAttribute('href'), `#/post/${long.id}`, 'the row links to the post');
  await audit(N, 'notifications-grouped');
  await shot(N, 'notifications-grouped');

  step('mark all as read: on the server');
  await N.click('#mark-all-read');
  await N.locator('#nav-notifications .badge').waitFor({ state: 'hidden', timeout: T });
  assert.equal(await N.locator('#notification-list li.notification.unread').count(), 0);
  await N.reload();
  await expectText(N.locator('#notification-list li.notification'), '30 comments');
  assert.equal(await N.locator('#notification-list li.notification.unread').count(), 0, 'read after a reload');
  assert.ok(await N.locator('#nav-notifications .badge').isHidden(), 'no badge after a reload');
  const counts = await api('GET', '/notifications/unread', { token: nora.token });
  assert.deepEqual(counts, { groups: 0, notifications: 0 });

  step('a new comment: the group is unread again, live');
  await commentOn(pia, long.id, 'One more thing.');
  await expectText(N.locator('#nav-notifications .badge'), /^1$/, LIVE_T);
  await expectText(row, '31 comments', LIVE_T);
  await expectText(row, '1 new');
  await expectText(row.locator('.notification-text'), `@${pia.username} and 2 others`);
  await expectText(N.locator('.toast-notify'), '“Hello everyone, these are the first words');
  // opening the group marks it read
  await row.locator('a').click();
  await expectText(N.locator('article.post .post-content'), 'Hello everyone');
  await N.locator('#nav-notifications .badge').waitFor({ state: 'hidden', timeout: T });

  // ---- right-to-left text
  step('rtl post and name');
  await N.goto(`${BASE}/#/post/${rtl.id}`);
  const rtlContent = N.locator(`article.post[data-post-id="${rtl.id}"] .post-content`);
  await expectText(rtlContent, 'שלום');
  assert.equal(await rtlContent.getAttribute('dir'), 'auto');
  assert.equal(await rtlContent.evaluate((el) => getComputedStyle(el).direction), 'rtl', 'the Hebrew post is laid out rtl');
  const name = N.locator(`article.post[data-post-id="${rtl.id}"] .author-name`);
  assert.equal(await name.evaluate((el) => getComputedStyle(el).direction), 'rtl', 'the Arabic name is rtl');
  await N.goto(`${BASE}/#/post/${long.id}`);
  const ltrContent = N.locator(`article.post[data-post-id="${long.id}"] .post-content`);
  await expectText(ltrContent, 'Hello');
  assert.equal(await ltrContent.evaluate((el) => getComputedStyle(el).direction), 'ltr', 'an English post stays ltr');
  // comments too
  await expectText(N.locator('.comments-list .comment-content'), 'Lovely.');
  assert.equal(await N.locator('.comments-list .comment-content').first().getAttribute('dir'), 'auto');

  // ---- links
  step('links: http(s) only, safe attributes');
  await N.goto(`${BASE}/#/post/${links.id}`);
  const linkContent = N.locator(`article.post[data-post-id="${links.id}"] .post-content`);
  await expectText(linkContent, 'javascript:alert(1)');
  assert.equal(await linkContent.textContent(), LINKS, 'the text is shown as written');
  const a = linkContent.locator('a');
  assert.equal(await a.count(), 1, 'exactly one link (not javascript:, not data:)');
  assert.equal(await a.getAttribute('href'), 'https://example.com/docs?a=1&b=2');
  assert.equal(await a.textContent(), 'https://example.com/docs?a=1&b=2', 'the full stop is not part of the link');
  assert.equal(await a.getAttribute('rel'), 'noopener nofollow ugc');
  assert.equal(await a.getAttribute('target'), '_blank');
  assert.equal(await N.locator('a[href^="javascript:" i], a[href^="data:" i]').count(), 0);
  await shot(N, 'text-rtl-links');

  // ---- a phone: Omar's feed at 390 px
  step('omar on a phone: author and time visible');
  const omarCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const O = await omarCtx.newPage();
  watch(O, 'omar', problems);
  await uiLogin(O, omar);
  const cards = O.locator('.post-list article.post');
  await visible(cards.first());
  assert.ok((await cards.count()) >= 3, 'nora\'s three posts in omar\'s feed');
  for (let i = 0; i < 3; i++) {
    const card = cards.nth(i);
    await insideViewport(O, card.locator('.author-name'), `post ${i}: author`);
    const time = await insideViewport(O, card.locator('a.permalink'), `post ${i}: time link`);
    assert.ok(time.width >= 20, `post ${i}: time link too narrow`);
  }
  await O.evaluate(() => window.scrollTo(0, 0));
  await shot(O, 'notifications-phone');
  const firstId = await cards.first().getAttribute('data-post-id');
  await cards.first().locator('a.permalink').click();
  await O.waitForURL(`**/#/post/${firstId}`);
  await visible(O.locator(`article.post[data-post-id="${firstId}"]`));

  // ---- relative times update, one timer for the page
  step('relative times update (fake clock)');
  const clockPage = await noraCtx.newPage();
  watch(clockPage, 'nora-clock', problems);
  await clockPage.clock.install();
  const fresh = await post('Just posted, to watch the clock.');
  await clockPage.goto(`${BASE}/#/post/${fresh.id}`);
  const when = clockPage.locator(`article.post[data-post-id="${fresh.id}"] a.permalink time`);
  await expectText(when, 'just now');
  assert.equal(await when.getAttribute('datetime'), fresh.created_at);
  assert.ok((await when.getAttribute('title')).length > 5, 'the absolute time is the title');
  await clockPage.clock.fastForward('03:10');
  await expectText(when, /^3 min$/, 5000);
  await clockPage.clock.fastForward('02:00:00');
  await expectText(when, /^2 h$/, 5000);

  assert.deepEqual(problems, [], `problems seen in the browser:\n${problems.join('\n')}`);
  step('notifications journey passed');
} finally {
  await browser.close();
}

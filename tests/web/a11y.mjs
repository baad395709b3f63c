// Accessibility of the web app (issue 28 items 3 and 4), in Debian's Chromium through the
// project's nginx (deploy/nginx/bsocial.conf), as users run it:
//   - axe-core (web/ devDependency) on every main page: login, register, feed (empty and
//     with a post and its comments open), post, profile, people, followers, notifications,
//     analytics and the read-only post (as an administrator), "page not found", sessions: no
//     violation of impact "serious" or "critical" (the others are printed);
//   - keyboard: from a fresh load the first Tab reaches the skip link, the second the top
//     bar; the skip link moves the focus to the page's heading; every route change (a link,
//     logging in, the back button) focuses the new page's <h1 tabindex=-1>; the comment box
//     says its shortcut (Ctrl+Enter) on screen and in aria-describedby, and the shortcut
//     and the button both send;
//   - analytics: an administrator who follows nobody opens someone's post read-only from
//     "Post not found"; a non-administrator does not get that page.
//
// Started by tests/web/test_web_e2e.py::test_accessibility_through_nginx, which passes:
//   BSOCIAL_WEB_URL        nginx's origin
//   BSOCIAL_SCREENSHOT_DIR where to write screenshots
//   BSOCIAL_ADMIN          the username of an administrator (`bsocial admin grant`)
//   BSOCIAL_ADMIN_PASSWORD its password (the harness registered and granted it)
//   CHROMIUM               optional, default /usr/bin/chromium
// Exit code 0 = every check passed.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { T, expectText, launch, visible, watch } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = path.resolve(here, '..', '..', 'web');
const AXE = readFileSync(createRequire(path.join(webDir, 'package.json')).resolve('axe-core/axe.min.js'), 'utf8');

const BASE = (process.env.BSOCIAL_WEB_URL ?? '').replace(/\/$/, '');
const SHOTS = process.env.BSOCIAL_SCREENSHOT_DIR;
const ADMIN = process.env.BSOCIAL_ADMIN;
const ADMIN_PASSWORD = process.env.BSOCIAL_ADMIN_PASSWORD;
if (!BASE || !SHOTS || !ADMIN || !ADMIN_PASSWORD) {
  console.error('BSOCIAL_WEB_URL, BSOCIAL_SCREENSHOT_DIR, BSOCIAL_ADMIN and BSOCIAL_ADMIN_PASSWORD must be set');
  process.exit(2);
}
mkdirSync(SHOTS, { recursive: true });
const step = (msg) => console.log(`[a11y] ${msg}`);

const problems = []; // CSP violations, uncaught errors, dialogs
const audits = []; // [page name, serious/critical violations]
const tag = randomBytes(4).toString('hex');

/** axe-core on the page as it is now. Injected through the DevTools protocol (page.evaluate),
 * which the page's CSP (script-src 'self') does not govern; the app itself is unchanged. */
async function audit(page, name) {
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(1, 2).join(' ')}`),
    }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of violations) step(`  ${name}: ${v.impact} ${v.id} (${v.help}) ${v.nodes.join(' | ')}`);
  step(`axe ${name}: ${violations.length} violation(s), ${bad.length} serious or critical`);
  audits.push([name, bad]);
  if (bad.length) await page.screenshot({ path: path.join(SHOTS, `a11y-${name}.png`), fullPage: true });
}

/** What has the focus: "tag#id.class 'text'". */
function focused(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    if (!e || e === document.body) return 'body';
    return `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.className ? `.${String(e.className).split(' ').join('.')}` : ''} '${(e.textContent ?? '').trim().slice(0, 40)}'`;
  });
}

/** Waits until the focus is on the view's <h1> with `text`. */
async function headingFocused(page, text) {
  const deadline = Date.now() + T;
  for (;;) {
    const ok = await page.evaluate((t) => {
      const e = document.activeElement;
      return !!e && e.tagName === 'H1' && e.closest('.view') !== null && e.getAttribute('tabindex') === '-1' && (e.textContent ?? '').includes(t);
    }, text);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the focus is not on the heading "${text}" but on ${await focused(page)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function register(page, u) {
  await page.goto(`${BASE}/#/register`);
  await visible(page.locator('#register-form'));
  await page.fill('#f-first_name', u.first);
  await page.fill('#f-last_name', u.last);
  await page.fill('#f-username', u.username);
  await page.fill('#f-email', `${u.username}@example.com`);
  await page.fill('#f-password', u.password);
  await page.fill('#f-password_confirmation', u.password);
  await page.click('#register-form button[type=submit]');
  await visible(page.locator('#logout'));
}

const browser = await launch();
try {
  const ctxB = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const B = await ctxB.newPage();
  watch(B, 'bea', problems);

  // ---- logged out: keyboard from a fresh load, then the audits
  step(`login page at ${BASE}`);
  await B.goto(`${BASE}/#/login`);
  await visible(B.locator('#login-form'));
  await B.keyboard.press('Tab');
  assert.equal(await focused(B), "a#skip-link.skip-link 'Skip to main content'", 'the first Tab reaches the skip link');
  await visible(B.locator('#skip-link')); // shown when focused
  await B.keyboard.press('Tab');
  assert.match(await focused(B), /^a\.brand 'bSocial'/, 'the second Tab reaches the top bar');
  await B.keyboard.press('Shift+Tab');
  await B.keyboard.press('Enter');
  await headingFocused(B, 'Log in');
  await B.keyboard.press('Tab');
  assert.match(await focused(B), /^input#f-login/, 'after the skip link, Tab goes on in the page');
  await audit(B, 'login');
  await B.click('a[href="#/register"]');
  await headingFocused(B, 'Create');
  await audit(B, 'register');

  // ---- Bea registers: the route change after logging in focuses the feed's heading
  const bea = { username: `a11y_b_${tag}`, first: 'Bea', last: 'Keyboard', password: `bea ${tag} pass` };
  await register(B, bea);
  await headingFocused(B, 'Feed');
  step('after registering, the focus is on the heading "Feed"');
  await audit(B, 'feed-empty');

  // ---- the comment box: a visible hint, said to screen readers too; both ways send
  const text = `Accessible post ${tag}`;
  await B.fill('.post-composer textarea', text);
  await B.keyboard.press('Control+Enter');
  const post = B.locator('article.post', { hasText: text });
  await visible(post);
  const postId = await post.getAttribute('data-post-id');
  await post.locator('.comments-toggle').click();
  const box = post.locator('.comment-composer textarea');
  await visible(box);
  const hint = post.locator('.comment-composer .composer-hint');
  await expectText(hint, 'Ctrl+Enter to send');
  assert.ok(await hint.isVisible(), 'the shortcut hint is visible');
  const describedBy = (await box.getAttribute('aria-describedby')) ?? '';
  assert.ok(describedBy.split(' ').includes(await hint.getAttribute('id')), `aria-describedby="${describedBy}" names the hint`);
  await box.fill('First, with the keyboard');
  await box.press('Control+Enter');
  await expectText(post.locator('.comments-list .comment-content'), 'First, with the keyboard');
  await box.fill('Second, with the button');
  await post.locator('.comment-composer button[type=submit]').click();
  await expectText(post.locator('.comments-list .comment-content').nth(1), 'Second, with the button');
  await audit(B, 'feed-with-comments');

  // ---- route changes: a link, the top bar, the back button
  await post.locator('a.permalink').click();
  await headingFocused(B, 'Post');
  await visible(B.locator('.view article.post'));
  await audit(B, 'post');
  await B.click('a.me-link');
  await headingFocused(B, 'Bea Keyboard');
  await audit(B, 'profile');
  await B.click('#followers-count');
  await headingFocused(B, 'Followers');
  await audit(B, 'followers');
  await B.click('a[data-nav=people]');
  await headingFocused(B, 'People');
  await B.fill('#people-q', 'a11y_');
  await B.press('#people-q', 'Enter');
  await visible(B.locator('.view li, .view .user-row').first());
  await audit(B, 'people');
  await B.click('a[data-nav=notifications]');
  await headingFocused(B, 'Notifications');
  await expectText(B.locator('#stream-status'), 'Live');
  await audit(B, 'notifications');
  await B.goBack();
  await headingFocused(B, 'People');
  await B.goto(`${BASE}/#/no/such/page`);
  await headingFocused(B, 'Page not found');
  await audit(B, 'not-found');
  await B.goto(`${BASE}/#/sessions`);
  await headingFocused(B, 'Sessions');
  await visible(B.locator('.session-item'));
  await audit(B, 'sessions');

  // ---- a fresh load while logged in: Tab reaches the skip link, then the top bar
  await B.goto(`${BASE}/#/feed`);
  await B.reload();
  await visible(B.locator('#logout'));
  await B.keyboard.press('Tab');
  assert.equal(await focused(B), "a#skip-link.skip-link 'Skip to main content'", 'logged in: the first Tab reaches the skip link');
  await B.keyboard.press('Tab');
  assert.match(await focused(B), /^a\.brand/, 'logged in: the second Tab reaches the top bar');
  await B.keyboard.press('Tab');
  assert.match(await focused(B), /^a\.active 'Feed'|^a 'Feed'/, 'then the navigation');

  // ---- the administrator, who follows nobody: analytics and Bea's post, read-only
  const ctxA = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const A = await ctxA.newPage();
  watch(A, 'admin', problems);
  await A.goto(`${BASE}/#/login`);
  await visible(A.locator('#login-form'));
  await A.fill('#f-login', ADMIN);
  await A.fill('#f-password', ADMIN_PASSWORD);
  await A.click('#login-form button[type=submit]');
  await visible(A.locator('#logout'));
  await A.click('#nav-analytics');
  await headingFocused(A, 'Analytics');
  await visible(A.locator('#q3'));
  await A.fill('#analytics-user', bea.username);
  await A.click('.user-search button[type=submit]');
  await expectText(A.locator('#q3 [role=status]'), /\S/); // the search engine's answer or its absence
  await audit(A, 'analytics');
  await A.goto(`${BASE}/#/post/${postId}`);
  await expectText(A.locator('.view .card.empty h2'), 'Post not found');
  await A.click('text=Open it read-only');
  await headingFocused(A, 'Post (read-only)');
  await expectText(A.locator('#analytics-post .post-content'), text);
  await expectText(A.locator('#analytics-post'), '2 comments');
  assert.equal(await A.locator('#analytics-post textarea').count(), 0, 'the read-only view has no comment box');
  await audit(A, 'analytics-post');
  await A.screenshot({ path: path.join(SHOTS, 'a11y-analytics-post.png'), fullPage: true });
  // Bea is no administrator: the route does not exist for her
  await B.goto(`${BASE}/#/analytics/post/${postId}`);
  await headingFocused(B, 'Page not found');

  const failed = audits.filter(([, bad]) => bad.length > 0);
  assert.deepEqual(
    failed.map(([name, bad]) => `${name}: ${bad.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.join(' | ')})`).join('; ')}`),
    [],
    'serious or critical accessibility violations',
  );
  assert.deepEqual(problems, [], `problems seen in the browser:\n${problems.join('\n')}`);
  step(`passed: ${audits.length} pages audited`);
} finally {
  await browser.close();
}

// Browser test of the web app's Analytics page (administrators only), driven by
// playwright-core against Debian's Chromium (/usr/bin/chromium; no browser is downloaded).
//
// Started by tests/telemetry/test_queries_e2e.py::test_browser_analytics_page, whose server
// has the telemetry suite's data indexed (Kafka -> telemetry -> the search engine) and
// serves web/dist. It passes:
//   BSOCIAL_WEB_URL          the app's origin
//   BSOCIAL_SCREENSHOT_DIR   where analytics-desktop.png and analytics-phone.png go
//   BSOCIAL_ADMIN            JSON {"login", "password"} of an administrator (BSOCIAL_ADMINS)
//   BSOCIAL_OTHER            JSON {"login", "password"} of someone who is not
//   BSOCIAL_EXPECT           JSON {"points": 30, "day": "YYYY-MM-DD", "ranking": [post ids],
//                             "user": username, "best": post id, "worst": post id,
//                             "tie": {"user", "oldest", "newest"}, "single": {"user", "post"}}
//   CHROMIUM                 optional, default /usr/bin/chromium
// Exit code 0 = every check passed.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = path.resolve(here, '..', '..', 'web');
const { chromium } = createRequire(path.join(webDir, 'package.json'))('playwright-core');

const BASE = (process.env.BSOCIAL_WEB_URL ?? '').replace(/\/$/, '');
const SHOTS = process.env.BSOCIAL_SCREENSHOT_DIR ?? path.join(here, 'screenshots');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ADMIN = JSON.parse(process.env.BSOCIAL_ADMIN ?? 'null');
const OTHER = JSON.parse(process.env.BSOCIAL_OTHER ?? 'null');
const EXPECT = JSON.parse(process.env.BSOCIAL_EXPECT ?? 'null');
const T = 15_000;

if (!BASE || !ADMIN || !OTHER || !EXPECT) {
  console.error('BSOCIAL_WEB_URL, BSOCIAL_ADMIN, BSOCIAL_OTHER and BSOCIAL_EXPECT must be set');
  process.exit(2);
}
mkdirSync(SHOTS, { recursive: true });

const problems = []; // CSP violations, uncaught errors: checked at the end
const t0 = Date.now();
function step(msg) {
  console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
}

function watch(page, who) {
  page.on('console', (msg) => {
    if (/Content Security Policy|Refused to (execute|load|apply|connect)/i.test(msg.text())) {
      problems.push(`${who}: CSP violation: ${msg.text()}`);
    }
  });
  page.on('pageerror', (err) => problems.push(`${who}: uncaught error: ${err.message}`));
}

async function logIn(page, who) {
  await page.goto(`${BASE}/#/login`);
  await page.locator('#login-form').waitFor({ timeout: T });
  await page.fill('#f-login', who.login);
  await page.fill('#f-password', who.password);
  await page.click('#login-form button[type=submit]');
  await page.locator('#logout').waitFor({ timeout: T });
}

/** Opens Analytics from the top bar and checks the three parts; returns the page. */
async function checkAnalytics(page, who) {
  await page.locator('#nav-analytics').click({ timeout: T });
  await page.locator('#logins-chart[data-points] canvas').waitFor({ timeout: T });

  // Q1: one point per day of the range (the default: 30 days)
  const points = Number(await page.locator('#logins-chart').getAttribute('data-points'));
  assert.equal(points, EXPECT.points, `${who}: the chart has ${points} points`);
  assert.equal(await page.locator('#logins-table tbody tr').count(), EXPECT.points);
  const lastRow = await page.locator('#logins-table tbody tr').last().locator('td').allTextContents();
  assert.deepEqual(lastRow, [EXPECT.day, String(EXPECT.todayLogins)], `${who}: today's row`);

  // Q2: today's ranking, in the API's order, one bar per post
  const today = page.locator(`section.ranking[data-day="${EXPECT.day}"] li.rank-row`);
  await today.first().waitFor({ timeout: T });
  const ids = await today.evaluateAll((rows) => rows.map((r) => r.dataset.postId));
  assert.deepEqual(ids, EXPECT.ranking, `${who}: today's ranking`);
  assert.equal(await page.locator(`section.ranking[data-day="${EXPECT.day}"] meter`).count(), EXPECT.ranking.length);
  const ranks = await today.locator('.rank-no').allTextContents();
  assert.deepEqual(ranks, EXPECT.ranking.map((_, i) => String(i + 1)));

  // Q3: search a user, two cards linking to the posts
  await page.fill('#analytics-user', EXPECT.user);
  await page.click('.user-search button[type=submit]');
  const best = page.locator('.extreme[data-which="best"]');
  await best.waitFor({ timeout: T });
  assert.equal(await best.getAttribute('data-post-id'), EXPECT.best);
  assert.equal(await page.locator('.extreme[data-which="worst"]').getAttribute('data-post-id'), EXPECT.worst);
  // the cards open the read-only view of any post (the admin need not follow the author)
  assert.equal(await best.locator('a').getAttribute('href'), `#/analytics/post/${EXPECT.best}`);
  assert.match(await page.locator('#q3 [role=status]').textContent(), /most and the fewest comments/);

  // Issue 28: equal counts are not "best" and "worst"; two posts, never the same one twice
  await page.fill('#analytics-user', EXPECT.tie.user);
  await page.click('.user-search button[type=submit]');
  const tie = page.locator('.extremes.tie');
  await tie.waitFor({ timeout: T });
  assert.equal(await tie.locator('.extreme[data-which="best"]').getAttribute('data-post-id'), EXPECT.tie.oldest);
  assert.equal(await tie.locator('.extreme[data-which="worst"]').getAttribute('data-post-id'), EXPECT.tie.newest);
  assert.deepEqual(await tie.locator('h3').allTextContents(), ['Oldest post', 'Newest post']);
  assert.equal(await tie.locator('.extreme-count').first().textContent(), 'Every post has 1 comment');
  assert.match(await page.locator('#q3 [role=status]').textContent(), /every post has the same number of comments/);

  await page.fill('#analytics-user', EXPECT.single.user);
  await page.click('.user-search button[type=submit]');
  await page.locator(`.extremes.tie .extreme[data-post-id="${EXPECT.single.post}"]`).waitFor({ timeout: T });
  assert.equal(await page.locator('.extremes .extreme').count(), 1, 'one post: one card');
  assert.equal(await page.locator('.extremes .extreme-count').textContent(), 'No comments yet');
  assert.match(await page.locator('#q3 [role=status]').textContent(), /no comments yet on any post/);

  await page.fill('#analytics-user', 'nobody_here_at_all');
  await page.click('.user-search button[type=submit]');
  await page.locator('#q3 [role=status]', { hasText: 'No figures for @nobody_here_at_all' }).waitFor({ timeout: T });
  assert.doesNotMatch(await page.locator('#q3 [role=status]').textContent(), /index/i);

  // back to alice's, and open the best post read-only
  await page.fill('#analytics-user', EXPECT.user);
  await page.click('.user-search button[type=submit]');
  await page.locator(`.extreme[data-which="best"][data-post-id="${EXPECT.best}"]`).waitFor({ timeout: T });
  await page.locator('.extreme[data-which="best"] a').click();
  await page.locator(`#analytics-post[data-post-id="${EXPECT.best}"] .post-content`).waitFor({ timeout: T });
  await page.goBack();
  await page.locator('#q3').waitFor({ timeout: T });
  step(`${who}: chart ${points} points, ranking ${ids.join(',')}, best ${EXPECT.best}, worst ${EXPECT.worst}`);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
step(`chromium ${browser.version()} against ${BASE}`);

try {
  // Desktop
  const desk = await browser.newContext({ viewport: { width: 1100, height: 900 }, timezoneId: 'UTC' });
  const D = await desk.newPage();
  watch(D, 'desktop');
  await logIn(D, ADMIN);
  await checkAnalytics(D, 'desktop');
  await D.evaluate(() => window.scrollTo(0, 0)); // the sticky top bar at the top of the shot
  await D.screenshot({ path: path.join(SHOTS, 'analytics-desktop.png'), fullPage: true, animations: 'disabled' });

  // Phone (iPhone-sized): same checks, nothing wider than the screen
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, timezoneId: 'UTC',
  });
  const P = await phone.newPage();
  watch(P, 'phone');
  await logIn(P, ADMIN);
  await checkAnalytics(P, 'phone');
  const overflow = await P.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the phone page is ${overflow}px wider than the screen`);
  const chartWidth = await P.locator('#logins-chart canvas').evaluate((c) => c.getBoundingClientRect().width);
  assert.ok(chartWidth <= 390 && chartWidth >= 250, `chart width on the phone: ${chartWidth}`);
  await P.evaluate(() => window.scrollTo(0, 0));
  await P.screenshot({ path: path.join(SHOTS, 'analytics-phone.png'), fullPage: true, animations: 'disabled' });

  // Anyone else: no Analytics link, and the page does not exist for them
  const other = await browser.newContext({ viewport: { width: 1100, height: 800 }, timezoneId: 'UTC' });
  const O = await other.newPage();
  watch(O, 'non-admin');
  await logIn(O, OTHER);
  assert.equal(await O.locator('#nav-analytics').count(), 0, 'a non-admin sees the Analytics link');
  await O.goto(`${BASE}/#/analytics`);
  await O.locator('.view h1').filter({ hasText: 'Page not found' }).waitFor({ timeout: T });

  assert.deepEqual(problems, [], `problems seen in the browser:\n${problems.join('\n')}`);
  step('analytics page passed');
} finally {
  await browser.close();
}

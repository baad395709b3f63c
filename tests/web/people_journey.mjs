// Finding people and owning your sessions (issue 28), in Debian's Chromium against the real
// backend (tests/web/test_web_e2e.py::test_people_journey passes BSOCIAL_WEB_URL,
// BSOCIAL_SCREENSHOT_DIR, CHROMIUM):
//   - a new user's empty feed shows suggestions of whom to follow (active, followed authors);
//   - People: a search by a last name written without its accent and in capitals
//     ("OSTERGAARD…") finds "Østergaard…", and the Follow button of the result row follows
//     (the profile then says Unfollow; the post count is shown);
//   - Sessions: logged in from two browsers, the page lists both (this one marked), and
//     "Log out everywhere else" ends the other: that browser is sent to the login page.
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
const step = (msg) => console.log(`[people] ${msg}`);
const problems = [];
const tag = randomBytes(3).toString('hex').replace(/[0-9]/g, (d) => 'ghijklmnop'[Number(d)]); // letters only
const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `people-${name}.png`), fullPage: true });

async function apiCall(method, p, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(`${BASE}/api/v1${p}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${p} -> ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function newUser(username, first, last) {
  const password = `pw-${randomBytes(8).toString('hex')}`;
  await apiCall('POST', '/users', { first_name: first, last_name: last, username, email: `${username}@example.com`, password, password_confirmation: password });
  const s = await apiCall('POST', '/sessions', { login: username, password });
  return { username, password, token: s.token };
}

async function loginUi(page, u) {
  await page.goto(`${BASE}/#/login`);
  await visible(page.locator('#login-form'));
  await page.fill('#f-login', u.username);
  await page.fill('#f-password', u.password);
  await page.click('#login-form button[type=submit]');
  await visible(page.locator('#logout'));
}

// ---- the people in this story, made through the API
const soren = await newUser(`soren_${tag}`, 'Søren', `Østergaard${tag}`);
const author = await newUser(`author_${tag}`, 'Active', 'Author');
for (let i = 0; i < 3; i++) {
  const fan = await newUser(`fan${i}_${tag}`, 'Fan', `Number${i}`);
  await apiCall('PUT', `/users/me/following/${author.username}`, null, fan.token);
}
await apiCall('POST', '/posts', { content: 'An active author writes.' }, author.token);
const mia = await newUser(`mia_${tag}`, 'Mia', 'Newcomer');

const browser = await launch();
try {
  const ctxA = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const A = await ctxA.newPage();
  watch(A, 'mia-laptop', problems);
  step('a new user: the empty feed suggests whom to follow');
  await loginUi(A, mia);
  await visible(A.locator('.empty .suggestions .user-item'));
  const suggested = await A.locator('.empty .suggestions .user-item .muted').allTextContents();
  assert.ok(suggested.length > 0, 'at least one suggestion on the empty feed');
  await shot(A, 'empty-feed-suggestions');

  step('People: a last name without its accent, in capitals, finds Østergaard');
  await A.click('a[data-nav=people]');
  await visible(A.locator('#people-q'));
  await visible(A.locator('.suggestions .user-item')); // who to follow on the People page too
  await A.fill('#people-q', `OSTERGAARD${tag}`);
  await A.press('#people-q', 'Enter');
  const row = A.locator(`.user-item:has(a[data-username="${soren.username}"])`);
  await visible(row);
  await expectText(row.locator('.author-name'), `Søren Østergaard${tag}`);
  assert.equal(await A.locator('.view .user-list:not(.suggestions .user-list) .user-item').count(), 1, 'exactly one result');
  step('follow from the list');
  const btn = row.locator(`button[data-follow="${soren.username}"]`);
  await expectText(btn, 'Follow');
  await btn.click();
  await expectText(btn, 'Unfollow');
  await shot(A, 'search-followed');
  await row.locator('a.user-row').click();
  await expectText(A.locator('#follow-button'), 'Unfollow');
  await expectText(A.locator('#post-count'), '0 posts');

  step('sessions: a second browser logs in as Mia');
  const ctxB = await browser.newContext({ viewport: { width: 420, height: 800 } });
  const B = await ctxB.newPage();
  watch(B, 'mia-phone', problems);
  await loginUi(B, mia);
  await A.click('#nav-sessions');
  await visible(A.locator('.session-item'));
  // Mia's API login (newUser), the laptop and the phone
  await expectText(A.locator('[role=status]'), /logged in on 3 devices/);
  assert.equal(await A.locator('.session-item[data-current=true]').count(), 1, 'this session marked');
  await expectText(A.locator('.session-item[data-current=true]'), 'This device');
  await shot(A, 'sessions-three');
  step('log out everywhere else');
  await A.click('#end-other-sessions');
  await expectText(A.locator('[role=status]'), 'You are logged in on this device only.');
  assert.equal(await A.locator('.session-item').count(), 1);
  // the phone is logged out: its next request is refused and it lands on the login page
  await B.reload();
  await visible(B.locator('#login-form'));
  await shot(B, 'phone-logged-out');
  // the laptop still works
  await A.click('a[data-nav=feed]');
  await visible(A.locator('#logout'));
  const r = await fetch(`${BASE}/api/v1/users/me`, { headers: { Authorization: `Bearer ${mia.token}` } });
  assert.equal(r.status, 401, 'the API session was ended too');
  assert.deepEqual(problems, [], 'no CSP violation, uncaught error or dialog');
  step('done');
} finally {
  await browser.close();
}

// Deletion in the browser (issue 27), driven by playwright-core against Debian's Chromium.
// Started by tests/web/test_web_deletion.py with BSOCIAL_WEB_URL, BSOCIAL_SCREENSHOT_DIR
// (and optionally CHROMIUM). Ada posts twice; Charles follows her and comments. Nobody sees
// Delete on what others wrote; Cancel keeps things; Charles deletes his comment (the count
// goes down, also for Ada after a reload); Ada deletes a post (the card says so, and the
// post is gone from both feeds and from her profile after a reload).

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import { T, expectText, launch, visible, watch } from './browser.mjs';

const BASE = (process.env.BSOCIAL_WEB_URL ?? '').replace(/\/$/, '');
const SHOTS = process.env.BSOCIAL_SCREENSHOT_DIR ?? '.';
if (!BASE) {
  console.error('BSOCIAL_WEB_URL is not set');
  process.exit(2);
}
mkdirSync(SHOTS, { recursive: true });
const problems = [];
let shotNo = 0;
async function shot(page, name) {
  shotNo += 1;
  await page.screenshot({ path: path.join(SHOTS, `deletion-${String(shotNo).padStart(2, '0')}-${name}.png`), fullPage: true });
}

async function register(page, u) {
  await page.goto(`${BASE}/#/register`);
  await visible(page.locator('#register-form'));
  for (const [field, value] of Object.entries({ first_name: u.first, last_name: u.last, username: u.username, email: u.email, password: u.password, password_confirmation: u.password })) {
    await page.fill(`#f-${field}`, value);
  }
  await page.click('#register-form button[type=submit]');
  await visible(page.locator('#logout'));
}

async function publish(page, text) {
  await page.fill('.post-composer textarea', text);
  await page.click('.post-composer button[type=submit]');
  await expectText(page.locator('.post-list article.post .post-content'), text);
}

const suffix = Date.now().toString(36);
const ada = { first: 'Ada', last: 'Lovelace', username: `ada_${suffix}`, email: `ada_${suffix}@example.com`, password: 'analytical engine' };
const charles = { first: 'Charles', last: 'Babbage', username: `charles_${suffix}`, email: `charles_${suffix}@example.com`, password: 'difference engine' };

const browser = await launch();
try {
  const A = await (await browser.newContext({ viewport: { width: 1000, height: 800 } })).newPage();
  const C = await (await browser.newContext({ viewport: { width: 1000, height: 800 } })).newPage();
  watch(A, 'ada', problems);
  watch(C, 'charles', problems);
  await register(A, ada);
  await register(C, charles);
  await publish(A, 'A post that stays.');
  await publish(A, 'A post I will regret.');
  await C.goto(`${BASE}/#/u/${ada.username}`);
  await C.click('#follow-button');
  await expectText(C.locator('#follow-button'), 'Unfollow');

  // Charles comments on the regretted post; he has no Delete on Ada's posts
  await C.goto(`${BASE}/#/feed`);
  const regretC = C.locator('article.post', { hasText: 'A post I will regret.' });
  await visible(regretC);
  assert.equal(await C.locator('article.post .post-actions .delete-action').count(), 0, "Delete shown on someone else's post");
  await regretC.locator('.comments-toggle').click();
  await regretC.locator('.comment-composer textarea').fill('A comment I will regret too.');
  await regretC.locator('.comment-composer button[type=submit]').click();
  await expectText(regretC.locator('.comments-list .comment-content'), 'A comment I will regret too.');
  await expectText(regretC.locator('.comments-toggle'), '1 comment');
  // Cancel keeps it; Delete (confirmed) removes it and the count goes down
  const mine = regretC.locator('.comments-list li.comment', { hasText: 'regret too' });
  await mine.locator('.delete-action').click();
  await expectText(mine.locator('.delete-control'), 'Delete this comment?');
  await shot(C, 'comment-confirm');
  await mine.locator('.delete-cancel').click();
  await visible(mine.locator('.delete-action'));
  await mine.locator('.delete-action').click();
  await mine.locator('.delete-confirm').click();
  await regretC.locator('.comments-list li.comment').first().waitFor({ state: 'detached', timeout: T });
  await expectText(regretC.locator('.comments-toggle'), 'Comment');
  await shot(C, 'comment-deleted');

  // Ada: no Delete on Charles's comment (there is none left); Delete on her own posts
  await A.goto(`${BASE}/#/feed`);
  await A.reload();
  const regretA = A.locator('article.post', { hasText: 'A post I will regret.' });
  await visible(regretA);
  await expectText(regretA.locator('.comments-toggle'), 'Comment'); // 0 comments after the reload
  await regretA.locator('.delete-action').click();
  await expectText(regretA.locator('.delete-control'), 'Delete this post?');
  await shot(A, 'post-confirm');
  await regretA.locator('.delete-confirm').click();
  // The card says "Post deleted.", or the live post.deleted (her own socket) has already
  // taken it out of the feed: either way the post's text is gone from the page.
  await A.locator('article.post', { hasText: 'A post I will regret.' }).waitFor({ state: 'detached', timeout: T });
  await shot(A, 'post-deleted');
  await A.reload();
  await visible(A.locator('article.post', { hasText: 'A post that stays.' }));
  assert.equal(await A.locator('article.post', { hasText: 'regret' }).count(), 0, 'the deleted post is back after a reload');
  await A.goto(`${BASE}/#/u/${ada.username}`);
  await visible(A.locator('article.post', { hasText: 'A post that stays.' }));
  assert.equal(await A.locator('article.post', { hasText: 'regret' }).count(), 0, 'the deleted post is on her profile');
  await C.reload();
  await visible(C.locator('article.post', { hasText: 'A post that stays.' }));
  assert.equal(await C.locator('article.post', { hasText: 'regret' }).count(), 0, "the deleted post is in Charles's feed");

  assert.deepEqual(problems, [], `problems seen in the browser:\n${problems.join('\n')}`);
  console.log('deletion journey passed');
} finally {
  await browser.close();
}

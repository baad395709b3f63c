// The Analytics page (administrators only: the app shows it when GET /api/v1/users/me says
// `is_admin`, and the API answers 404 to anyone else). The three stored queries:
//   Q1 logged-in users per day: a uPlot line chart, with a day range and a time zone picker;
//   Q2 the top 10 commented posts of each day: ranked lists, a small bar per post;
//   Q3 a user's best and worst post: a user search and two cards linking to the posts.
// uPlot draws on a canvas and sets sizes through the CSSOM (allowed by `style-src 'self'`);
// its stylesheet is bundled into the app's CSS file. A hidden table carries Q1's numbers
// for screen readers (and for the browser test, which counts its rows).

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

import {
  api,
  ApiError,
  type AnalyticsExtremes,
  type AnalyticsLogins,
  type AnalyticsPost,
  type AnalyticsRankedPost,
  type AnalyticsTopPosts,
} from '../api';
import type { Ctx } from '../ctx';
import { h, plural, replace, timeAgo } from '../dom';
import { dirAuto } from '../text';

const LOGIN_RANGES = [7, 30, 90];
const TOP_RANGES = [1, 7, 10];

/** The zones of the picker: the browser's own first, then UTC, then every IANA zone. */
function timeZones(): string[] {
  const own = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const all = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return [...new Set([own, 'UTC', ...all])];
}

function select(name: string, label: string, options: (string | number)[], value: string | number): HTMLSelectElement {
  const el = h('select', { name, id: `analytics-${name}`, aria: { label } });
  for (const o of options) {
    const opt = h('option', { value: String(o) }, typeof o === 'number' ? plural(o, 'day', 'days') : o);
    opt.selected = String(o) === String(value);
    el.appendChild(opt);
  }
  return el;
}

function failure(e: unknown): string {
  if (e instanceof ApiError && e.status === 503) return `Analytics are unavailable: ${e.message}`;
  return e instanceof ApiError ? e.friendly : 'Could not load the analytics.';
}

// ---------------------------------------------------------------- Q1: the line chart

/** The day "YYYY-MM-DD" as seconds at 00:00 UTC (uPlot's x values; labels are read in UTC). */
function daySeconds(day: string): number {
  return Date.parse(`${day}T00:00:00Z`) / 1000;
}

function loginsChart(host: HTMLElement, data: AnalyticsLogins): uPlot {
  const xs = data.days.map((d) => daySeconds(d.day));
  const ys = data.days.map((d) => d.logged_in_users);
  const width = Math.max(260, host.clientWidth);
  const opts: uPlot.Options = {
    width,
    height: width < 500 ? 200 : 260,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: { y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil(max * 1.15))] } },
    axes: [{}, { label: 'users', size: 50 }],
    series: [
      { label: 'day', value: (_u, v) => (v == null ? '' : new Date(v * 1000).toISOString().slice(0, 10)) },
      { label: 'logged-in users', stroke: '#3b5bdb', fill: 'rgba(59, 91, 219, 0.12)', width: 2, points: { show: true, size: 6 } },
    ],
  };
  return new uPlot(opts, [xs, ys], host);
}

function loginsTable(data: AnalyticsLogins): HTMLTableElement {
  return h(
    'table',
    { class: 'sr-only', id: 'logins-table' },
    h('caption', null, `Logged-in users per day (${data.tz})`),
    h('thead', null, h('tr', null, h('th', null, 'day'), h('th', null, 'logged-in users'))),
    h('tbody', null, ...data.days.map((d) => h('tr', null, h('td', null, d.day), h('td', null, d.logged_in_users)))),
  );
}

// ---------------------------------------------------------------- Q2: the rankings

/** The read-only view of any post (GET /api/v1/analytics/posts/{id}): the ordinary post
 * page keeps the visibility rule, and an administrator need not follow the author. */
export function postHref(id: string): string {
  return `#/analytics/post/${encodeURIComponent(id)}`;
}

function rankedPost(p: AnalyticsRankedPost, best: number): HTMLElement {
  const bar = h('meter', { class: 'rank-bar', aria: { label: `${p.comments} comments that day` } });
  bar.min = 0;
  bar.max = Math.max(best, 1);
  bar.value = p.comments;
  return h(
    'li',
    { class: 'rank-row', dataset: { postId: p.post_id } },
    h('span', { class: 'rank-no' }, `${p.rank}`),
    h(
      'span',
      { class: 'rank-text' },
      dirAuto(h('a', { href: postHref(p.post_id), class: 'rank-excerpt' }, p.excerpt ?? `post ${p.post_id}`)),
      h('span', { class: 'muted small' }, p.author ? `@${p.author}` : 'unknown author', p.comment_count === null ? '' : ` · ${plural(p.comment_count, 'comment', 'comments')} in all`),
    ),
    h('span', { class: 'rank-count' }, bar, h('span', { class: 'small' }, `${p.comments}`)),
  );
}

function rankings(data: AnalyticsTopPosts): HTMLElement {
  const days = [...data.days].reverse(); // newest first
  return h(
    'div',
    { class: 'rankings' },
    ...days.map((d) => {
      const best = d.posts.reduce((m, p) => Math.max(m, p.comments), 0);
      return h(
        'section',
        { class: 'ranking', dataset: { day: d.day } },
        h('h3', null, d.day),
        d.posts.length === 0
          ? h('p', { class: 'muted small' }, 'No comments that day.')
          : h('ol', { class: 'rank-list' }, ...d.posts.map((p) => rankedPost(p, best))),
      );
    }),
  );
}

// ---------------------------------------------------------------- Q3: the two cards

function postCard(title: string, which: string, p: AnalyticsPost | null, count?: string): HTMLElement {
  if (!p) return h('div', { class: 'card extreme', dataset: { which } }, h('h3', null, title), h('p', { class: 'muted' }, 'No post.'));
  return h(
    'div',
    { class: 'card extreme', dataset: { which, postId: p.post_id } },
    h('h3', null, title),
    h('p', { class: 'extreme-count' }, count ?? plural(p.comments, 'comment', 'comments')),
    dirAuto(h('p', { class: 'post-content' }, p.excerpt ?? `post ${p.post_id}`)),
    h('p', { class: 'muted small' }, p.created_at ? timeAgo(p.created_at) : '', p.author ? ` · @${p.author}` : ''),
    h('a', { href: postHref(p.post_id), class: 'btn btn-secondary' }, 'Open the post'),
  );
}

function extremes(data: AnalyticsExtremes): HTMLElement {
  const { best, worst } = data;
  // One post, or every post with the same count: "best" and "worst" would mean nothing.
  if (best && worst && (best.post_id === worst.post_id || best.comments === worst.comments)) {
    const title = best.comments === 0 ? 'No comments yet' : `Every post has ${plural(best.comments, 'comment', 'comments')}`;
    const single = best.post_id === worst.post_id;
    return h(
      'div',
      { class: 'extremes tie', dataset: { tie: String(best.comments) } },
      postCard(single ? 'The only post' : 'Oldest post', 'best', best, title),
      single ? null : postCard('Newest post', 'worst', worst, title),
    );
  }
  return h('div', { class: 'extremes' }, postCard('Best post', 'best', best), postCard('Worst post', 'worst', worst));
}

// ---------------------------------------------------------------- the page

export function renderAnalytics(root: HTMLElement, ctx: Ctx): () => void {
  document.title = 'Analytics · bSocial';
  const zones = timeZones();
  const tz = select('tz', 'Time zone', zones, zones[0] ?? 'UTC');
  const loginDays = select('login-days', 'Logins: day range', LOGIN_RANGES, 30);
  const topDays = select('top-days', 'Top posts: day range', TOP_RANGES, 10);

  const chartHost = h('div', { class: 'chart', id: 'logins-chart' });
  const chartStatus = h('p', { class: 'muted small', role: 'status' });
  const tableHost = h('div');
  const topHost = h('div', { id: 'top-posts' });
  const topStatus = h('p', { class: 'muted small', role: 'status' });

  const userInput = h('input', { type: 'search', name: 'username', id: 'analytics-user', placeholder: 'username', autocomplete: 'off', aria: { label: 'Username' } });
  const suggestions = h('datalist', { id: 'analytics-user-list' });
  userInput.setAttribute('list', 'analytics-user-list');
  const userHost = h('div', { id: 'user-extremes' });
  const userStatus = h('p', { class: 'muted small', role: 'status' });

  let chart: uPlot | null = null;
  let closed = false;
  let loginsSeq = 0;
  let topSeq = 0;

  async function loadLogins(): Promise<void> {
    const seq = ++loginsSeq;
    chartStatus.textContent = 'Loading…';
    try {
      const data = await api.analyticsLogins(Number(loginDays.value), tz.value);
      if (closed || seq !== loginsSeq) return;
      chart?.destroy();
      replace(chartHost);
      chart = loginsChart(chartHost, data);
      chartHost.dataset.points = String(chart.data[0]?.length ?? 0);
      replace(tableHost, loginsTable(data));
      const busiest = data.days.reduce((m, d) => Math.max(m, d.logged_in_users), 0);
      chartStatus.textContent = `${plural(data.days.length, 'day', 'days')} in ${data.tz}; at most ${plural(busiest, 'user', 'users')} a day.`;
    } catch (e) {
      if (closed || seq !== loginsSeq) return;
      chartStatus.textContent = failure(e);
    }
  }

  async function loadTop(): Promise<void> {
    const seq = ++topSeq;
    topStatus.textContent = 'Loading…';
    try {
      const data = await api.analyticsTopPosts(Number(topDays.value), tz.value);
      if (closed || seq !== topSeq) return;
      replace(topHost, rankings(data));
      topStatus.textContent = `Newest day first, in ${data.tz}. The bar: comments that day.`;
    } catch (e) {
      if (closed || seq !== topSeq) return;
      topStatus.textContent = failure(e);
    }
  }

  async function loadUser(): Promise<void> {
    const name = userInput.value.trim();
    if (!name) return;
    userStatus.textContent = 'Loading…';
    replace(userHost);
    try {
      const data = await api.analyticsExtremes(name);
      if (closed) return;
      replace(userHost, extremes(data));
      const who = `@${data.username ?? name}`;
      const tie = !!data.best && !!data.worst && (data.best.post_id === data.worst.post_id || data.best.comments === data.worst.comments);
      userStatus.textContent = !data.best
        ? `${who} has not posted anything yet.`
        : tie
          ? data.best.comments === 0
            ? `${who}: no comments yet on any post.`
            : `${who}: every post has the same number of comments.`
          : `${who}: the posts with the most and the fewest comments, all time.`;
    } catch (e) {
      if (closed) return;
      userStatus.textContent =
        e instanceof ApiError && e.status === 404
          ? `No figures for @${name}: there is no such user, or nothing they did has been counted yet.`
          : failure(e);
    }
  }

  let suggestTimer: number | undefined;
  userInput.addEventListener('input', () => {
    window.clearTimeout(suggestTimer);
    const q = userInput.value.trim();
    if (!q) return;
    suggestTimer = window.setTimeout(() => {
      api
        .searchUsers(q)
        .then((page) => {
          if (!closed) replace(suggestions, ...page.items.map((u) => h('option', { value: u.username })));
        })
        .catch((e: unknown) => ctx.error(e));
    }, 250);
  });
  const userForm = h(
    'form',
    { class: 'user-search', on: { submit: (ev) => { ev.preventDefault(); void loadUser(); } } },
    userInput,
    suggestions,
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Show'),
  );

  tz.addEventListener('change', () => {
    void loadLogins();
    void loadTop();
  });
  loginDays.addEventListener('change', () => void loadLogins());
  topDays.addEventListener('change', () => void loadTop());

  // Redraw the chart at the card's width (phone rotation, window resize).
  const resize = new ResizeObserver(() => {
    if (chart && chartHost.clientWidth > 0 && Math.abs(chart.width - chartHost.clientWidth) > 4) {
      chart.setSize({ width: Math.max(260, chartHost.clientWidth), height: chartHost.clientWidth < 500 ? 200 : 260 });
    }
  });
  resize.observe(chartHost);

  root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Analytics'), h('label', { class: 'tz-picker' }, h('span', { class: 'small muted' }, 'Time zone'), tz)),
    h(
      'div',
      { class: 'card', id: 'q1' },
      h('div', { class: 'card-head' }, h('h2', null, 'Logged-in users per day'), loginDays),
      chartHost,
      chartStatus,
      tableHost,
    ),
    h('div', { class: 'card', id: 'q2' }, h('div', { class: 'card-head' }, h('h2', null, 'Most commented posts'), topDays), topStatus, topHost),
    h('div', { class: 'card', id: 'q3' }, h('h2', null, "A user's best and worst post"), userForm, userStatus, userHost),
  );
  void loadLogins();
  void loadTop();

  return () => {
    closed = true;
    resize.disconnect();
    window.clearTimeout(suggestTimer);
    chart?.destroy();
  };
}

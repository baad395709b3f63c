// User text and times, shown safely (issue 27, item "Text and time"):
//
// - `userText()` / `dirAuto()`: every element showing what a person wrote (posts,
//   comments, names) gets `dir="auto"`, so right-to-left text is laid out right-to-left
//   whatever the page's direction.
// - `linkify()`: http(s) URLs in a text become links built from DOM nodes (never HTML
//   parsing), `rel="noopener nofollow ugc"`, `target="_blank"`; any other scheme
//   (`javascript:`, `data:`, …) stays plain text.
// - `liveTime()` / `timeLink()`: relative times ("just now", "3 min", "2 h", "5 d", then the
//   date) in a `<time datetime>` with the absolute time as its title, refreshed by ONE timer
//   for the whole page (not one per element).
//
// No dependency on dom.ts (which re-exports `liveTime` as `timeAgo`).

export const LINK_REL = 'noopener nofollow ugc';

/** Sets `dir="auto"` (the browser picks the direction from the first strong character). */
export function dirAuto<T extends HTMLElement>(el: T): T {
  el.dir = 'auto';
  return el;
}

// A candidate: http:// or https:// then anything up to white space or a character that
// cannot be in a URL as people write them. Checked again with the URL parser below.
const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?'"»”’)\]}]+$/;

/** Trailing punctuation belongs to the sentence, a closing bracket only when unbalanced. */
function trimUrl(raw: string): string {
  let url = raw;
  for (;;) {
    const m = TRAILING.exec(url);
    if (!m) return url;
    const last = url[url.length - 1] as string;
    const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
    const open = pairs[last];
    if (open) {
      const opens = url.split(open).length - 1;
      const closes = url.split(last).length - 1;
      if (opens >= closes) return url; // "…/Foo_(bar)" keeps its parenthesis
    }
    url = url.slice(0, -1);
  }
}

/** The http(s) URL `candidate` names, or null (other schemes, no host, unparsable). */
export function safeHref(candidate: string): string | null {
  let u: URL;
  try {
    u = new URL(candidate);
  } catch {
    return null;
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || !u.hostname) return null;
  return u.href;
}

/** The text as text nodes, with each http(s) URL made a safe external link. */
export function linkify(text: string): Node[] {
  const out: Node[] = [];
  let at = 0;
  for (const m of text.matchAll(URL_RE)) {
    const start = m.index ?? 0;
    const raw = trimUrl(m[0]);
    const href = safeHref(raw);
    if (!href) continue;
    if (start > at) out.push(document.createTextNode(text.slice(at, start)));
    const a = document.createElement('a');
    a.href = href;
    a.rel = LINK_REL;
    a.target = '_blank';
    a.className = 'ext-link';
    a.textContent = raw; // shown as written; the href is the parsed, normalised URL
    out.push(a);
    at = start + raw.length;
  }
  if (at < text.length || out.length === 0) out.push(document.createTextNode(text.slice(at)));
  return out;
}

/** An element showing user text: `dir="auto"`, links made clickable (see linkify). */
export function userText<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const el = dirAuto(document.createElement(tag));
  if (className) el.className = className;
  el.append(...linkify(text));
  return el;
}

// ------------------------------------------------------------------ times

const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const sameYear = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const otherYear = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });

/** "just now", "3 min", "2 h", "5 d", then the date ("Mar 5", "Mar 5, 2025"). */
export function shortRelative(then: Date, now: Date = new Date()): string {
  const s = Math.round((now.getTime() - then.getTime()) / 1000);
  if (Number.isNaN(s)) return '';
  if (s < 45) return 'just now'; // also a time slightly ahead of this clock
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  const hours = Math.round(s / 3600);
  if (hours < 24) return `${hours} h`;
  const days = Math.round(s / 86400);
  if (days < 7) return `${days} d`;
  return (then.getFullYear() === now.getFullYear() ? sameYear : otherYear).format(then);
}

const TICK_MS = 15000;
let ticker: number | undefined;

/** Refreshes every live time on the page (the one timer calls this). */
export function refreshTimes(now: Date = new Date()): void {
  for (const el of document.querySelectorAll<HTMLTimeElement>('time[data-live]')) {
    const text = shortRelative(new Date(el.dateTime), now);
    if (el.textContent !== text) el.textContent = text;
  }
}

function startTicker(): void {
  if (ticker !== undefined) return;
  ticker = window.setInterval(() => refreshTimes(), TICK_MS);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') refreshTimes();
  });
}

/** A relative time that stays current: `<time datetime title>` updated by the page timer. */
export function liveTime(iso: string): HTMLTimeElement {
  const d = new Date(iso);
  const el = document.createElement('time');
  el.dateTime = iso;
  el.title = Number.isNaN(d.getTime()) ? iso : absolute.format(d);
  el.dataset.live = '';
  el.textContent = shortRelative(d);
  startTicker();
  return el;
}

/** The time of a post, which is also its link (kept visible on a phone: see .byline). */
export function timeLink(href: string, iso: string, className = 'muted permalink'): HTMLAnchorElement {
  const a = document.createElement('a');
  a.href = href;
  a.className = className;
  a.append(liveTime(iso));
  return a;
}

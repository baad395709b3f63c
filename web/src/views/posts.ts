// Post cards (with their comments) and the composer, shared by the feed, a profile and
// the single-post page.

import { api, ApiError, LIMITS, type Comment, type Page, type Post } from '../api';
import type { Ctx } from '../ctx';
import { avatar, fullName, h, plural, replace, timeAgo } from '../dom';
import { pager } from '../pager';
import { addCommentDelete, addPostDelete, COMMENT_DELETED } from '../delete';
import { dirAuto, timeLink, userText } from '../text';

function authorLine(a: { username: string; first_name: string; last_name: string }, when: HTMLElement): HTMLElement {
  const profile = `#/u/${encodeURIComponent(a.username)}`;
  return h(
    'div',
    { class: 'byline' },
    avatar(a),
    h(
      'div',
      { class: 'byline-text' },
      dirAuto(h('a', { href: profile, class: 'author-name' }, fullName(a))),
      h('span', { class: 'muted' }, ` @${a.username} · `),
      when,
    ),
  );
}

let composers = 0;

/** A textarea with a live character counter, the keyboard shortcut's hint and a submit button. */
export function composer(opts: {
  placeholder: string;
  max: number;
  button: string;
  rows: number;
  className: string;
  submit: (text: string) => Promise<void>;
  ctx: Ctx;
}): HTMLFormElement {
  const id = `composer-${++composers}`;
  // The keyboard shortcut, said on screen and to screen readers (aria-describedby);
  // Enter alone makes a new line, the button sends too.
  const mac = /Mac|iPhone|iPad/.test(navigator.platform);
  const hint = h('span', { class: 'composer-hint muted small', id: `${id}-hint` }, `${mac ? '⌘' : 'Ctrl'}+Enter to send`);
  const ta = h('textarea', {
    name: 'content',
    rows: opts.rows,
    placeholder: opts.placeholder,
    aria: { label: opts.placeholder, describedby: `${id}-hint ${id}-counter` },
  });
  const counter = h('span', { class: 'counter muted', id: `${id}-counter` });
  const btn = h('button', { type: 'submit', class: 'btn btn-primary', disabled: true }, opts.button);
  const error = h('p', { class: 'field-error', hidden: true });
  const form = h('form', { class: `composer ${opts.className}` }, ta, error, h('div', { class: 'composer-bar' }, hint, counter, btn));
  const update = () => {
    const len = [...ta.value.trim()].length;
    counter.textContent = `${[...ta.value].length}/${opts.max}`;
    counter.classList.toggle('over', [...ta.value].length > opts.max);
    btn.disabled = len === 0 || [...ta.value].length > opts.max;
  };
  ta.addEventListener('input', update);
  ta.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (btn.disabled) return;
    error.hidden = true;
    btn.disabled = true;
    try {
      await opts.submit(ta.value.trim());
      ta.value = '';
    } catch (e) {
      if (e instanceof ApiError && e.fields.content) {
        error.textContent = `The text ${e.fields.content}.`;
        error.hidden = false;
      } else {
        opts.ctx.error(e);
      }
    }
    update();
  });
  update();
  return form;
}

function commentItem(c: Comment): HTMLElement {
  return h(
    'li',
    { class: 'comment', dataset: { commentId: c.id } },
    authorLine(c.author, timeAgo(c.created_at)),
    userText('p', c.content, 'comment-content'),
  );
}

/** The comments of a post, oldest at the top and the newest 50 shown first (one request,
 * however busy the post), "Show earlier comments" above them, and a form below: your own
 * comment shows at once at the bottom, where you are looking. While it is on screen the
 * post is watched: others' comments arrive live and deleted ones go (notifications.ts).
 * Returns the element and `watch()` (call it when the section is shown). */
function commentsSection(
  post: Post,
  ctx: Ctx,
  count: { add(delta: number): void; set(n: number): void },
): { el: HTMLElement; watch(): void } {
  const list = h('ul', { class: 'comments-list', aria: { live: 'polite', relevant: 'additions' } });
  const status = h('p', { class: 'muted small' }, 'Loading comments…');
  const seen = new Set<string>();
  const gone = new Set<string>(); // deleted while we looked: never shown again

  const shown = () => {
    status.hidden = seen.size > 0;
    status.textContent = 'No comments yet. Be the first.';
  };
  /** An older comment (a page of earlier ones comes newest first): at the top. */
  const addOlder = (c: Comment) => {
    if (seen.has(c.id) || gone.has(c.id)) return;
    seen.add(c.id);
    const li = commentItem(c);
    addCommentDelete(li, c, ctx);
    list.prepend(li);
  };
  /** A newer comment: at the bottom, after the ones already there. */
  const addNewer = (c: Comment): HTMLElement | null => {
    if (seen.has(c.id) || gone.has(c.id)) return null;
    seen.add(c.id);
    const li = commentItem(c);
    addCommentDelete(li, c, ctx);
    list.appendChild(li);
    shown();
    return li;
  };
  const earlier = pager<Comment>({
    label: 'Show earlier comments',
    className: 'btn btn-link earlier-comments',
    fetch: (cursor) => api.comments(post.id, cursor, 'newest'),
    show(items) {
      items.forEach(addOlder);
      if (earlier.atEnd && list.childElementCount === seen.size) count.set(seen.size); // all here: exact
      shown();
    },
    failed(e) {
      status.textContent = e instanceof ApiError ? e.friendly : 'Could not load the comments.';
      ctx.error(e);
    },
  });

  const form = composer({
    placeholder: 'Write a comment…',
    max: LIMITS.comment,
    button: 'Comment',
    rows: 2,
    className: 'comment-composer',
    ctx,
    submit: async (text) => {
      const c = await api.addComment(post.id, text);
      const li = addNewer(c); // null: it came live first
      if (li) {
        count.add(1);
        li.classList.add('comment-mine');
        li.scrollIntoView({ block: 'nearest' });
      }
    },
  });

  const el = h('div', { class: 'comments' }, earlier.button, status, list, form);
  let started = false; // the first page came: the section is on the page by then
  const unsubscribe = ctx.notifications.onLive((m) => {
    if (started && !el.isConnected) {
      unsubscribe(); // the view was left
      return;
    }
    if (m.type === 'comment.created' && m.comment.post_id === post.id) {
      if (addNewer(m.comment)) count.add(1);
    } else if (m.type === 'comment.deleted' && m.post_id === post.id) {
      gone.add(m.comment_id);
      const li = list.querySelector(`[data-comment-id="${CSS.escape(m.comment_id)}"]`);
      if (li) {
        li.remove();
        seen.delete(m.comment_id);
        count.add(-1);
        shown();
      }
    } else if (m.type === 'resync') {
      // after a reconnect: what came meanwhile (the newest page), dropping what we have
      api
        .comments(post.id, null, 'newest')
        .then((page) => {
          for (const c of [...page.items].reverse()) if (addNewer(c)) count.add(1);
        })
        .catch(() => undefined);
    }
  });
  void earlier.load(true).then(() => {
    started = true;
  });
  return {
    el,
    watch: () => ctx.notifications.watch(post.id),
  };
}

/** Each card's comment count setter: a list refreshes the counts of restored cards. */
const cardCounts = new WeakMap<Element, (n: number) => void>();

/** A post card. In a list (the feed, a profile) a deleted post leaves it live; on its own
 * page (`open`) it says so. */
export function postCard(post: Post, ctx: Ctx, opts: { open?: boolean } = {}): HTMLElement {
  let count = post.comment_count;
  const toggle = h('button', { type: 'button', class: 'btn btn-link comments-toggle', aria: { expanded: 'false' } });
  const setLabel = () => {
    toggle.textContent = count === 0 ? 'Comment' : plural(count, 'comment', 'comments');
  };
  setLabel();
  let section: { el: HTMLElement; watch(): void } | null = null;
  const card = h(
    'article',
    { class: 'card post', dataset: { postId: post.id } },
    authorLine(post.author, timeLink(`#/post/${post.id}`, post.created_at)),
    userText('p', post.content, 'post-content'),
    h('div', { class: 'post-actions' }, toggle),
  );
  const counter = {
    add(d: number) {
      count = Math.max(0, count + d);
      post.comment_count = count; // the list saves this object for Back and reload
      setLabel();
    },
    set(n: number) {
      count = n;
      post.comment_count = count;
      setLabel();
    },
  };
  cardCounts.set(card, counter.set);
  addPostDelete(card, post, ctx);
  card.addEventListener(COMMENT_DELETED, () => counter.add(-1));
  const open = () => {
    if (!section) {
      section = commentsSection(post, ctx, counter);
      card.appendChild(section.el);
    }
    section.el.hidden = false;
    section.watch();
    toggle.setAttribute('aria-expanded', 'true');
    card.classList.add('open');
  };
  toggle.addEventListener('click', () => {
    if (section && !section.el.hidden) {
      section.el.hidden = true;
      toggle.setAttribute('aria-expanded', 'false');
      card.classList.remove('open');
    } else {
      open();
      section?.el.querySelector('textarea')?.focus();
    }
  });
  const stop = ctx.notifications.onLive((m) => {
    if (!card.isConnected) {
      stop(); // the view was left (cards are on the page before any message can come)
      return;
    }
    if (m.type !== 'post.deleted' || m.post_id !== post.id) return;
    stop();
    if (opts.open) {
      card.replaceWith(
        h('div', { class: 'card empty post-deleted', role: 'status' }, h('h2', null, 'This post was deleted'), h('p', null, h('a', { href: '#/feed' }, 'Back to your feed'))),
      );
      ctx.notifications.watch(null);
    } else {
      card.remove();
    }
  });
  if (opts.open) open();
  return card;
}

/** What a list of posts keeps in sessionStorage, so that Back and a reload show the same
 * pages at the same place (the feed). */
interface SavedList {
  items: Post[];
  cursor: string | null;
  scrollY: number;
  /** The page's height when saved: the scroll offset is restored once it is as tall. */
  height: number;
}

const MAX_SAVED_ITEMS = 2000; // about 1 MB; deeper than that, Back starts at the top

function readSaved(key: string): SavedList | null {
  try {
    const raw = sessionStorage.getItem(key);
    if (!raw) return null;
    const v = JSON.parse(raw) as SavedList;
    return Array.isArray(v.items) ? v : null;
  } catch {
    return null;
  }
}

export interface PostListOptions {
  /** sessionStorage key: Back and reload restore the loaded pages and the scroll offset. */
  stateKey?: string;
  /** Followees' new posts arrive live: "N new posts" above the list (the feed). */
  live?: boolean;
}

/** A paged list of posts: infinite scroll (IntersectionObserver) with a "Load more" button
 * as the fallback; returns the element, prepend() (my new post), reload() and dispose(). */
export function postList(
  ctx: Ctx,
  fetchPage: (cursor: string | null) => Promise<Page<Post>>,
  empty: () => Node,
  opts: PostListOptions = {},
): { el: HTMLElement; prepend(p: Post): void; reload(): Promise<void>; dispose(): void } {
  const list = h('div', { class: 'post-list' });
  const status = h('div', { class: 'list-status' });
  let seen = new Set<string>();
  let items: Post[] = []; // what the list shows, in order (saved for Back/reload)
  const gone = new Set<string>();
  const pending = new Map<string, Post>(); // live new posts not shown yet
  const newPosts = h('button', { type: 'button', class: 'btn btn-primary new-posts', hidden: true, aria: { live: 'polite' } });
  const newPostsBar = h('div', { class: 'new-posts-bar' }, newPosts);

  const save = () => {
    if (!opts.stateKey || !list.isConnected) return;
    if (items.length > MAX_SAVED_ITEMS) {
      sessionStorage.removeItem(opts.stateKey);
      return;
    }
    const state: SavedList = {
      items,
      cursor: more.cursor,
      scrollY: window.scrollY,
      height: document.documentElement.scrollHeight,
    };
    try {
      sessionStorage.setItem(opts.stateKey, JSON.stringify(state));
    } catch {
      // storage full or refused: Back then starts at the top, nothing else breaks
    }
  };

  const showPending = () => {
    const n = pending.size;
    newPosts.hidden = n === 0;
    newPosts.textContent = n === 1 ? '1 new post' : `${n} new posts`;
  };

  const more = pager<Post>({
    label: 'Load more',
    className: 'btn btn-secondary btn-block load-more',
    fetch: fetchPage,
    show(page, first) {
      if (first) {
        replace(list);
        seen = new Set();
        items = [];
      }
      for (const p of page) {
        if (seen.has(p.id) || gone.has(p.id)) continue;
        seen.add(p.id);
        pending.delete(p.id);
        items.push(p);
        list.appendChild(postCard(p, ctx));
      }
      showPending();
      replace(status, seen.size === 0 ? empty() : null);
      save();
    },
    failed(e) {
      replace(status, h('p', { class: 'alert alert-error' }, e instanceof ApiError ? e.friendly : 'Could not load posts.'));
      ctx.error(e);
    },
  });

  /** Inserts posts at the top without moving what the reader is looking at: when the top
   * of the list is scrolled away, the offset grows by the height that was added. */
  const insertAtTop = (posts: Post[]) => {
    const anchor = [...list.children].find((el) => el.getBoundingClientRect().bottom > 0) as HTMLElement | undefined;
    const before = anchor?.getBoundingClientRect().top ?? 0;
    const listTop = list.getBoundingClientRect().top;
    const fresh = posts.filter((p) => !seen.has(p.id) && !gone.has(p.id));
    fresh.sort((x, y) => (x.created_at < y.created_at ? 1 : x.created_at > y.created_at ? -1 : 0));
    for (const p of [...fresh].reverse()) {
      seen.add(p.id);
      list.prepend(postCard(p, ctx));
    }
    items = [...fresh, ...items];
    if (anchor && listTop < 0) window.scrollBy(0, anchor.getBoundingClientRect().top - before);
    replace(status);
    save();
  };

  newPosts.addEventListener('click', () => {
    const posts = [...pending.values()];
    pending.clear();
    showPending();
    const wasDeep = list.getBoundingClientRect().top < 0;
    insertAtTop(posts);
    if (wasDeep) {
      // they are above: say so, the reader's place stays
      ctx.toast(posts.length === 1 ? 'The new post is at the top of your feed.' : `The ${posts.length} new posts are at the top of your feed.`, 'info', {
        href: '#/feed',
        text: 'Go to top',
      });
    }
  });

  /** Posts newer than the newest shown (after a reload or a reconnect) go to the pill. */
  const checkForNew = async () => {
    try {
      const page = await fetchPage(null);
      const newest = items[0]?.created_at ?? '';
      // restored cards may be stale: the first page's comment counts are fresh
      for (const p of page.items) {
        const card = seen.has(p.id) ? list.querySelector(`[data-post-id="${CSS.escape(p.id)}"]`) : null;
        if (card) cardCounts.get(card)?.(p.comment_count);
      }
      for (const p of page.items)
        if (!seen.has(p.id) && !gone.has(p.id) && p.created_at >= newest) pending.set(p.id, p);
      showPending();
    } catch {
      // the pill is a nicety
    }
  };

  const stopLive = ctx.notifications.onLive((m) => {
    if (!list.isConnected) {
      stopLive(); // the view was left (the list is on the page before any message comes)
      return;
    }
    if (m.type === 'post.created' && opts.live) {
      if (seen.has(m.post.id) || gone.has(m.post.id)) return;
      pending.set(m.post.id, m.post);
      showPending();
    } else if (m.type === 'post.deleted') {
      gone.add(m.post_id); // its card removes itself
      pending.delete(m.post_id);
      showPending();
      items = items.filter((p) => p.id !== m.post_id);
      save();
    } else if (m.type === 'resync' && opts.live) {
      void checkForNew();
    }
  });

  // Infinite scroll: the next page starts loading before the button is reached; the
  // button stays for keyboards and browsers without IntersectionObserver.
  let observer: IntersectionObserver | null = null;
  const sentinel = h('div', { class: 'scroll-sentinel', aria: { hidden: 'true' } });
  if (typeof IntersectionObserver !== 'undefined') {
    observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting) && !more.atEnd && !more.loading && !more.button.hidden) void more.load(false);
      },
      { rootMargin: '800px 0px' },
    );
    observer.observe(sentinel);
  }

  let saveTimer: number | undefined;
  const onScroll = () => {
    window.clearTimeout(saveTimer);
    saveTimer = window.setTimeout(save, 150);
  };
  if (opts.stateKey) {
    window.addEventListener('scroll', onScroll, { passive: true });
    window.addEventListener('pagehide', save); // a reload right after scrolling
  }

  const reload = () => {
    pending.clear();
    showPending();
    replace(status, h('p', { class: 'muted center' }, 'Loading…'));
    return more.load(true);
  };

  const saved = opts.stateKey ? readSaved(opts.stateKey) : null;
  if (saved && saved.items.length > 0) {
    // Back or reload: the same pages at once, then the same place.
    for (const p of saved.items) {
      if (seen.has(p.id)) continue;
      seen.add(p.id);
      items.push(p);
      list.appendChild(postCard(p, ctx));
    }
    more.resume(saved.cursor);
    const restore = (tries: number) => {
      if (!list.isConnected && tries < 50) {
        window.requestAnimationFrame(() => restore(tries + 1));
        return;
      }
      window.scrollTo(0, saved.scrollY);
      // images or fonts not laid out yet: try again for a moment
      if (Math.abs(window.scrollY - saved.scrollY) > 2 && tries < 50) window.requestAnimationFrame(() => restore(tries + 1));
    };
    window.requestAnimationFrame(() => restore(0));
    void checkForNew();
  } else {
    void reload();
  }

  return {
    el: h('div', null, newPostsBar, status, list, more.button, sentinel),
    prepend(p) {
      pending.delete(p.id);
      showPending();
      if (seen.has(p.id)) return;
      seen.add(p.id);
      items.unshift(p);
      list.prepend(postCard(p, ctx));
      replace(status);
      save();
    },
    reload: async () => {
      if (opts.stateKey) sessionStorage.removeItem(opts.stateKey);
      window.scrollTo(0, 0);
      await reload();
    },
    dispose() {
      if (opts.stateKey) {
        window.clearTimeout(saveTimer);
        save(); // the place at the moment of leaving (before the next view scrolls to the top)
        window.removeEventListener('scroll', onScroll);
        window.removeEventListener('pagehide', save);
      }
      observer?.disconnect();
      stopLive();
    },
  };
}

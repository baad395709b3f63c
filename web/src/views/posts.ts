// Post cards (with their comments) and the composer, shared by the feed, a profile and
// the single-post page.

import { api, ApiError, LIMITS, type Comment, type Page, type Post } from '../api';
import type { Ctx } from '../ctx';
import { avatar, fullName, h, plural, replace, timeAgo } from '../dom';
import { pager } from '../pager';
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

/** The comments of a post: oldest first, "show more", and a form to add one. */
function commentsSection(post: Post, ctx: Ctx, onAdded: () => void): HTMLElement {
  const list = h('ul', { class: 'comments-list' });
  const status = h('p', { class: 'muted small' }, 'Loading comments…');
  const seen = new Set<string>();

  const add = (c: Comment) => {
    if (seen.has(c.id)) return;
    seen.add(c.id);
    list.appendChild(commentItem(c));
  };
  const more = pager<Comment>({
    label: 'Show more comments',
    className: 'btn btn-link',
    fetch: (cursor) => api.comments(post.id, cursor),
    show(items) {
      items.forEach(add);
      status.hidden = seen.size > 0;
      status.textContent = 'No comments yet. Be the first.';
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
      // Only append when every older comment is loaded (oldest first); else it comes later.
      if (more.atEnd) add(c);
      status.hidden = true;
      onAdded();
    },
  });
  void more.load(true);
  return h('div', { class: 'comments' }, status, list, more.button, form);
}

export function postCard(post: Post, ctx: Ctx, opts: { open?: boolean } = {}): HTMLElement {
  let count = post.comment_count;
  const toggle = h('button', { type: 'button', class: 'btn btn-link comments-toggle', aria: { expanded: 'false' } });
  const setLabel = () => {
    toggle.textContent = count === 0 ? 'Comment' : plural(count, 'comment', 'comments');
  };
  setLabel();
  let section: HTMLElement | null = null;
  const card = h(
    'article',
    { class: 'card post', dataset: { postId: post.id } },
    authorLine(post.author, timeLink(`#/post/${post.id}`, post.created_at)),
    userText('p', post.content, 'post-content'),
    h('div', { class: 'post-actions' }, toggle),
  );
  const open = () => {
    if (!section) {
      section = commentsSection(post, ctx, () => {
        count++;
        setLabel();
      });
      card.appendChild(section);
    }
    section.hidden = false;
    toggle.setAttribute('aria-expanded', 'true');
    card.classList.add('open');
  };
  toggle.addEventListener('click', () => {
    if (section && !section.hidden) {
      section.hidden = true;
      toggle.setAttribute('aria-expanded', 'false');
      card.classList.remove('open');
    } else {
      open();
      section?.querySelector('textarea')?.focus();
    }
  });
  if (opts.open) open();
  return card;
}

/** A paged list of posts with a "Load more" button; returns the element and a prepend(). */
export function postList(
  ctx: Ctx,
  fetchPage: (cursor: string | null) => Promise<Page<Post>>,
  empty: () => Node,
): { el: HTMLElement; prepend(p: Post): void; reload(): Promise<void> } {
  const list = h('div', { class: 'post-list' });
  const status = h('div', { class: 'list-status' });
  let seen = new Set<string>();

  const more = pager<Post>({
    label: 'Load more',
    className: 'btn btn-secondary btn-block load-more',
    fetch: fetchPage,
    show(items, first) {
      if (first) {
        replace(list);
        seen = new Set();
      }
      for (const p of items) {
        if (seen.has(p.id)) continue;
        seen.add(p.id);
        list.appendChild(postCard(p, ctx));
      }
      replace(status, seen.size === 0 ? empty() : null);
    },
    failed(e) {
      replace(status, h('p', { class: 'alert alert-error' }, e instanceof ApiError ? e.friendly : 'Could not load posts.'));
      ctx.error(e);
    },
  });
  const reload = () => {
    replace(status, h('p', { class: 'muted center' }, 'Loading…'));
    return more.load(true);
  };
  void reload();
  return {
    el: h('div', null, status, list, more.button),
    prepend(p) {
      if (seen.has(p.id)) return;
      seen.add(p.id);
      list.prepend(postCard(p, ctx));
      replace(status);
    },
    reload,
  };
}

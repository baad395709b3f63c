// Finding people (search by username, first or last name), follower / following lists and
// who to follow; every row has a follow button (issue 28).

import { api, ApiError, type Page, type Suggestion, type UserView } from '../api';
import type { Ctx } from '../ctx';
import { avatar, fullName, h, replace } from '../dom';
import { pager } from '../pager';
import { dirAuto } from '../text';

/** Follow / Unfollow for one person, beside (never inside) the link to their profile.
 * `onFollow` runs after a follow (the profile shows suggestions then). */
export function followButton(ctx: Ctx, u: UserView, following: boolean, onFollow?: () => void): HTMLElement {
  const btn = h('button', { type: 'button', class: 'btn btn-sm follow-btn', dataset: { follow: u.username } });
  const show = () => {
    btn.textContent = following ? 'Unfollow' : 'Follow';
    btn.className = `btn btn-sm follow-btn ${following ? 'btn-secondary' : 'btn-primary'}`;
    btn.setAttribute('aria-label', `${following ? 'Unfollow' : 'Follow'} @${u.username}`);
    btn.setAttribute('aria-pressed', String(following));
  };
  show();
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    try {
      if (following) await api.unfollow(u.username);
      else await api.follow(u.username);
      following = !following;
      show();
      ctx.toast(following ? `You now follow @${u.username}.` : `You no longer follow @${u.username}.`, 'success');
      if (following) onFollow?.();
    } catch (e) {
      ctx.error(e);
    } finally {
      btn.disabled = false;
    }
  });
  return btn;
}

function userRow(ctx: Ctx, u: UserView & { followed_by_me?: boolean }, note?: string): HTMLElement {
  const isMe = u.username === ctx.me.username;
  return h(
    'li',
    { class: 'user-item' },
    h(
      'a',
      { class: 'user-row', href: `#/u/${encodeURIComponent(u.username)}`, dataset: { username: u.username } },
      avatar(u),
      h(
        'span',
        { class: 'user-row-text' },
        dirAuto(h('span', { class: 'author-name' }, fullName(u))),
        h('span', { class: 'muted' }, `@${u.username}`),
        note ? h('span', { class: 'muted small' }, note) : null,
      ),
    ),
    isMe ? h('span', { class: 'pill' }, 'You') : followButton(ctx, u, u.followed_by_me === true),
  );
}

function suggestionNote(s: Suggestion): string {
  if (s.reason === 'popular') return 'Popular author';
  return s.followed_by_count === 1 ? 'Followed by 1 person you follow' : `Followed by ${s.followed_by_count} people you follow`;
}

/** "Who to follow": a card with up to `limit` suggestions (empty feed, People page, after a
 * follow on a profile). Hidden when there are none. */
export function suggestionsCard(ctx: Ctx, limit = 5, title = 'Who to follow'): HTMLElement {
  const ul = h('ul', { class: 'user-list' });
  const headingId = `suggestions-${Math.random().toString(36).slice(2, 8)}`;
  const card = h('section', { class: 'card suggestions', aria: { labelledby: headingId }, hidden: true }, h('h2', { class: 'section-title', id: headingId }, title), ul);
  api
    .suggestions(limit)
    .then((r) => {
      for (const s of r.items) ul.appendChild(userRow(ctx, s, suggestionNote(s)));
      card.hidden = r.items.length === 0;
    })
    .catch((e: unknown) => ctx.error(e));
  return card;
}

/** A paged list of users; `load(fetch)` starts over with another query. */
function userList(ctx: Ctx, emptyText: () => string): {
  el: HTMLElement;
  load(fetch: (cursor: string | null) => Promise<Page<UserView>>): Promise<void>;
} {
  const ul = h('ul', { class: 'card user-list', hidden: true });
  const status = h('p', { class: 'muted center' });
  let fetchPage: (cursor: string | null) => Promise<Page<UserView>> = async () => ({ items: [], next_cursor: null });
  const more = pager<UserView>({
    label: 'Load more',
    className: 'btn btn-secondary btn-block',
    fetch: (cursor) => fetchPage(cursor),
    show(items, first) {
      if (first) replace(ul);
      for (const u of items) ul.appendChild(userRow(ctx, u));
      ul.hidden = ul.children.length === 0;
      status.textContent = ul.children.length === 0 ? emptyText() : '';
      status.hidden = ul.children.length > 0;
    },
    failed(e) {
      status.textContent = e instanceof ApiError ? e.friendly : 'Could not load the list.';
      status.hidden = false;
      ctx.error(e);
    },
  });
  return {
    el: h('div', null, status, ul, more.button),
    load(f) {
      fetchPage = f;
      return more.load(true);
    },
  };
}

export function renderPeople(root: HTMLElement, ctx: Ctx, _params: string[], query: URLSearchParams): () => void {
  document.title = 'People · bSocial';
  const q = h('input', {
    type: 'search',
    name: 'q',
    id: 'people-q',
    placeholder: 'Search by name or username',
    autocomplete: 'off',
    maxlength: 60,
    value: query.get('q') ?? '',
    aria: { label: 'Search people by name or username' },
  });
  const results = userList(ctx, () => (q.value.trim() ? `No one's name or username starts with “${q.value.trim()}”.` : 'No one here yet.'));
  const form = h('form', { class: 'search', role: 'search' }, q, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Search'));
  let timer: number | undefined;
  const search = () => {
    window.clearTimeout(timer);
    const term = q.value.trim().replace(/^@/, '');
    // keep the term in the address so Back returns to these results
    history.replaceState(null, '', term ? `#/people?q=${encodeURIComponent(term)}` : '#/people');
    void results.load((cursor) => api.searchUsers(term, cursor));
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    search();
  });
  q.addEventListener('input', () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 250);
  });
  root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'People')),
    h('p', { class: 'muted' }, 'Find people by the beginning of their first name, last name or username (accents and capitals do not matter), then follow them to see their posts in your feed.'),
    suggestionsCard(ctx, 5),
    form,
    results.el,
  );
  // No autofocus: the app shell focuses the heading; the search box is the next Tab.
  search();
  return () => window.clearTimeout(timer);
}

export function renderUserList(root: HTMLElement, ctx: Ctx, params: string[]): void {
  const [username = '', which = 'followers'] = params;
  const followers = which === 'followers';
  document.title = `${followers ? 'Followers' : 'Following'} of @${username} · bSocial`;
  const list = userList(ctx, () => (followers ? `No one follows @${username} yet.` : `@${username} follows no one yet.`));
  root.append(
    h('p', null, h('a', { href: `#/u/${encodeURIComponent(username)}`, class: 'back' }, `‹ @${username}`)),
    h('div', { class: 'page-head' }, h('h1', null, followers ? 'Followers' : 'Following')),
    h(
      'div',
      { class: 'tabs' },
      h('a', { href: `#/u/${encodeURIComponent(username)}/followers`, class: followers ? 'active' : '' }, 'Followers'),
      h('a', { href: `#/u/${encodeURIComponent(username)}/following`, class: followers ? '' : 'active' }, 'Following'),
    ),
    list.el,
  );
  void list.load((cursor) => (followers ? api.followers(username, cursor) : api.following(username, cursor)));
}

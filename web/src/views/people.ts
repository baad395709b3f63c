// Finding people (username prefix search) and follower / following lists.

import { api, ApiError, type Page, type UserView } from '../api';
import type { Ctx } from '../ctx';
import { avatar, fullName, h, replace } from '../dom';
import { pager } from '../pager';
import { dirAuto } from '../text';

function userRow(u: UserView): HTMLElement {
  return h(
    'li',
    null,
    h(
      'a',
      { class: 'user-row', href: `#/u/${encodeURIComponent(u.username)}`, dataset: { username: u.username } },
      avatar(u),
      h('span', { class: 'user-row-text' }, dirAuto(h('span', { class: 'author-name' }, fullName(u))), h('span', { class: 'muted' }, `@${u.username}`)),
      h('span', { class: 'chev', aria: { hidden: 'true' } }, '›'),
    ),
  );
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
      for (const u of items) ul.appendChild(userRow(u));
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
    placeholder: 'Search by username',
    autocomplete: 'off',
    maxlength: 30,
    value: query.get('q') ?? '',
    aria: { label: 'Search people by username' },
  });
  const results = userList(ctx, () => (q.value.trim() ? `No one's username starts with “${q.value.trim()}”.` : 'No one here yet.'));
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
    h('p', { class: 'muted' }, 'Find people by the beginning of their username, then follow them to see their posts in your feed.'),
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

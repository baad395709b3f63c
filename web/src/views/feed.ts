// The feed: my posts and those of everyone I follow, newest first.

import { api, LIMITS } from '../api';
import type { Ctx } from '../ctx';
import { h } from '../dom';
import { suggestionsCard } from './people';
import { composer, postList } from './posts';

export function renderFeed(root: HTMLElement, ctx: Ctx): () => void {
  document.title = 'Feed · bSocial';
  // Live "N new posts", infinite scroll, and Back/reload at the same place (posts.ts).
  const list = postList(
    ctx,
    (cursor) => api.feed(cursor),
    () =>
    h(
      'div',
      { class: 'card empty' },
      h('h2', null, 'Your feed is empty'),
      h('p', { class: 'muted' }, 'Write your first post above, or ', h('a', { href: '#/people' }, 'find people to follow'), '.'),
      suggestionsCard(ctx, 5, 'People you may want to follow'),
    ),
    { stateKey: `bsocial.feed.${ctx.me.id}`, live: true },
  );
  const refresh = h('button', { type: 'button', class: 'btn btn-ghost', title: 'Load the newest posts' }, 'Refresh');
  refresh.addEventListener('click', async () => {
    refresh.disabled = true;
    await list.reload();
    refresh.disabled = false;
  });
  const form = composer({
    placeholder: `What's new, ${ctx.me.first_name}?`,
    max: LIMITS.post,
    button: 'Publish',
    rows: 3,
    className: 'post-composer',
    ctx,
    submit: async (text) => {
      const post = await api.createPost(text);
      list.prepend(post);
      ctx.toast('Your post is published.', 'success');
    },
  });
  root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Feed'), refresh),
    h('div', { class: 'card' }, form),
    list.el,
  );
  return () => list.dispose();
}

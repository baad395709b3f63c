// One post with its comments open (the target of a notification).

import { api, ApiError } from '../api';
import type { Ctx } from '../ctx';
import { h, replace } from '../dom';
import { postCard } from './posts';

export function renderPostPage(root: HTMLElement, ctx: Ctx, params: string[]): void {
  const [id = ''] = params;
  document.title = 'Post · bSocial';
  const body = h('div', null, h('p', { class: 'muted center' }, 'Loading…'));
  root.append(h('p', null, h('a', { href: '#/feed', class: 'back' }, '‹ Feed')), h('h1', { class: 'sr-only' }, 'Post'), body);
  api
    .post(id)
    .then((post) => {
      document.title = `@${post.author.username}: ${post.content.slice(0, 40)} · bSocial`;
      replace(body, postCard(post, ctx, { open: true }));
    })
    .catch((e: unknown) => {
      if (e instanceof ApiError && e.status === 404) {
        replace(
          body,
          h(
            'div',
            { class: 'card empty' },
            h('h2', null, 'Post not found'),
            h('p', { class: 'muted' }, 'It does not exist, or you do not follow its author.'),
            // administrators may read any post, read-only (docs/analytics.md)
            ctx.isAdmin ? h('p', null, h('a', { href: `#/analytics/post/${encodeURIComponent(id)}` }, 'Open it read-only (administrators)')) : null,
          ),
        );
      } else {
        replace(body, h('p', { class: 'alert alert-error' }, e instanceof ApiError ? e.friendly : 'Could not load the post.'));
        ctx.error(e);
      }
    });
}

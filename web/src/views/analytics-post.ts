// A post opened from the Analytics page (administrators only, route #/analytics/post/{id}):
// read-only, whoever wrote it (GET /api/v1/analytics/posts/{id}). The ordinary post page
// (#/post/{id}) keeps the visibility rule, so an administrator who does not follow the
// author would get "Post not found" there. No comment list or box: those need the post to
// be visible (docs/analytics.md).

import { api, ApiError } from '../api';
import type { Ctx } from '../ctx';
import { avatar, fullName, h, plural, replace, timeAgo } from '../dom';
import { dirAuto, userText } from '../text';

export function renderAnalyticsPost(root: HTMLElement, ctx: Ctx, params: string[]): void {
  const [id = ''] = params;
  document.title = 'Post (read-only) · bSocial';
  const body = h('div', null, h('p', { class: 'muted center' }, 'Loading…'));
  root.append(
    h('p', null, h('a', { href: '#/analytics', class: 'back' }, '‹ Analytics')),
    h('h1', null, 'Post (read-only)'),
    body,
  );
  api
    .analyticsPost(id)
    .then((post) => {
      const a = post.author;
      const profile = `#/u/${encodeURIComponent(a.username)}`;
      document.title = `@${a.username}: ${post.content.slice(0, 40)} (read-only) · bSocial`;
      replace(
        body,
        h(
          'article',
          { class: 'card post', id: 'analytics-post', dataset: { postId: post.id } },
          h(
            'div',
            { class: 'byline' },
            avatar(a),
            h(
              'div',
              { class: 'byline-text' },
              dirAuto(h('a', { href: profile, class: 'author-name' }, fullName(a))),
              h('span', { class: 'muted' }, ` @${a.username} · `),
              timeAgo(post.created_at),
            ),
          ),
          userText('p', post.content, 'post-content'),
          h('p', { class: 'muted small' }, plural(post.comment_count, 'comment', 'comments'), ' · shown to administrators; follow the author to comment.'),
        ),
      );
    })
    .catch((e: unknown) => {
      if (e instanceof ApiError && e.status === 404) {
        replace(body, h('div', { class: 'card empty' }, h('h2', null, 'Post not found'), h('p', { class: 'muted' }, 'It has been deleted, or it never existed.')));
      } else {
        replace(body, h('p', { class: 'alert alert-error' }, e instanceof ApiError ? e.friendly : 'Could not load the post.'));
        ctx.error(e);
      }
    });
}

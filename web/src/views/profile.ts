// A profile: name, counts, follow / unfollow, and the user's posts (visible to me when it
// is me or someone I follow).

import { api, ApiError, type Profile } from '../api';
import type { Ctx } from '../ctx';
import { avatar, fullName, h, replace } from '../dom';
import { postList } from './posts';
import { dirAuto } from '../text';

export function renderProfile(root: HTMLElement, ctx: Ctx, params: string[]): void {
  const [username = ''] = params;
  document.title = `@${username} · bSocial`;
  const head = h('div', { class: 'card profile' }, h('p', { class: 'muted' }, 'Loading…'));
  const posts = h('div', { class: 'profile-posts' });
  root.append(head, posts);

  let profile: Profile;
  const isMe = username.toLowerCase() === ctx.me.username;

  const showPosts = () => {
    if (!isMe && !profile.followed_by_me) {
      replace(
        posts,
        h(
          'div',
          { class: 'card empty' },
          h('h2', null, `Follow @${profile.user.username} to see their posts`),
          h('p', { class: 'muted' }, 'Posts are shared with followers only.'),
        ),
      );
      return;
    }
    const list = postList(ctx, (cursor) => api.userPosts(profile.user.username, cursor), () =>
      h('div', { class: 'card empty' }, h('p', { class: 'muted' }, isMe ? 'You have not posted yet.' : `@${profile.user.username} has not posted yet.`)),
    );
    replace(posts, h('h2', { class: 'section-title' }, 'Posts'), list.el);
  };

  const render = () => {
    const u = profile.user;
    document.title = `${fullName(u)} (@${u.username}) · bSocial`;
    const enc = encodeURIComponent(u.username);
    let action: HTMLElement | null = null;
    if (!isMe) {
      const btn = h(
        'button',
        { type: 'button', id: 'follow-button', class: profile.followed_by_me ? 'btn btn-secondary' : 'btn btn-primary' },
        profile.followed_by_me ? 'Unfollow' : 'Follow',
      );
      btn.addEventListener('click', async () => {
        btn.disabled = true;
        const follow = !profile.followed_by_me;
        try {
          if (follow) await api.follow(u.username);
          else await api.unfollow(u.username);
          profile = await api.profile(u.username);
          render();
          showPosts();
          ctx.toast(follow ? `You now follow @${u.username}.` : `You no longer follow @${u.username}.`, 'success');
        } catch (e) {
          btn.disabled = false;
          ctx.error(e);
        }
      });
      action = btn;
    } else {
      action = h('span', { class: 'pill' }, 'This is you');
    }
    replace(
      head,
      h(
        'div',
        { class: 'profile-main' },
        avatar(u, 'lg'),
        h(
          'div',
          { class: 'profile-text' },
          dirAuto(h('h1', { class: 'profile-name' }, fullName(u))),
          h('p', { class: 'muted' }, `@${u.username}`, u.email ? ` · ${u.email}` : null),
          u.created_at ? h('p', { class: 'muted small' }, `Joined ${new Date(u.created_at).toLocaleDateString(undefined, { year: 'numeric', month: 'long' })}`) : null,
        ),
        h('div', { class: 'profile-action' }, action),
      ),
      h(
        'div',
        { class: 'stats' },
        h('a', { href: `#/u/${enc}/followers`, id: 'followers-count' }, h('strong', null, String(profile.followers_count)), profile.followers_count === 1 ? ' follower' : ' followers'),
        h('a', { href: `#/u/${enc}/following`, id: 'following-count' }, h('strong', null, String(profile.following_count)), ' following'),
      ),
    );
  };

  api
    .profile(username)
    .then((p) => {
      profile = p;
      render();
      showPosts();
    })
    .catch((e: unknown) => {
      if (e instanceof ApiError && e.status === 404) {
        replace(head, h('h1', null, 'No such person'), h('p', { class: 'muted' }, `There is no user @${username}. `, h('a', { href: '#/people' }, 'Find people')));
      } else {
        replace(head, h('p', { class: 'alert alert-error' }, e instanceof ApiError ? e.friendly : 'Could not load the profile.'));
        ctx.error(e);
      }
    });
}

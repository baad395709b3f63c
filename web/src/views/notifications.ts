// The notification list: history (newest first) plus whatever arrives live, a connection
// indicator and the "Check now" fallback (claim over HTTP).

import { api, ApiError, type Notification } from '../api';
import type { Ctx } from '../ctx';
import { h, replace, timeAgo } from '../dom';
import type { StreamStatus } from '../notifications';
import { pager } from '../pager';

const STATUS_TEXT: Record<StreamStatus, string> = {
  live: 'Live',
  connecting: 'Connecting…',
  offline: 'Reconnecting…',
  stopped: 'Off',
};

function item(n: Notification, unread: boolean): HTMLElement {
  return h(
    'li',
    { class: unread ? 'notification unread' : 'notification', dataset: { notificationId: n.id } },
    h(
      'a',
      { href: `#/post/${encodeURIComponent(n.post_id)}` },
      h(
        'p',
        { class: 'notification-text' },
        h('strong', null, `@${n.actor.username}`),
        ' commented on your post: ',
        h('span', { class: 'excerpt' }, `“${n.excerpt}”`),
      ),
      h('p', { class: 'muted small' }, timeAgo(n.created_at)),
    ),
  );
}

export function renderNotifications(root: HTMLElement, ctx: Ctx): () => void {
  document.title = 'Notifications · bSocial';
  const center = ctx.notifications;
  const list = h('ul', { class: 'card notification-list', id: 'notification-list', hidden: true });
  const empty = h('div', { class: 'card empty', hidden: true }, h('p', { class: 'muted' }, 'No notifications yet. When someone comments on your posts, you will see it here.'));
  const status = h('span', { class: 'conn', id: 'stream-status' });
  const check = h('button', { type: 'button', class: 'btn btn-secondary', id: 'check-notifications' }, 'Check now');
  const shown = new Set<string>();

  const showStatus = () => {
    status.className = `conn conn-${center.status}`;
    replace(status, h('span', { class: 'dot', aria: { hidden: 'true' } }), STATUS_TEXT[center.status]);
    status.title = center.status === 'live' ? 'New notifications appear here as they happen.' : 'Not connected: use “Check now”.';
  };
  const sync = () => {
    list.hidden = shown.size === 0;
    empty.hidden = shown.size > 0;
  };
  const add = (n: Notification, where: 'top' | 'bottom') => {
    if (shown.has(n.id)) return;
    shown.add(n.id);
    const el = item(n, center.isUnread(n.id));
    if (where === 'top') list.prepend(el);
    else list.appendChild(el);
    sync();
  };

  const more = pager<Notification>({
    label: 'Load more',
    className: 'btn btn-secondary btn-block',
    fetch: (cursor) => api.notifications(cursor),
    show(items) {
      items.forEach((n) => add(n, 'bottom'));
      sync();
      center.markAllRead(); // seen; the highlighted ones stay highlighted on this page
    },
    failed: (e) => ctx.error(e),
  });

  check.addEventListener('click', async () => {
    check.disabled = true;
    try {
      const fresh = await center.check();
      ctx.toast(fresh === 0 ? 'No new notifications.' : `${fresh} new notification${fresh === 1 ? '' : 's'}.`, 'info');
      center.markAllRead();
    } catch (e) {
      ctx.error(e instanceof ApiError ? e : new Error(String(e)));
    } finally {
      check.disabled = false;
    }
  });

  const unsubscribe = center.subscribe((n) => {
    showStatus();
    if (n) {
      add(n, 'top');
      center.markAllRead(); // the user is looking at the list
    }
  });

  root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Notifications'), h('div', { class: 'head-actions' }, status, check)),
    empty,
    list,
    more.button,
  );
  showStatus();
  void more.load(true);
  return unsubscribe;
}

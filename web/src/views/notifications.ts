// The notification list, grouped by post ("@ana and 29 others commented on ‘first words…’"):
// GET /api/v1/notifications/groups, most recently active first, unread groups marked; read
// state is the server's (POST /api/v1/notifications/read: opening a group marks it read,
// "Mark all as read" marks every group). Live: a pushed notification refreshes the top of
// the list. Also a connection indicator and the "Check now" fallback (claim over HTTP).

import { api, ApiError, type NotificationGroup } from '../api';
import type { Ctx } from '../ctx';
import { h, plural, replace } from '../dom';
import type { StreamStatus } from '../notifications';
import { pager } from '../pager';
import { dirAuto, liveTime } from '../text';

const STATUS_TEXT: Record<StreamStatus, string> = {
  live: 'Live',
  connecting: 'Connecting…',
  offline: 'Reconnecting…',
  stopped: 'Off',
};

/** "@ana", "@ana and @bob", "@ana and 29 others" (distinct commenters, newest named first). */
function who(g: NotificationGroup): (Node | string)[] {
  const name = (i: number) => dirAuto(h('strong', { class: 'actor' }, `@${g.actors[i]?.username ?? '?'}`));
  if (g.actor_count <= 1) return [name(0)];
  if (g.actor_count === 2 && g.actors.length >= 2) return [name(0), ' and ', name(1)];
  return [name(0), ` and ${plural(g.actor_count - 1, 'other', 'others')}`];
}

function groupItem(g: NotificationGroup, open: (g: NotificationGroup) => void): HTMLElement {
  const unread = g.unread > 0;
  const link = h(
    'a',
    { href: `#/post/${encodeURIComponent(g.post_id)}`, class: 'notification-link' },
    h(
      'p',
      { class: 'notification-text' },
      ...who(g),
      ' commented on ',
      dirAuto(h('span', { class: 'excerpt' }, `‘${g.post_excerpt}’`)),
    ),
    h(
      'p',
      { class: 'muted small' },
      unread ? h('span', { class: 'new-pill' }, `${g.unread} new`) : h('span', { class: 'sr-only' }, 'read'),
      unread ? ' · ' : null,
      plural(g.count, 'comment', 'comments'),
      ' · ',
      liveTime(g.latest_at),
    ),
  );
  link.addEventListener('click', () => open(g));
  return h('li', { class: unread ? 'notification unread' : 'notification', dataset: { postId: g.post_id } }, link);
}

export function renderNotifications(root: HTMLElement, ctx: Ctx): () => void {
  document.title = 'Notifications · bSocial';
  const center = ctx.notifications;
  const list = h('ul', { class: 'card notification-list', id: 'notification-list', hidden: true });
  const empty = h('div', { class: 'card empty', hidden: true }, h('p', { class: 'muted' }, 'No notifications yet. When someone comments on your posts, you will see it here.'));
  const status = h('span', { class: 'conn', id: 'stream-status' });
  const check = h('button', { type: 'button', class: 'btn btn-secondary', id: 'check-notifications' }, 'Check now');
  const readAll = h('button', { type: 'button', class: 'btn btn-secondary', id: 'mark-all-read' }, 'Mark all as read');
  const shown = new Map<string, HTMLElement>(); // post id -> its row
  const groups = new Map<string, NotificationGroup>(); // post id -> what its row shows

  const showStatus = () => {
    status.className = `conn conn-${center.status}`;
    replace(status, h('span', { class: 'dot', aria: { hidden: 'true' } }), STATUS_TEXT[center.status]);
    status.title = center.status === 'live' ? 'New notifications appear here as they happen.' : 'Not connected: use “Check now”.';
  };
  const sync = () => {
    list.hidden = shown.size === 0;
    empty.hidden = shown.size > 0;
    readAll.disabled = center.unread === 0;
  };
  const open = (g: NotificationGroup) => {
    if (g.unread > 0) center.markRead(g.post_id).catch(() => {}); // leaving for the post
  };
  // (put() is below: `open` only runs on a click, after it exists.)
  /** Shows `g`, replacing the row of its post; at the top, or at the end of the list. */
  const put = (g: NotificationGroup, where: 'top' | 'bottom') => {
    const el = groupItem(g, open);
    const old = shown.get(g.post_id);
    if (old && where === 'bottom') {
      old.replaceWith(el); // already shown (it moved up while paging): keep its place
    } else {
      old?.remove();
      if (where === 'top') list.prepend(el);
      else list.appendChild(el);
    }
    shown.set(g.post_id, el);
    groups.set(g.post_id, g);
  };

  const more = pager<NotificationGroup>({
    label: 'Load more',
    className: 'btn btn-secondary btn-block',
    fetch: (cursor) => api.notificationGroups(cursor),
    show(items) {
      items.forEach((g) => put(g, 'bottom'));
      sync();
    },
    failed: (e) => ctx.error(e),
  });

  // A new notification: re-read the first page and bring its groups to the top (one
  // request for a burst).
  let refreshTimer: number | undefined;
  const refreshTop = () => {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(async () => {
      try {
        const page = await api.notificationGroups(null);
        for (const g of [...page.items].reverse()) put(g, 'top');
        sync();
      } catch (e) {
        ctx.error(e);
      }
    }, 250);
  };

  readAll.addEventListener('click', async () => {
    readAll.disabled = true;
    try {
      await center.markRead(null);
      for (const g of [...groups.values()]) if (g.unread > 0) put({ ...g, unread: 0 }, 'bottom');
    } catch (e) {
      ctx.error(e);
    }
    sync();
  });

  check.addEventListener('click', async () => {
    check.disabled = true;
    try {
      const fresh = await center.check();
      ctx.toast(fresh === 0 ? 'No new notifications.' : `${fresh} new notification${fresh === 1 ? '' : 's'}.`, 'info');
      if (fresh > 0) refreshTop();
    } catch (e) {
      ctx.error(e instanceof ApiError ? e : new Error(String(e)));
    } finally {
      check.disabled = false;
    }
  });

  const unsubscribe = center.subscribe((n) => {
    showStatus();
    sync();
    if (n) refreshTop();
  });

  root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Notifications'), h('div', { class: 'head-actions' }, status, readAll, check)),
    empty,
    list,
    more.button,
  );
  showStatus();
  sync();
  void more.load(true);
  return () => {
    window.clearTimeout(refreshTimer);
    unsubscribe();
  };
}

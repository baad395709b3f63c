// Your sessions (issue 28): where you are logged in, with "Log out" per session and
// "Log out everywhere else". Ending a session closes its sockets on every server at once.

import { api, ApiError, type SessionInfo } from '../api';
import type { Ctx } from '../ctx';
import { h, replace } from '../dom';

function when(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function renderSessions(root: HTMLElement, ctx: Ctx): void {
  document.title = 'Sessions · bSocial';
  const list = h('ul', { class: 'card session-list', aria: { label: 'Your sessions' } });
  const status = h('p', { class: 'muted', role: 'status' });
  const others = h('button', { type: 'button', class: 'btn btn-secondary', id: 'end-other-sessions' }, 'Log out everywhere else');

  const row = (s: SessionInfo): HTMLElement => {
    const end = h('button', { type: 'button', class: 'btn btn-sm btn-secondary', aria: { label: `Log out ${s.device}${s.current ? ' (this device)' : ''}` } }, 'Log out');
    end.addEventListener('click', async () => {
      end.disabled = true;
      try {
        await api.endSession(s.id);
        if (s.current) {
          ctx.navigate('#/login');
          window.location.reload();
          return;
        }
        ctx.toast(`Logged out ${s.device}.`, 'success');
        await load();
      } catch (e) {
        end.disabled = false;
        ctx.error(e);
      }
    });
    return h(
      'li',
      { class: 'session-item', dataset: { session: s.id, current: String(s.current) } },
      h(
        'div',
        { class: 'session-text' },
        h('span', { class: 'author-name' }, s.device, s.current ? h('span', { class: 'pill' }, 'This device') : null),
        h('span', { class: 'muted small' }, `Logged in ${when(s.created_at)}${s.ip ? ` from ${s.ip}` : ''} · last active ${when(s.last_used_at)}`),
      ),
      end,
    );
  };

  const load = async (): Promise<void> => {
    try {
      const r = await api.sessions();
      replace(list, ...r.items.map(row));
      const n = r.items.filter((s) => !s.current).length;
      others.hidden = n === 0;
      status.textContent = n === 0 ? 'You are logged in on this device only.' : `You are logged in on ${n + 1} devices.`;
    } catch (e) {
      status.textContent = e instanceof ApiError ? e.friendly : 'Could not load your sessions.';
      ctx.error(e);
    }
  };

  others.addEventListener('click', async () => {
    others.disabled = true;
    try {
      const r = await api.endOtherSessions();
      ctx.toast(r.revoked === 1 ? 'Logged out 1 other session.' : `Logged out ${r.revoked} other sessions.`, 'success');
      await load();
    } catch (e) {
      ctx.error(e);
    } finally {
      others.disabled = false;
    }
  });

  root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Sessions')),
    h('p', { class: 'muted' }, 'Where you are logged in. Log out a device you no longer use or do not recognise.'),
    status,
    list,
    h('p', null, others),
  );
  void load();
}

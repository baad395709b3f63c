// The application shell: session state, top bar, toasts and the hash router.
// Hash routes (#/feed, #/u/ada, …) need nothing from the server but index.html at `/`.

import { api, ApiError, setUnauthorizedHandler, type Notification, type User } from './api';
import type { Ctx, PublicCtx, ToastKind } from './ctx';
import { avatar, byId, clear, h, replace } from './dom';
import { NotificationCenter } from './notifications';
import { renderAnalyticsPost } from './views/analytics-post';
import { renderLogin, renderRegister } from './views/auth';
import { renderFeed } from './views/feed';
import { renderNotifications } from './views/notifications';
import { renderPeople, renderUserList } from './views/people';
import { renderPostPage } from './views/post';
import { renderProfile } from './views/profile';

type Cleanup = (() => void) | void;
type View = (root: HTMLElement, ctx: Ctx, params: string[], query: URLSearchParams) => Cleanup;

const routes: [RegExp, View][] = [
  [/^\/(?:feed)?$/, renderFeed],
  [/^\/people$/, renderPeople],
  [/^\/u\/([^/]+)$/, renderProfile],
  [/^\/u\/([^/]+)\/(followers|following)$/, renderUserList],
  [/^\/post\/(\d+)$/, renderPostPage],
  [/^\/notifications$/, renderNotifications],
];
/** The Analytics page, loaded on first use: its chart library (uPlot) stays out of the
 * bundle everybody else downloads. */
const renderAnalyticsLazily: View = (root, ctx) => {
  let cleanup: Cleanup;
  let left = false;
  void import('./views/analytics').then(
    (m) => {
      if (!left) cleanup = m.renderAnalytics(root, ctx);
    },
    (e: unknown) => ctx.error(e),
  );
  return () => {
    left = true;
    if (typeof cleanup === 'function') cleanup();
  };
};
/** Routes of administrators only; to anyone else they do not exist ("Page not found"). */
const adminRoutes: [RegExp, View][] = [
  [/^\/analytics$/, renderAnalyticsLazily],
  [/^\/analytics\/post\/(\d+)$/, renderAnalyticsPost],
];

export class App {
  private me: User | null = null;
  private isAdmin = false;
  private cleanup: Cleanup = undefined;
  private flash: string | null = null;
  private afterLogin: string | null = null;
  private readonly root = byId('app');
  private readonly topbar = byId('topbar');
  private readonly toasts = byId('toasts');
  private readonly center = new NotificationCenter({
    onNew: (n) => this.notificationToast(n),
    onSessionEnded: () => this.sessionEnded(),
  });
  private badge: HTMLElement | null = null;
  /** Stops waiting for the current page's heading (see focusHeading). */
  private stopFocusWait: (() => void) | null = null;

  async start(): Promise<void> {
    setUnauthorizedHandler(() => this.sessionEnded());
    window.addEventListener('hashchange', () => this.route(true));
    // The skip link (index.html, first in the Tab order): to the page's heading, without
    // touching the hash (the hash is the route).
    byId('skip-link').addEventListener('click', (ev) => {
      ev.preventDefault();
      const target = this.root.querySelector<HTMLElement>('.view h1') ?? this.root;
      if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
      target.focus();
      target.scrollIntoView({ block: 'nearest' });
    });
    this.center.subscribe(() => this.updateBadge());
    try {
      const who = await api.me();
      this.me = who.user;
      this.isAdmin = who.is_admin;
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) {
        this.flash = e instanceof ApiError ? e.friendly : 'Cannot start bSocial.';
      }
      this.me = null;
    }
    if (this.me) this.center.start(this.me.id);
    this.renderTopbar();
    // The first page keeps the browser's focus where it is (the document's start): the
    // first Tab reaches the skip link, then the top bar.
    this.route(false);
  }

  private path(): { path: string; query: URLSearchParams } {
    const raw = window.location.hash.replace(/^#/, '') || '/';
    const [p = '/', q = ''] = raw.split('?', 2);
    return { path: p, query: new URLSearchParams(q) };
  }

  navigate(hash: string): void {
    if (window.location.hash === hash) this.route(true);
    else window.location.hash = hash;
  }

  /** After a route change: focus the page's main heading (<h1 tabindex=-1>) as soon as the
   * view has drawn it (some views draw it after an API answer or a lazy import), so that a
   * screen reader announces the new page and the next Tab starts from it. Unless the user
   * has meanwhile put the focus somewhere in the page; gives up after 10 s. */
  private focusHeading(section: HTMLElement): void {
    this.stopFocusWait?.();
    this.stopFocusWait = null;
    const tryFocus = (): boolean => {
      const heading = section.querySelector<HTMLElement>('h1');
      if (!heading) return false;
      const active = document.activeElement;
      if (active && active !== document.body && section.contains(active)) return true;
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
      return true;
    };
    if (tryFocus()) return;
    const observer = new MutationObserver(() => {
      if (tryFocus()) stop();
    });
    const timer = window.setTimeout(() => stop(), 10_000);
    const stop = () => {
      observer.disconnect();
      window.clearTimeout(timer);
      if (this.stopFocusWait === stop) this.stopFocusWait = null;
    };
    observer.observe(section, { childList: true, subtree: true });
    this.stopFocusWait = stop;
  }

  private route(moveFocus = true): void {
    if (typeof this.cleanup === 'function') this.cleanup();
    this.cleanup = undefined;
    this.stopFocusWait?.();
    const { path, query } = this.path();
    const section = h('section', { class: 'view' });
    replace(this.root, section);
    window.scrollTo(0, 0);
    const focus = () => {
      if (moveFocus) this.focusHeading(section);
    };

    if (!this.me) {
      const pub: PublicCtx = {
        toast: (m, k, l) => this.toast(m, k, l),
        navigate: (x) => this.navigate(x),
        loggedIn: (u, welcome) => this.loggedIn(u, welcome),
        flash: this.flash,
      };
      this.flash = null;
      if (path === '/register') {
        document.title = 'Create an account · bSocial';
        renderRegister(section, pub);
      } else {
        if (path !== '/login' && path !== '/' && path !== '/register') this.afterLogin = `#${path}`;
        document.title = 'Log in · bSocial';
        renderLogin(section, pub);
        if (path !== '/login') history.replaceState(null, '', '#/login');
      }
      this.highlightNav('');
      focus();
      return;
    }

    if (path === '/login' || path === '/register') {
      history.replaceState(null, '', '#/feed');
      this.route(moveFocus);
      return;
    }
    for (const [re, view] of this.isAdmin ? [...routes, ...adminRoutes] : routes) {
      const m = re.exec(path);
      if (!m) continue;
      this.highlightNav(path);
      this.cleanup = view(section, this.ctx(), m.slice(1).map((s) => decodeURIComponent(s)), query);
      focus();
      return;
    }
    document.title = 'Not found · bSocial';
    replace(
      section,
      h('div', { class: 'card empty' }, h('h1', null, 'Page not found'), h('p', null, h('a', { href: '#/feed' }, 'Back to your feed'))),
    );
    focus();
  }

  private ctx(): Ctx {
    const me = this.me as User;
    return {
      me,
      isAdmin: this.isAdmin,
      notifications: this.center,
      toast: (m, k, l) => this.toast(m, k, l),
      error: (e) => this.showError(e),
      navigate: (x) => this.navigate(x),
      logout: () => this.logout(),
    };
  }

  private loggedIn(user: User, welcome?: string): void {
    this.me = user;
    this.isAdmin = false;
    this.center.start(user.id);
    this.renderTopbar();
    const next = this.afterLogin ?? '#/feed';
    this.afterLogin = null;
    if (welcome) this.toast(welcome, 'success');
    // The login answer does not say whether this is an administrator: ask before routing,
    // so that a deep link to #/analytics works right after logging in.
    void api
      .me()
      .then((who) => {
        if (this.me?.id === who.user.id) this.isAdmin = who.is_admin;
      })
      .catch(() => undefined)
      .finally(() => {
        this.renderTopbar();
        this.navigate(next);
      });
  }

  private async logout(): Promise<void> {
    try {
      await api.logout();
    } catch (e) {
      // 401: the session was already over; anything else: tell, but leave locally anyway
      if (!(e instanceof ApiError) || e.status !== 401) this.showError(e);
    }
    this.center.stop();
    this.me = null;
    this.isAdmin = false;
    clear(this.toasts); // nothing of the old session stays on screen
    this.flash = 'You have logged out.';
    this.renderTopbar();
    this.navigate('#/login');
  }

  private sessionEnded(): void {
    if (!this.me) return;
    this.center.stop();
    this.me = null;
    this.isAdmin = false;
    clear(this.toasts);
    this.flash = 'Your session has ended. Please log in again.';
    this.renderTopbar();
    const { path } = this.path();
    if (path !== '/login' && path !== '/register' && path !== '/') this.afterLogin = `#${path}`;
    this.navigate('#/login');
  }

  // ---------------------------------------------------------------- top bar

  private renderTopbar(): void {
    const bar = this.topbar;
    if (!this.me) {
      replace(bar, h('div', { class: 'topbar-inner' }, h('a', { class: 'brand', href: '#/login' }, 'bSocial')));
      bar.hidden = false;
      this.badge = null;
      return;
    }
    const me = this.me;
    this.badge = h('span', { class: 'badge', hidden: true, aria: { label: 'unread notifications' } });
    const logoutBtn = h('button', { type: 'button', class: 'btn btn-ghost', id: 'logout' }, 'Log out');
    logoutBtn.addEventListener('click', () => {
      logoutBtn.disabled = true;
      void this.logout();
    });
    replace(
      bar,
      h(
        'div',
        { class: 'topbar-inner' },
        h('a', { class: 'brand', href: '#/feed' }, 'bSocial'),
        h(
          'nav',
          { class: 'nav', aria: { label: 'Main' } },
          h('a', { href: '#/feed', dataset: { nav: 'feed' } }, 'Feed'),
          h('a', { href: '#/people', dataset: { nav: 'people' } }, 'People'),
          h('a', { href: '#/notifications', dataset: { nav: 'notifications' }, id: 'nav-notifications' }, 'Notifications', this.badge),
          this.isAdmin ? h('a', { href: '#/analytics', dataset: { nav: 'analytics' }, id: 'nav-analytics' }, 'Analytics') : null,
        ),
        h(
          'div',
          { class: 'me' },
          h('a', { href: `#/u/${encodeURIComponent(me.username)}`, class: 'me-link', dataset: { nav: 'me' }, title: 'Your profile' }, avatar(me, 'sm'), h('span', { class: 'me-name' }, `@${me.username}`)),
          logoutBtn,
        ),
      ),
    );
    bar.hidden = false;
    this.updateBadge();
  }

  private highlightNav(path: string): void {
    const key =
      path === '/' || path === '/feed' ? 'feed'
      : path.startsWith('/people') ? 'people'
      : path.startsWith('/notifications') ? 'notifications'
      : path.startsWith('/analytics') ? 'analytics'
      : this.me && (path === `/u/${this.me.username}` || path.startsWith(`/u/${this.me.username}/`)) ? 'me'
      : '';
    for (const a of this.topbar.querySelectorAll<HTMLAnchorElement>('[data-nav]')) {
      a.classList.toggle('active', a.dataset.nav === key);
      if (a.dataset.nav === key) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  }

  private updateBadge(): void {
    const n = this.center.unread;
    if (this.badge) {
      this.badge.textContent = n > 99 ? '99+' : String(n);
      this.badge.hidden = n === 0;
    }
    document.title = document.title.replace(/^\(\d+\+?\) /, '');
    if (n > 0) document.title = `(${n > 99 ? '99+' : n}) ${document.title}`;
  }

  // ---------------------------------------------------------------- toasts

  toast(message: string, kind: ToastKind = 'info', link?: { href: string; text: string }): void {
    const close = h('button', { type: 'button', class: 'toast-close', aria: { label: 'Dismiss' } }, '×');
    const el = h(
      'div',
      { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
      h('span', { class: 'toast-text' }, message),
      link ? h('a', { href: link.href, class: 'toast-link' }, link.text) : null,
      close,
    );
    const remove = () => el.remove();
    close.addEventListener('click', remove);
    el.querySelector('a')?.addEventListener('click', remove);
    this.toasts.appendChild(el);
    while (this.toasts.children.length > 4) this.toasts.firstElementChild?.remove();
    window.setTimeout(remove, kind === 'error' ? 10000 : kind === 'notify' ? 8000 : 4000);
  }

  private showError(e: unknown): void {
    if (e instanceof ApiError) {
      if (e.status === 401 && e.code === 'unauthorized') return; // handled: back to login
      this.toast(e.friendly, 'error');
    } else {
      console.error(e);
      this.toast('Something went wrong.', 'error');
    }
  }

  // A burst (the backlog on connect, a busy post) is one toast, not one per comment.
  private toastBurst: Notification[] = [];
  private toastTimer: number | undefined;

  private notificationToast(n: Notification): void {
    this.toastBurst.push(n);
    window.clearTimeout(this.toastTimer);
    this.toastTimer = window.setTimeout(() => {
      const burst = this.toastBurst;
      this.toastBurst = [];
      const last = burst[burst.length - 1];
      if (!last || !this.me) return; // logged out meanwhile
      if (burst.length === 1) {
        this.toast(`@${last.actor.username} commented on “${last.post_excerpt}”: “${last.excerpt}”`, 'notify', {
          href: `#/post/${encodeURIComponent(last.post_id)}`,
          text: 'View',
        });
      } else {
        const posts = new Set(burst.map((x) => x.post_id)).size;
        const where = posts === 1 ? `on “${last.post_excerpt}”` : `on ${posts} of your posts`;
        this.toast(`${burst.length} new comments ${where}, the latest by @${last.actor.username}: “${last.excerpt}”`, 'notify', {
          href: posts === 1 ? `#/post/${encodeURIComponent(last.post_id)}` : '#/notifications',
          text: 'View',
        });
      }
    }, 200);
  }
}

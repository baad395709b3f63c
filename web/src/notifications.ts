// Live notifications: the WebSocket /api/v1/notifications/stream (authenticated by the
// session cookie at the handshake, same origin), with reconnect and exponential backoff,
// and the HTTP "check" fallback (POST /api/v1/notifications/claim).
//
// Protocol (docs/notifications.md): the server sends
//   {"type":"notification","notification":{…}}
// (first every undelivered one, then each new one), and the client acks each with
//   {"type":"ack","id":"…"}
// once it has been shown. An unacked notification stays claimable and is sent again on
// the next connect, so we ack only when the page is visible (the toast and badge were seen).
// Delivered is not read: the badge counts the posts with unread notifications, read state
// kept by the server (GET /api/v1/notifications/unread, POST /api/v1/notifications/read).

import { api, type Notification } from './api';

export type StreamStatus = 'stopped' | 'connecting' | 'live' | 'offline';

export interface Hooks {
  /** A notification not seen before in this session: show it (toast, badge). */
  onNew(n: Notification): void;
  /** The server closed the socket because the session ended (code 4001) or it refuses us. */
  onSessionEnded(): void;
}

const MIN_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;
const FALLBACK_POLL_MS = 30000; // claim while the socket is down

export class NotificationCenter {
  status: StreamStatus = 'stopped';
  /** Everything received this session (live or claimed), by id. */
  readonly received = new Map<string, Notification>();
  private unreadGroups = 0;
  private unreadTimer: number | undefined;
  private ws: WebSocket | null = null;
  private attempt = 0;
  private reconnectTimer: number | undefined;
  private pollTimer: number | undefined;
  private pendingAcks: string[] = [];
  private listeners = new Set<(n?: Notification) => void>();
  private generation = 0; // bumps on stop(): late events of an old socket are ignored

  constructor(private readonly hooks: Hooks) {
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState !== 'visible') return;
      this.flushAcks();
      if (this.status === 'offline') this.reconnectNow();
    });
    window.addEventListener('online', () => {
      if (this.status === 'offline') this.reconnectNow();
    });
  }

  /** Groups (posts) with unread notifications: the badge (read state is the server's). */
  get unread(): number {
    return this.unreadGroups;
  }

  subscribe(fn: (n?: Notification) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(n?: Notification): void {
    for (const fn of this.listeners) fn(n);
  }

  start(_userId: string): void {
    this.stop();
    this.status = 'connecting';
    this.connect();
    void this.refreshUnread();
  }

  stop(): void {
    this.generation++;
    window.clearTimeout(this.reconnectTimer);
    window.clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'bye');
    window.clearTimeout(this.unreadTimer);
    this.received.clear();
    this.unreadGroups = 0;
    this.pendingAcks = [];
    this.attempt = 0;
    this.status = 'stopped';
    this.emit();
  }

  /** Marks the group of `postId` (or, with null, every group) read on the server. */
  async markRead(postId: string | null): Promise<void> {
    const gen = this.generation;
    const r = await api.markNotificationsRead(postId);
    if (gen !== this.generation) return;
    this.unreadGroups = r.unread.groups;
    this.emit();
  }

  /** Re-reads the unread count from the server (after a notification, or a change elsewhere). */
  async refreshUnread(): Promise<void> {
    const gen = this.generation;
    try {
      const c = await api.unreadCounts();
      if (gen !== this.generation) return;
      if (c.groups !== this.unreadGroups) {
        this.unreadGroups = c.groups;
        this.emit();
      }
    } catch {
      // the badge is a nicety; the list page shows errors
    }
  }

  /** The "check" fallback: claim every undelivered notification over HTTP. */
  async check(): Promise<number> {
    const gen = this.generation;
    const { items } = await api.claimNotifications();
    if (gen !== this.generation) return 0;
    let fresh = 0;
    for (const n of items) if (this.accept(n)) fresh++;
    return fresh;
  }

  // ---------------------------------------------------------------- internals

  /** Returns true when the notification is new to this session. */
  private accept(n: Notification): boolean {
    if (this.received.has(n.id)) return false;
    this.received.set(n.id, n);
    // A burst of notifications costs one count request (the unread groups: server state).
    window.clearTimeout(this.unreadTimer);
    this.unreadTimer = window.setTimeout(() => void this.refreshUnread(), 300);
    this.hooks.onNew(n); // first delivery to this session: show it, even if the badge knew it
    this.emit(n);
    return true;
  }

  private connect(): void {
    const gen = this.generation;
    const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws: WebSocket;
    try {
      ws = new WebSocket(`${scheme}//${window.location.host}/api/v1/notifications/stream`);
    } catch {
      this.scheduleReconnect(false);
      return;
    }
    this.ws = ws;
    this.status = 'connecting';
    this.emit();
    let opened = false;

    ws.addEventListener('open', () => {
      if (gen !== this.generation) return;
      opened = true;
      this.attempt = 0;
      this.status = 'live';
      window.clearInterval(this.pollTimer);
      this.pollTimer = undefined;
      this.emit();
    });

    ws.addEventListener('message', (ev: MessageEvent) => {
      if (gen !== this.generation || typeof ev.data !== 'string') return;
      let msg: unknown;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      const m = msg as { type?: unknown; notification?: Notification };
      if (m.type !== 'notification' || !m.notification || typeof m.notification.id !== 'string') return;
      const n = m.notification;
      this.accept(n); // shows it (toast + badge) when new
      this.ack(n.id); // also re-acks one we had already shown (sent again after a reconnect)
    });

    ws.addEventListener('close', (ev: CloseEvent) => {
      if (gen !== this.generation) return;
      this.ws = null;
      if (ev.code === 4001) {
        this.status = 'stopped';
        this.emit();
        this.hooks.onSessionEnded();
        return;
      }
      this.scheduleReconnect(opened);
    });
    // 'error' is always followed by 'close'; nothing to do there.
  }

  private ack(id: string): void {
    this.pendingAcks.push(id);
    this.flushAcks();
  }

  private flushAcks(): void {
    if (document.visibilityState !== 'visible') return; // not shown yet: ack when it is
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    while (this.pendingAcks.length) {
      const id = this.pendingAcks.shift() as string;
      ws.send(JSON.stringify({ type: 'ack', id }));
    }
  }

  private scheduleReconnect(wasOpen: boolean): void {
    const gen = this.generation;
    this.status = 'offline';
    this.pendingAcks = []; // unacked ones are re-sent by the server on the next connect
    this.emit();
    if (!wasOpen) {
      // The handshake failed: was it a dead session (401) rather than the network?
      api.me().catch((e: unknown) => {
        if (gen === this.generation && (e as { status?: number }).status === 401) this.hooks.onSessionEnded();
      });
    }
    if (this.pollTimer === undefined) {
      this.pollTimer = window.setInterval(() => {
        if (this.status !== 'live') this.check().catch(() => {});
      }, FALLBACK_POLL_MS);
    }
    const base = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.5 + Math.random() * 0.5)); // jitter: no thundering herd
    this.attempt = Math.min(this.attempt + 1, 10);
    window.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = window.setTimeout(() => {
      if (gen === this.generation) this.connect();
    }, delay);
  }

  private reconnectNow(): void {
    window.clearTimeout(this.reconnectTimer);
    this.attempt = 0;
    this.connect();
  }
}

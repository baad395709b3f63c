// The bSocial HTTP API (docs/openapi.yaml), same origin, authenticated by the HttpOnly
// `bsocial_session` cookie that the login answer sets. The app never sees or stores the
// token: the login answer's `token` field is ignored on purpose.

import type { components } from '../generated/api-types';

// The types are generated from docs/openapi.yaml (web/generated/api-types.ts, `npm run gen-api-types`;
// `npm run check-api-types` fails when the checked-in file is stale).
type Schemas = components['schemas'];

/** The caller's own account (with `email`). */
export type User = Schemas['User'];
/** A user in a list or profile: `User` when it is the caller, `PublicUser` for anyone else. */
export type UserView = Schemas['UserView'];
export type Profile = Schemas['UserProfile'];
export type Author = Schemas['Author'];
export type Post = Schemas['Post'];
export type Comment = Schemas['Comment'];
export type Notification = Schemas['Notification'];
export type NotificationGroup = Schemas['NotificationGroup'];
export type UnreadCounts = Schemas['NotificationUnreadCounts'];
export type Registration = Schemas['RegisterUserRequest'];
/** The three stored analytics queries (administrators only). */
export type AnalyticsLogins = Schemas['AnalyticsLogins'];
export type AnalyticsTopPosts = Schemas['AnalyticsTopPosts'];
export type AnalyticsRankedPost = Schemas['AnalyticsRankedPost'];
export type AnalyticsExtremes = Schemas['AnalyticsExtremes'];
export type AnalyticsPost = Schemas['AnalyticsPost'];

/** One page of a list (`UserList`, `PostList`, ...): the shape every list answer shares. */
export interface Page<T> {
  items: T[];
  next_cursor: Schemas['NextCursor'];
}

const BASE = '/api/v1';

/** An error answer (`{"error":{"code","message","fields"?}}`) or a network failure. */
export class ApiError extends Error {
  constructor(
    readonly status: number, // 0: the server could not be reached
    readonly code: string,
    message: string,
    readonly fields: Record<string, string> = {},
    readonly retryAfter: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** A sentence for a person. */
  get friendly(): string {
    switch (this.code) {
      case 'network':
        return 'Cannot reach bSocial. Check your connection and try again.';
      case 'rate_limited': {
        const s = this.retryAfter;
        return s === null
          ? 'Too many attempts. Please wait a moment and try again.'
          : `Too many attempts. Try again in ${formatWait(s)}.`;
      }
      case 'invalid_credentials':
        return 'Wrong username, e-mail or password.';
      case 'unauthorized':
        return 'Your session has ended. Please log in again.';
      case 'forbidden_origin':
        return 'This request was refused because it did not come from bSocial itself.';
      case 'not_found':
        return 'Not found (or not visible to you).';
      case 'internal_error':
        return 'Something went wrong on our side. Please try again.';
      default:
        return this.message || `Request failed (${this.status}).`;
    }
  }
}

export function formatWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const m = Math.ceil(seconds / 60);
  return `${m} minute${m === 1 ? '' : 's'}`;
}

/** Called on any 401 `unauthorized` (not on a failed login): the session is gone. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

interface Options {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  query?: Record<string, string | number | null | undefined>;
  /** Do not treat a 401 as "session ended" (login form, start-up probe). */
  quiet401?: boolean;
}

async function request<T>(path: string, opts: Options = {}): Promise<T> {
  const url = new URL(BASE + path, window.location.origin);
  for (const [k, v] of Object.entries(opts.query ?? {})) {
    if (v !== null && v !== undefined && v !== '') url.searchParams.set(k, String(v));
  }
  const headers: Record<string, string> = { Accept: 'application/json' };
  const init: RequestInit = {
    method: opts.method ?? 'GET',
    credentials: 'same-origin',
    cache: 'no-store',
    headers,
  };
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(url.pathname + url.search, init);
  } catch {
    throw new ApiError(0, 'network', 'network error');
  }
  if (res.status === 204) return undefined as T;
  let data: unknown = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (res.ok) return data as T;

  const err = (data as { error?: { code?: unknown; message?: unknown; fields?: unknown } } | null)?.error;
  const fields: Record<string, string> = {};
  if (err && typeof err.fields === 'object' && err.fields !== null) {
    for (const [k, v] of Object.entries(err.fields as Record<string, unknown>)) fields[k] = String(v);
  }
  const ra = res.headers.get('Retry-After');
  const retryAfter = ra !== null && /^\d+$/.test(ra.trim()) ? Number(ra.trim()) : null;
  const e = new ApiError(
    res.status,
    typeof err?.code === 'string' ? err.code : `http_${res.status}`,
    typeof err?.message === 'string' ? err.message : res.statusText,
    fields,
    retryAfter,
  );
  if (res.status === 401 && e.code === 'unauthorized' && !opts.quiet401) onUnauthorized();
  throw e;
}

const enc = encodeURIComponent;

export const api = {
  register: (r: Registration) => request<Schemas['UserEnvelope']>('/users', { method: 'POST', body: r }),
  // The answer also carries the token; we rely on the HttpOnly cookie and drop it.
  login: async (login: string, password: string): Promise<User> =>
    (await request<Schemas['Session']>('/sessions', { method: 'POST', body: { login, password }, quiet401: true })).user,
  logout: () => request<void>('/sessions/current', { method: 'DELETE', quiet401: true }),
  /** The caller's account and whether they are an administrator (who sees Analytics). */
  me: () => request<Schemas['CurrentUserEnvelope']>('/users/me', { quiet401: true }),
  searchUsers: (q: string, cursor?: string | null) =>
    request<Schemas['UserList']>('/users', { query: { q, cursor, limit: 20 } }),
  profile: (username: string) => request<Profile>(`/users/${enc(username)}`),
  follow: (username: string) => request<void>(`/users/me/following/${enc(username)}`, { method: 'PUT' }),
  unfollow: (username: string) => request<void>(`/users/me/following/${enc(username)}`, { method: 'DELETE' }),
  followers: (username: string, cursor?: string | null) =>
    request<Schemas['UserList']>(`/users/${enc(username)}/followers`, { query: { cursor } }),
  following: (username: string, cursor?: string | null) =>
    request<Schemas['UserList']>(`/users/${enc(username)}/following`, { query: { cursor } }),
  userPosts: (username: string, cursor?: string | null) =>
    request<Schemas['PostList']>(`/users/${enc(username)}/posts`, { query: { cursor, limit: 20 } }),
  feed: (cursor?: string | null) => request<Schemas['PostList']>('/feed', { query: { cursor, limit: 20 } }),
  createPost: async (content: string): Promise<Post> =>
    (await request<Schemas['PostEnvelope']>('/posts', { method: 'POST', body: { content } })).post,
  post: async (id: string): Promise<Post> => (await request<Schemas['PostEnvelope']>(`/posts/${enc(id)}`)).post,
  comments: (postId: string, cursor?: string | null) =>
    request<Schemas['CommentList']>(`/posts/${enc(postId)}/comments`, { query: { cursor, limit: 50 } }),
  addComment: async (postId: string, content: string): Promise<Comment> =>
    (await request<Schemas['CommentEnvelope']>(`/posts/${enc(postId)}/comments`, { method: 'POST', body: { content } }))
      .comment,
  claimNotifications: () => request<Schemas['NotificationClaim']>('/notifications/claim', { method: 'POST' }),
  notifications: (cursor?: string | null) =>
    request<Schemas['NotificationList']>('/notifications', { query: { cursor, limit: 20 } }),
  notificationGroups: (cursor?: string | null) =>
    request<Schemas['NotificationGroupList']>('/notifications/groups', { query: { cursor, limit: 20 } }),
  unreadCounts: () => request<UnreadCounts>('/notifications/unread'),
  /** Marks the group of `postId` read, or every group when null. */
  markNotificationsRead: (postId: string | null) =>
    request<Schemas['MarkNotificationsReadResult']>('/notifications/read', {
      method: 'POST',
      body: postId === null ? { all: true } : { post_id: postId },
    }),
  analyticsLogins: (days: number, tz: string) => request<AnalyticsLogins>('/analytics/logins', { query: { days, tz } }),
  analyticsTopPosts: (days: number, tz: string) =>
    request<AnalyticsTopPosts>('/analytics/top-posts', { query: { days, tz } }),
  analyticsExtremes: (username: string) =>
    request<AnalyticsExtremes>(`/analytics/users/${enc(username)}/extremes`),
  /** Any post, read-only, whoever wrote it (administrators only). */
  analyticsPost: async (id: string): Promise<Post> =>
    (await request<Schemas['PostEnvelope']>(`/analytics/posts/${enc(id)}`)).post,
};

export const LIMITS = { post: 1000, comment: 500 } as const;

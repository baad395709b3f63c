// The bSocial HTTP API (docs/openapi.yaml), same origin, authenticated by the HttpOnly
// `bsocial_session` cookie that the login answer sets. The app never sees or stores the
// token: the login answer's `token` field is ignored on purpose.

export interface User {
  id: string;
  username: string;
  first_name: string;
  last_name: string;
  created_at?: string;
  email?: string;
}

export interface Profile {
  user: User;
  followers_count: number;
  following_count: number;
  followed_by_me: boolean;
}

export interface Author {
  id: string;
  username: string;
  first_name: string;
  last_name: string;
}

export interface Post {
  id: string;
  author: Author;
  content: string;
  created_at: string;
  comment_count: number;
}

export interface Comment {
  id: string;
  post_id: string;
  author: Author;
  content: string;
  created_at: string;
}

export interface Notification {
  id: string;
  type: string;
  post_id: string;
  comment_id: string;
  actor: { id: string; username: string };
  excerpt: string;
  created_at: string;
  delivered_at: string | null;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Registration {
  first_name: string;
  last_name: string;
  username: string;
  email: string;
  password: string;
  password_confirmation: string;
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
  register: (r: Registration) => request<{ user: User }>('/users', { method: 'POST', body: r }),
  // The answer also carries the token; we rely on the HttpOnly cookie and drop it.
  login: async (login: string, password: string): Promise<User> =>
    (await request<{ user: User }>('/sessions', { method: 'POST', body: { login, password }, quiet401: true })).user,
  logout: () => request<void>('/sessions/current', { method: 'DELETE', quiet401: true }),
  me: async (): Promise<User> => (await request<{ user: User }>('/users/me', { quiet401: true })).user,
  searchUsers: (q: string, cursor?: string | null) =>
    request<Page<User>>('/users', { query: { q, cursor, limit: 20 } }),
  profile: (username: string) => request<Profile>(`/users/${enc(username)}`),
  follow: (username: string) => request<void>(`/users/me/following/${enc(username)}`, { method: 'PUT' }),
  unfollow: (username: string) => request<void>(`/users/me/following/${enc(username)}`, { method: 'DELETE' }),
  followers: (username: string, cursor?: string | null) =>
    request<Page<User>>(`/users/${enc(username)}/followers`, { query: { cursor } }),
  following: (username: string, cursor?: string | null) =>
    request<Page<User>>(`/users/${enc(username)}/following`, { query: { cursor } }),
  userPosts: (username: string, cursor?: string | null) =>
    request<Page<Post>>(`/users/${enc(username)}/posts`, { query: { cursor, limit: 20 } }),
  feed: (cursor?: string | null) => request<Page<Post>>('/feed', { query: { cursor, limit: 20 } }),
  createPost: async (content: string): Promise<Post> =>
    (await request<{ post: Post }>('/posts', { method: 'POST', body: { content } })).post,
  post: async (id: string): Promise<Post> => (await request<{ post: Post }>(`/posts/${enc(id)}`)).post,
  comments: (postId: string, cursor?: string | null) =>
    request<Page<Comment>>(`/posts/${enc(postId)}/comments`, { query: { cursor, limit: 50 } }),
  addComment: async (postId: string, content: string): Promise<Comment> =>
    (await request<{ comment: Comment }>(`/posts/${enc(postId)}/comments`, { method: 'POST', body: { content } }))
      .comment,
  claimNotifications: () => request<{ items: Notification[] }>('/notifications/claim', { method: 'POST' }),
  notifications: (cursor?: string | null) =>
    request<Page<Notification>>('/notifications', { query: { cursor, limit: 20 } }),
};

export const LIMITS = { post: 1000, comment: 500 } as const;

// What a view is given by the application shell (app.ts). Views import this module, never
// app.ts itself, so the imports stay a tree (app.ts -> views -> ctx.ts); `npm run check`
// (tools/check-imports.mjs) fails if a cycle comes back.

import type { User } from './api';
import type { NotificationCenter } from './notifications';

export type ToastKind = 'info' | 'success' | 'error' | 'notify';

/** A view's context once logged in. */
export interface Ctx {
  me: User;
  /** An administrator (bsocial admin grant): sees the Analytics page. */
  isAdmin: boolean;
  notifications: NotificationCenter;
  toast(message: string, kind?: ToastKind, link?: { href: string; text: string }): void;
  /** Shows an error as a toast (401 is handled globally: back to the login screen). */
  error(e: unknown): void;
  navigate(hash: string): void;
  logout(): Promise<void>;
}

/** The login and register screens' context (nobody is logged in). */
export interface PublicCtx {
  toast: Ctx['toast'];
  navigate(hash: string): void;
  loggedIn(user: User, welcome?: string): void;
  /** A message to show on the login screen (e.g. why the user is there). */
  flash: string | null;
}

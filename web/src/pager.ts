// The one "Load more" pager of the app: follows `next_cursor` page by page, shows the button
// only while there is a next page, disables it while a page loads, and drops the answer of a
// request overtaken by a newer start-over (a new search typed meanwhile).

import type { Page } from './api';
import { h } from './dom';

export interface PagerOptions<T> {
  /** The button's text and classes. */
  label: string;
  className: string;
  /** Fetches the page after `cursor` (null: the first page). */
  fetch(cursor: string | null): Promise<Page<T>>;
  /** Shows a page's items; `first` when it is the first page of a start-over. */
  show(items: T[], first: boolean): void;
  /** A page could not be loaded. */
  failed(e: unknown): void;
}

export interface Pager {
  /** The "Load more" button, hidden while there is no next page. */
  readonly button: HTMLButtonElement;
  /** True while there is no next page (also before the first one came). */
  readonly atEnd: boolean;
  /** Loads the first page again (`reset`) or the next one. */
  load(reset: boolean): Promise<void>;
  /** Continues after `cursor` without loading (pages restored from sessionStorage). */
  resume(cursor: string | null): void;
  /** The cursor of the next page (null: none). */
  readonly cursor: string | null;
  /** True while a page is loading. */
  readonly loading: boolean;
}

export function pager<T>(opts: PagerOptions<T>): Pager {
  const button = h('button', { type: 'button', class: opts.className, hidden: true }, opts.label);
  let cursor: string | null = null;
  let generation = 0;
  let loading = false;

  const load = async (reset: boolean) => {
    const mine = reset ? ++generation : generation;
    if (loading && !reset) return; // one next page at a time (a click and the scroll observer)
    loading = true;
    button.disabled = true;
    try {
      const page = await opts.fetch(reset ? null : cursor);
      if (mine !== generation) return; // a newer start-over began meanwhile
      cursor = page.next_cursor; // before show(): it may save where the list goes on
      opts.show(page.items, reset);
      button.hidden = cursor === null;
    } catch (e) {
      if (mine !== generation) return;
      opts.failed(e);
    } finally {
      if (mine === generation) {
        loading = false;
        button.disabled = false;
      }
    }
  };
  button.addEventListener('click', () => void load(false));
  return {
    button,
    get atEnd() {
      return cursor === null;
    },
    get cursor() {
      return cursor;
    },
    get loading() {
      return loading;
    },
    load,
    resume(c) {
      ++generation; // a page still loading from before is dropped
      loading = false;
      button.disabled = false;
      cursor = c;
      button.hidden = cursor === null;
    },
  };
}

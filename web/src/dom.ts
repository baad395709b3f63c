// Tiny DOM helpers. Everything the app shows from the API goes through text nodes
// (`document.createTextNode` / `textContent`): no HTML parsing anywhere, so user content can
// never become markup (XSS-safe), and no inline styles or handlers (strict CSP).

type Child = Node | string | number | null | undefined | false;
type Handler = (ev: Event) => void;

interface AttrValues {
  class?: string;
  id?: string;
  href?: string;
  type?: string;
  name?: string;
  value?: string;
  placeholder?: string;
  autocomplete?: string;
  title?: string;
  role?: string;
  for?: string;
  required?: boolean;
  disabled?: boolean;
  hidden?: boolean;
  maxlength?: number;
  minlength?: number;
  rows?: number;
  datetime?: string;
  dataset?: Record<string, string>;
  aria?: Record<string, string>;
  on?: Partial<Record<keyof HTMLElementEventMap, Handler>>;
}

/** Attributes of h(); an undefined value is simply not set. */
export type Attrs = { [K in keyof AttrValues]?: AttrValues[K] | undefined };

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs) as [keyof Attrs, unknown][]) {
      if (value === undefined || value === null || value === false) continue;
      switch (key) {
        case 'on':
          for (const [ev, fn] of Object.entries(value as Record<string, Handler>)) {
            el.addEventListener(ev, fn);
          }
          break;
        case 'dataset':
          for (const [k, v] of Object.entries(value as Record<string, string>)) el.dataset[k] = v;
          break;
        case 'aria':
          for (const [k, v] of Object.entries(value as Record<string, string>)) {
            el.setAttribute(`aria-${k}`, v);
          }
          break;
        case 'class':
          el.className = String(value);
          break;
        case 'value':
          (el as HTMLInputElement).value = String(value);
          break;
        default:
          el.setAttribute(key, value === true ? '' : String(value));
      }
    }
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function replace(el: Element, ...children: Child[]): void {
  clear(el);
  append(el, ...children);
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing element #${id}`);
  return el as T;
}

/** A relative time kept current by the page's one timer (text.ts). */
export { liveTime as timeAgo } from './text';

export function fullName(u: { first_name?: string; last_name?: string; username: string }): string {
  const n = `${u.first_name ?? ''} ${u.last_name ?? ''}`.trim();
  return n || u.username;
}

export function initials(u: { first_name?: string; last_name?: string; username: string }): string {
  const a = (u.first_name ?? '').trim().charAt(0);
  const b = (u.last_name ?? '').trim().charAt(0);
  const s = (a + b) || u.username.charAt(0);
  return s.toUpperCase();
}

/** A round avatar with the user's initials (no images: nothing to load, nothing to trust). */
export function avatar(u: { first_name?: string; last_name?: string; username: string }, size = ''): HTMLElement {
  // a stable hue per username, chosen from a fixed palette of CSS classes (no inline styles)
  let hash = 0;
  for (const ch of u.username) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return h('span', { class: `avatar hue-${hash % 8} ${size}`.trim(), aria: { hidden: 'true' } }, initials(u));
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

// Form helpers: labelled fields with a slot for the server's per-field error.

import { ApiError, formatWait } from '../api';
import { h, replace } from '../dom';

export interface Field {
  wrap: HTMLElement;
  input: HTMLInputElement;
  error: HTMLElement;
}

export function field(
  name: string,
  label: string,
  opts: { type?: string; autocomplete?: string; required?: boolean; maxlength?: number; placeholder?: string } = {},
): Field {
  const id = `f-${name}`;
  const input = h('input', {
    id,
    name,
    type: opts.type ?? 'text',
    autocomplete: opts.autocomplete,
    required: opts.required ?? true,
    maxlength: opts.maxlength,
    placeholder: opts.placeholder,
    aria: { describedby: `${id}-error` },
  });
  const error = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), input, error);
  return { wrap, input, error };
}

export function setFieldError(f: Field, message: string | null): void {
  f.error.textContent = message ?? '';
  f.error.hidden = !message;
  f.wrap.classList.toggle('invalid', !!message);
  if (message) f.input.setAttribute('aria-invalid', 'true');
  else f.input.removeAttribute('aria-invalid');
}

/** A banner for form-level errors. */
export function formAlert(): { el: HTMLElement; show(msg: string, kind?: 'error' | 'info'): void; hide(): void } {
  const el = h('div', { class: 'alert', role: 'alert', hidden: true });
  return {
    el,
    show(msg, kind = 'error') {
      el.className = `alert alert-${kind}`;
      replace(el, msg);
      el.hidden = false;
    },
    hide() {
      el.hidden = true;
    },
  };
}

/** For 429: disables `button` with a countdown until Retry-After has passed. The limit is
 *  per login identifier, so editing `identifier` (another account) lifts it at once. */
export function rateLimitCountdown(
  e: ApiError,
  button: HTMLButtonElement,
  label: string,
  show: (m: string) => void,
  identifier?: HTMLInputElement,
): void {
  let left = e.retryAfter ?? 0;
  show(e.friendly);
  if (left <= 0) return;
  const limited = identifier?.value;
  button.disabled = true;
  const done = () => {
    window.clearInterval(timer);
    identifier?.removeEventListener('input', onEdit);
    button.disabled = false;
    button.textContent = label;
  };
  const onEdit = () => {
    if (identifier && identifier.value !== limited) done();
  };
  const tick = () => {
    if (!button.isConnected) return done();
    left -= 1;
    if (left <= 0) return done();
    button.textContent = `Wait ${formatWait(left)}`;
  };
  const timer = window.setInterval(tick, 1000);
  identifier?.addEventListener('input', onEdit);
  button.textContent = `Wait ${formatWait(left)}`;
}

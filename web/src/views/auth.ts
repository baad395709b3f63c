// Log in and register.

import { api, ApiError, type Registration } from '../api';
import { h } from '../dom';
import type { PublicCtx } from '../ctx';
import { field, formAlert, rateLimitCountdown, setFieldError, type Field } from './form';

function authShell(title: string, subtitle: string, ...body: Node[]): HTMLElement {
  return h(
    'div',
    { class: 'auth' },
    h(
      'div',
      { class: 'auth-intro' },
      h('p', { class: 'auth-brand' }, 'bSocial'),
      h('p', { class: 'muted' }, 'Share what you are working on, follow the people you care about.'),
    ),
    h('div', { class: 'card auth-card' }, h('h1', null, title), h('p', { class: 'muted' }, subtitle), ...body),
  );
}

export function renderLogin(root: HTMLElement, ctx: PublicCtx): void {
  const alert = formAlert();
  const login = field('login', 'Username or e-mail', { autocomplete: 'username', maxlength: 254 });
  const password = field('password', 'Password', { type: 'password', autocomplete: 'current-password', maxlength: 128 });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Log in');
  const form = h('form', { class: 'form', id: 'login-form', aria: { label: 'Log in' } }, alert.el, login.wrap, password.wrap, submit);
  if (ctx.flash) alert.show(ctx.flash, 'info');

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    alert.hide();
    setFieldError(login, null);
    setFieldError(password, null);
    submit.disabled = true;
    try {
      const user = await api.login(login.input.value.trim(), password.input.value);
      ctx.loggedIn(user);
    } catch (e) {
      submit.disabled = false;
      password.input.value = '';
      if (!(e instanceof ApiError)) throw e;
      if (e.code === 'rate_limited') {
        rateLimitCountdown(e, submit, 'Log in', (m) => alert.show(m), login.input);
      } else if (e.code === 'validation_failed' && Object.keys(e.fields).length) {
        if (e.fields.login) setFieldError(login, e.fields.login);
        if (e.fields.password) setFieldError(password, e.fields.password);
      } else {
        alert.show(e.friendly);
      }
      password.input.focus();
    }
  });

  root.append(
    authShell(
      'Log in',
      'Welcome back.',
      form,
      h('p', { class: 'auth-switch' }, 'New to bSocial? ', h('a', { href: '#/register', id: 'to-register' }, 'Create an account')),
    ),
  );
  // No autofocus: the app shell focuses the page's heading on a route change, and a fresh
  // load leaves the focus at the document's start (skip link first; issue 28).
}

export function renderRegister(root: HTMLElement, ctx: PublicCtx): void {
  const alert = formAlert();
  const f: Record<keyof Registration, Field> = {
    first_name: field('first_name', 'First name', { autocomplete: 'given-name', maxlength: 100 }),
    last_name: field('last_name', 'Last name', { autocomplete: 'family-name', maxlength: 100 }),
    username: field('username', 'Username', { autocomplete: 'username', maxlength: 30, placeholder: 'letters, digits, _' }),
    email: field('email', 'E-mail', { type: 'email', autocomplete: 'email', maxlength: 254 }),
    password: field('password', 'Password', { type: 'password', autocomplete: 'new-password', maxlength: 128, placeholder: 'at least 8 characters' }),
    password_confirmation: field('password_confirmation', 'Confirm password', { type: 'password', autocomplete: 'new-password', maxlength: 128 }),
  };
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Create account');
  const form = h(
    'form',
    { class: 'form', id: 'register-form', aria: { label: 'Create an account' } },
    alert.el,
    h('div', { class: 'row-2' }, f.first_name.wrap, f.last_name.wrap),
    f.username.wrap,
    f.email.wrap,
    f.password.wrap,
    f.password_confirmation.wrap,
    submit,
  );
  // The server is the judge of every rule (its 422 names the fields); the browser only
  // keeps people from sending an obviously empty form.
  form.noValidate = true;

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    alert.hide();
    for (const x of Object.values(f)) setFieldError(x, null);
    const body = Object.fromEntries(
      Object.entries(f).map(([k, x]) => [k, k.startsWith('password') ? x.input.value : x.input.value.trim()]),
    ) as unknown as Registration;
    submit.disabled = true;
    try {
      await api.register(body);
    } catch (e) {
      submit.disabled = false;
      if (!(e instanceof ApiError)) throw e;
      const named = Object.entries(e.fields).filter(([k]) => k in f);
      for (const [k, msg] of named) setFieldError(f[k as keyof Registration], sentence(msg));
      if (named.length) {
        alert.show(e.code === 'already_exists' ? 'That account already exists.' : 'Please correct the highlighted fields.');
        f[named[0]![0] as keyof Registration].input.focus();
      } else {
        alert.show(e.friendly);
      }
      return;
    }
    // Registered: log straight in with the same credentials.
    try {
      const user = await api.login(body.username, body.password);
      ctx.loggedIn(user, `Welcome to bSocial, ${user.first_name}!`);
    } catch (e) {
      ctx.toast('Your account was created. Please log in.', 'success');
      ctx.navigate('#/login');
      void e;
    }
  });

  root.append(
    authShell(
      'Create your account',
      'It takes less than a minute.',
      form,
      h('p', { class: 'auth-switch' }, 'Already have an account? ', h('a', { href: '#/login', id: 'to-login' }, 'Log in')),
    ),
  );
  // No autofocus (see renderLogin).
}

function sentence(s: string): string {
  return s ? s.charAt(0).toUpperCase() + s.slice(1) : s;
}

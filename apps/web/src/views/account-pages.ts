import {
  PASSKEY_NAME_MAX_LENGTH,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  type Account,
  type Passkey,
} from '@goal-tracker/contract';
import type { Assets } from '../assets.js';
import { html, type HtmlValue, type Markup, type SafeHtml } from '../html.js';
import { adoptedText } from '../view.js';
import { inputField, type InputOptions } from './fields.js';
import { icons } from './icons.js';
import { layout, PRODUCT_NAME } from './layout.js';

const NEW_PASSWORD_LENGTH = { min: PASSWORD_MIN_LENGTH, max: PASSWORD_MAX_LENGTH };
const NEW_PASSWORD_HINT = `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters. A few unrelated words make a strong password.`;

/** What every account page may carry besides its form. */
export interface AccountPageParts {
  assets: Assets;
  /** What the last action did ("You are signed out."). */
  notice?: string | undefined;
  /** Why the form came back, when it is not one field's problem (an outage, too many tries). */
  error?: string | undefined;
}

/** Per-field messages; the first one also gets the focus. */
export type FieldErrors<Name extends string> = Partial<Record<Name, string>>;

function frame(
  parts: AccountPageParts & {
    /** The page's heading, and its tab's title. */
    title: string;
    /** Any field message, so the tab's title says the form was refused. */
    errors?: Record<string, string | undefined>;
    session?: { email: string };
    /** The page offers passkeys: it loads their module, which shows the hidden controls. */
    passkeys?: boolean;
    body: HtmlValue;
  },
): Markup {
  const failure =
    parts.error ?? Object.values(parts.errors ?? {}).find((message) => message !== undefined);
  const title = `${failure ? `Error: ${failure} · ` : ''}${parts.title} · ${PRODUCT_NAME}`;
  return layout({
    title,
    assets: parts.assets,
    brandIsHeading: false,
    skipTo: 'main content',
    passkeys: parts.passkeys ?? false,
    ...(parts.session ? { session: parts.session } : {}),
    body: html`<main class="card account-card" id="main" tabindex="-1">
      <h1 class="page-title">${parts.title}</h1>
      ${
        parts.notice &&
        html`<p class="notice" id="notice" role="status">
          ${icons.check}<span>${parts.notice}</span>
        </p>`
      }
      <div class="messages" id="messages" role="alert">
        ${parts.error && html`<p class="message message-error">${parts.error}</p>`}
      </div>
      ${parts.body}
    </main>`,
  });
}

/**
 * Each field's message, and whether it gets the focus when the form comes back: the first
 * field in `order` with a message does.
 */
function fieldStates<Name extends string>(errors: FieldErrors<Name>, order: Name[]) {
  const focus = order.find((name) => errors[name] !== undefined);
  return (name: Name) => ({ error: errors[name], autofocus: focus === name });
}

function submit(label: string, kind: 'primary' | 'danger' = 'primary'): SafeHtml {
  return html`<button
    class="button ${kind === 'danger' ? 'danger-button' : 'primary'}"
    type="submit"
  >
    ${label}
  </button>`;
}

function emailField(id: string, value: string, state: Pick<InputOptions, 'error' | 'autofocus'>) {
  return inputField({
    id,
    name: 'email',
    label: 'Email',
    type: 'email',
    autocomplete: 'email',
    value,
    ...state,
  });
}

/** A password given to prove who one is: never checked against the rules, so no hint. */
function currentPasswordField(
  options: Pick<InputOptions, 'id' | 'name' | 'label' | 'error' | 'autofocus'>,
): SafeHtml {
  return inputField({ ...options, type: 'password', autocomplete: 'current-password' });
}

/** A password being chosen: bounded as the contract says, with the rule beside it. */
function newPasswordField(
  options: Pick<InputOptions, 'id' | 'name' | 'label' | 'error' | 'autofocus'>,
): SafeHtml {
  return inputField({
    ...options,
    type: 'password',
    autocomplete: 'new-password',
    hint: NEW_PASSWORD_HINT,
    length: NEW_PASSWORD_LENGTH,
  });
}

/**
 * A form page for someone not signed in (sign-in, sign-up, recovery). Of what was typed only
 * the email comes back with the form; a password or recovery code never does.
 */
export interface SignedOutFormModel<Field extends string> extends AccountPageParts {
  email: string;
  errors: FieldErrors<Field>;
}

export type SignInModel = SignedOutFormModel<'email' | 'password'>;

/**
 * Where the passkey module says why a passkey did not work (on success the page changes).
 * Always present and empty, so that screen readers already follow it when a message comes.
 */
const passkeyStatus = html`<p
  class="field-error passkey-status"
  id="passkey-status"
  role="status"
></p>`;

export function signInPage(model: SignInModel): Markup {
  const field = fieldStates(model.errors, ['email', 'password']);
  return frame({
    ...model,
    title: 'Sign in',
    passkeys: true,
    body: html`<form class="account-form" method="post" action="/signin">
        ${emailField('signin-email', model.email, field('email'))}
        ${currentPasswordField({
          id: 'signin-password',
          name: 'password',
          label: 'Password',
          ...field('password'),
        })}
        ${submit('Sign in')}
      </form>
      <div class="passkey-actions">
        <button
          class="button secondary"
          type="button"
          hidden
          data-passkey-sign-in
          data-passkey-status="passkey-status"
          data-passkey-done="/"
        >
          Sign in with a passkey
        </button>
        ${passkeyStatus}
      </div>
      <ul class="account-links">
        <li>New here? <a href="/signup">Create an account</a></li>
        <li>Forgot your password? <a href="/recover">Use your recovery code</a></li>
      </ul>`,
  });
}

export type SignUpModel = SignedOutFormModel<'email' | 'password'>;

export function signUpPage(model: SignUpModel): Markup {
  const field = fieldStates(model.errors, ['email', 'password']);
  return frame({
    ...model,
    title: 'Create your account',
    body: html`<p class="lead">Your goals are private to your account, on any device.</p>
      <div class="callout" id="no-email-note">
        <h2 class="callout-title">No email is ever sent</h2>
        <p>
          The address is only your name for signing in: it is never checked and there is no reset
          link. After signing up you get a recovery code. Without your password, that code is the
          only way back in.
        </p>
      </div>
      <form class="account-form" method="post" action="/signup">
        ${emailField('signup-email', model.email, field('email'))}
        ${newPasswordField({
          id: 'signup-password',
          name: 'password',
          label: 'Password',
          ...field('password'),
        })}
        ${submit('Create account')}
      </form>
      <ul class="account-links">
        <li>Already have an account? <a href="/signin">Sign in</a></li>
      </ul>`,
  });
}

export type RecoverModel = SignedOutFormModel<'email' | 'code' | 'password'>;

export function recoverPage(model: RecoverModel): Markup {
  const field = fieldStates(model.errors, ['email', 'code', 'password']);
  return frame({
    ...model,
    title: 'Recover your account',
    body: html`<p class="lead">
        Forgot your password? Enter your email, the recovery code you saved, and a new password. You
        will get a new recovery code; the old one stops working.
      </p>
      <form class="account-form" method="post" action="/recover">
        ${emailField('recover-email', model.email, field('email'))}
        ${inputField({
          id: 'recover-code',
          name: 'recoveryCode',
          label: 'Recovery code',
          type: 'text',
          autocomplete: 'off',
          ...field('code'),
        })}
        ${newPasswordField({
          id: 'recover-password',
          name: 'newPassword',
          label: 'New password',
          ...field('password'),
        })}
        ${submit('Set new password')}
      </form>
      <ul class="account-links">
        <li>Remembered it? <a href="/signin">Sign in</a></li>
      </ul>`,
  });
}

export interface RecoveryCodeModel {
  assets: Assets;
  email: string;
  code: string;
  /** Goals from before accounts that this sign-up took over. */
  adoptedGoals: number | undefined;
  after: 'sign-up' | 'recovery';
}

/**
 * The recovery code, shown once: this page is the answer to the form post itself, never a
 * page that could be asked for again, and it is not stored by the browser.
 */
export function recoveryCodePage(model: RecoveryCodeModel): Markup {
  const intro =
    model.after === 'sign-up'
      ? html`Your account is ready.`
      : html`Your new password is set, and your old recovery code no longer works.`;
  return frame({
    assets: model.assets,
    title: 'Save your recovery code',
    session: { email: model.email },
    ...(model.adoptedGoals ? { notice: adoptedText(model.adoptedGoals) } : {}),
    body: html`<p class="lead">${intro}</p>
      <p>
        If you forget your password, this code is the only way back into your account: no email is
        ever sent. Write it down or keep it in your password manager.
        <strong>It is shown only this once.</strong>
      </p>
      <p class="recovery-code-box">
        <span class="label">Your recovery code</span>
        <code class="recovery-code" id="recovery-code">${model.code}</code>
      </p>
      <p><a class="button primary" href="/">I have saved it: continue to my goals</a></p>`,
  });
}

export interface AccountModel extends AccountPageParts {
  account: Account;
  /** The account's passkeys, oldest first; undefined when the API could not list them. */
  passkeys: Passkey[] | undefined;
  errors: FieldErrors<'currentPassword' | 'newPassword' | 'deletePassword'>;
}

const DATE_FORMAT = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeZone: 'UTC' });

function dateOf(timestamp: string): SafeHtml {
  const date = new Date(timestamp);
  const shown = Number.isNaN(date.getTime()) ? timestamp : DATE_FORMAT.format(date);
  return html`<time datetime="${timestamp}">${shown}</time>`;
}

export function accountPage(model: AccountModel): Markup {
  const { account } = model;
  const field = fieldStates(model.errors, ['currentPassword', 'newPassword', 'deletePassword']);
  // Tells password managers whose password each form is about; never submitted (no name).
  const username = html`<input
    type="email"
    autocomplete="username"
    value="${account.email}"
    hidden
  />`;
  return frame({
    ...model,
    title: 'Your account',
    session: { email: account.email },
    passkeys: true,
    body: html`<dl class="account-facts">
        <div>
          <dt>Email</dt>
          <dd>${account.email}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>${dateOf(account.createdAt)}</dd>
        </div>
      </dl>

      <section class="account-section" aria-labelledby="password-heading">
        <h2 class="section-title" id="password-heading">Change password</h2>
        <p>Every other device signed in to your account is signed out.</p>
        <form class="account-form" method="post" action="/account/password">
          ${username}
          ${currentPasswordField({
            id: 'current-password',
            name: 'currentPassword',
            label: 'Current password',
            ...field('currentPassword'),
          })}
          ${newPasswordField({
            id: 'new-password',
            name: 'newPassword',
            label: 'New password',
            ...field('newPassword'),
          })}
          ${submit('Change password')}
        </form>
      </section>

      ${passkeysSection(model.passkeys)}

      <section class="account-section danger-zone" aria-labelledby="delete-heading">
        <h2 class="section-title" id="delete-heading">Delete account</h2>
        <p>
          This deletes your account and every goal in it at once, on every device. It cannot be
          undone.
        </p>
        <form class="account-form" method="post" action="/account/delete">
          ${username}
          ${currentPasswordField({
            id: 'delete-password',
            name: 'password',
            label: 'Your password, to confirm',
            ...field('deletePassword'),
          })}
          ${submit('Delete account and goals', 'danger')}
        </form>
      </section>
      <p><a href="/">Back to your goals</a></p>`,
  });
}

/** Where the add button leads once the passkey is kept: the list, saying so. */
const PASSKEY_ADDED_PATH = '/account?status=passkey-added';

function passkeyItem(passkey: Passkey): SafeHtml {
  return html`<li class="passkey">
    <div class="passkey-facts">
      <span class="passkey-name">${passkey.name}</span>
      <span class="passkey-dates">
        Added ${dateOf(passkey.createdAt)} ·
        ${passkey.lastUsedAt ? html`last used ${dateOf(passkey.lastUsedAt)}` : 'never used yet'}
      </span>
    </div>
    <form method="post" action="/account/passkeys/${passkey.id}/remove">
      <button class="button secondary small" type="submit">
        Remove<span class="visually-hidden"> passkey ${passkey.name}</span>
      </button>
    </form>
  </li>`;
}

/**
 * The account's passkeys, each with a plain form that removes it, and the button that adds one
 * (hidden with its name field until the passkey module finds that the browser can).
 */
function passkeysSection(passkeys: Passkey[] | undefined): SafeHtml {
  let list: SafeHtml;
  if (passkeys === undefined) {
    list = html`<p class="message message-error">
      Your passkeys cannot be listed right now. Try again in a moment.
    </p>`;
  } else if (passkeys.length === 0) {
    list = html`<p>You have no passkeys yet.</p>`;
  } else {
    list = html`<ul class="passkey-list">
      ${passkeys.map(passkeyItem)}
    </ul>`;
  }
  return html`<section class="account-section" id="passkeys" aria-labelledby="passkeys-heading">
    <h2 class="section-title" id="passkeys-heading">Passkeys</h2>
    <p>
      A passkey signs you in with your device's screen lock or a security key instead of your
      password. Adding one needs a browser that supports passkeys.
    </p>
    ${list}
    <div class="account-form passkey-add">
      <div class="form-field" hidden data-passkey-show>
        <label class="label" for="passkey-name">Name for the new passkey (optional)</label>
        <p class="hint" id="passkey-name-hint">Such as the device it is on.</p>
        <input
          class="field"
          id="passkey-name"
          type="text"
          autocomplete="off"
          maxlength="${PASSKEY_NAME_MAX_LENGTH}"
          aria-describedby="passkey-name-hint"
        />
      </div>
      <button
        class="button primary"
        type="button"
        hidden
        data-passkey-add
        data-passkey-name="passkey-name"
        data-passkey-status="passkey-status"
        data-passkey-done="${PASSKEY_ADDED_PATH}"
      >
        Add a passkey
      </button>
    </div>
    ${passkeyStatus}
  </section>`;
}

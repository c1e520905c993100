/**
 * Passkeys in the browser: adding one to the signed-in account, and signing in with one.
 *
 * Bundled as a module of its own (dist/client/passkeys.js) and linked only from the pages
 * that offer passkeys, so the goals page does not load it.
 *
 * WebAuthn's JSON forms are converted by the browser itself (PublicKeyCredential's
 * parse…OptionsFromJSON and toJSON, Baseline 2025), so no base64url code or library is
 * needed. A browser without them, or a page on plain HTTP other than localhost, is not
 * offered passkeys: the buttons stay hidden and the password forms work as before.
 *
 * Buttons are found by data attributes (see wirePasskeyButtons); the functions are exported
 * for pages that want their own controls.
 */
import type { AddPasskeyInput, Passkey, PasskeySignInInput } from '@goal-tracker/contract';

export type PasskeyOutcome<T> =
  | { ok: true; value: T }
  /** `cancelled`: the person closed the browser's prompt, or let it time out. */
  | { ok: false; cancelled: boolean; message: string };

/** What the browser's toJSON() gives for a new or used passkey, as the API takes it. */
type CredentialJSON = AddPasskeyInput['response'] & PasskeySignInInput['response'];

/** The API's routes, as the web tier forwards them. */
const API = '/api';
/** The web tier's route that turns a passkey's answer into a signed-in session (a cookie). */
export const DEFAULT_SIGN_IN_ENDPOINT = '/signin/passkey';
/** A guard against a server that never answers, not a limit on the person. */
const REQUEST_DEADLINE_MS = 15_000;

export function passkeysSupported(): boolean {
  return (
    window.isSecureContext &&
    typeof PublicKeyCredential === 'function' &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function' &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function' &&
    typeof PublicKeyCredential.prototype.toJSON === 'function'
  );
}

const failed = (message: string, cancelled = false) => ({ ok: false, cancelled, message }) as const;

async function post<T>(path: string, body?: unknown): Promise<PasskeyOutcome<T>> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(REQUEST_DEADLINE_MS),
    });
  } catch {
    return failed('The server could not be reached. Check your connection and try again.');
  }
  const answer = (await response.json().catch(() => undefined)) as unknown;
  if (response.ok) return { ok: true, value: answer as T };
  const problem = (answer ?? {}) as { title?: string; detail?: string };
  return failed(problem.detail ?? problem.title ?? `The request failed (${response.status}).`);
}

/** What the browser's prompt ended with, in words for the person. */
function ceremonyFailure(error: unknown, creating: boolean): PasskeyOutcome<never> {
  const name = error instanceof DOMException ? error.name : '';
  if (name === 'NotAllowedError' || name === 'AbortError') {
    return failed('No passkey was used: the request was cancelled or timed out.', true);
  }
  if (name === 'InvalidStateError' && creating) {
    return failed('This device already holds a passkey for your account.');
  }
  if (name === 'SecurityError') {
    return failed('Passkeys do not work at this address. Use the site over HTTPS.');
  }
  return failed('The passkey could not be used. Try again, or use your password.');
}

async function ceremony<
  T extends PublicKeyCredentialCreationOptionsJSON | PublicKeyCredentialRequestOptionsJSON,
>(
  optionsPath: string,
  run: (options: T) => Promise<Credential | null>,
  creating: boolean,
): Promise<PasskeyOutcome<CredentialJSON>> {
  const options = await post<T>(optionsPath);
  if (!options.ok) return options;
  try {
    const credential = await run(options.value);
    if (!(credential instanceof PublicKeyCredential)) {
      return failed('The passkey could not be used. Try again, or use your password.');
    }
    // lib.dom types toJSON() as any; the API checks every part of it.
    return { ok: true, value: credential.toJSON() as CredentialJSON };
  } catch (error) {
    return ceremonyFailure(error, creating);
  }
}

/** Adds a passkey to the signed-in account: the browser asks which authenticator to use. */
export async function addPasskey(name?: string): Promise<PasskeyOutcome<Passkey>> {
  const created = await ceremony<PublicKeyCredentialCreationOptionsJSON>(
    `${API}/passkeys/registration-options`,
    (options) =>
      navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
      }),
    true,
  );
  if (!created.ok) return created;
  const trimmed = name?.trim();
  const input: AddPasskeyInput = { response: created.value, ...(trimmed ? { name: trimmed } : {}) };
  return post<Passkey>(`${API}/passkeys`, input);
}

/**
 * Signs in with any passkey of this site, no email asked, by sending the browser's answer to
 * `endpoint` as `{ response }`. Answers what the endpoint answered.
 */
export async function signInWithPasskey(
  endpoint: string = DEFAULT_SIGN_IN_ENDPOINT,
): Promise<PasskeyOutcome<unknown>> {
  const asserted = await ceremony<PublicKeyCredentialRequestOptionsJSON>(
    `${API}/sessions/passkey/options`,
    (options) =>
      navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
      }),
    false,
  );
  if (!asserted.ok) return asserted;
  const input: PasskeySignInInput = { response: asserted.value };
  return post(endpoint, input);
}

/**
 * Brings to life, within `root`, the buttons marked for passkeys (rendered `hidden`, shown
 * here only where passkeys work):
 *
 * - `data-passkey-add`: adds a passkey; `data-passkey-name` may name the id of an input
 *   holding its name.
 * - `data-passkey-sign-in`: signs in; `data-passkey-endpoint` overrides the web route the
 *   answer goes to (DEFAULT_SIGN_IN_ENDPOINT).
 *
 * On both, `data-passkey-status` names the id of an element (a live region) for messages, and
 * `data-passkey-done` where to go once it worked (the current page, reloaded, if absent).
 * Anything else marked `data-passkey-show` (a name field, a heading) is shown with them.
 */
export function wirePasskeyButtons(root: ParentNode = document): void {
  if (!passkeysSupported()) return;
  root.querySelectorAll<HTMLElement>('[data-passkey-show]').forEach((element) => {
    element.hidden = false;
  });
  root
    .querySelectorAll<HTMLButtonElement>('button[data-passkey-add], button[data-passkey-sign-in]')
    .forEach((button) => {
      button.hidden = false;
      button.addEventListener('click', () => void run(button));
    });
}

async function run(button: HTMLButtonElement): Promise<void> {
  const { passkeyName, passkeyStatus, passkeyDone, passkeyEndpoint } = button.dataset;
  const status = passkeyStatus ? document.getElementById(passkeyStatus) : null;
  if (status) status.textContent = '';
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  const name = passkeyName
    ? (document.getElementById(passkeyName) as HTMLInputElement | null)?.value
    : undefined;
  const outcome =
    button.dataset.passkeyAdd === undefined
      ? await signInWithPasskey(passkeyEndpoint)
      : await addPasskey(name);
  if (outcome.ok) {
    if (passkeyDone) window.location.assign(passkeyDone);
    else window.location.reload();
    return;
  }
  button.disabled = false;
  button.removeAttribute('aria-busy');
  if (status) status.textContent = outcome.message;
}

wirePasskeyButtons();

import { html, type SafeHtml } from '../html.js';

/** What a person typed into a field, kept when the server sends the form back. */
export interface FieldState {
  value: string;
  error?: string;
}

export function fieldError(id: string, error: string | undefined): SafeHtml {
  // Always present, so a message the script adds later is tied to the field already.
  return html`<p class="field-error" id="${id}" ${error ? '' : html` hidden`}>${error ?? ''}</p>`;
}

/** The optional target date of a goal, as typed: kept, with its own error, when sent back. */
export interface DateFieldState {
  date?: string;
  dateError?: string;
}

/**
 * A native date picker, so every browser offers its own calendar and keyboard entry; the value
 * is YYYY-MM-DD whatever the display format. Empty means no target date.
 */
export function dateField(id: string, state: DateFieldState, autofocus: boolean): SafeHtml {
  const errorId = `${id}-error`;
  return html`<div class="date-field">
    <label class="date-label" for="${id}"
      >Target date <span class="optional">(optional)</span></label
    >
    <input
      class="field"
      id="${id}"
      name="targetDate"
      type="date"
      value="${state.date ?? ''}"
      ${invalid(state.dateError, errorId)}${autofocus ? html` autofocus` : ''}
    />
    ${fieldError(errorId, state.dateError)}
  </div>`;
}

export function invalid(error: string | undefined, errorId: string): SafeHtml {
  return error ? html` aria-invalid="true" aria-describedby="${errorId}"` : html``;
}

export interface InputOptions {
  id: string;
  name: string;
  label: string;
  type: 'email' | 'password' | 'text';
  /** `email`, `current-password`, `new-password`, or `off`. */
  autocomplete: string;
  /** What was typed, for a form sent back; never shown for a password. */
  value?: string;
  error?: string;
  /** A line under the label (what is asked for), read out with the field. */
  hint?: string;
  /** For a new password: the contract's length bounds, checked by the browser first. */
  length?: { min: number; max: number };
  autofocus?: boolean;
}

/** A labelled field of an account form, with its hint and error tied to it. */
export function inputField(options: InputOptions): SafeHtml {
  const { id, error, hint, length } = options;
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const described = [hint ? hintId : '', error ? errorId : ''].filter(Boolean).join(' ');
  // A password is never echoed back into the page, whatever the caller passed.
  const value = options.type === 'password' ? '' : (options.value ?? '');
  return html`<div class="form-field">
    <label class="label" for="${id}">${options.label}</label>
    ${hint ? html`<p class="hint" id="${hintId}">${hint}</p>` : ''}
    <input
      class="field"
      id="${id}"
      name="${options.name}"
      type="${options.type}"
      autocomplete="${options.autocomplete}"
      ${options.type === 'password' ? '' : html` value="${value}" autocapitalize="none" spellcheck="false"`}
      ${length ? html` minlength="${length.min}" maxlength="${length.max}"` : ''}
      required${error ? html` aria-invalid="true"` : ''}${described ? html` aria-describedby="${described}"` : ''}${options.autofocus ? html` autofocus` : ''}
    />
    ${fieldError(errorId, error)}
  </div>`;
}

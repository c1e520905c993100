/**
 * Auto-escaping HTML templates as a tagged template literal.
 *
 * Every interpolated value is escaped unless it is itself the result of `html`, so text from
 * users can only ever reach the page as text: forgetting to escape is not possible, and opting
 * out needs a deliberate `unsafeHtml` call (used only for constant markup such as icons). A small
 * tag keeps the views as plain typed functions with no engine, no template files and no
 * dependency, and the compiler checks every value a view uses.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | HtmlValue[];

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  // Booleans render as text ("true", "false") so ARIA and data attributes get real values;
  // optional parts use `${condition ? html`...` : ''}` or an undefined value.
  if (value === null || value === undefined) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    out += render(value) + (strings[index + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** Marks constant, trusted markup (never user input) as safe. */
export function unsafeHtml(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

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
  private encoded: Buffer | undefined;
  constructor(readonly value: string) {}
  /** The markup as UTF-8, encoded once: a part kept for many responses is not encoded again. */
  get bytes(): Buffer {
    return (this.encoded ??= Buffer.from(this.value));
  }
  toString(): string {
    return this.value;
  }
}

/**
 * A response's markup, whole or as consecutive pieces: a page is sent as its pieces joined,
 * so a large piece kept between requests (the rendered list) is never copied into a new string.
 */
export type Markup = SafeHtml | readonly SafeHtml[];

export function markupBytes(markup: Markup): Buffer {
  if (markup instanceof SafeHtml) return markup.bytes;
  return Buffer.concat(markup.map((piece) => piece.bytes));
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | HtmlValue[];

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

const SIGNIFICANT = /[&<>"']/;

export function escapeHtml(text: string): string {
  if (!SIGNIFICANT.test(text)) return text;
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

/**
 * The static parts of each template with their line breaks and indentation folded into one
 * space, worked out once per call site (a tagged template's strings array is the same object
 * on every call). Views stay readable in the source and the page stays small; HTML treats
 * any run of whitespace between words or tags as one space anyway. Interpolated values are
 * never touched.
 */
const compacted = new WeakMap<TemplateStringsArray, readonly string[]>();

function compact(strings: TemplateStringsArray): readonly string[] {
  let parts = compacted.get(strings);
  if (!parts) {
    parts = strings.map((part) => part.replace(/[ \t]*\n\s*/g, ' '));
    compacted.set(strings, parts);
  }
  return parts;
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  const parts = compact(strings);
  let out = parts[0] ?? '';
  for (let index = 0; index < values.length; index += 1) {
    out += render(values[index]) + (parts[index + 1] ?? '');
  }
  return new SafeHtml(out);
}

/** Marks constant, trusted markup (never user input) as safe. */
export function unsafeHtml(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

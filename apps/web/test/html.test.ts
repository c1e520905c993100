import { describe, expect, test } from 'vitest';
import { escapeHtml, html, markupBytes, unsafeHtml } from '../src/html.js';

describe('the html template tag', () => {
  test('when text is interpolated, then every HTML-significant character is escaped', () => {
    const name = `<script>alert(1)</script> & "quotes" 'too'`;
    expect(html`<p title="${name}">${name}</p>`.value).toBe(
      '<p title="&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot; &#39;too&#39;">' +
        '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot; &#39;too&#39;</p>',
    );
  });

  test('when a template is nested, then it is not escaped twice', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p>${inner}</p>`.value).toBe('<p><b>&lt;i&gt;</b></p>');
  });

  test('when a list is interpolated, then its items are joined, each escaped', () => {
    // prettier-ignore
    const list = html`<ul>${['<a>', html`<li>ok</li>`]}</ul>`;
    expect(list.value).toBe('<ul>&lt;a&gt;<li>ok</li></ul>');
  });

  test('when a value is missing or boolean, then missing renders nothing and booleans render as text', () => {
    expect(html`[${undefined}${null}]`.value).toBe('[]');
    expect(html`<i aria-checked="${false}" data-x="${true}"></i>`.value).toBe(
      '<i aria-checked="false" data-x="true"></i>',
    );
  });

  test('when a template spans lines, then its indentation folds to one space and values keep theirs', () => {
    const name = 'two\n    lines';
    // prettier-ignore
    const markup = html`<p
      class="x"
    >
      ${name}
    </p>`;
    expect(markup.value).toBe('<p class="x" > two\n    lines </p>');
  });

  test('when markup is sent, then its bytes are UTF-8 and a list of pieces is joined in order', () => {
    const pieces = [html`<p>Grüße</p>`, html`<p>${'Ünïcode'}</p>`];
    expect(markupBytes(pieces).toString('utf8')).toBe('<p>Grüße</p><p>Ünïcode</p>');
    expect(markupBytes(pieces[0]!)).toBe(pieces[0]!.bytes);
  });

  test('when markup is marked unsafe on purpose, then it passes through', () => {
    expect(html`${unsafeHtml('<svg></svg>')}`.value).toBe('<svg></svg>');
    expect(escapeHtml('<img src=x onerror=alert(1)>')).toBe('&lt;img src=x onerror=alert(1)&gt;');
  });
});

import type { Assets } from '../assets.js';
import { html, SafeHtml, type Markup } from '../html.js';
import { iconSprite, icons } from './icons.js';

export interface LayoutOptions {
  title: string;
  assets: Assets;
  /** The page's own part, whole or in pieces (see `Markup`). */
  body: Markup;
  /** Leave out the script: error pages need no enhancement. */
  script?: boolean;
  /** Add the passkey buttons' module (its own file: see client/passkeys.ts). */
  passkeys?: boolean;
  /** The product name is the page's h1, except on pages with a heading of their own. */
  brandIsHeading?: boolean;
  /** Signed in: the header says as whom (when the API could say) and offers to sign out. */
  session?: { email: string | undefined };
  /** Where the skip link leads, in words; the goals by default. */
  skipTo?: string;
}

/** The page around its body: everything before it, and the same closing markup after it. */
export function layout(options: LayoutOptions): Markup {
  const body = options.body instanceof SafeHtml ? [options.body] : options.body;
  return [pageStart(options), headerEnd(options.session), ...body, PAGE_END];
}

/** The start of the goals page as nearly every request gets it, made once per set of assets. */
const plainStarts = new WeakMap<Assets, SafeHtml>();

function pageStart(options: Omit<LayoutOptions, 'body' | 'session'>): SafeHtml {
  const plain =
    options.title === PRODUCT_NAME &&
    options.script !== false &&
    options.passkeys !== true &&
    options.brandIsHeading !== false &&
    options.skipTo === undefined;
  if (!plain) return renderPageStart(options);
  let start = plainStarts.get(options.assets);
  if (!start) {
    start = renderPageStart(options);
    plainStarts.set(options.assets, start);
  }
  return start;
}

export const PRODUCT_NAME = 'Goal Tracker';

function renderPageStart({
  title,
  assets,
  script = true,
  passkeys = false,
  brandIsHeading = true,
  skipTo = 'your goals',
}: Omit<LayoutOptions, 'body' | 'session'>): SafeHtml {
  const brand = html`<a class="brand" href="/">${icons.logo}<span>Goal Tracker</span></a>`;
  // Left open: the header's end, the body and PAGE_END follow. (Prettier would close the open
  // elements here.)
  // prettier-ignore
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title}</title>
        <meta
          name="description"
          content="Goal Tracker: write down what you want to achieve, tick it off when it is done, and see what is left."
        />
        <meta name="color-scheme" content="light dark" />
        <meta name="theme-color" content="#f4f5fb" media="(prefers-color-scheme: light)" />
        <meta name="theme-color" content="#0f1117" media="(prefers-color-scheme: dark)" />
        <link rel="icon" href="${assets.icon.url}" type="image/svg+xml" />
        <link rel="stylesheet" href="${assets.styles.url}" />
        ${script ? html`<script type="module" src="${assets.script.url}"></script>` : ''}
        ${passkeys ? html`<script type="module" src="${assets.passkeys.url}"></script>` : ''}
      </head>
      <body>
        ${iconSprite}
        <a class="skip-link" href="#main">Skip to ${skipTo}</a>
        <div class="page">
          <header class="masthead">
            ${brandIsHeading ? html`<h1 class="brand-heading">${brand}</h1>` : brand}
            <p class="tagline">Write it down. Do it. Tick it off.</p>`;
}

const HEADER_END = html`</header>`;

/** Who is signed in, the way to their account, and signing out: a plain form, no script needed. */
function headerEnd(session: LayoutOptions['session']): SafeHtml {
  if (!session) return HEADER_END;
  const who = session.email
    ? html`Signed in as <strong class="account-email">${session.email}</strong>`
    : html`Signed in`;
  // Closes the header pageStart left open. (Prettier would not leave the lone </header>.)
  // prettier-ignore
  return html`<nav class="account-nav" aria-label="Your account">
      <span class="signed-in-as">${who}</span>
      <a class="account-link" href="/account">Account</a>
      <form class="sign-out-form" method="post" action="/signout">
        <button class="button ghost small" type="submit">Sign out</button>
      </form>
    </nav>
  </header>`;
}

// prettier-ignore
const PAGE_END = html`
          <footer class="site-footer">
            <p>Your goals are saved on the server, so they follow you to any device.</p>
          </footer>
        </div>
      </body>
    </html>
`;

/** A whole page for an error the user can do nothing about but go back to the list. */
export function errorPage(assets: Assets, heading: string, detail: string): Markup {
  return layout({
    title: `${heading} · ${PRODUCT_NAME}`,
    assets,
    script: false,
    brandIsHeading: false,
    body: html`<main class="card state-card" id="main" tabindex="-1">
      <div class="state">
        ${icons.cloudOff}
        <h1 class="state-title">${heading}</h1>
        <p>${detail}</p>
        <p><a class="button primary" href="/">Back to your goals</a></p>
      </div>
    </main>`,
  });
}

import { unsafeHtml, type SafeHtml } from '../html.js';

// Constant markup, drawn on a 24 px grid in the stroke style of the rest of the UI. Decorative:
// every control that shows one also has a text name. Each shape is in the page once, in the
// sprite; an icon is a reference to it (a page of goals shows three per goal, which as whole
// SVGs made up half the page's bytes).
const SHAPES = {
  check: '<path d="M5 12.5l4.5 4.5L19 7.5"/>',
  plus: '<path d="M12 5v14M5 12h14"/>',
  pencil: '<path d="M4 20h4L19 9a2.83 2.83 0 0 0-4-4L4 16v4z"/><path d="M13.5 6.5l4 4"/>',
  trash:
    '<path d="M4 7h16M10 11v6M14 11v6M6 7l1 12a2 2 0 0 0 2 2h6a2 2 0 0 0 2-2l1-12M9 7V4h6v3"/>',
  logo: '<circle cx="12" cy="12" r="9"/><circle cx="12" cy="12" r="5"/><circle cx="12" cy="12" r="1.2" fill="currentColor"/>',
  cloudOff:
    '<path d="M3 3l18 18"/><path d="M8.5 8.6A5 5 0 0 0 7 18h10c.6 0 1.2-.1 1.7-.4M21 15.5A4 4 0 0 0 17.5 10h-.8A6 6 0 0 0 10 6.1"/>',
  flag: '<path d="M5 21V4"/><path d="M5 4h11l-2 4 2 4H5"/>',
  party:
    '<path d="M4 20l4.5-12L16 15.5 4 20z"/><path d="M14 4l.5 2M19 9l-2 .5M17 3.5L15.5 6M20.5 6L18 7.5"/>',
  sparkle:
    '<path d="M12 3l1.8 5.2L19 10l-5.2 1.8L12 17l-1.8-5.2L5 10l5.2-1.8z"/><path d="M19 17l.7 2 2 .7-2 .7-.7 2-.7-2-2-.7 2-.7z"/>',
  close: '<path d="M6 6l12 12M18 6L6 18"/>',
  up: '<path d="M6 15l6-6 6 6"/>',
  down: '<path d="M6 9l6 6 6-6"/>',
  grip: '<path d="M9 5h.01M15 5h.01M9 12h.01M15 12h.01M9 19h.01M15 19h.01" stroke-width="3.5"/>',
};
type IconName = keyof typeof SHAPES;

/** Every shape as a symbol, once per page; `hidden`, since it only serves the references. */
export const iconSprite: SafeHtml = unsafeHtml(
  `<svg class="icon-sprite" aria-hidden="true" hidden>${Object.entries(SHAPES)
    .map(([name, shape]) => `<symbol id="icon-${name}" viewBox="0 0 24 24">${shape}</symbol>`)
    .join('')}</svg>`,
);

// Sized and stroked by the stylesheet (.icon), which every page loads; no width, height or
// IE-era focusable attributes, since a page of goals repeats these three times per goal.
function icon(name: IconName, className?: string): SafeHtml {
  const classes = className ? `icon ${className}` : 'icon';
  return unsafeHtml(`<svg class="${classes}" aria-hidden="true"><use href="#icon-${name}"/></svg>`);
}

export const icons = {
  check: icon('check', 'check-mark'),
  plus: icon('plus'),
  pencil: icon('pencil'),
  trash: icon('trash'),
  logo: icon('logo', 'logo-mark'),
  cloudOff: icon('cloudOff', 'state-icon'),
  flag: icon('flag', 'state-icon'),
  party: icon('party', 'state-icon'),
  sparkle: icon('sparkle', 'state-icon'),
  close: icon('close'),
  up: icon('up'),
  down: icon('down'),
  grip: icon('grip'),
};

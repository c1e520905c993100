import { unsafeHtml, type SafeHtml } from '../html.js';

// Constant markup, drawn on a 24 px grid in the stroke style of the rest of the UI. Decorative:
// every control that shows one also has a text name.
function icon(paths: string, className = 'icon'): SafeHtml {
  return unsafeHtml(
    `<svg class="${className}" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${paths}</svg>`,
  );
}

export const icons = {
  check: icon('<path d="M5 12.5l4.5 4.5L19 7.5"/>', 'icon check-mark'),
  plus: icon('<path d="M12 5v14M5 12h14"/>'),
  pencil: icon('<path d="M4 20h4L19 9a2.83 2.83 0 0 0-4-4L4 16v4z"/><path d="M13.5 6.5l4 4"/>'),
  trash: icon(
    '<path d="M4 7h16M10 11v6M14 11v6M6 7l1 12a2 2 0 0 0 2 2h6a2 2 0 0 0 2-2l1-12M9 7V4h6v3"/>',
  ),
  logo: icon(
    '<circle cx="12" cy="12" r="9"/><circle cx="12" cy="12" r="5"/><circle cx="12" cy="12" r="1.2" fill="currentColor"/>',
    'logo-mark',
  ),
  cloudOff: icon(
    '<path d="M3 3l18 18"/><path d="M8.5 8.6A5 5 0 0 0 7 18h10c.6 0 1.2-.1 1.7-.4M21 15.5A4 4 0 0 0 17.5 10h-.8A6 6 0 0 0 10 6.1"/>',
    'state-icon',
  ),
  flag: icon('<path d="M5 21V4"/><path d="M5 4h11l-2 4 2 4H5"/>', 'state-icon'),
  party: icon(
    '<path d="M4 20l4.5-12L16 15.5 4 20z"/><path d="M14 4l.5 2M19 9l-2 .5M17 3.5L15.5 6M20.5 6L18 7.5"/>',
    'state-icon',
  ),
  sparkle: icon(
    '<path d="M12 3l1.8 5.2L19 10l-5.2 1.8L12 17l-1.8-5.2L5 10l5.2-1.8z"/><path d="M19 17l.7 2 2 .7-2 .7-.7 2-.7-2-2-.7 2-.7z"/>',
    'state-icon',
  ),
  close: icon('<path d="M6 6l12 12M18 6L6 18"/>'),
};

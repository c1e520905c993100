/**
 * Live sync: the page hears of changes made to the account's goals anywhere else (another
 * tab, another device, a script with a token) through GET /api/goals/events, and reloads the
 * goals it shows. Without the stream (an old browser, the server unreachable) the page works
 * as it always did; only other devices' changes wait for a reload.
 */
import { GOAL_EVENT_TYPES } from '@goal-tracker/contract/goal-events';

/** A burst of events (a script changing many goals) becomes one reload of the list. */
const SETTLE_MS = 100;
/** After a refused or failed connection; doubles up to the longest, so a down server is not hammered. */
const FIRST_RETRY_MS = 2_000;
const LONGEST_RETRY_MS = 60_000;

/**
 * Calls `refresh` soon after each burst of changes. A dropped connection is reconnected by
 * the browser itself with Last-Event-ID, and the API replays what was missed (or says
 * `reset`). A stream that is refused or cannot be opened is tried again later, and once it
 * is back the list is refreshed: its events meanwhile are lost.
 */
export function followGoalChanges(refresh: () => void): void {
  if (typeof EventSource === 'undefined') return;
  let retryMs = FIRST_RETRY_MS;
  let pending: number | undefined;
  const changed = () => {
    window.clearTimeout(pending);
    pending = window.setTimeout(refresh, SETTLE_MS);
  };
  const connect = (missedSome: boolean) => {
    const source = new EventSource('/api/goals/events');
    source.addEventListener('open', () => {
      retryMs = FIRST_RETRY_MS;
      if (missedSome) changed();
      missedSome = false;
    });
    for (const type of GOAL_EVENT_TYPES) source.addEventListener(type, changed);
    source.addEventListener('error', () => {
      // Still CONNECTING: the browser is reconnecting by itself.
      if (source.readyState !== EventSource.CLOSED) return;
      window.setTimeout(() => connect(true), retryMs);
      retryMs = Math.min(retryMs * 2, LONGEST_RETRY_MS);
    });
  };
  // After the page has loaded: the stream never ends, and the first paint should not share
  // the network or the main thread with it.
  if (document.readyState === 'complete') connect(false);
  else window.addEventListener('load', () => connect(false), { once: true });
}

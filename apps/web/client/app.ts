/**
 * Progressive enhancement for the goals page. The server renders everything and every action
 * works as a plain form; this script turns those forms into optimistic calls to /api/goals…,
 * rolling back with a message when the API refuses. Markup comes from the server's <template>
 * elements, so the page has one definition of each piece; names only ever enter as text.
 */

import type { Goal, GoalPage, GoalSummary, MoveGoalInput } from '@goal-tracker/contract';
import {
  checkGoalName,
  goalNameLength,
  goalNameProblemText,
} from '@goal-tracker/contract/goal-name';
import {
  NAME_COUNTER_FROM,
  nameCounterText,
  moreText,
  remainingText,
} from '../src/views/goal-wording.js';
import { dateProblemText, isOverdue, localDate, shortDateText } from '../src/views/goal-dates.js';
import { followGoalChanges } from './live-sync.js';

type Result<T> =
  | { ok: true; status: number; value: T; etag: string | null }
  | { ok: false; status: number; message: string };
/** How to take back one change: restore a deleted goal, or PATCH the old values back. */
type UndoAction =
  | { kind: 'restore'; id: number; name: string }
  | {
      kind: 'patch';
      id: number;
      name: string;
      changes: Partial<Pick<Goal, 'done' | 'name' | 'targetDate' | 'doneAt'>>;
      /** The values the change set: the undo applies only while they are still in place. */
      expected: Partial<Pick<Goal, 'done' | 'name' | 'targetDate'>>;
      /** The goal's version after the change (If-Match), so a later change is not clobbered. */
      etag: string | null;
    };
interface PendingUndo {
  text: string;
  expires: number;
  action: UndoAction;
}
/** How long each change offers Undo (the API keeps a deleted goal restorable for 10 minutes). */
const UNDO_MS = 8_000;
/** Offers still open survive a reload of the tab (not other tabs: each has its own). */
const UNDO_STORAGE_KEY = 'goal-tracker-undo';

/** A goal as the page shows it. */
interface Shown {
  done: boolean;
  name: string;
  deleted: boolean;
  targetDate: string | null;
  doneAt: string | null;
}

const shownOf = (goal: Goal): Shown => ({
  done: goal.done,
  name: goal.name,
  deleted: false,
  targetDate: goal.targetDate,
  doneAt: goal.doneAt,
});

const ID_PLACEHOLDER = '__ID__';
const PAGE_SIZE = 50;
/** The API's largest page (GOALS_PAGE_MAX_LIMIT; the contract's module would bring TypeBox). */
const MAX_PAGE_SIZE = 100;
/** How soon a refresh that had to wait for this page's own changes looks again. */
const REFRESH_RETRY_MS = 250;
/** The server's answers never take this long (it times out the API first); a guard, not a limit. */
const REQUEST_DEADLINE_MS = 15_000;

function byId<T extends HTMLElement>(id: string): T | null {
  return document.getElementById(id) as T | null;
}

function checkName(raw: string): { name: string; problem?: string } {
  const { name, problem } = checkGoalName(raw);
  return problem ? { name, problem: goalNameProblemText(problem, name) } : { name };
}

/** The API refused what was typed (as opposed to being unreachable or failing). */
function isRefusedInput(status: number): boolean {
  return status === 400 || status === 422;
}

/** Works on plain http too, where crypto.randomUUID is not available. */
function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Changes sent from this page: how many are unanswered, and how many were ever sent. */
let writesInFlight = 0;
let writesSent = 0;

/** Today in the person's own time zone (YYYY-MM-DD), which decides what is overdue. */
const localToday = () => localDate(new Date());

/** Pages rendered from now on use the browser's date too (see src/today.ts). */
function rememberToday(): void {
  const secure = location.protocol === 'https:';
  document.cookie = `${secure ? '__Host-' : ''}today=${localToday()}; Path=/; Max-Age=86400; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/**
 * Calls `newDay` when the person's date changes: at their midnight, or, where the timer was
 * held back (a sleeping laptop, a hidden tab), as soon as the page is seen again.
 */
function followDays(newDay: () => void): void {
  let day = localToday();
  let timer: number | undefined;
  const check = () => {
    if (localToday() !== day) {
      day = localToday();
      newDay();
    }
    schedule();
  };
  const schedule = () => {
    window.clearTimeout(timer);
    const now = new Date();
    const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
    // A second past midnight, so that the new date has surely begun.
    timer = window.setTimeout(check, midnight.getTime() - now.getTime() + 1000);
  };
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') check();
  });
  schedule();
}

async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Result<T>> {
  if (method === 'GET') return send<T>(method, path, body, headers);
  writesInFlight += 1;
  writesSent += 1;
  try {
    return await send<T>(method, path, body, headers);
  } finally {
    writesInFlight -= 1;
  }
}

/** True once a form the script leaves alone is submitted: the page is being replaced. */
let leaving = false;
// Bubbling to the document, after the forms' own handlers: a submit the script took over is
// prevented by then. A page shown again from the back-forward cache is staying.
document.addEventListener('submit', (event) => {
  if (!event.defaultPrevented) leaving = true;
});
window.addEventListener('pageshow', () => {
  leaving = false;
});

async function send<T>(
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<Result<T>> {
  let response: Response;
  try {
    response = await fetch(`/api${path}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(REQUEST_DEADLINE_MS),
    });
  } catch {
    return {
      ok: false,
      status: 0,
      message: 'The server could not be reached. Check your connection and try again.',
    };
  }
  // The session has ended (signed out elsewhere, a password changed, the account deleted).
  // The call never settles: the page is leaving, and a rollback message would only flash.
  // When a form of the page is already taking it elsewhere (Sign out, whose own answer says
  // "You are signed out."), that navigation is left to finish rather than replaced.
  if (response.status === 401) {
    if (!leaving) window.location.assign('/signin');
    return new Promise<never>(() => undefined);
  }
  if (response.ok) {
    const value = (response.status === 204 ? null : await response.json()) as T;
    return { ok: true, status: response.status, value, etag: response.headers.get('etag') };
  }
  const problem = (await response.json().catch(() => ({}))) as { title?: string; detail?: string };
  return {
    ok: false,
    status: response.status,
    message: problem.detail ?? problem.title ?? `The request failed (${response.status}).`,
  };
}

function enhance(main: HTMLElement): void {
  const filter = main.dataset.filter ?? 'all';
  const list = byId<HTMLUListElement>('goals');
  const addForm = byId<HTMLFormElement>('add-form');
  const addInput = byId<HTMLInputElement>('new-goal');
  const addError = byId<HTMLParagraphElement>('new-goal-error');
  const addDate = byId<HTMLInputElement>('new-goal-date');
  const emptyState = byId('empty-state');
  const more = main.querySelector<HTMLElement>('.more');
  const showMore = byId<HTMLAnchorElement>('show-more');
  const remaining = byId('remaining');
  const messages = byId('messages');
  const announcer = byId('announcer');
  const goalTemplate = byId<HTMLTemplateElement>('goal-template');
  const renameTemplate = byId<HTMLTemplateElement>('rename-template');
  if (
    !list ||
    !addForm ||
    !addInput ||
    !addError ||
    !addDate ||
    !emptyState ||
    !more ||
    !showMore ||
    !messages ||
    !announcer ||
    !goalTemplate ||
    !renameTemplate
  ) {
    return;
  }

  let pendingCount = 0;
  /**
   * The last create that failed without an answer saying why: sending the same name and date
   * again reuses its key, so a create that landed unseen is answered again rather than made
   * twice; another body gets a fresh key, which the API would otherwise refuse as reused.
   */
  let unsettledCreate: { body: string; key: string } | undefined;
  /** Each goal's calls run in order, one at a time. */
  const queues = new WeakMap<HTMLElement, Promise<unknown>>();
  /** What the server last said of each goal changed here (read from the page before the first change). */
  const confirmed = new WeakMap<HTMLElement, Shown>();
  /** How many of each goal's changes are still in flight. */
  const inFlight = new WeakMap<HTMLElement, number>();
  /** Where each goal taken out of view stood: the goal that followed it. */
  const placeOf = new WeakMap<HTMLElement, Element | null>();
  /** The rows of goals deleted here, by id, so an undo puts the same row back in its place. */
  const deletedItems = new Map<number, HTMLLIElement>();
  /** Goals deleted on screen, whether or not the server has confirmed it yet. */
  const deleted = new WeakSet<HTMLElement>();

  function enqueue<T>(item: HTMLElement, task: () => Promise<T>): Promise<T> {
    const previous = queues.get(item) ?? Promise.resolve();
    const next = previous.then(task, task);
    queues.set(item, next);
    return next;
  }

  function announce(text: string): void {
    announcer!.textContent = '';
    // A fresh node change, so the same sentence twice is still read twice.
    window.setTimeout(() => (announcer!.textContent = text), 50);
  }

  function clearError(): void {
    messages!.replaceChildren();
    // A field's message belongs to the action that raised it, not to the next one.
    setFieldError(addInput!, addError!, null);
    setFieldError(addDate!, byId('new-goal-date-error')!, null);
    // The status line from the last redirect ("Goal added.") is stale once anything else happens.
    byId('notice')?.remove();
  }

  function showError(text: string): void {
    const message = document.createElement('p');
    message.className = 'message message-error';
    const span = document.createElement('span');
    span.textContent = text;
    const dismiss = document.createElement('button');
    dismiss.type = 'button';
    dismiss.className = 'message-dismiss';
    dismiss.textContent = 'Dismiss';
    dismiss.addEventListener('click', () => {
      message.remove();
      addInput!.focus();
    });
    message.append(span, dismiss);
    messages!.replaceChildren(message);
  }

  function setFieldError(input: HTMLInputElement, error: HTMLElement, text: string | null): void {
    if (text === null) {
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
      error.hidden = true;
      error.textContent = '';
      return;
    }
    error.textContent = text;
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', error.id);
  }

  /**
   * A date field holds a whole date or nothing: a partly typed one reads as empty, which must
   * not silently clear the date, so it is refused with a reason beside the field.
   */
  function checkDateField(input: HTMLInputElement): boolean {
    const error = byId(`${input.id}-error`)!;
    if (!input.validity.badInput) {
      setFieldError(input, error, null);
      return true;
    }
    const problem = dateProblemText('');
    setFieldError(input, error, problem);
    announce(problem);
    input.focus();
    return false;
  }

  let counterAnnouncement: number | undefined;
  /** Shows how many characters are left once a name nears the limit; says it when typing pauses. */
  function updateCounter(input: HTMLInputElement): void {
    const counter = byId(`${input.id}-counter`);
    if (!counter) return;
    const near = goalNameLength(input.value.trim()) >= NAME_COUNTER_FROM;
    counter.hidden = !near;
    counter.textContent = near ? nameCounterText(input.value.trim()) : '';
    window.clearTimeout(counterAnnouncement);
    if (near) counterAnnouncement = window.setTimeout(() => announce(counter.textContent), 1_000);
  }

  /** The counts the page shows (active goals) and uses (all goals). */
  function setCounts(active: number, total: number): void {
    if (!remaining) return;
    remaining.dataset.count = String(Math.max(0, active));
    remaining.dataset.total = String(Math.max(0, total));
    remaining.textContent = remainingText(Math.max(0, active));
  }

  /** Keeps the counts in step with a change made here. */
  function adjustCounts(activeDelta: number, totalDelta: number): void {
    if (!remaining) return;
    setCounts(
      Number(remaining.dataset.count ?? 0) + activeDelta,
      Number(remaining.dataset.total ?? 0) + totalDelta,
    );
  }

  /** "Show 12 more": how many goals of this filter are beyond the loaded ones, if known. */
  function setLater(later: number): void {
    showMore!.dataset.later = String(Math.max(0, later));
    showMore!.textContent = moreText(Math.max(0, later));
  }

  function adjustLater(delta: number): void {
    if (showMore!.dataset.later !== undefined) setLater(Number(showMore!.dataset.later) + delta);
  }

  /** Where "Show more" continues: after the goal `next`, with `shown` goals above it. */
  function setMore(next: number | null, shown: number): void {
    more!.hidden = next === null;
    if (next === null) return;
    showMore!.dataset.next = String(next);
    showMore!.dataset.shown = String(shown);
    const url = new URL(showMore!.href);
    url.searchParams.set('after', String(next));
    url.searchParams.set('shown', String(shown));
    showMore!.href = url.pathname + url.search;
  }

  function fromTemplate(template: HTMLTemplateElement, id: string): HTMLElement {
    // The template is server markup with no user text in it; the id is a number or our token.
    const holder = document.createElement('template');
    holder.innerHTML = template.innerHTML.split(ID_PLACEHOLDER).join(id).trim();
    return holder.content.firstElementChild as HTMLElement;
  }

  const items = () => Array.from(list.querySelectorAll<HTMLLIElement>(':scope > li.goal'));
  const nameOf = (item: HTMLElement) => item.querySelector('.goal-name')?.textContent ?? '';
  const isDone = (item: HTMLElement) => item.dataset.done === 'true';
  /** A page after the first (`?after=`): new goals go to the first page, not this one. */
  const laterPage = new URLSearchParams(window.location.search).has('after');
  const shownHere = (state: Pick<Shown, 'done' | 'targetDate'>) =>
    filter === 'all' ||
    (filter === 'overdue' ? isOverdue(state, localToday()) : (filter === 'done') === state.done);

  function setDone(item: HTMLElement, done: boolean): void {
    item.dataset.done = String(done);
    item.classList.toggle('is-done', done);
    item.querySelector('.check')?.setAttribute('aria-checked', String(done));
    const doneField = item.querySelector<HTMLInputElement>('.toggle-form input[name="done"]');
    if (doneField) doneField.value = String(!done);
  }

  function setName(item: HTMLElement, name: string): void {
    const label = item.querySelector('.goal-name');
    if (label) label.textContent = name;
  }

  /** Shows "by 12 Mar", "Overdue" and "done 3 Mar" as they apply (the parts are in every row). */
  function setDates(item: HTMLElement, state: Pick<Shown, 'done' | 'targetDate' | 'doneAt'>): void {
    const doneAt = state.done ? state.doneAt : null;
    item.dataset.targetDate = state.targetDate ?? '';
    item.dataset.doneAt = state.doneAt ?? '';
    const show = (selector: string, datetime: string | null, date = datetime) => {
      const part = item.querySelector<HTMLElement>(selector);
      if (!part) return;
      part.hidden = datetime === null;
      const time = part.querySelector('time');
      if (!time || datetime === null || date === null) return;
      time.dateTime = datetime;
      time.textContent = shortDateText(date, localToday());
    };
    show('.goal-due', state.targetDate);
    show('.goal-done-at', doneAt, doneAt && localDate(new Date(doneAt)));
    const overdue = item.querySelector<HTMLElement>('.overdue');
    if (overdue) overdue.hidden = !isOverdue(state, localToday());
    const dates = item.querySelector<HTMLElement>('.goal-dates');
    if (dates) dates.hidden = state.targetDate === null && doneAt === null;
  }

  function buildGoal(
    goal: Pick<Goal, 'name' | 'done' | 'targetDate' | 'doneAt'> & {
      id: number | string;
    },
  ): HTMLLIElement {
    const item = fromTemplate(goalTemplate!, String(goal.id)) as HTMLLIElement;
    setName(item, goal.name);
    setDone(item, goal.done);
    setDates(item, goal);
    makeTabbable(item, item.querySelector<HTMLElement>('.check') ?? undefined);
    return item;
  }

  /**
   * Each goal row is one tab stop (the WAI-ARIA roving tabindex): Tab moves between goals,
   * the arrow keys between a goal's actions (Left and Right, Home and End) and to the same
   * action of the goal above or below (Up and Down). The row remembers the action last used.
   */
  const ROW_CONTROLS =
    '.goal-row .drag-handle, .goal-row .check, .goal-row .move-button:not(:disabled), .goal-row .rename-link, .goal-row .delete-form button';
  const rowControls = (item: HTMLElement) =>
    Array.from(item.querySelectorAll<HTMLElement>(ROW_CONTROLS));

  function makeTabbable(item: HTMLElement, control: HTMLElement | undefined): void {
    for (const other of rowControls(item)) other.tabIndex = other === control ? 0 : -1;
  }

  function moveWithinList(event: KeyboardEvent, control: HTMLElement, item: HTMLLIElement): void {
    const controls = rowControls(item);
    const index = controls.indexOf(control);
    let target: HTMLElement | undefined;
    if (event.key === 'ArrowRight') target = controls[index + 1];
    else if (event.key === 'ArrowLeft') target = controls[index - 1];
    else if (event.key === 'Home') target = controls[0];
    else if (event.key === 'End') target = controls[controls.length - 1];
    else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      const rows = items().filter((row) => row.querySelector('.goal-row:not([hidden])'));
      const row = rows[rows.indexOf(item) + (event.key === 'ArrowDown' ? 1 : -1)];
      // The same action there; a goal at an end has one move button fewer.
      const across = row && rowControls(row);
      target = across?.find((other) => other.className === control.className) ?? across?.[index];
    } else return;
    event.preventDefault();
    target?.focus();
  }

  function updateEmptyState(): void {
    emptyState!.hidden = items().length > 0;
    // "No goals yet" only when there are none at all; otherwise the filter's own text.
    if (remaining) {
      const none = Number(remaining.dataset.total) === 0;
      for (const variant of emptyState!.querySelectorAll<HTMLElement>('.state-variant')) {
        variant.hidden = (variant.dataset.when === 'none') !== none;
      }
    }
  }

  /** Puts a goal back where its id says it belongs: the list is ordered by id. */
  function insertInOrder(item: HTMLLIElement): void {
    // Back where it was, if its neighbour is still there; else by age, newest first (the
    // order of goals never moved).
    const was = placeOf.get(item);
    const id = Number(item.dataset.id);
    const before =
      was?.parentElement === list ? was : items().find((other) => Number(other.dataset.id) < id);
    list!.insertBefore(item, before ?? null);
    updateEmptyState();
  }

  /** Takes a goal out of view, moving focus to a neighbour first if it was inside. */
  function detach(item: HTMLLIElement): void {
    if (item.contains(document.activeElement)) {
      const neighbour =
        (item.nextElementSibling as HTMLElement | null) ??
        (item.previousElementSibling as HTMLElement | null);
      const target = neighbour?.querySelector<HTMLElement>('.check') ?? addInput!;
      target.focus();
    }
    placeOf.set(item, item.nextElementSibling);
    item.remove();
    updateEmptyState();
  }

  function shownState(item: HTMLLIElement): Shown {
    return {
      done: isDone(item),
      name: nameOf(item),
      deleted: deleted.has(item),
      targetDate: item.dataset.targetDate || null,
      doneAt: item.dataset.doneAt || null,
    };
  }

  /** Puts a goal on screen in the given state: its box, name, place in the list and the count. */
  function display(item: HTMLLIElement, next: Shown): void {
    const counted = (state: Shown) => (!state.deleted && !state.done ? 1 : 0);
    const before = shownState(item);
    adjustCounts(counted(next) - counted(before), Number(before.deleted) - Number(next.deleted));
    setDone(item, next.done);
    setName(item, next.name);
    setDates(item, next);
    if (next.deleted) deleted.add(item);
    else deleted.delete(item);
    if (next.deleted) deletedItems.set(Number(item.dataset.id), item);
    else deletedItems.delete(Number(item.dataset.id));
    const visible = !next.deleted && shownHere(next);
    if (visible && !item.isConnected) insertInOrder(item);
    else if (!visible && item.isConnected) detach(item);
  }

  /**
   * Shows a change at once, then sends it. Rollbacks compose: once none of the goal's changes
   * is in flight, the goal shows what the server last confirmed, so a failed change never
   * undoes one that succeeded, and the page never keeps a state the server refused.
   */
  async function change<T extends Goal | null>(
    item: HTMLLIElement,
    next: Shown,
    request: () => Promise<Result<T>>,
  ): Promise<Result<T>> {
    if (!confirmed.has(item)) confirmed.set(item, shownState(item));
    display(item, next);
    inFlight.set(item, (inFlight.get(item) ?? 0) + 1);
    const result = await enqueue(item, request);
    const stillInFlight = inFlight.get(item)! - 1;
    inFlight.set(item, stillInFlight);
    const known = confirmed.get(item)!;
    if (result.ok) {
      const goal = result.value;
      confirmed.set(item, goal ? shownOf(goal) : next);
    } else if (result.status === 404) {
      confirmed.set(item, { ...known, deleted: true });
    }
    if (stillInFlight === 0) display(item, confirmed.get(item)!);
    return result;
  }

  // Reordering. A move shows at once and is sent as "directly below the goal now above it"
  // (or above the one below, for the first): the goals the person sees are the ones it is
  // placed between, whatever is hidden by a filter or on another page.
  const isSaved = (element: Element | null): element is HTMLLIElement =>
    element instanceof HTMLLIElement &&
    element.classList.contains('goal') &&
    !element.classList.contains('is-pending');
  const savedSibling = (
    item: Element,
    direction: 'previousElementSibling' | 'nextElementSibling',
  ) => {
    let sibling = item[direction];
    while (sibling && !isSaved(sibling)) sibling = sibling[direction];
    return sibling;
  };
  const placeOfItem = (item: HTMLLIElement): { after: Element } | { before: Element | null } => {
    const above = savedSibling(item, 'previousElementSibling');
    return above ? { after: above } : { before: savedSibling(item, 'nextElementSibling') };
  };
  /** Where each moved goal stands as the server last confirmed it, and its moves in flight. */
  const confirmedPlace = new WeakMap<HTMLElement, ReturnType<typeof placeOfItem>>();
  const movesInFlight = new WeakMap<HTMLElement, { count: number; failed: boolean }>();

  function putAt(item: HTMLLIElement, place: ReturnType<typeof placeOfItem>): void {
    if ('after' in place) {
      if (place.after.parentElement === list) place.after.after(item);
    } else if (place.before === null || place.before.parentElement === list) {
      list!.insertBefore(item, place.before);
    }
  }

  /** The first or last goal of the whole list cannot go further: its button says so. */
  function updateMoveButtons(): void {
    const rows = items();
    rows.forEach((row, index) => {
      const atTop = index === 0 && !laterPage;
      const atBottom = index === rows.length - 1 && more!.hidden;
      for (const [selector, disabled, reason] of [
        ['.move-up', atTop, 'move-first-reason'],
        ['.move-down', atBottom, 'move-last-reason'],
      ] as const) {
        const button = row.querySelector<HTMLButtonElement>(selector);
        if (!button || button.disabled === disabled) continue;
        button.disabled = disabled;
        if (disabled) button.setAttribute('aria-describedby', reason);
        else button.removeAttribute('aria-describedby');
      }
    });
  }

  /** Puts `item` before `reference` (null: last) at once, then asks the API to store it. */
  async function move(item: HTMLLIElement, reference: Element | null, how: string): Promise<void> {
    clearError();
    const name = nameOf(item);
    const id = item.dataset.id!;
    // Moving a node takes the focus from inside it; the moved goal keeps it.
    const focused = item.contains(document.activeElement)
      ? (document.activeElement as HTMLElement)
      : null;
    if (!confirmedPlace.has(item)) confirmedPlace.set(item, placeOfItem(item));
    list!.insertBefore(item, reference);
    updateMoveButtons();
    if (focused) {
      const fallback = item.querySelector<HTMLElement>('.move-button:not(:disabled)');
      (focused.matches(':disabled') ? fallback : focused)?.focus();
    }
    const rows = items();
    const of = more!.hidden ? `${rows.length}` : `${rows.length} shown`;
    announce(`Moved “${name}” ${how}to position ${rows.indexOf(item) + 1} of ${of}.`);
    const place = placeOfItem(item);
    const ids = (element: Element | null) =>
      element ? Number((element as HTMLElement).dataset.id) : null;
    const body: MoveGoalInput =
      'after' in place ? { after: ids(place.after) } : { before: ids(place.before) };
    if ('before' in body && body.before === null) return;
    const state = movesInFlight.get(item) ?? { count: 0, failed: false };
    state.count += 1;
    movesInFlight.set(item, state);
    const result = await enqueue(item, () => api<Goal>('POST', `/goals/${id}/move`, body));
    state.count -= 1;
    if (result.ok) confirmedPlace.set(item, place);
    else state.failed = true;
    // Once none is in flight, a refused move puts the goal back where the server has it.
    if (state.count === 0 && state.failed) {
      state.failed = false;
      putAt(item, confirmedPlace.get(item)!);
      updateMoveButtons();
    }
    if (state.count === 0) confirmedPlace.delete(item);
    if (result.ok) return;
    if (result.status === 404) {
      showError(`“${name}” no longer exists.`);
      confirmed.set(item, { ...shownState(item), deleted: true });
      display(item, confirmed.get(item)!);
      return;
    }
    showError(`Could not move “${name}”, so it is back in its place. ${result.message}`);
  }

  /** One place up or down, past the goal next to it (the last loaded one first loads more). */
  async function moveBy(item: HTMLLIElement, step: -1 | 1): Promise<void> {
    if (step === 1 && !savedSibling(item, 'nextElementSibling') && !more!.hidden) await loadMore();
    const neighbour = savedSibling(
      item,
      step === -1 ? 'previousElementSibling' : 'nextElementSibling',
    );
    if (!neighbour) return;
    await move(
      item,
      step === -1 ? neighbour : neighbour.nextElementSibling,
      step === -1 ? 'up, ' : 'down, ',
    );
  }

  async function toggle(item: HTMLLIElement): Promise<void> {
    clearError();
    const id = item.dataset.id!;
    const name = nameOf(item);
    const now = !isDone(item);
    const before = shownState(item);
    announce(`“${name}” marked ${now ? 'done' : 'not done'}.`);
    const doneAt = now ? new Date().toISOString() : before.doneAt;
    const result = await change(item, { ...before, done: now, doneAt }, () =>
      api<Goal>('PATCH', `/goals/${id}`, { done: now }),
    );
    if (result.ok) {
      offerUndo(`Marked “${name}” ${now ? 'done' : 'not done'}.`, {
        kind: 'patch',
        id: Number(id),
        name,
        // Undoing an untick restores when it was achieved, not now.
        changes: !now && before.doneAt ? { done: true, doneAt: before.doneAt } : { done: !now },
        expected: { done: now },
        etag: result.etag,
      });
      return;
    }
    if (result.status === 404) showError(`“${name}” no longer exists.`);
    else showError(`Could not mark “${name}” ${now ? 'done' : 'not done'}. ${result.message}`);
  }

  async function remove(item: HTMLLIElement): Promise<void> {
    clearError();
    const id = item.dataset.id!;
    const name = nameOf(item);
    announce(`Deleted “${name}”.`);
    const result = await change(item, { ...shownState(item), deleted: true }, () =>
      api<null>('DELETE', `/goals/${id}`),
    );
    if (result.ok) {
      offerUndo(`Deleted “${name}”.`, { kind: 'restore', id: Number(id), name });
      return;
    }
    if (result.status === 404) return;
    showError(`Could not delete “${name}”. ${result.message}`);
  }

  function openEditor(
    item: HTMLLIElement,
    value = nameOf(item),
    error?: string,
    date = item.dataset.targetDate ?? '',
  ): void {
    const row = item.querySelector<HTMLElement>('.goal-row');
    if (!row) return;
    item.querySelector('.rename-form')?.remove();
    const form = fromTemplate(renameTemplate!, item.dataset.id!) as HTMLFormElement;
    const input = form.querySelector<HTMLInputElement>('input[name="name"]')!;
    const errorText = form.querySelector<HTMLElement>('.field-error')!;
    input.value = value;
    form.querySelector<HTMLInputElement>('input[name="targetDate"]')!.value = date;
    updateCounter(input);
    if (error) setFieldError(input, errorText, error);
    row.hidden = true;
    item.classList.add('is-editing');
    item.append(form);
    input.focus();
    input.select();
  }

  function closeEditor(item: HTMLLIElement, focusRename: boolean): void {
    item.querySelector('.rename-form')?.remove();
    const row = item.querySelector<HTMLElement>('.goal-row');
    if (row) row.hidden = false;
    item.classList.remove('is-editing');
    if (focusRename) item.querySelector<HTMLElement>('.rename-link')?.focus();
  }

  async function rename(item: HTMLLIElement, form: HTMLFormElement): Promise<void> {
    clearError();
    const input = form.querySelector<HTMLInputElement>('input[name="name"]')!;
    const dateInput = form.querySelector<HTMLInputElement>('input[name="targetDate"]')!;
    const raw = input.value;
    const checked = checkName(raw);
    if (checked.problem) {
      setFieldError(input, form.querySelector<HTMLElement>('.field-error')!, checked.problem);
      announce(checked.problem);
      input.focus();
      return;
    }
    if (!checkDateField(dateInput)) return;
    const before = shownState(item);
    const old = before.name;
    const targetDate = dateInput.value || null;
    closeEditor(item, true);
    const changes: Partial<Pick<Goal, 'name' | 'targetDate'>> = {};
    const undoChanges: typeof changes = {};
    if (checked.name !== old) [changes.name, undoChanges.name] = [checked.name, old];
    if (targetDate !== before.targetDate) {
      [changes.targetDate, undoChanges.targetDate] = [targetDate, before.targetDate];
    }
    if (Object.keys(changes).length === 0) return;
    const said = [
      changes.name === undefined ? '' : `Renamed “${old}” to “${checked.name}”.`,
      changes.targetDate === undefined
        ? ''
        : targetDate
          ? `Target date of “${checked.name}” set to ${shortDateText(targetDate, localToday())}.`
          : `Target date of “${checked.name}” cleared.`,
    ]
      .filter(Boolean)
      .join(' ');
    announce(said);
    const id = item.dataset.id!;
    const result = await change(item, { ...before, ...changes }, () =>
      api<Goal>('PATCH', `/goals/${id}`, changes),
    );
    if (result.ok) {
      offerUndo(said, {
        kind: 'patch',
        id: Number(id),
        name: checked.name,
        changes: undoChanges,
        expected: changes,
        etag: result.etag,
      });
      return;
    }
    if (result.status === 404) {
      showError(`“${old}” no longer exists.`);
      return;
    }
    // What they typed is kept, in the form, with the reason beside it or in the banner.
    const typedDate = targetDate ?? '';
    if (isRefusedInput(result.status)) {
      openEditor(item, raw, result.message, typedDate);
    } else {
      openEditor(item, raw, undefined, typedDate);
      showError(`Could not save “${old}”. ${result.message}`);
    }
  }

  async function add(): Promise<void> {
    clearError();
    const raw = addInput!.value;
    const checked = checkName(raw);
    if (checked.problem) {
      setFieldError(addInput!, addError!, checked.problem);
      announce(checked.problem);
      addInput!.focus();
      return;
    }
    setFieldError(addInput!, addError!, null);
    if (!checkDateField(addDate!)) return;
    const targetDate = addDate!.value || null;
    pendingCount += 1;
    const fresh = { name: checked.name, done: false, targetDate, doneAt: null };
    const pending = buildGoal({ id: `new-${pendingCount}`, ...fresh });
    pending.classList.add('is-pending', 'is-new');
    pending.setAttribute('aria-busy', 'true');
    pending.inert = true;
    // New goals go on top: in view unless this is a later page or another filter's goal.
    const visible = shownHere(fresh) && !laterPage;
    if (visible) {
      list!.prepend(pending);
      updateEmptyState();
    }
    adjustCounts(1, 1);
    addInput!.value = '';
    addDate!.value = '';
    updateCounter(addInput!);
    announce(
      visible
        ? `Added “${checked.name}”.`
        : !shownHere(fresh)
          ? `Added “${checked.name}”. It is listed under Active.`
          : `Added “${checked.name}” at the top of the list, on the first page.`,
    );
    const input = targetDate ? { name: checked.name, targetDate } : { name: checked.name };
    const body = JSON.stringify(input);
    const retry = unsettledCreate?.body === body;
    const key = retry ? unsettledCreate!.key : newIdempotencyKey();
    unsettledCreate = undefined;
    const result = await api<Goal>('POST', '/goals', input, { 'idempotency-key': key });
    if (!result.ok && !isRefusedInput(result.status)) unsettledCreate = { body, key };
    if (result.ok) {
      // The lost first try may have landed and reached this list by live sync already.
      const shownAlready = items().some((item) => item.dataset.id === String(result.value.id));
      if (shownAlready) pending.remove();
      else if (visible) {
        const created = buildGoal(result.value);
        created.classList.add('is-new');
        pending.replaceWith(created);
      }
      // The counts above took this goal as new; after a lost answer the server may know better.
      if (retry) void refresh();
      return;
    }
    pending.remove();
    updateEmptyState();
    adjustCounts(-1, -1);
    if (addInput!.value === '') addInput!.value = raw;
    if (addDate!.value === '') addDate!.value = targetDate ?? '';
    updateCounter(addInput!);
    // A refused name is the field's problem; an outage is not, so it goes in the banner.
    if (isRefusedInput(result.status)) setFieldError(addInput!, addError!, result.message);
    else showError(`Could not add “${checked.name}”. ${result.message}`);
    addInput!.focus();
  }

  let loadingMore = false;
  async function loadMore(): Promise<void> {
    if (loadingMore) return;
    loadingMore = true;
    clearError();
    const label = showMore!.textContent;
    showMore!.classList.add('is-loading');
    showMore!.setAttribute('aria-disabled', 'true');
    showMore!.textContent = 'Loading…';
    list!.setAttribute('aria-busy', 'true');
    const params = new URLSearchParams({
      limit: String(PAGE_SIZE),
      after: showMore!.dataset.next ?? '0',
    });
    if (filter !== 'all') params.set('filter', filter);
    params.set('today', localToday());
    const result = await api<GoalPage>('GET', `/goals?${params.toString()}`);
    loadingMore = false;
    showMore!.classList.remove('is-loading');
    showMore!.removeAttribute('aria-disabled');
    showMore!.textContent = label;
    list!.removeAttribute('aria-busy');
    if (!result.ok) {
      showError(`Could not load more goals. ${result.message}`);
      return;
    }
    const known = new Set(items().map((item) => item.dataset.id));
    const added = result.value.goals
      .filter((goal) => !known.has(String(goal.id)))
      .map((goal) => {
        const item = buildGoal(goal);
        item.classList.add('is-new');
        return item;
      });
    list!.append(...added);
    updateEmptyState();
    const { next } = result.value;
    setMore(next, Number(showMore!.dataset.shown ?? 0) + added.length);
    if (next !== null) adjustLater(-added.length);
    // The button may be gone; continue from the first new goal rather than the top of the page.
    if (document.activeElement === showMore && next === null) {
      added[0]?.querySelector<HTMLElement>('.check')?.focus();
    }
    announce(`Showing ${added.length} more ${added.length === 1 ? 'goal' : 'goals'}.`);
  }

  /** The goals of this view from its first one on, as many as `count` (a page or more). */
  async function fetchView(count: number): Promise<Result<GoalPage>> {
    const query = new URLSearchParams(window.location.search);
    const goals: Goal[] = [];
    let after = query.get('after');
    for (;;) {
      const params = new URLSearchParams({
        limit: String(Math.min(count - goals.length, MAX_PAGE_SIZE)),
        filter,
        today: localToday(),
      });
      if (after !== null) params.set('after', after);
      const result = await api<GoalPage>('GET', `/goals?${params.toString()}`);
      if (!result.ok) return result;
      goals.push(...result.value.goals);
      if (result.value.next === null || goals.length >= count) {
        return { ...result, value: { ...result.value, goals } };
      }
      after = String(result.value.next);
    }
  }

  /**
   * Brings the page in line with the server after a change made elsewhere: the goals of this
   * view, as many as are loaded, in the server's order and state, and the counts. It waits
   * while this page's own changes are in flight, so their optimistic state and rollbacks are
   * never overwritten halfway, and it leaves a rename being typed open.
   */
  let refreshing = false;
  let refreshTimer: number | undefined;
  function refreshSoon(delay: number): void {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(() => void refresh(), delay);
  }
  async function refresh(): Promise<void> {
    if (leaving) return;
    // A goal being dragged stays where the pointer holds it until it is dropped.
    const busy = () => writesInFlight > 0 || loadingMore || drag !== undefined;
    if (refreshing || busy()) return refreshSoon(REFRESH_RETRY_MS);
    refreshing = true;
    const sentBefore = writesSent;
    const [page, summary] = await Promise.all([
      fetchView(Math.max(PAGE_SIZE, items().length)),
      api<GoalSummary>('GET', `/goals/summary?today=${localToday()}`),
    ]);
    refreshing = false;
    // Unreachable for now: the next change, or the stream's return, tries again.
    if (!page.ok || !summary.ok) return;
    if (writesSent !== sentBefore || busy()) return refreshSoon(REFRESH_RETRY_MS);
    showServerList(page.value.goals);
    updateMoveButtons();
    const counts = summary.value;
    setCounts(counts.active, counts.total);
    updateEmptyState();
    const shown =
      Number(new URLSearchParams(window.location.search).get('shown') ?? 0) +
      page.value.goals.length;
    setMore(page.value.next, shown);
    setLater((filter === 'all' ? counts.total : counts[filter as keyof GoalSummary]) - shown);
  }

  /** Puts the server's goals on screen, in its order, keeping the rows (and focus) it can. */
  function showServerList(goals: readonly Goal[]): void {
    const focused = document.activeElement as HTMLElement | null;
    const rows = new Map(items().map((item) => [item.dataset.id, item]));
    const wanted = new Set(goals.map((goal) => String(goal.id)));
    for (const [id, item] of rows) if (!wanted.has(id!)) detach(item);
    let previous: Element | null = null;
    for (const goal of goals) {
      const item = rows.get(String(goal.id)) ?? deletedItems.get(goal.id) ?? buildGoal(goal);
      confirmed.set(item, shownOf(goal));
      deleted.delete(item);
      deletedItems.delete(goal.id);
      setDone(item, goal.done);
      setName(item, goal.name);
      setDates(item, goal);
      const place: Element | null = previous
        ? previous.nextElementSibling
        : list!.firstElementChild;
      if (place !== item) list!.insertBefore(item, place);
      previous = item;
    }
    // Moving a row takes the focus from it; it goes back to where it was.
    if (focused?.isConnected && document.activeElement !== focused) {
      focused.focus({ preventScroll: true });
    }
  }

  // Undo: each change offers to take itself back for UNDO_MS, in a toast that is reachable by
  // keyboard right after the status messages and announced, but never takes the focus.
  const toasts = document.createElement('div');
  toasts.className = 'toasts';
  toasts.id = 'toasts';
  messages.after(toasts);

  function storedUndos(): PendingUndo[] {
    try {
      const stored = JSON.parse(sessionStorage.getItem(UNDO_STORAGE_KEY) ?? '[]') as PendingUndo[];
      return stored.filter((pending) => pending.expires > Date.now());
    } catch {
      return [];
    }
  }

  function storeUndos(change: (pending: PendingUndo[]) => PendingUndo[]): void {
    try {
      sessionStorage.setItem(UNDO_STORAGE_KEY, JSON.stringify(change(storedUndos())));
    } catch {
      // Storage full or refused: the toast still works until the page is left.
    }
  }

  function offerUndo(text: string, action: UndoAction): void {
    const pending = { text, expires: Date.now() + UNDO_MS, action };
    storeUndos((all) => [...all, pending]);
    showToast(pending);
  }

  function showToast(pending: PendingUndo): void {
    const toast = document.createElement('p');
    toast.className = 'toast';
    const text = document.createElement('span');
    text.textContent = pending.text;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'button ghost small toast-undo';
    button.textContent = 'Undo';
    button.setAttribute('aria-label', `Undo: ${pending.text}`);
    toast.append(text, button);
    toasts.append(toast);
    const close = () => {
      window.clearTimeout(timer);
      // Focus never falls to the page's start when the toast goes from under it.
      if (toast.contains(document.activeElement)) addInput!.focus();
      toast.remove();
      storeUndos((all) => all.filter((other) => other.expires !== pending.expires));
    };
    const timer = window.setTimeout(close, pending.expires - Date.now());
    button.addEventListener('click', () => {
      close();
      void undo(pending.action);
    });
  }

  const itemById = (id: number) =>
    items().find((item) => item.dataset.id === String(id)) ?? deletedItems.get(id);

  async function undo(action: UndoAction): Promise<void> {
    clearError();
    if (action.kind === 'restore') {
      const result = await api<Goal>('POST', `/goals/${action.id}/restore`);
      if (!result.ok) {
        showError(
          result.status === 404 || result.status === 410
            ? `“${action.name}” can no longer be restored.`
            : `Could not restore “${action.name}”. ${result.message}`,
        );
        return;
      }
      let item = itemById(action.id);
      if (!item) {
        // Deleted before a reload: a new row, counted as it comes back.
        item = buildGoal(result.value);
        deleted.add(item);
      }
      confirmed.set(item, shownOf(result.value));
      display(item, shownOf(result.value));
      announce(`Restored “${action.name}”.`);
      return;
    }
    const item = itemById(action.id);
    const send = (etag: string | null) =>
      api<Goal>('PATCH', `/goals/${action.id}`, action.changes, etag ? { 'if-match': etag } : {});
    const request = async (): Promise<Result<Goal>> => {
      const first = await send(action.etag);
      if (first.ok || first.status !== 412) return first;
      // Changed since (by another undo, tab or device): undo only if this change still stands.
      const current = await api<Goal>('GET', `/goals/${action.id}`);
      if (!current.ok) return current;
      const stands = Object.entries(action.expected).every(
        ([field, value]) => current.value[field as keyof Goal] === value,
      );
      return stands
        ? send(current.etag)
        : { ok: false, status: 412, message: 'It has changed since.' };
    };
    const result = item
      ? await change(item, { ...shownState(item), ...action.changes }, request)
      : await request();
    if (result.ok) announce(`Undone: “${result.value.name}” is back as it was.`);
    else showError(`Could not undo the change to “${action.name}”. ${result.message}`);
  }

  addForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void add();
  });
  addInput.addEventListener('input', () => {
    if (!addError.hidden) setFieldError(addInput, addError, null);
  });
  main.addEventListener('input', (event) => {
    const target = event.target as HTMLElement;
    if (target instanceof HTMLInputElement && target.name === 'name') updateCounter(target);
    // A date's error is about what was typed before; a whole date now answers it.
    if (target instanceof HTMLInputElement && target.type === 'date' && !target.validity.badInput) {
      setFieldError(target, byId(`${target.id}-error`)!, null);
    }
  });

  list.addEventListener('submit', (event) => {
    const form = event.target as HTMLFormElement;
    const item = form.closest<HTMLLIElement>('li.goal');
    // A rename form the server rendered (?edit=) has no row to return to: let it post.
    if (!item?.querySelector('.goal-row')) return;
    event.preventDefault();
    if (form.classList.contains('toggle-form')) void toggle(item);
    else if (form.classList.contains('delete-form')) void remove(item);
    else if (form.classList.contains('rename-form')) void rename(item, form);
    else if (form.classList.contains('move-form')) {
      const direction = event.submitter?.getAttribute('value');
      void moveBy(item, direction === 'up' ? -1 : 1);
    }
  });

  list.addEventListener('click', (event) => {
    const target = event.target as Element;
    const link = target.closest('a.rename-link, a.cancel-link');
    const item = target.closest<HTMLLIElement>('li.goal');
    if (!link || !item?.querySelector('.goal-row')) return;
    event.preventDefault();
    if (link.classList.contains('rename-link')) openEditor(item);
    else closeEditor(item, true);
  });

  list.addEventListener('dblclick', (event) => {
    const target = event.target as Element;
    const item = target.closest<HTMLLIElement>('li.goal');
    if (item && target.closest('.goal-name')) openEditor(item);
  });

  list.addEventListener('focusin', (event) => {
    const target = event.target as HTMLElement;
    const item = target.closest<HTMLLIElement>('li.goal');
    if (item && target.matches(ROW_CONTROLS)) makeTabbable(item, target);
  });

  list.addEventListener('keydown', (event) => {
    const target = event.target as HTMLElement;
    const row = target.closest<HTMLLIElement>('li.goal');
    const arrow = event.key === 'ArrowUp' ? -1 : event.key === 'ArrowDown' ? 1 : 0;
    if (row && target.matches(ROW_CONTROLS) && event.altKey && arrow !== 0) {
      event.preventDefault();
      void moveBy(row, arrow);
      return;
    }
    if (row && target.matches(ROW_CONTROLS) && !event.altKey && !event.ctrlKey && !event.metaKey) {
      moveWithinList(event, target, row);
      return;
    }
    if (event.key !== 'Escape' || !target.closest('.rename-form')) return;
    const item = target.closest<HTMLLIElement>('li.goal');
    if (item?.querySelector('.goal-row')) {
      event.preventDefault();
      closeEditor(item, true);
    }
  });

  showMore.addEventListener('click', (event) => {
    event.preventDefault();
    void loadMore();
  });

  // Dragging by the handle, with Pointer Events so that a finger works as a mouse does (HTML
  // drag and drop never starts from touch). The goal follows the pointer; a bar shows where it
  // will land; Escape, or the browser taking the pointer away, puts it back untouched.
  let drag:
    | { item: HTMLLIElement; handle: HTMLElement; pointer: number; startY: number; moved: boolean }
    | undefined;
  /** Where the dragged goal would land: before this goal (null: last); undefined: where it is. */
  let dropBefore: HTMLLIElement | null | undefined;
  /** A click that ends a drag is not a press of the handle. */
  let dragJustEnded = false;
  const dropIndicator = document.createElement('li');
  dropIndicator.className = 'drop-indicator';
  dropIndicator.setAttribute('aria-hidden', 'true');
  const DRAG_THRESHOLD_PX = 4;
  const SCROLL_EDGE_PX = 48;

  function endDrag(): void {
    if (!drag) return;
    drag.item.classList.remove('is-dragging');
    drag.item.style.transform = '';
    dropIndicator.remove();
    drag = undefined;
    dropBefore = undefined;
  }

  list.addEventListener('pointerdown', (event) => {
    const handle = (event.target as Element).closest<HTMLElement>('.drag-handle');
    const item = handle?.closest<HTMLLIElement>('li.goal');
    if (!handle || !item || drag || !event.isPrimary || event.button !== 0 || !isSaved(item))
      return;
    // No text selection and no scrolling while dragging; the handle keeps the pointer.
    event.preventDefault();
    handle.setPointerCapture(event.pointerId);
    handle.focus();
    drag = { item, handle, pointer: event.pointerId, startY: event.clientY, moved: false };
  });

  list.addEventListener('pointermove', (event) => {
    if (!drag || event.pointerId !== drag.pointer) return;
    if (!drag.moved && Math.abs(event.clientY - drag.startY) < DRAG_THRESHOLD_PX) return;
    drag.moved = true;
    // Near the window's edge the page scrolls, carrying the goal with it.
    const edge =
      event.clientY < SCROLL_EDGE_PX ? -1 : event.clientY > innerHeight - SCROLL_EDGE_PX ? 1 : 0;
    if (edge !== 0) {
      const before = scrollY;
      scrollBy(0, edge * 16);
      drag.startY -= scrollY - before;
    }
    drag.item.classList.add('is-dragging');
    drag.item.style.transform = `translateY(${event.clientY - drag.startY}px)`;
    const others = items().filter((other) => other !== drag!.item && isSaved(other));
    const below =
      others.find((other) => {
        const box = other.getBoundingClientRect();
        return event.clientY < box.top + box.height / 2;
      }) ?? null;
    const stays = below === savedSibling(drag.item, 'nextElementSibling');
    dropBefore = stays ? undefined : below;
    if (stays || others.length === 0) {
      dropIndicator.remove();
      return;
    }
    const last = others[others.length - 1]!;
    dropIndicator.style.top = `${below ? below.offsetTop : last.offsetTop + last.offsetHeight}px`;
    if (!dropIndicator.isConnected) list.append(dropIndicator);
  });

  list.addEventListener('pointerup', (event) => {
    if (!drag || event.pointerId !== drag.pointer) return;
    const { item, handle } = drag;
    const target = dropBefore;
    dragJustEnded = drag.moved;
    endDrag();
    if (target !== undefined) void move(item, target, '');
    handle.focus();
  });

  const cancelDrag = (event: PointerEvent) => {
    if (drag && event.pointerId === drag.pointer) endDrag();
  };
  list.addEventListener('pointercancel', cancelDrag);
  list.addEventListener('lostpointercapture', cancelDrag);
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || !drag) return;
    event.preventDefault();
    const name = nameOf(drag.item);
    // The button is still held: its release must not count as a press of the handle.
    dragJustEnded = true;
    endDrag();
    announce(`Move of “${name}” cancelled.`);
  });

  // Pressing the handle itself (Enter, or a tap) tells how to move without dragging.
  list.addEventListener('click', (event) => {
    const handle = (event.target as Element).closest('.drag-handle');
    const item = handle?.closest<HTMLLIElement>('li.goal');
    if (!item) return;
    if (dragJustEnded) {
      dragJustEnded = false;
      return;
    }
    announce(
      `Drag to move “${nameOf(item)}”, or press Alt with the Up or Down arrow, or use Move up and Move down.`,
    );
  });

  // The second click of a double-click on a bin would land on the next goal's bin, which slides
  // under the pointer when the first goal goes: only a fresh click deletes.
  list.addEventListener(
    'click',
    (event) => {
      const target = event.target as Element;
      if (event.detail > 1 && target.closest('.delete-form button')) event.preventDefault();
    },
    { capture: true },
  );
  followGoalChanges(() => void refresh());
  for (const pending of storedUndos()) showToast(pending);
  // The server told the dates by its own day; where the person's differs, tell them again.
  if (main.dataset.today !== localToday())
    for (const item of items()) setDates(item, shownState(item));
  rememberToday();
  // A page left open overnight moves on to the new day: its dates, Overdue and the counts.
  followDays(() => {
    rememberToday();
    for (const item of items()) setDates(item, shownState(item));
    void refresh();
  });
  for (const item of items())
    makeTabbable(item, item.querySelector<HTMLElement>('.check') ?? undefined);
  // The ends of the list change with every goal added, removed, loaded or moved, here or not.
  new MutationObserver(updateMoveButtons).observe(list, { childList: true });
  updateMoveButtons();
  const keysHint = document.createElement('p');
  keysHint.id = 'list-keys';
  keysHint.className = 'visually-hidden';
  keysHint.textContent =
    'Each goal is one stop for Tab; the arrow keys move between its actions, and Alt with Up or Down moves the goal.';
  list.before(keysHint);
  list.setAttribute('aria-describedby', keysHint.id);
  document.documentElement.classList.add('enhanced');
}

// A status message belongs to the redirect that brought it; reloading should not repeat it.
const url = new URL(window.location.href);
const oneTime = ['status', 'adopted', 'deleted'].filter((name) => url.searchParams.has(name));
if (oneTime.length > 0) {
  for (const name of oneTime) url.searchParams.delete(name);
  window.history.replaceState(null, '', url.pathname + url.search + url.hash);
}

const main = document.querySelector<HTMLElement>('main[data-state="ok"]');
if (main) enhance(main);

import {
  GOAL_NAME_MAX_LENGTH,
  type Goal,
  type GoalPage,
  type GoalSummary,
} from '@goal-tracker/contract';
import type { Assets } from '../assets.js';
import { html, type Markup, type SafeHtml } from '../html.js';
import { FILTERS, viewUrl, type Filter, type View } from '../view.js';
import { moreText, remainingText } from './goal-wording.js';
import { isOverdue, localDate, shortDateText } from './goal-dates.js';
import { dateField, fieldError, invalid, type DateFieldState, type FieldState } from './fields.js';
import { icons } from './icons.js';
import { layout, PRODUCT_NAME } from './layout.js';

export type ListState =
  | {
      state: 'ok';
      page: Readonly<GoalPage>;
      /** How many goals there are in all; undefined when the count could not be had. */
      summary: GoalSummary | undefined;
    }
  | { state: 'unavailable' };

export interface GoalsPageModel {
  view: View;
  list: ListState;
  add: FieldState &
    DateFieldState & {
      idempotencyKey: string;
      /** What the key was already sent with (date|name), after a create whose outcome is unknown. */
      idempotencyKeyFor?: string;
    };
  /** The goal whose rename form is open (`?edit=id`, or a rename sent back with an error). */
  edit?: FieldState & DateFieldState & { id: number };
  /** The day that decides what is overdue (see today.ts). */
  today: string;
  /** What the last action did, after its redirect. */
  notice?: string;
  /** The goal the last action deleted: the notice offers to restore it. */
  undoDelete?: number;
  /** Why the last action failed. */
  error?: string;
  /** Who is signed in; undefined when the API could not say. */
  email: string | undefined;
  assets: Assets;
}

/** Client templates use this in place of an id; the script swaps in the real one. */
export const ID_PLACEHOLDER = '__ID__';
type ItemId = number | typeof ID_PLACEHOLDER;

const FILTER_LABELS: Record<Filter, string> = {
  all: 'All',
  active: 'Active',
  done: 'Done',
  overdue: 'Overdue',
};

interface EmptyState {
  icon: SafeHtml;
  title: string;
  text: string;
}

const NO_GOALS: EmptyState = {
  icon: icons.flag,
  title: 'No goals yet',
  text: 'Add your first goal above. Small and specific works best.',
};

/** What an empty list says: one text for an account with no goals, one per filter otherwise. */
const EMPTY_STATES: Record<Filter, EmptyState> = {
  all: NO_GOALS,
  active: {
    icon: icons.party,
    title: 'Nothing left to do',
    text: 'Every goal is done. Add a new one, or enjoy the moment.',
  },
  done: {
    icon: icons.sparkle,
    title: 'Nothing done yet',
    text: 'Goals you tick off will show up here.',
  },
  overdue: {
    icon: icons.party,
    title: 'Nothing overdue',
    text: 'No open goal is past its target date.',
  },
};

function addForm(view: View, add: GoalsPageModel['add']): SafeHtml {
  // novalidate: the server's (and the script's) messages are the only ones, for an empty name
  // as for one of spaces; `required` still tells assistive technology the field is needed.
  return html`<form
    class="add-form"
    id="add-form"
    method="post"
    action="${viewUrl(view, {}, '/goals')}"
    novalidate
  >
    <label class="add-label" for="new-goal">What do you want to achieve?</label>
    <div class="add-row">
      <input
        class="field"
        id="new-goal"
        name="name"
        type="text"
        autocomplete="off"
        dir="auto"
        maxlength="${GOAL_NAME_MAX_LENGTH}"
        placeholder="e.g. Run 5 km without stopping"
        value="${add.value}"
        required${invalid(add.error, 'new-goal-error')}${add.error ? html` autofocus` : ''}
      />
      <input type="hidden" name="idempotencyKey" value="${add.idempotencyKey}" />${
        add.idempotencyKeyFor === undefined
          ? ''
          : html` <input type="hidden" name="idempotencyKeyFor" value="${add.idempotencyKeyFor}" />`
      }
      <button class="button primary" type="submit">${icons.plus}<span>Add goal</span></button>
    </div>
    ${nameCounter('new-goal-counter')} ${fieldError('new-goal-error', add.error)}
    ${dateField('new-goal-date', add, Boolean(add.dateError && !add.error))}
  </form>`;
}

function filterNav(view: View): SafeHtml {
  return html`<nav class="filters" aria-label="Show goals">
    <ul>
      ${FILTERS.map(
        (filter) =>
          html`<li>
            <a
              class="filter"
              href="${viewUrl({ filter })}"
              ${filter === view.filter ? html` aria-current="page"` : ''}
              >${FILTER_LABELS[filter]}</a
            >
          </li>`,
      )}
    </ul>
  </nav>`;
}

/** The same three links on every page: one rendering per filter, made once. */
const FILTER_NAVS = new Map(FILTERS.map((filter) => [filter, filterNav({ filter })]));

/**
 * Where a goal stands, for its Move up and Move down buttons: the goals it would pass (the
 * form sends them, so a move goes past the goal that was shown) and whether it is at either
 * end of the whole list. Unknown (undefined) for the script's template: the script fills the
 * buttons in from the list as it is.
 */
export interface Place {
  above: number | undefined;
  below: number | undefined;
  first: boolean;
  last: boolean;
}

/** Why a move button is disabled: shared by every row, so the ids are in the page once. */
const MOVE_REASONS = html`<p class="visually-hidden" id="move-first-reason" hidden>
    Already first.
  </p>
  <p class="visually-hidden" id="move-last-reason" hidden>Already last.</p>`;

/**
 * A goal's icon button, named by its action and then the goal ("Delete Plan a trip"): the
 * action's words are hidden text, so the name reads the same in every language tool.
 */
function goalIconButton(
  id: ItemId,
  action: { key: string; words: string; icon: SafeHtml; className: string },
  attributes: SafeHtml,
): SafeHtml {
  return html`<button
    class="icon-button ${action.className}"
    ${attributes}
    aria-labelledby="goal-${id}-${action.key} goal-${id}-name"
  >
    ${action.icon}<span class="visually-hidden" id="goal-${id}-${action.key}">${action.words}</span>
  </button>`;
}

function moveButton(id: ItemId, direction: 'up' | 'down', disabled: boolean): SafeHtml {
  const reason = direction === 'up' ? 'move-first-reason' : 'move-last-reason';
  const action = {
    key: direction,
    words: `Move ${direction}`,
    icon: icons[direction],
    className: `move-button move-${direction}`,
  };
  return goalIconButton(
    id,
    action,
    html`type="submit" name="direction"
    value="${direction}"${disabled ? html` disabled aria-describedby="${reason}"` : ''}`,
  );
}

function moveForm(id: ItemId, view: View, place: Place | undefined): SafeHtml {
  const neighbour = (name: string, value: number | undefined) =>
    value === undefined ? '' : html`<input type="hidden" name="${name}" value="${value}" />`;
  return html`<form
    class="move-form"
    method="post"
    action="${viewUrl(view, {}, `/goals/${id}/move`)}"
  >
    ${neighbour('above', place?.above)} ${neighbour('below', place?.below)}
    ${moveButton(id, 'up', place?.first ?? false)} ${moveButton(id, 'down', place?.last ?? false)}
  </form>`;
}

/** What a goal row shows. */
type ShownGoal = Pick<Goal, 'name' | 'done' | 'targetDate' | 'doneAt'> & { id: ItemId };

/**
 * "by 12 Mar", "Overdue" and "done 3 Mar": every part is always in the row, hidden when it
 * does not apply, so the script shows and hides the same markup after its changes.
 */
function goalDates(goal: ShownGoal, today: string): SafeHtml {
  const { id, targetDate } = goal;
  const doneAt = goal.done ? goal.doneAt : null;
  const hidden = (shown: unknown) => (shown ? '' : html` hidden`);
  const datetime = (value: string | null) => (value ? html` datetime="${value}"` : '');
  return html`<span class="goal-dates" id="goal-${id}-dates"${hidden(targetDate ?? doneAt)}
    ><span class="goal-due"${hidden(targetDate)}
      >by <time${datetime(targetDate)}>${targetDate && shortDateText(targetDate, today)}</time></span
    >
    <strong class="overdue"${hidden(isOverdue(goal, today))}>Overdue</strong>
    <span class="goal-done-at"${hidden(doneAt)}
      >done
      <time${datetime(doneAt)}
        >${doneAt && shortDateText(localDate(new Date(doneAt)), today)}</time
      ></span
    ></span
  >`;
}

export function goalItem(
  goal: ShownGoal,
  view: View,
  place: Place | undefined,
  today: string,
): SafeHtml {
  const { id, done } = goal;
  // The rename link carries no #fragment: Chrome skips autofocus on a page whose URL has one,
  // and the rename field's autofocus scrolls it into view anyway. The drag handle only works
  // with the script; until it runs the handle keeps its place invisibly, so nothing shifts.
  return html`<li
    class="goal${done ? ' is-done' : ''}"
    id="goal-${id}"
    data-id="${id}"
    data-done="${done}"
    data-target-date="${goal.targetDate ?? ''}"
    data-done-at="${goal.doneAt ?? ''}"
  >
    <div class="goal-row">
      ${goalIconButton(
        id,
        { key: 'drag', words: 'Move', icon: icons.grip, className: 'drag-handle' },
        html`type="button"`,
      )}
      <form class="toggle-form" method="post" action="${viewUrl(view, {}, `/goals/${id}/toggle`)}">
        <input type="hidden" name="done" value="${!done}" />
        <button
          class="check"
          type="submit"
          role="checkbox"
          aria-checked="${done}"
          aria-labelledby="goal-${id}-name"
          aria-describedby="goal-${id}-dates"
        >
          ${icons.check}
        </button>
      </form>
      <span class="goal-text"
        ><span class="goal-name" id="goal-${id}-name" dir="auto">${goal.name}</span>
        ${goalDates(goal, today)}</span
      >
      <div class="goal-actions">
        ${moveForm(id, view, place)}
        <a
          class="icon-button rename-link"
          href="${viewUrl(view, { edit: id })}"
          aria-labelledby="goal-${id}-rename goal-${id}-name"
          >${icons.pencil}<span class="visually-hidden" id="goal-${id}-rename">Rename</span></a
        >
        <form
          class="delete-form"
          method="post"
          action="${viewUrl(view, {}, `/goals/${id}/delete`)}"
        >
          ${goalIconButton(
            id,
            { key: 'delete', words: 'Delete', icon: icons.trash, className: 'danger' },
            html`type="submit"`,
          )}
        </form>
      </div>
    </div>
  </li>`;
}

export function renameForm(
  id: ItemId,
  view: View,
  field: FieldState & DateFieldState,
  options: { autofocus: boolean },
): SafeHtml {
  // The field to fix first has the focus: the name, unless only the date is wrong.
  const nameFocused =
    options.autofocus && (field.error !== undefined || field.dateError === undefined);
  const errorId = `rename-${id}-error`;
  return html`<form
    class="rename-form"
    method="post"
    action="${viewUrl(view, {}, `/goals/${id}/rename`)}"
    novalidate
  >
    <label class="visually-hidden" for="rename-${id}">New name</label>
    <input
      class="field"
      id="rename-${id}"
      name="name"
      type="text"
      autocomplete="off"
      dir="auto"
      maxlength="${GOAL_NAME_MAX_LENGTH}"
      value="${field.value}"
      required${invalid(field.error, errorId)}${nameFocused ? html` autofocus` : ''}
    />
    <div class="rename-actions">
      <button class="button primary small" type="submit">Save</button>
      <a class="button ghost small cancel-link" href="${viewUrl(view)}#goal-${id}">Cancel</a>
    </div>
    ${nameCounter(`rename-${id}-counter`)} ${fieldError(errorId, field.error)}
    ${dateField(`rename-${id}-date`, field, options.autofocus && !nameFocused)}
  </form>`;
}

/**
 * Filled in by the page script as a name nears the limit (typing past `maxlength` is not
 * possible, but a name of emoji counts fewer characters than the browser does). Hidden from
 * screen readers: the script announces the count when typing pauses instead.
 */
function nameCounter(id: string): SafeHtml {
  return html`<p class="name-counter" id="${id}" aria-hidden="true" hidden></p>`;
}

function editingItem(goal: Goal, view: View, field: FieldState & DateFieldState): SafeHtml {
  return html`<li
    class="goal is-editing${goal.done ? ' is-done' : ''}"
    id="goal-${goal.id}"
    data-id="${goal.id}"
    data-done="${goal.done}"
  >
    ${renameForm(goal.id, view, field, { autofocus: true })}
  </li>`;
}

function emptyState(view: View, hidden: boolean, summary: GoalSummary | undefined): SafeHtml {
  // Always in the page, so the script can show it when the last goal in view goes.
  const hide = hidden ? html` hidden` : '';
  if (view.after !== undefined) {
    return html`<div class="state" id="empty-state" ${hide}>
      ${icons.flag}
      <h2 class="state-title">No more goals</h2>
      <p>You have reached the end of the list.</p>
      <p><a href="${viewUrl({ filter: view.filter })}">Back to the first page</a></p>
    </div>`;
  }
  // Both texts are in the page; the script shows the one that is true after its changes.
  const hasGoals = summary === undefined || summary.total > 0;
  const variant = (when: 'none' | 'some', state: EmptyState, shown: boolean) =>
    html`<div class="state-variant" data-when="${when}" ${shown ? '' : html` hidden`}>
      ${state.icon}
      <h2 class="state-title">${state.title}</h2>
      <p>${state.text}</p>
    </div>`;
  return html`<div class="state" id="empty-state" ${hide}>
    ${variant('none', NO_GOALS, !hasGoals)} ${variant('some', EMPTY_STATES[view.filter], hasGoals)}
  </div>`;
}

function unavailableState(view: View, edit: GoalsPageModel['edit']): SafeHtml {
  // A rename sent during an outage cannot be shown in its list, so it waits here, text intact.
  const pendingRename =
    edit &&
    html`<section class="pending-edit" aria-labelledby="pending-edit-heading">
      <h2 class="pending-edit-title" id="pending-edit-heading">Your rename is not saved yet</h2>
      ${renameForm(edit.id, view, edit, { autofocus: true })}
    </section>`;
  return html`${pendingRename}
    <div class="state state-error" id="unavailable">
      ${icons.cloudOff}
      <h2 class="state-title">Goals are unavailable right now</h2>
      <p>We could not reach the goal service. Nothing you saved is lost; try again in a moment.</p>
      <p><a class="button secondary" href="${viewUrl(view)}">Try again</a></p>
    </div>`;
}

/**
 * The rendered list of a page of goals, kept with the page object: while the API's ETag says
 * the page is unchanged the same object comes back, so the list is rendered once per change.
 */
const renderedLists = new WeakMap<Readonly<GoalPage>, { view: string; list: SafeHtml }>();

function goalList(model: GoalsPageModel, page: Readonly<GoalPage>): SafeHtml {
  const { view, edit } = model;
  // An open rename form is part of the list, so that rendering is the request's own.
  const summary = model.list.state === 'ok' ? model.list.summary : undefined;
  if (edit) return renderGoalList(view, page, summary, edit, model.today);
  // The counts choose the empty state's text and the "Show N more" label.
  const key = `${viewUrl(view)} ${model.today} ${summary ? `${summary.total}/${summary.done}` : '-'}`;
  const known = renderedLists.get(page);
  if (known?.view === key) return known.list;
  const list = renderGoalList(view, page, summary, undefined, model.today);
  renderedLists.set(page, { view: key, list });
  return list;
}

/** How many goals of the view's filter come after this page; undefined without the counts. */
function goalsAfter(view: View, page: Readonly<GoalPage>, summary: GoalSummary | undefined) {
  if (!summary || page.next === null) return undefined;
  const inFilter = view.filter === 'all' ? summary.total : summary[view.filter];
  return Math.max(0, inFilter - (view.shown ?? 0) - page.goals.length);
}

function renderGoalList(
  view: View,
  page: Readonly<GoalPage>,
  summary: GoalSummary | undefined,
  edit: GoalsPageModel['edit'],
  today: string,
): SafeHtml {
  const { goals } = page;
  const items = goals.map((goal, index) => {
    if (edit?.id === goal.id) return editingItem(goal, view, edit);
    const place: Place = {
      // The first goal of a later page follows the previous page's last, `after`.
      above: index === 0 ? view.after : goals[index - 1]?.id,
      below: goals[index + 1]?.id,
      first: index === 0 && view.after === undefined,
      last: index === goals.length - 1 && page.next === null,
    };
    return goalItem(goal, view, place, today);
  });
  const empty = page.goals.length === 0;
  const shown = (view.shown ?? 0) + page.goals.length;
  const later = goalsAfter(view, page, summary);
  return html`${view.after !== undefined && !empty ? html`<p class="page-note">Showing later goals. <a href="${viewUrl({ filter: view.filter })}">Back to the first page</a></p>` : ''}
    <ul class="goals" id="goals" aria-labelledby="list-heading">
      ${items}
    </ul>
    ${emptyState(view, !empty, summary)}
    <div class="more" ${page.next === null ? html` hidden` : ''}>
      <a
        class="button secondary"
        id="show-more"
        href="${page.next === null ? viewUrl(view) : viewUrl({ filter: view.filter, after: page.next, shown })}"
        data-next="${page.next ?? ''}"
        data-shown="${shown}"
        ${later === undefined ? '' : html` data-later="${later}"`}
        >${moreText(later)}</a
      >
    </div>
    <template id="goal-template"
      >${goalItem(
        { id: ID_PLACEHOLDER, name: '', done: false, targetDate: null, doneAt: null },
        view,
        undefined,
        today,
      )}</template
    >
    ${MOVE_REASONS}
    <template id="rename-template"
      >${renameForm(ID_PLACEHOLDER, view, { value: '' }, { autofocus: false })}</template
    >`;
}

/** Undo for a delete without JavaScript: a form in the status line that restores the goal. */
function undoForm(view: View, id: number | undefined): SafeHtml | '' {
  if (id === undefined) return '';
  return html`<form
    class="undo-form"
    method="post"
    action="${viewUrl(view, {}, `/goals/${id}/restore`)}"
  >
    <button class="button ghost small" type="submit">Undo</button>
  </form>`;
}

/** The page's closing part: the same on every page. */
// prettier-ignore
const MAIN_END = html`<div
    class="visually-hidden"
    id="announcer"
    role="status"
    aria-live="polite"
    aria-atomic="true"
  ></div>
</main>`;

export function goalsPage(model: GoalsPageModel): Markup {
  const { view, list } = model;
  // Without a count (the API could not give one) the line is left out, not guessed.
  const summary = list.state === 'ok' ? list.summary : undefined;
  const remaining = summary
    ? html`<p
        class="remaining"
        id="remaining"
        data-count="${summary.active}"
        data-total="${summary.total}"
      >
        ${remainingText(summary.active)}
      </p>`
    : html``;
  // Left open: the list and MAIN_END follow. (Prettier would close <main> here.)
  // prettier-ignore
  const top = html`<main
    class="card"
    id="main"
    tabindex="-1"
    data-filter="${view.filter}"
    data-today="${model.today}"
    data-state="${list.state}"
  >
    ${addForm(view, model.add)}
    <div class="toolbar">
      <h2 class="visually-hidden" id="list-heading">${FILTER_LABELS[view.filter]} goals</h2>
      ${FILTER_NAVS.get(view.filter)} ${remaining}
    </div>
    <div class="messages" id="messages" role="alert">
      ${model.error && html`<p class="message message-error">${model.error}</p>`}
    </div>
    ${model.notice && html`<p class="notice" id="notice">${icons.check}<span>${model.notice}</span>${undoForm(view, model.undoDelete)}</p>`}`;
  // The list is its own piece: unchanged goals keep their rendering, bytes and all.
  const main =
    list.state === 'ok' ? goalList(model, list.page) : unavailableState(view, model.edit);
  const failure =
    model.error ??
    model.add.error ??
    model.add.dateError ??
    model.edit?.error ??
    model.edit?.dateError;
  const title = failure ? `Error: ${failure} · ${PRODUCT_NAME}` : PRODUCT_NAME;
  return layout({
    title,
    assets: model.assets,
    session: { email: model.email },
    body: [top, main, MAIN_END],
  });
}

/**
 * Progressive enhancement for the goals page. The server renders everything and every action
 * works as a plain form; this script turns those forms into optimistic calls to /api/goals…,
 * rolling back with a message when the API refuses. Markup comes from the server's <template>
 * elements, so the page has one definition of each piece; names only ever enter as text.
 */

interface Goal {
  id: number;
  name: string;
  done: boolean;
}
interface GoalPage {
  goals: Goal[];
  next: number | null;
}
type Result<T> =
  { ok: true; status: number; value: T } | { ok: false; status: number; message: string };

const ID_PLACEHOLDER = '__ID__';
const PAGE_SIZE = 50;
const NAME_MAX_LENGTH = 255;
// eslint-disable-next-line no-control-regex -- the contract forbids control characters in names
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
/** The server's answers never take this long (it times out the API first); a guard, not a limit. */
const REQUEST_DEADLINE_MS = 15_000;

function byId<T extends HTMLElement>(id: string): T | null {
  return document.getElementById(id) as T | null;
}

function checkName(raw: string): { name: string; problem?: string } {
  const name = raw.trim();
  if (name.length === 0) return { name, problem: 'Write a goal first: the name cannot be empty.' };
  if ([...name].length > NAME_MAX_LENGTH) {
    return { name, problem: 'That name is too long: keep it to 255 characters or fewer.' };
  }
  if (CONTROL_CHARACTERS.test(name)) {
    return {
      name,
      problem: 'That name contains characters that cannot be shown, such as line breaks.',
    };
  }
  return { name };
}

/** The API refused what was typed (as opposed to being unreachable or failing). */
function isRefusedInput(status: number): boolean {
  return status === 400 || status === 422;
}

function remainingText(count: number): string {
  if (count === 0) return 'No goals left';
  return `${count.toLocaleString('en-US')} ${count === 1 ? 'goal' : 'goals'} left`;
}

/** Works on plain http too, where crypto.randomUUID is not available. */
function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
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
  if (response.status === 401) {
    window.location.assign('/signin');
    return new Promise<never>(() => undefined);
  }
  if (response.ok) {
    const value = (response.status === 204 ? null : await response.json()) as T;
    return { ok: true, status: response.status, value };
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
  /** Each goal's calls run in order, so a rollback always restores the state before its call. */
  const queues = new WeakMap<HTMLElement, Promise<unknown>>();

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

  function adjustRemaining(delta: number): void {
    if (!remaining) return;
    const count = Math.max(0, Number(remaining.dataset.count ?? 0) + delta);
    remaining.dataset.count = String(count);
    remaining.textContent = remainingText(count);
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
  const shownHere = (done: boolean) => filter === 'all' || (filter === 'done') === done;

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

  function buildGoal(goal: { id: number | string; name: string; done: boolean }): HTMLLIElement {
    const item = fromTemplate(goalTemplate!, String(goal.id)) as HTMLLIElement;
    setName(item, goal.name);
    setDone(item, goal.done);
    return item;
  }

  function updateEmptyState(): void {
    emptyState!.hidden = items().length > 0;
  }

  /**
   * Puts a goal back near where it belongs: newer goals above older ones, as the API lists
   * goals nobody has moved.
   */
  function insertInOrder(item: HTMLLIElement): void {
    const id = Number(item.dataset.id);
    const after = items().find((other) => Number(other.dataset.id) < id);
    list!.insertBefore(item, after ?? null);
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
    item.remove();
    updateEmptyState();
  }

  async function toggle(item: HTMLLIElement): Promise<void> {
    clearError();
    const id = item.dataset.id!;
    const name = nameOf(item);
    const was = isDone(item);
    const now = !was;
    setDone(item, now);
    adjustRemaining(now ? -1 : 1);
    const leaves = !shownHere(now);
    if (leaves) detach(item);
    announce(`“${name}” marked ${now ? 'done' : 'not done'}.`);
    const result = await enqueue(item, () => api<Goal>('PATCH', `/goals/${id}`, { done: now }));
    if (result.ok) return;
    if (result.status === 404) {
      detach(item);
      if (!now) adjustRemaining(-1);
      showError(`“${name}” no longer exists.`);
      return;
    }
    setDone(item, was);
    adjustRemaining(now ? 1 : -1);
    if (leaves) insertInOrder(item);
    showError(`Could not mark “${name}” ${now ? 'done' : 'not done'}. ${result.message}`);
  }

  async function remove(item: HTMLLIElement): Promise<void> {
    clearError();
    const id = item.dataset.id!;
    const name = nameOf(item);
    const done = isDone(item);
    detach(item);
    if (!done) adjustRemaining(-1);
    announce(`Deleted “${name}”.`);
    const result = await enqueue(item, () => api<null>('DELETE', `/goals/${id}`));
    if (result.ok || result.status === 404) return;
    insertInOrder(item);
    if (!done) adjustRemaining(1);
    showError(`Could not delete “${name}”. ${result.message}`);
  }

  function openEditor(item: HTMLLIElement, value = nameOf(item), error?: string): void {
    const row = item.querySelector<HTMLElement>('.goal-row');
    if (!row) return;
    item.querySelector('.rename-form')?.remove();
    const form = fromTemplate(renameTemplate!, item.dataset.id!) as HTMLFormElement;
    const input = form.querySelector<HTMLInputElement>('input[name="name"]')!;
    const errorText = form.querySelector<HTMLElement>('.field-error')!;
    input.value = value;
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
    const raw = input.value;
    const checked = checkName(raw);
    if (checked.problem) {
      setFieldError(input, form.querySelector<HTMLElement>('.field-error')!, checked.problem);
      announce(checked.problem);
      input.focus();
      return;
    }
    const old = nameOf(item);
    closeEditor(item, true);
    if (checked.name === old) return;
    setName(item, checked.name);
    announce(`Renamed to “${checked.name}”.`);
    const id = item.dataset.id!;
    const result = await enqueue(item, () =>
      api<Goal>('PATCH', `/goals/${id}`, { name: checked.name }),
    );
    if (result.ok) {
      setName(item, result.value.name);
      return;
    }
    if (result.status === 404) {
      detach(item);
      if (!isDone(item)) adjustRemaining(-1);
      showError(`“${old}” no longer exists.`);
      return;
    }
    setName(item, old);
    // What they typed is kept, in the form, with the reason beside it or in the banner.
    if (isRefusedInput(result.status)) {
      openEditor(item, raw, result.message);
    } else {
      openEditor(item, raw);
      showError(`Could not rename “${old}”. ${result.message}`);
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
    pendingCount += 1;
    const pending = buildGoal({ id: `new-${pendingCount}`, name: checked.name, done: false });
    pending.classList.add('is-pending', 'is-new');
    pending.setAttribute('aria-busy', 'true');
    pending.inert = true;
    // New goals go on top (the API lists them first): visible only on the first page.
    const visible = filter !== 'done' && !new URLSearchParams(window.location.search).has('after');
    if (visible) {
      list!.prepend(pending);
      updateEmptyState();
    }
    adjustRemaining(1);
    addInput!.value = '';
    announce(
      visible
        ? `Added “${checked.name}”.`
        : filter === 'done'
          ? `Added “${checked.name}”. It is listed under Active.`
          : `Added “${checked.name}” at the top of the list.`,
    );
    const result = await api<Goal>(
      'POST',
      '/goals',
      { name: checked.name },
      { 'idempotency-key': newIdempotencyKey() },
    );
    if (result.ok) {
      if (visible) {
        const created = buildGoal(result.value);
        created.classList.add('is-new');
        pending.replaceWith(created);
      }
      return;
    }
    pending.remove();
    updateEmptyState();
    adjustRemaining(-1);
    if (addInput!.value === '') addInput!.value = raw;
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
    if (filter !== 'all') params.set('done', String(filter === 'done'));
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
    if (next === null) {
      more!.hidden = true;
    } else {
      showMore!.dataset.next = String(next);
      const url = new URL(showMore!.href);
      url.searchParams.set('after', String(next));
      showMore!.href = url.pathname + url.search;
    }
    // The button may be gone; continue from the first new goal rather than the top of the page.
    if (document.activeElement === showMore && next === null) {
      added[0]?.querySelector<HTMLElement>('.check')?.focus();
    }
    announce(`Showing ${added.length} more ${added.length === 1 ? 'goal' : 'goals'}.`);
  }

  addForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void add();
  });
  addInput.addEventListener('input', () => {
    if (!addError.hidden) setFieldError(addInput, addError, null);
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

  list.addEventListener('keydown', (event) => {
    const target = event.target as Element;
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

  document.documentElement.classList.add('enhanced');
}

// A status message belongs to the redirect that brought it; reloading should not repeat it.
const url = new URL(window.location.href);
const oneTime = ['status', 'adopted'].filter((name) => url.searchParams.has(name));
if (oneTime.length > 0) {
  for (const name of oneTime) url.searchParams.delete(name);
  window.history.replaceState(null, '', url.pathname + url.search + url.hash);
}

const main = document.querySelector<HTMLElement>('main[data-state="ok"]');
if (main) enhance(main);

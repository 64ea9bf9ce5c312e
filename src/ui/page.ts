/**
 * The status page's HTML, rendered from plain data: no I/O here, and every value that comes
 * from the database or the request is escaped. Forms carry the server's CSRF token; no secret
 * is ever part of the data (delivery settings are not read at all).
 */
import { PROBLEM_STATES } from '../domain/period-states.js';
import type { RepairRange } from '../domain/repair-ranges.js';
import { FREQUENCIES, type Frequency } from '../domain/types.js';
import { CELL_STATES, cellKey, type Cell, type CellState, type ClientSummary, type PeriodDetail, type RepairPeriod, type StatusGrid } from './status-data.js';

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string | number | null | undefined): string {
  return String(value ?? '').replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

/** Short cell labels; the colour says the same (see STYLE). */
export const STATE_LABELS: Readonly<Record<CellState, string>> = {
  delivered: 'ok',
  restated: 'rev',
  running: 'run',
  failed: 'FAIL',
  late: 'late',
  missing: 'miss',
  not_yet_due: 'due',
  none: '·',
};

const STATE_NAMES: Readonly<Record<CellState, string>> = {
  delivered: 'delivered',
  restated: 'restated',
  running: 'running',
  failed: 'failed',
  late: 'late',
  missing: 'missing',
  not_yet_due: 'not yet due',
  none: 'no record',
};

const STYLE = `
body{font:14px system-ui,sans-serif;margin:1em;color:#222}
table{border-collapse:collapse;margin-bottom:1.5em}
th,td{border:1px solid #ddd;padding:2px 4px;text-align:center;white-space:nowrap}
td.c{text-align:left}
td a{color:inherit;text-decoration:none;display:block}
.s-delivered{background:#cdeccd}.s-restated{background:#9fd89f}.s-running{background:#cfe2ff}
.s-failed{background:#e53935;color:#fff;font-weight:bold}.s-late{background:#ffcc80}.s-missing{background:#ffab91}
.s-not_yet_due{background:#f1f1f1}.s-none{color:#aaa}
.summary{font-size:1.2em;margin:.5em 0}.notice{background:#fff8c4;padding:.5em;border:1px solid #e0d890}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 1em}dt{font-weight:bold}
.detail td{text-align:left}form.inline{display:inline}
`;

export interface TemporalUiLink {
  readonly url: string;
  readonly namespace: string;
}

export interface PageContext {
  /** The server's CSRF token, put in every form. */
  readonly csrf: string;
  readonly temporalUi: TemporalUiLink | null;
  /** A line to show at the top (an action's outcome). */
  readonly notice?: string | null;
}

function layout(title: string, body: string, context: PageContext): string {
  const notice = context.notice ? `<p class="notice" id="notice">${escapeHtml(context.notice)}</p>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} — twoway-report</title><style>${STYLE}</style></head><body><p><a href="/">status</a> · <a href="/repair">repair all</a></p><h1>${escapeHtml(title)}</h1>${notice}${body}</body></html>`;
}

export function periodPath(clientId: string, frequency: Frequency, periodStart: string): string {
  return `/p/${encodeURIComponent(clientId)}/${frequency}/${periodStart}`;
}

function clientPath(clientId: string): string {
  return `/c/${encodeURIComponent(clientId)}`;
}

/** A link listing the workflow in the Temporal UI, or the bare id when no UI address is known. */
function workflowLink(workflowId: string | null, temporalUi: TemporalUiLink | null): string {
  if (!workflowId) return '';
  if (!temporalUi) return escapeHtml(workflowId);
  const query = encodeURIComponent(`WorkflowId="${workflowId}"`);
  return `<a class="temporal" href="${escapeHtml(`${temporalUi.url}/namespaces/${encodeURIComponent(temporalUi.namespace)}/workflows?query=${query}`)}">${escapeHtml(workflowId)}</a>`;
}

function csrfField(context: PageContext): string {
  return `<input type="hidden" name="csrf" value="${escapeHtml(context.csrf)}">`;
}

/** A POST form of one button; `fields` are hidden inputs. */
function actionForm(action: string, label: string, fields: Record<string, string>, context: PageContext, extra = ''): string {
  const hidden = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  return `<form class="inline" method="post" action="${escapeHtml(action)}">${csrfField(context)}${hidden}${extra}<button type="submit">${escapeHtml(label)}</button></form>`;
}

export interface GridFilters {
  /** Part of a client's id or name. */
  readonly client: string;
  readonly state: CellState | null;
  readonly frequency: Frequency | null;
}

export interface GridSummary {
  readonly counts: Readonly<Record<CellState, number>>;
  readonly deliveredToday: number;
}

/** A client's cells in its frequency's columns, looked up once per page (the grid, the summary and the filters all read them). */
interface ClientRow {
  readonly client: ClientSummary;
  readonly cells: readonly (Cell | undefined)[];
}

function clientRows(grid: StatusGrid): ClientRow[] {
  return grid.clients.map((client) => {
    const prefix = cellKey(client.id, client.frequency, '');
    return { client, cells: grid.columns[client.frequency].map((start) => grid.cells.get(prefix + start)) };
  });
}

/** Counts of every state over the grid's columns. */
export function summarize(grid: StatusGrid, rows: readonly ClientRow[] = clientRows(grid)): GridSummary {
  const counts = Object.fromEntries(CELL_STATES.map((state) => [state, 0])) as Record<CellState, number>;
  for (const row of rows) for (const cell of row.cells) if (cell) counts[cell.state] += 1;
  return { counts, deliveredToday: grid.deliveredToday };
}

/** "3 late, 1 failed, 212 delivered today" (problems first, only those there are). */
export function summaryLine(summary: GridSummary): string {
  const problems = PROBLEM_STATES.filter((state) => summary.counts[state] > 0).map((state) => `${summary.counts[state]} ${state}`);
  const running = summary.counts.running > 0 ? [`${summary.counts.running} running`] : [];
  return [...(problems.length > 0 ? problems : ['no problems']), ...running, `${summary.deliveredToday} delivered today`].join(', ');
}

function matchesFilters(client: ClientSummary, cells: readonly (Cell | undefined)[], filters: GridFilters): boolean {
  const text = filters.client.trim().toLowerCase();
  if (text && !client.id.toLowerCase().includes(text) && !client.name.toLowerCase().includes(text)) return false;
  return filters.state === null || cells.some((cell) => (cell?.state ?? 'none') === filters.state);
}

function filterForm(filters: GridFilters): string {
  const option = (value: string, label: string, selected: boolean) =>
    `<option value="${escapeHtml(value)}"${selected ? ' selected' : ''}>${escapeHtml(label)}</option>`;
  const states = [
    option('', 'any state', filters.state === null),
    ...CELL_STATES.map((state) => option(state, STATE_NAMES[state], filters.state === state)),
  ].join('');
  const frequencies = [
    option('', 'every frequency', filters.frequency === null),
    ...FREQUENCIES.map((frequency) => option(frequency, frequency, filters.frequency === frequency)),
  ].join('');
  return `<form method="get" action="/" id="filters">client <input name="client" value="${escapeHtml(filters.client)}"> <select name="state">${states}</select> <select name="frequency">${frequencies}</select> <button type="submit">filter</button></form>`;
}

// Tens of thousands of cells: built by appending to one string, the fastest way V8 offers.
function gridTable(grid: StatusGrid, frequency: Frequency, rows: readonly ClientRow[]): string {
  const columns = grid.columns[frequency];
  let html = `<h2>${frequency}</h2><table class="grid" id="grid-${frequency}"><tr><th>client</th>`;
  for (const start of columns) html += `<th>${escapeHtml(start.slice(frequency === 'monthly' ? 0 : 5, frequency === 'monthly' ? 7 : 10))}</th>`;
  html += '</tr>';
  for (const { client, cells } of rows) {
    const prefix = periodPath(client.id, frequency, '');
    const flag = client.enabled ? (client.environment === 'production' ? '' : ` (${escapeHtml(client.environment)})`) : ' (disabled)';
    html += `<tr><td class="c"><a href="${clientPath(client.id)}">${escapeHtml(client.id)}</a>${flag}</td>`;
    for (let index = 0; index < columns.length; index += 1) {
      const cell = cells[index];
      const state = cell?.state ?? 'none';
      const label = state === 'restated' ? `r${cell?.revision ?? ''}` : STATE_LABELS[state];
      html += `<td class="s-${state}"><a href="${prefix}${columns[index]}">${label}</a></td>`;
    }
    html += '</tr>';
  }
  return `${html}</table>`;
}

/** The grid: one table per frequency, clients by their newest periods, filtered. */
export function renderStatusPage(grid: StatusGrid, filters: GridFilters, context: PageContext): string {
  const rows = clientRows(grid);
  const summary = summarize(grid, rows);
  const tables: string[] = [];
  let shown = 0;
  for (const frequency of FREQUENCIES) {
    if (filters.frequency !== null && filters.frequency !== frequency) continue;
    const shownRows = rows.filter((row) => row.client.frequency === frequency && matchesFilters(row.client, row.cells, filters));
    shown += shownRows.length;
    if (shownRows.length > 0 && grid.columns[frequency].length > 0) tables.push(gridTable(grid, frequency, shownRows));
  }
  const legend = CELL_STATES.map(
    (state) => `<span class="s-${state}">&nbsp;${escapeHtml(STATE_LABELS[state])}&nbsp;</span> ${escapeHtml(STATE_NAMES[state])}`,
  ).join(' · ');
  const body = [
    `<p class="summary" id="summary">${escapeHtml(summaryLine(summary))}</p>`,
    filterForm(filters),
    `<p>${shown} of ${grid.clients.length} clients shown · ${legend}</p>`,
    tables.length > 0 ? tables.join('') : '<p>no periods to show</p>',
  ].join('');
  return layout('Periods at a glance', body, context);
}

function time(instant: number | null): string {
  return instant === null ? '' : escapeHtml(new Date(instant).toISOString().replace(/\.\d{3}Z$/, 'Z'));
}

/** States a plain rerun is offered for: a delivered period needs a forced revision instead. */
const RERUNNABLE: readonly CellState[] = ['failed', 'missing', 'late', 'none'];

export function isRerunnable(state: CellState): boolean {
  return RERUNNABLE.includes(state);
}

/** One period: its state, revisions (why each exists), runs, and the actions that apply. */
export function renderPeriodPage(detail: PeriodDetail, context: PageContext): string {
  const { cell } = detail;
  const fields = { client: detail.clientId, frequency: detail.frequency, period: detail.periodStart };
  const facts = [
    ['state', `<span class="s-${cell.state}" id="period-state">${escapeHtml(STATE_NAMES[cell.state])}</span>`],
    ['client', `<a href="${clientPath(detail.clientId)}">${escapeHtml(detail.clientId)}</a>`],
    ['frequency', escapeHtml(detail.frequency)],
    [
      'watchdog',
      detail.recorded
        ? `${escapeHtml(STATE_NAMES[detail.recorded.state])} since ${time(detail.recorded.since)}, due ${time(detail.recorded.dueAt)}`
        : 'not judged yet',
    ],
    ['last error', escapeHtml(cell.error)],
    ['workflow', workflowLink(cell.workflowId ?? detail.runs[0]?.workflowId ?? null, context.temporalUi)],
  ];
  const revisions = detail.revisions.map(
    (file) =>
      `<tr><td>${file.revision}</td><td>${escapeHtml(file.status)}</td><td>${escapeHtml(file.fileName)}${file.otherFiles.map((name) => `<br>+ ${escapeHtml(name)}`).join('')}</td><td>${file.rowCount}</td><td>${file.bytes}</td><td><code>${escapeHtml(file.sha256)}</code></td><td>${escapeHtml(file.remotePath)}</td><td>${time(file.deliveredAt)}</td><td>${escapeHtml(file.note ?? (file.revision === 1 ? 'first delivery' : ''))}</td></tr>`,
  );
  const runs = detail.runs.map(
    (run) =>
      `<tr><td>${escapeHtml(run.status)}${run.forced ? ' (forced)' : ''}</td><td>${run.attempts}</td><td>${time(run.startedAt)}</td><td>${time(run.finishedAt)}</td><td>${escapeHtml(run.lastErrorType ? `${run.lastErrorType}: ${run.lastError ?? ''}` : run.lastError)}</td><td>${workflowLink(run.workflowId, context.temporalUi)}</td></tr>`,
  );
  const actions = [
    isRerunnable(cell.state) ? actionForm('/actions/rerun', 'rerun this period', fields, context) : '',
    actionForm(
      '/actions/force',
      'force a revision',
      fields,
      context,
      ' <label><input type="checkbox" name="confirm" value="yes" required> yes, build it again and deliver a changed file as a new revision</label> ',
    ),
  ].join(' ');
  const body = [
    `<dl>${facts.map(([name, value]) => `<dt>${name}</dt><dd>${value}</dd>`).join('')}</dl>`,
    `<p>${actions}</p>`,
    '<h2>revisions</h2>',
    revisions.length > 0
      ? `<table class="detail" id="revisions"><tr><th>revision</th><th>status</th><th>file</th><th>rows</th><th>bytes</th><th>sha256</th><th>remote path</th><th>delivered</th><th>why</th></tr>${revisions.join('')}</table>`
      : '<p>no file yet</p>',
    '<h2>runs</h2>',
    runs.length > 0
      ? `<table class="detail" id="runs"><tr><th>outcome</th><th>attempts</th><th>started</th><th>finished</th><th>last error</th><th>workflow</th></tr>${runs.join('')}</table>`
      : '<p>no run yet</p>',
  ].join('');
  return layout(`${detail.clientId} ${detail.frequency} ${detail.periodStart}`, body, context);
}

export interface ScheduleView {
  readonly paused: boolean;
  readonly note: string | null;
  readonly nextRun: Date | null;
}

/** One client: its schedule (paused or not) with pause/unpause, and its repair. */
export function renderClientPage(client: ClientSummary, schedule: ScheduleView | null, scheduleProblem: string | null, context: PageContext): string {
  const fields = { client: client.id };
  const scheduleLine = schedule
    ? `schedule <span id="schedule-state">${schedule.paused ? 'paused' : 'active'}</span>${schedule.note ? ` (${escapeHtml(schedule.note)})` : ''}; next run ${time(schedule.nextRun?.getTime() ?? null) || 'none'} ${
        schedule.paused ? actionForm('/actions/unpause', 'unpause', fields, context) : actionForm('/actions/pause', 'pause', fields, context)
      }`
    : `no schedule: ${escapeHtml(scheduleProblem ?? 'none found')}`;
  const body = [
    `<dl><dt>name</dt><dd>${escapeHtml(client.name)}</dd><dt>frequency</dt><dd>${escapeHtml(client.frequency)}</dd><dt>environment</dt><dd>${escapeHtml(client.environment)}</dd><dt>enabled</dt><dd>${client.enabled ? 'yes' : 'no'}</dd></dl>`,
    `<p>${scheduleLine}</p>`,
    `<p><a href="/repair?client=${encodeURIComponent(client.id)}">repair ${escapeHtml(client.id)}</a> · <a href="/?client=${encodeURIComponent(client.id)}">its periods</a></p>`,
  ].join('');
  return layout(client.id, body, context);
}

/** The repair's preview: exactly the periods it would run, the backfills it starts, and the button that starts them. */
export function renderRepairPage(
  clientId: string | null,
  periods: readonly RepairPeriod[],
  ranges: readonly (RepairRange & { readonly clientId: string })[],
  context: PageContext,
): string {
  const who = clientId ?? 'every client';
  const rows = periods.map(
    (period) =>
      `<tr><td class="c">${escapeHtml(period.clientId)}</td><td>${period.frequency}</td><td><a href="${periodPath(period.clientId, period.frequency, period.periodStart)}">${escapeHtml(period.periodStart)}</a></td><td class="s-${period.state}">${escapeHtml(period.state)}</td></tr>`,
  );
  const backfills = ranges.map(
    (range) =>
      `<li>${escapeHtml(range.clientId)} ${range.frequency} ${escapeHtml(range.from)} … ${escapeHtml(range.to)} (${range.periodStarts.length} period${range.periodStarts.length === 1 ? '' : 's'})</li>`,
  );
  const body =
    periods.length === 0
      ? `<p id="repair-empty">nothing to repair for ${escapeHtml(who)}: no period is failed or missing</p>`
      : [
          `<p>a repair of ${escapeHtml(who)} runs these ${periods.length} failed and missing periods (and no other):</p>`,
          `<table id="repair-periods"><tr><th>client</th><th>frequency</th><th>period</th><th>state</th></tr>${rows.join('')}</table>`,
          `<p>as ${ranges.length} backfill${ranges.length === 1 ? '' : 's'} of consecutive periods:</p><ul>${backfills.join('')}</ul>`,
          actionForm('/actions/repair', `start the repair of ${who}`, clientId ? { client: clientId } : {}, context),
        ].join('');
  return layout(`repair ${who}`, body, context);
}

/** A refusal or a missing page, as HTML. */
export function renderMessagePage(title: string, message: string, context: PageContext): string {
  return layout(title, `<p id="message">${escapeHtml(message)}</p>`, context);
}

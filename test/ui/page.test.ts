import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeHtml, renderPeriodPage, renderRepairPage, renderStatusPage, summarize, summaryLine } from '../../src/ui/page.js';
import { cellKey, type Cell, type PeriodDetail, type StatusGrid } from '../../src/ui/status-data.js';

const context = { csrf: 'csrf-token-1', temporalUi: { url: 'http://localhost:8233', namespace: 'default' } };
const cell = (state: Cell['state'], extra: Partial<Cell> = {}): Cell => ({ state, revision: null, error: null, workflowId: null, ...extra });

function grid(): StatusGrid {
  const cells = new Map<string, Cell>([
    [cellKey('acme', 'daily', '2026-11-30'), cell('delivered', { revision: 1 })],
    [cellKey('acme', 'daily', '2026-11-29'), cell('restated', { revision: 3 })],
    [cellKey('hooli', 'daily', '2026-11-30'), cell('failed', { error: 'login refused' })],
    [cellKey('hooli', 'daily', '2026-11-29'), cell('late')],
    [cellKey('<evil>', 'weekly', '2026-11-23'), cell('missing')],
  ]);
  return {
    columns: { daily: ['2026-11-30', '2026-11-29'], weekly: ['2026-11-23'], monthly: [] },
    clients: [
      { id: 'acme', name: 'Acme', frequency: 'daily', enabled: true, environment: 'production' },
      { id: 'hooli', name: 'Hooli', frequency: 'daily', enabled: true, environment: 'production' },
      { id: '<evil>', name: '<script>alert(1)</script>', frequency: 'weekly', enabled: false, environment: 'production' },
    ],
    cells,
    deliveredToday: 212,
  };
}

/** The class of the cell linking to `href`. */
function cellClass(html: string, href: string): string | undefined {
  return new RegExp(`<td class="s-([a-z_]+)"><a href="${href.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}">`).exec(html)?.[1];
}

describe('the status page renderer', () => {
  it('escapes every character that could open markup or an attribute', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('colours and labels each cell by its state, with restated showing its revision, and links it to its period', () => {
    const html = renderStatusPage(grid(), { client: '', state: null, frequency: null }, context);
    assert.equal(cellClass(html, '/p/hooli/daily/2026-11-30'), 'failed');
    assert.equal(cellClass(html, '/p/acme/daily/2026-11-30'), 'delivered');
    assert.equal(cellClass(html, '/p/acme/daily/2026-11-29'), 'restated');
    assert.match(html, /<a href="\/p\/acme\/daily\/2026-11-29">r3<\/a>/);
    assert.equal(cellClass(html, '/p/%3Cevil%3E/weekly/2026-11-23'), 'missing');
    assert.ok(!html.includes('<evil>') && !html.includes('<script>'), 'ids and names are escaped');
  });

  it('says the summary line: problems first, then delivered today', () => {
    assert.equal(summaryLine(summarize(grid())), '1 late, 1 missing, 1 failed, 212 delivered today');
    assert.match(
      renderStatusPage(grid(), { client: '', state: null, frequency: null }, context),
      /<p class="summary" id="summary">1 late, 1 missing, 1 failed, 212 delivered today<\/p>/,
    );
  });

  it('filters by client, state and frequency', () => {
    const byClient = renderStatusPage(grid(), { client: 'HOO', state: null, frequency: null }, context);
    assert.ok(byClient.includes('/p/hooli/daily/2026-11-30') && !byClient.includes('/p/acme/'));
    const byState = renderStatusPage(grid(), { client: '', state: 'restated', frequency: null }, context);
    assert.ok(byState.includes('/p/acme/daily/2026-11-29') && !byState.includes('/p/hooli/'));
    const byFrequency = renderStatusPage(grid(), { client: '', state: null, frequency: 'weekly' }, context);
    assert.ok(byFrequency.includes('/p/%3Cevil%3E/weekly/') && !byFrequency.includes('/p/acme/'));
  });

  it("shows a period's revisions with why each exists, its runs with attempts and errors, a Temporal link, and a rerun only when failed", () => {
    const detail: PeriodDetail = {
      clientId: 'hooli',
      frequency: 'daily',
      periodStart: '2026-11-30',
      cell: cell('failed', { error: 'All configured authentication methods failed', workflowId: 'twoway-report/hooli/daily/2026-11-30' }),
      recorded: { state: 'failed', since: Date.UTC(2026, 11, 1, 3), dueAt: Date.UTC(2026, 11, 1, 9) },
      revisions: [
        {
          revision: 1,
          status: 'abandoned',
          fileName: 'hooli_20261130.csv',
          otherFiles: ['hooli_20261130_part001.csv', 'hooli_<20261130>.csv.manifest.json'],
          remotePath: '/inbound/hooli/hooli_20261130.csv',
          rowCount: 12,
          bytes: 345,
          sha256: 'ab'.repeat(32),
          note: 'the upload was abandoned <x>',
          workflowId: 'w',
          deliveredAt: null,
        },
      ],
      runs: [
        {
          status: 'failed',
          forced: false,
          attempts: 3,
          workflowId: 'twoway-report/hooli/daily/2026-11-30',
          runId: 'r1',
          startedAt: Date.UTC(2026, 11, 1, 3),
          finishedAt: Date.UTC(2026, 11, 1, 3, 5),
          lastError: 'login refused',
          lastErrorType: 'AuthenticationFailedError',
        },
      ],
    };
    const html = renderPeriodPage(detail, context);
    assert.match(html, /id="period-state">failed</);
    assert.match(html, /the upload was abandoned &lt;x&gt;/);
    assert.ok(
      html.includes('hooli_20261130.csv<br>+ hooli_20261130_part001.csv<br>+ hooli_&lt;20261130&gt;.csv.manifest.json</td>'),
      "a revision's other files",
    );
    assert.match(html, /AuthenticationFailedError: login refused/);
    assert.ok(html.includes('<td>3</td>'), 'attempts');
    assert.ok(
      html.includes(
        `href="http://localhost:8233/namespaces/default/workflows?query=${encodeURIComponent('WorkflowId="twoway-report/hooli/daily/2026-11-30"')}"`,
      ),
    );
    assert.match(html, /action="\/actions\/rerun"><input type="hidden" name="csrf" value="csrf-token-1">/);
    assert.match(html, /action="\/actions\/force">.*name="confirm" value="yes" required/);
    const delivered = renderPeriodPage({ ...detail, cell: cell('delivered', { revision: 1 }) }, context);
    assert.ok(!delivered.includes('/actions/rerun'), 'a delivered period offers a forced revision, not a rerun');
  });

  it('lists exactly the repair periods with their backfills, or says there is nothing to repair', () => {
    const periods = [
      { clientId: 'hooli', frequency: 'daily' as const, periodStart: '2026-11-29', state: 'failed' as const },
      { clientId: 'hooli', frequency: 'daily' as const, periodStart: '2026-11-30', state: 'missing' as const },
    ];
    const html = renderRepairPage(
      'hooli',
      periods,
      [{ clientId: 'hooli', frequency: 'daily', from: '2026-11-29', to: '2026-11-30', periodStarts: ['2026-11-29', '2026-11-30'] }],
      context,
    );
    assert.deepEqual(
      [...html.matchAll(/<a href="\/p\/hooli\/daily\/([0-9-]+)">/g)].map((match) => match[1]),
      ['2026-11-29', '2026-11-30'],
    );
    assert.match(html, /hooli daily 2026-11-29 … 2026-11-30 \(2 periods\)/);
    assert.match(html, /action="\/actions\/repair">.*name="client" value="hooli"/);
    assert.match(renderRepairPage(null, [], [], context), /id="repair-empty">nothing to repair for every client/);
  });
});

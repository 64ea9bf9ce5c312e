/**
 * The status page in a real headless browser (Debian's chromium through playwright-core), on a
 * running demo (every real part): hooli's failed periods show failed, the repair preview lists
 * exactly the failed and missing periods, a rerun after the fix turns the cell delivered, pause,
 * unpause, a confirmed force and a repair go through Temporal and the ledger, and
 * bound off loopback the page refuses to start without a token and refuses requests without it.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Browser, Page } from 'playwright-core';
import { freePort } from '../../src/devstack/ports.js';
import { scheduleId } from '../../src/domain/workflow-ids.js';
import { launchBrowser } from '../support/browser.js';
import { runCliProcess, startCliProcess } from '../support/cli.js';
import { startTestDemo, type RunningDemo } from '../support/demo.js';
import { waitUntil } from '../support/wait.js';

const RUN_TIMEOUT_MS = 120_000;
const TOKEN = 'status-page-test-token-0123';

describe('the status page in a headless browser, on the demo (real PostgreSQL, Temporal dev server, sshd)', () => {
  let dataDir: string;
  let running: RunningDemo;
  let env: NodeJS.ProcessEnv;
  let knex: Knex;
  let pageUrl: string;
  let browser: Browser;
  let page: Page;

  /** The state class of the cell linking to the period. */
  async function cellState(period: string, client = 'hooli'): Promise<string | null> {
    const cell = page.locator(`td:has(> a[href="/p/${client}/daily/${period}"])`);
    return (await cell.getAttribute('class'))?.replace(/^s-/, '') ?? null;
  }

  /** What the watchdog recorded as failed or missing: what a repair must run. */
  async function recordedProblems(clientId?: string): Promise<string[]> {
    const rows = (await knex('period_states')
      .whereIn('state', ['failed', 'missing'])
      .modify((query) => void (clientId ? query.where({ client_id: clientId }) : query))
      .select('client_id', 'period_start')
      .orderBy(['client_id', 'period_start'])) as { client_id: string; period_start: string }[];
    return rows.map((row) => `${row.client_id} ${row.period_start}`);
  }

  before(async () => {
    // Info: the page's actions are logged at info to the demo's worker.log.
    running = await startTestDemo('status-page', { LOG_LEVEL: 'info' });
    ({ cliEnv: env, knex } = running);
    dataDir = running.setting.dataDir;
    // The page's address is printed right below the Temporal UI's.
    const addresses = /^Temporal Web UI: {3}(\S+) .*\nstatus page: {7}(http:\/\/127\.0\.0\.1:\d+) /m.exec(running.output);
    assert.ok(addresses?.[2], running.output);
    pageUrl = addresses[2];
    assert.equal(pageUrl, running.setting.env.TWOWAY_UI_ADDRESS && `http://${running.setting.env.TWOWAY_UI_ADDRESS}`);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  });

  after(async () => {
    await browser?.close();
    await running?.stop();
  });

  it("shows the failing client's periods failed, with the summary line, and saves a screenshot", async () => {
    const failed = (await recordedProblems('hooli')).map((row) => row.split(' ')[1] as string);
    assert.ok(failed.length > 0, 'the demo leaves hooli with failed periods');
    await page.goto(pageUrl);
    for (const period of failed) assert.equal(await cellState(period), 'failed', `hooli ${period}`);
    const delivered = (await knex('report_files').where({ client_id: 'acme', status: 'delivered' }).first('period_start')) as { period_start: string };
    assert.equal(await cellState(delivered.period_start, 'acme'), 'delivered');
    assert.match(await page.locator('#summary').innerText(), new RegExp(`^${failed.length} failed, \\d+ delivered today$`));
    const screenshot = join(dataDir, 'status-page.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    // Kept for a look at the page after a run (TWOWAY_UI_SCREENSHOT=path).
    if (process.env.TWOWAY_UI_SCREENSHOT) await page.screenshot({ path: process.env.TWOWAY_UI_SCREENSHOT, fullPage: true });

    // The filters: only hooli's row, only failed cells' clients.
    await page.goto(`${pageUrl}/?client=hoo&state=failed`);
    assert.deepEqual(await page.locator('td.c > a').allInnerTexts(), ['hooli']);
  });

  it('the repair preview lists exactly the failed and missing periods, for every client and for one', async () => {
    await page.goto(pageUrl);
    await page.click('text=repair all');
    // Each listed period links to its page, /p/<client>/<frequency>/<period>.
    const listed = async () =>
      (await page.locator('#repair-periods a').evaluateAll((links) => links.map((link) => link.getAttribute('href') ?? ''))).map((href) =>
        href.replace(/^\/p\/([^/]+)\/[a-z]+\//, '$1 '),
      );
    assert.deepEqual(await listed(), await recordedProblems());
    await page.goto(`${pageUrl}/c/hooli`);
    await page.click('text=repair hooli');
    assert.deepEqual(await listed(), await recordedProblems('hooli'));
  });

  it('after the client is fixed, pressing rerun on a failed cell turns it delivered', async () => {
    const [period] = (await recordedProblems('hooli')).map((row) => row.split(' ')[1] as string);
    assert.ok(period);
    const fixed = await runCliProcess(['clients', 'set', '--client', 'hooli', '--set', 'delivery.password.env=TWOWAY_SECRET_DEMO_SFTP_PASSWORD'], env);
    assert.equal(fixed.status, 0, fixed.stderr);
    await page.goto(pageUrl);
    await page.click(`a[href="/p/hooli/daily/${period}"]`);
    assert.equal(await page.locator('#period-state').innerText(), 'failed');
    await page.click('button:has-text("rerun this period")');
    assert.match(await page.locator('#notice').innerText(), new RegExp(`^rerun of twoway-report/hooli/daily/${period} started`));
    await waitUntil(
      async () => {
        await page.goto(pageUrl);
        return (await cellState(period)) === 'delivered';
      },
      { timeoutMs: RUN_TIMEOUT_MS, intervalMs: 1_000, what: `hooli ${period} to show delivered` },
    );
    const run = (await knex('report_runs').where({ client_id: 'hooli', period_start: period, status: 'delivered' }).first('workflow_id')) as
      { workflow_id: string } | undefined;
    assert.equal(run?.workflow_id, `twoway-report/hooli/daily/${period}`, 'the rerun went through Temporal and the ledger');
    // The action is logged with what it did.
    const log = await readFile(join(dataDir, 'demo', 'worker.log'), 'utf8');
    assert.match(log, new RegExp(`"action":"rerun","client":"hooli".*"workflowId":"twoway-report/hooli/daily/${period}".*status page: rerun of`));
  });

  it('pause and unpause a schedule, force a revision after confirming, and start a repair, each through Temporal and the ledger', async () => {
    const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS ?? '' });
    try {
      const schedule = new Client({ connection }).schedule.getHandle(scheduleId('acme'));
      await page.goto(`${pageUrl}/c/acme`);
      assert.equal(await page.locator('#schedule-state').innerText(), 'active');
      await page.click('button:has-text("pause")');
      assert.equal((await schedule.describe()).state.paused, true, 'paused in Temporal');
      await page.goto(`${pageUrl}/c/acme`);
      assert.equal(await page.locator('#schedule-state').innerText(), 'paused');
      await page.click('button:has-text("unpause")');
      assert.equal((await schedule.describe()).state.paused, false, 'unpaused in Temporal');
    } finally {
      await connection.close();
    }

    // Force: the browser will not submit it unconfirmed; confirmed, a forced run reaches the ledger.
    const delivered = (await knex('report_files').where({ client_id: 'acme', status: 'delivered' }).orderBy('period_start').first('period_start')) as {
      period_start: string;
    };
    await page.goto(`${pageUrl}/p/acme/daily/${delivered.period_start}`);
    await page.click('button:has-text("force a revision")');
    assert.equal(
      await knex('report_runs').where({ client_id: 'acme', period_start: delivered.period_start, forced: true }).first(),
      undefined,
      'nothing starts without the confirmation',
    );
    await page.check('input[name="confirm"]');
    await page.click('button:has-text("force a revision")');
    const forced = await waitUntil(
      async () =>
        (await knex('report_runs').where({ client_id: 'acme', period_start: delivered.period_start, forced: true }).whereNot({ status: 'running' }).first()) as
          { status: string } | undefined,
      { timeoutMs: RUN_TIMEOUT_MS, what: `a forced run of acme ${delivered.period_start} to finish` },
    );
    assert.equal(forced.status, 'unchanged', 'the same data builds the same file: nothing new is delivered');

    // Repair: every period still failed or missing is run, and delivered now that hooli is fixed.
    const fixed = await runCliProcess(['clients', 'set', '--client', 'hooli', '--set', 'delivery.password.env=TWOWAY_SECRET_DEMO_SFTP_PASSWORD'], env);
    assert.equal(fixed.status, 0, fixed.stderr);
    const toRepair = (await recordedProblems('hooli')).map((row) => row.split(' ')[1] as string);
    const undelivered: string[] = [];
    for (const period of toRepair)
      if (!(await knex('report_files').where({ client_id: 'hooli', period_start: period, status: 'delivered' }).first())) undelivered.push(period);
    assert.ok(undelivered.length > 0, 'hooli has failed periods left to repair');
    await page.goto(`${pageUrl}/repair?client=hooli`);
    await page.click('button:has-text("start the repair of hooli")');
    await waitUntil(
      async () => {
        const files = (
          await knex('report_files')
            .where({ client_id: 'hooli', status: 'delivered' })
            .whereIn('period_start', undelivered)
            .count<{ count: string }[]>('* as count')
        )[0];
        return Number(files?.count) === undelivered.length;
      },
      { timeoutMs: RUN_TIMEOUT_MS, intervalMs: 1_000, what: `the repair to deliver hooli ${undelivered.join(', ')}` },
    );
    const log = await readFile(join(dataDir, 'demo', 'worker.log'), 'utf8');
    for (const action of ['pause', 'unpause', 'force', 'repair']) assert.match(log, new RegExp(`"action":"${action}"`), `the ${action} action is logged`);
  });

  it('a POST without the CSRF token is refused', async () => {
    const response = await fetch(`${pageUrl}/actions/pause`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'client=hooli',
    });
    assert.equal(response.status, 403);
    assert.match(await response.text(), /CSRF token does not match/);
  });

  it('bound off loopback, it does not start without a token, and refuses a request without it', async () => {
    const port = await freePort();
    const address = `0.0.0.0:${port}`;
    const refused = await runCliProcess(['ui'], { ...env, TWOWAY_UI_ADDRESS: address, TWOWAY_UI_TOKEN: '' });
    assert.equal(refused.status, 1);
    assert.match(
      refused.stderr,
      /TWOWAY_UI_TOKEN is not set; allowed: a token of 16 characters or more whenever TWOWAY_UI_ADDRESS \(0\.0\.0\.0:\d+\) is not a loopback address/,
    );
    const ui = startCliProcess(['ui'], { ...env, TWOWAY_UI_ADDRESS: address, TWOWAY_UI_TOKEN: TOKEN });
    try {
      await ui.stdoutMatches(/^status page: +http:\/\/0\.0\.0\.0:\d+ +\(token required/m);
      assert.ok(!ui.stdout().includes(TOKEN), 'the token is never printed');
      const without = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(without.status, 401);
      const wrong = await fetch(`http://127.0.0.1:${port}/`, { headers: { authorization: 'Bearer not-the-token-at-all' } });
      assert.equal(wrong.status, 401);
      const withToken = await fetch(`http://127.0.0.1:${port}/`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(withToken.status, 200);
      assert.match(await withToken.text(), /id="summary"/);
      // In a browser: ?token= once sets a cookie, then the page answers without it.
      const tokenPage = await browser.newPage();
      await tokenPage.goto(`http://127.0.0.1:${port}/?token=${TOKEN}`);
      assert.equal(new URL(tokenPage.url()).search, '');
      await tokenPage.goto(`http://127.0.0.1:${port}/repair`);
      assert.match(await tokenPage.locator('h1').innerText(), /^repair every client$/);
      await tokenPage.close();
    } finally {
      ui.interrupt();
      const result = await ui.done;
      assert.ok(!result.stderr.includes(TOKEN), 'the token is never logged');
    }
  });
});

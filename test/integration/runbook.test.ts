/**
 * The README's runbook, executed as written against a running demo (every real part): each
 * `npx twoway-report …` command of the Runbook section is run in order, with only its
 * placeholders filled in (`<period>` from the failed list, `<old>`/`<new>` host key pins,
 * `[--optional]` brackets dropped) and
 * the demo's printed TEMPORAL_ADDRESS and DATABASE_URL, and what the runbook says it does is
 * checked. Every runbook command must be in the script below, so a new one is run too.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { DEMO_SECRET_VARIABLES } from '../../src/devstack/demo-state.js';
import { runCliProcess, type CliResult } from '../support/cli.js';
import { startTestDemo, type RunningDemo } from '../support/demo.js';
import { waitUntil } from '../support/wait.js';

const NPX = 'npx twoway-report ';
const RUN_TIMEOUT_MS = 120_000;

/** The Runbook section of the README. */
async function runbookSection(): Promise<string> {
  const readme = await readFile(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Runbook\n');
  const end = readme.indexOf('\n## ', start + 1);
  assert.ok(start >= 0 && end > start, 'the README has a Runbook section');
  return readme.slice(start, end);
}

/** Every command of the section as written: optional VAR=value prefixes, then `npx twoway-report …`, up to the end of its code span or line. */
function commandsOf(section: string): string[] {
  return [...section.matchAll(/(?:[A-Z_]+=\S+ )*npx twoway-report [^`\n]*/g)].map((match) => match[0].trim());
}

/** Splits a command line as a POSIX shell would for these commands: words made of plain, single-quoted and double-quoted parts. */
function shellWords(line: string): string[] {
  return [...line.matchAll(/(?:'[^']*'|"[^"]*"|[^\s'"]+)+/g)].map((match) => match[0].replace(/'([^']*)'|"([^"]*)"/g, '$1$2'));
}

describe('the README runbook, run as written against the demo (real PostgreSQL, Temporal dev server, sshd)', () => {
  let running: RunningDemo;
  let demo: RunningDemo['process'];
  let env: NodeJS.ProcessEnv;
  let knex: Knex;
  let commands: string[];
  const ran: string[] = [];

  /** Runs one runbook command as written (placeholders filled in); its VAR=value prefixes apply, with the demo's own addresses. */
  async function run(written: string, fill: Record<string, string> = {}): Promise<CliResult> {
    assert.ok(commands.includes(written), `the runbook has \`${written}\``);
    ran.push(written);
    // Optional options (`[--concurrency 4]`), not JSON lists.
    let line = written.replace(/\[(--[^\]]*)\]/g, '$1');
    for (const [placeholder, value] of Object.entries(fill)) line = line.replaceAll(placeholder, value);
    const words = shellWords(line);
    const prefix: Record<string, string> = {};
    while (words[0] && /^[A-Z_]+=/.test(words[0])) {
      const [name, ...value] = (words.shift() as string).split('=');
      // The runbook names the usual demo address; the demo says which one it has.
      prefix[name as string] = env[name as string] ?? value.join('=');
    }
    assert.deepEqual(words.slice(0, 2), ['npx', 'twoway-report']);
    const result = await runCliProcess(words.slice(2), { ...env, ...prefix });
    assert.equal(result.status, 0, `${line}\n${result.stdout}\n${result.stderr}`);
    return result;
  }

  before(async () => {
    commands = commandsOf(await runbookSection());
    running = await startTestDemo('runbook-test');
    ({ process: demo, cliEnv: env, knex } = running);
  });

  after(async () => {
    await running?.stop();
  });

  it('every runbook command runs as written and does what the runbook says', async () => {
    // The failed list: hooli's periods, each announced by a webhook.
    const listed = await run(`${NPX}problems`);
    const failed = [
      ...listed.stdout.matchAll(
        /^hooli {2}daily (\d{4}-\d\d-\d\d) {2}failed {3}since \S+ {2}due \S+ {2}twoway-report\/hooli\/daily\/\1 {2}AuthenticationFailedError: client "hooli": .*refused password login/gm,
      ),
    ].map((match) => match[1] as string);
    assert.equal(failed.length, 3, listed.stdout);
    assert.match(listed.stdout, /^3 periods need action \(3 failed\)$/m);
    for (const period of failed)
      assert.match(demo.stdout(), new RegExp(`^webhook {2}period\\.failed {2}hooli daily ${period} {2}AuthenticationFailedError: `, 'm'));

    // A failed period: find it, fix it, rerun it (one by Reset, the others by run), check.
    assert.match((await run(`${NPX}status --client hooli`)).stdout, /hooli daily \S+ {2}failed/);
    await run(`${NPX}clients set --client hooli --set delivery.password.env=TWOWAY_SECRET_DEMO_SFTP_PASSWORD`);
    const [reset, ...rerun] = failed as [string, ...string[]];
    await run(`${NPX}temporal workflow reset --workflow-id twoway-report/hooli/daily/<period> --type FirstWorkflowTask --reason "password fixed"`, {
      '<period>': reset,
    });
    await waitUntil(async () => (await knex('report_files').where({ client_id: 'hooli', period_start: reset, status: 'delivered' }).first()) !== undefined, {
      timeoutMs: RUN_TIMEOUT_MS,
      what: `the reset run of ${reset} to deliver`,
    });
    for (const period of rerun) {
      const result = await run(`TEMPORAL_ADDRESS=127.0.0.1:7233 ${NPX}run --client hooli --period <period>`, { '<period>': period });
      assert.match(result.stdout, /delivered/);
    }
    assert.match((await run(`${NPX}problems`)).stdout, /^no periods need action$/m);
    await run(`${NPX}temporal schedule trigger --schedule-id twoway-watchdog`);
    for (const period of failed)
      await demo.stdoutMatches(new RegExp(`^webhook {2}period\\.recovered {2}hooli daily ${period} {2}delivered after being failed$`, 'm'));

    // Backfill, a frequency and time zone change with its sync, and a credential rotation.
    assert.match((await run(`${NPX}backfill --client acme --from 2026-10-01 --to 2026-10-31 [--concurrency 4]`)).stdout, /31 periods|31\/31|of 31/);
    // A client says a file is missing: verify, where the worker's references resolve (here the demo's key, by its variable).
    const keyVariable = {
      [DEMO_SECRET_VARIABLES.privateKey]: await readFile(join(env.TWOWAY_DATA_DIR as string, 'demo', 'sshd', 'client-secrets', 'user_ed25519_key'), 'utf8'),
    };
    const verified = await runCliProcess(['verify', '--client', 'acme', '--period', '2026-10-15'], { ...env, ...keyVariable });
    assert.equal(verified.status, 0, `${verified.stdout}\n${verified.stderr}`);
    assert.match(verified.stdout, /^ok +\S+\/twoway_activity_acme_daily_20261015\.csv /m);
    ran.push(`${NPX}verify --client acme --period 2026-11-24`);
    await run(`${NPX}clients set --client acme --set frequency=weekly --set timezone=Europe/Berlin`);
    assert.match((await run(`${NPX}schedules sync`)).stdout, /^updated {3}acme: .*weekly at 03:00 Europe\/Berlin/m);

    // Rotations: a host key pinned beside the old one, then alone; an SSH key switched to a new file.
    const acmePins = async () => ((await knex('clients').where({ id: 'acme' }).first()) as { delivery: { hostKeySha256: unknown } }).delivery.hostKeySha256;
    const old = (await acmePins()) as string;
    const next = `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}`;
    const pins = { '<old>': old.slice('SHA256:'.length), '<new>': next.slice('SHA256:'.length) };
    await run(`${NPX}clients set --client acme --set 'delivery.hostKeySha256=["SHA256:<old>","SHA256:<new>"]'`, pins);
    assert.deepEqual(await acmePins(), [old, next]);
    await run(`${NPX}clients set --client acme --set delivery.hostKeySha256=SHA256:<new>`, pins);
    assert.equal(await acmePins(), next);
    assert.match((await run(`${NPX}status --client acme`)).stdout, / acme daily \S+ r\d+ {2}delivered/);
    assert.match(
      (
        await run(
          `${NPX}clients set --client acme --unset delivery.password --unset delivery.privateKey --set delivery.privateKey.file=/run/secrets/twoway/acme_key_2026`,
        )
      ).stdout,
      /key from file \/run\/secrets\/twoway\/acme_key_2026/,
    );

    assert.deepEqual(
      [...new Set(commands)].filter((command) => !ran.includes(command)),
      [],
      'every runbook command was run',
    );
  });
});

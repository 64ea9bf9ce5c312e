import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { COMMAND_NAMES, runCli } from '../../src/cli/run-cli.js';

/** Runs a command line in this process with captured output; nothing here may need a database or Temporal. */
async function cli(...argv: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough() as PassThrough & NodeJS.WriteStream;
  let out = '';
  let err = '';
  stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const status = await runCli(argv, { env: {}, stdout, stderr });
  return { status, stdout: out, stderr: err };
}

describe('the command line: usage and help', () => {
  it('lists every command under --help, -h and help, with exit 0', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const result = await cli(flag);
      assert.equal(result.status, 0, flag);
      for (const name of COMMAND_NAMES) assert.match(result.stdout, new RegExp(`^ {2}${name}\\b`, 'm'), `${flag} lists ${name}`);
    }
    assert.equal((await cli()).status, 2, 'no command at all is bad usage');
  });

  it("prints each command's usage and options for --help and -h anywhere in its arguments, with exit 0 and nothing run", async () => {
    for (const name of COMMAND_NAMES) {
      for (const flag of ['--help', '-h']) {
        const result = await cli(name, flag);
        assert.equal(result.status, 0, `${name} ${flag}: ${result.stderr}`);
        assert.match(result.stdout, new RegExp(`^usage: twoway-report ${name}\\b`), `${name} ${flag}`);
        assert.equal(result.stderr, '');
      }
    }
    const run = await cli('run', '--client', 'acme', '--help');
    assert.equal(run.status, 0);
    for (const option of ['--client ID', '--period DATE', '--force', '--no-wait']) assert.ok(run.stdout.includes(`  ${option}`), `run --help shows ${option}`);
    assert.deepEqual(await cli('help', 'status'), await cli('status', '-h'));
  });

  it('refuses an unknown command, help topic or option with exit 2, pointing at the help', async () => {
    const unknownOption = await cli('run', '--nope');
    assert.equal(unknownOption.status, 2);
    assert.match(unknownOption.stderr, /^twoway-report: run: Unknown option '--nope'.*\nrun `twoway-report run --help` for its usage\n$/);
    const unknown = await cli('nosuch');
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /^twoway-report: unknown command "nosuch"; allowed: migrate, .*temporal\nrun `twoway-report help` for usage\n$/);
    const topic = await cli('help', 'nosuch');
    assert.equal(topic.status, 2);
    assert.match(topic.stderr, /help nosuch: unknown command/);
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ENVIRONMENT_VARIABLES } from '../../src/config/env.js';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { COMMAND_NAMES } from '../../src/cli/run-cli.js';

// The contract's sections by number; code comments cite them as "SPEC §N", so a number must keep its topic.
const CONTRACT_SECTIONS = [
  '§1 What the report is',
  '§2 Source schema (PostgreSQL)',
  '§3 Periods',
  '§4 The file',
  '§5 After-hours flag',
  '§6 Delivery (SFTP)',
  '§7 Orchestration (Temporal)',
  '§8 Command line',
];

/** Files git would commit here: tracked ones plus new ones not ignored. */
function committableFiles(): string[] {
  const output = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  return output.split('\0').filter((path) => path !== '');
}

describe('README and CI stay in step with the code', () => {
  it('opens with the two set-up commands: the demo and the test suite', async () => {
    const readme = await readFile(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    assert.deepEqual(
      firstBlock
        .trim()
        .split('\n')
        .map((line) => line.split('#')[0]?.trim()),
      ['npm run demo', 'npm test'],
    );
    assert.ok(readme.indexOf('```sh') < 20, 'the commands come first');
    const scripts = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
    assert.match(scripts.demo ?? '', /setup\.mjs && .*demo$/);
    assert.match(scripts.test ?? '', /setup\.mjs && .*run-tests\.mjs$/);
  });

  it('documents every environment variable the code reads, with its default', async () => {
    const readme = await readFile(join(PROJECT_ROOT, 'README.md'), 'utf8');
    for (const variable of ENVIRONMENT_VARIABLES) {
      assert.ok(readme.includes(`| \`${variable.name}\` | ${variable.default} |`), `${variable.name} (default ${variable.default}) in the configuration table`);
    }
  });

  it('documents every command', async () => {
    const readme = await readFile(join(PROJECT_ROOT, 'README.md'), 'utf8');
    for (const command of COMMAND_NAMES) assert.match(readme, new RegExp(`\\| \`${command}[ \`]`), `command ${command}`);
  });

  it("has CI run exactly the README's test command", async () => {
    const ci = await readFile(join(PROJECT_ROOT, '.ci', 'run'), 'utf8');
    assert.deepEqual(
      ci.split('\n').filter((line) => line.trim() && !line.startsWith('#') && !/^(set|cd) /.test(line)),
      ['npm test'],
    );
  });

  it("links the contract inside the repository, never the workspace's copy outside it", async () => {
    const readme = await readFile(join(PROJECT_ROOT, 'README.md'), 'utf8');
    assert.ok(readme.includes('](docs/report-format.md)'), 'the README links docs/report-format.md');
    // Built from parts so that this file does not match its own check.
    const outsidePath = ['..', 'shared', ''].join('/');
    const files = committableFiles();
    assert.ok(files.includes('docs/report-format.md') && files.includes('README.md'), "the listing holds the repository's files");
    const mentioning: string[] = [];
    for (const path of files) {
      const content = await readFile(join(PROJECT_ROOT, path)).catch(() => undefined);
      if (content === undefined || content.includes(0)) continue; // deleted in the work tree, or binary
      if (content.toString('utf8').includes(outsidePath)) mentioning.push(path);
    }
    assert.deepEqual(mentioning, [], `files mentioning ${outsidePath}`);
  });

  it('has the contract\'s sections §1 to §8 as headings, covering every "SPEC §N" the code cites', async () => {
    const contract = await readFile(join(PROJECT_ROOT, 'docs', 'report-format.md'), 'utf8');
    const headings = [...contract.matchAll(/^## (§\d.*)$/gm)].map((match) => match[1]);
    assert.deepEqual(headings, CONTRACT_SECTIONS);
    const cited = new Set<number>();
    for (const path of committableFiles().filter((file) => file.startsWith('src/'))) {
      const source = await readFile(join(PROJECT_ROOT, path), 'utf8').catch(() => '');
      for (const citation of source.matchAll(/SPEC (?:§|section )(\d+)(?:, §(\d+))*/g)) {
        for (const number of citation[0].matchAll(/\d+/g)) cited.add(Number(number[0]));
      }
    }
    assert.ok(cited.size > 0, 'the code cites the contract');
    for (const number of cited) assert.ok(number >= 1 && number <= CONTRACT_SECTIONS.length, `SPEC §${number} cited in src/ is a section of the contract`);
  });
});

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ENVIRONMENT_VARIABLES } from '../../src/config/env.js';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { COMMAND_NAMES } from '../../src/cli/run-cli.js';

describe('README and CI stay in step with the code', () => {
  it('opens with the two set-up commands: the demo and the test suite', async () => {
    const readme = await readFile(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    assert.deepEqual(firstBlock.trim().split('\n').map((line) => line.split('#')[0]?.trim()), ['npm run demo', 'npm test']);
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

  it('has CI run exactly the README\'s test command', async () => {
    const ci = await readFile(join(PROJECT_ROOT, '.ci', 'run'), 'utf8');
    assert.deepEqual(ci.split('\n').filter((line) => line.trim() && !line.startsWith('#') && !/^(set|cd) /.test(line)), ['npm test']);
  });
});

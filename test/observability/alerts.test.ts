import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../src/config/paths.js';

const RULES_FILE = join('deploy', 'prometheus', 'alerts.yml');
const RULES_TEST_FILE = join('deploy', 'prometheus', 'alerts.test.yml');
const RUNBOOK_URL = 'README.md#metrics-and-alerts';
const SEVERITIES = ['warning', 'critical'];

interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

interface RuleTest {
  readonly alertname: string;
  readonly exp_alerts?: readonly unknown[] | null;
}

function findPromtool(): string | undefined {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .map((dir) => join(dir, 'promtool'))
    .find((path) => existsSync(path));
}

function promtool(executable: string, args: readonly string[]): { status: number | null; output: string } {
  const result = spawnSync(executable, args, { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('the Prometheus alert rules (deploy/prometheus/alerts.yml)', () => {
  let executable: string;
  let rules: AlertRule[];
  let ruleTests: RuleTest[];

  before(async () => {
    const found = findPromtool();
    assert.ok(found, "promtool is not on PATH; run `npm run setup` (it installs Debian's prometheus package, which ships promtool)");
    executable = found;
    const file = parse(await readFile(join(PROJECT_ROOT, RULES_FILE), 'utf8')) as { groups: { rules: AlertRule[] }[] };
    rules = file.groups.flatMap((group) => group.rules);
    const tests = parse(await readFile(join(PROJECT_ROOT, RULES_TEST_FILE), 'utf8')) as { tests: { alert_rule_test?: RuleTest[] }[] };
    ruleTests = tests.tests.flatMap((test) => test.alert_rule_test ?? []);
  });

  it('are valid for promtool', () => {
    const check = promtool(executable, ['check', 'rules', RULES_FILE]);
    assert.equal(check.status, 0, check.output);
    assert.match(check.output, new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  it('pass their unit tests (promtool test rules)', () => {
    const test = promtool(executable, ['test', 'rules', RULES_TEST_FILE]);
    assert.equal(test.status, 0, test.output);
    assert.match(test.output, /SUCCESS/);
  });

  it('each have a unit test where they fire and one where they stay quiet', () => {
    assert.ok(rules.length >= 5, `late, missing, failing, no delivery and no polling rules; found ${rules.map((rule) => rule.alert).join(', ')}`);
    for (const rule of rules) {
      const cases = ruleTests.filter((test) => test.alertname === rule.alert);
      assert.ok(
        cases.some((test) => (test.exp_alerts?.length ?? 0) > 0),
        `${rule.alert} has a test where it fires`,
      );
      assert.ok(
        cases.some((test) => (test.exp_alerts?.length ?? 0) === 0),
        `${rule.alert} has a test where it stays quiet`,
      );
    }
  });

  it('each carry a severity, a summary naming the client, a description and the runbook', () => {
    for (const rule of rules) {
      assert.ok(SEVERITIES.includes(rule.labels?.severity ?? ''), `${rule.alert}: severity ${rule.labels?.severity}; allowed: ${SEVERITIES.join(', ')}`);
      if (/\bby \(client\)/.test(rule.expr))
        assert.match(rule.annotations?.summary ?? '', /\{\{ \$labels\.client \}\}/, `${rule.alert}: summary names the client`);
      else assert.ok(rule.annotations?.summary, `${rule.alert}: summary`);
      assert.ok(rule.annotations?.description, `${rule.alert}: description`);
      assert.equal(rule.annotations?.runbook_url, RUNBOOK_URL, `${rule.alert}: runbook_url`);
    }
  });

  it('are each explained in the README section the runbook links point to', async () => {
    const readme = await readFile(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const section = /^### Metrics and alerts\n([\s\S]*?)(?=^#{2,3} )/m.exec(readme)?.[1];
    assert.ok(section, 'README has a "### Metrics and alerts" section');
    for (const rule of rules) assert.ok(section.includes(`\`${rule.alert}\``), `${rule.alert} in README's "Metrics and alerts"`);
  });
});

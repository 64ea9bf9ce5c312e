import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { createKnex } from '../../src/db/knex.js';
import { freePorts } from '../../src/devstack/ports.js';
import { startCliProcess } from './cli.js';

export interface DemoTestSetting {
  readonly dataDir: string;
  readonly ports: Readonly<Record<'postgres' | 'temporal' | 'ui' | 'metrics' | 'statusPage', number>>;
  /** The demo's environment: this data folder and these ports, no DATABASE_URL (its own embedded PostgreSQL, as on a fresh machine), its own webhook receiver. */
  readonly env: NodeJS.ProcessEnv;
}

/** A data folder and free ports of a test's own for a demo: never the checkout's .data/ or a running demo's ports. */
export async function demoTestSetting(name: string): Promise<DemoTestSetting> {
  const dataDir = await mkdtemp(join(tmpdir(), `twoway-${name}-`));
  const ports = await freePorts(['postgres', 'temporal', 'ui', 'metrics', 'statusPage']);
  return {
    dataDir,
    ports,
    env: {
      DATABASE_URL: '',
      TWOWAY_DATA_DIR: dataDir,
      TWOWAY_EMBEDDED_PG_PORT: String(ports.postgres),
      TWOWAY_DEMO_TEMPORAL_PORT: String(ports.temporal),
      TWOWAY_DEMO_UI_PORT: String(ports.ui),
      TWOWAY_METRICS_ADDRESS: `127.0.0.1:${ports.metrics}`,
      TWOWAY_UI_ADDRESS: `127.0.0.1:${ports.statusPage}`,
      TWOWAY_WEBHOOK_URL: '',
    },
  };
}

export interface RunningDemo {
  readonly process: ReturnType<typeof startCliProcess>;
  readonly setting: DemoTestSetting;
  /** What the demo printed up to "the demo keeps running". */
  readonly output: string;
  /** The environment the demo prints for the CLI: its TEMPORAL_ADDRESS and DATABASE_URL, and its data folder. */
  readonly cliEnv: NodeJS.ProcessEnv;
  /** On the demo's database. */
  readonly knex: Knex;
  /** Ctrl-C, then checks the demo stopped cleanly (exit 0) and removes its data folder. */
  stop(): Promise<void>;
}

/** A demo of a test's own, running (not --once) until `stop()`: small seed, own folder and ports. */
export async function startTestDemo(name: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<RunningDemo> {
  const setting = await demoTestSetting(name);
  const demo = startCliProcess(['demo', '--events', '2000', '--days', '10'], { ...setting.env, ...extraEnv });
  let knex: Knex | undefined;
  const stop = async () => {
    await knex?.destroy();
    demo.interrupt();
    const result = await demo.done;
    await rm(setting.dataDir, { recursive: true, force: true });
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
  };
  try {
    await demo.stdoutMatches(/^the demo keeps running/m);
    const output = demo.stdout();
    const printed = /^CLI against this demo: TEMPORAL_ADDRESS=(\S+) DATABASE_URL=(\S+) npx twoway-report status$/m.exec(output);
    assert.ok(printed?.[1] && printed[2], output);
    knex = createKnex(printed[2]);
    return { process: demo, setting, output, cliEnv: { TEMPORAL_ADDRESS: printed[1], DATABASE_URL: printed[2], TWOWAY_DATA_DIR: setting.dataDir }, knex, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

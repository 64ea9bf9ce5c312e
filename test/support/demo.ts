import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../../src/devstack/ports.js';

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

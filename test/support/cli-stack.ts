import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { freePort } from '../../src/devstack/ports.js';
import { startSftpServer, type SftpServer } from '../../src/devstack/sftp-server.js';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/devstack/temporal-dev-server.js';
import { createTestDatabase, type TestDatabase } from './database.js';

/** What the CLI tests run against: PostgreSQL, sshd and a Temporal dev server of their own, and a client of it. */
export interface CliStack {
  readonly baseDir: string;
  readonly db: TestDatabase;
  readonly sftp: SftpServer;
  readonly temporal: TemporalDevServer;
  readonly client: Client;
  /** The environment a CLI or worker process needs for this stack; tests add their own variables. */
  readonly env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export async function startCliStack(name: string): Promise<CliStack> {
  const baseDir = await mkdtemp(join(tmpdir(), `twoway-${name}-`));
  const db = await createTestDatabase();
  const sftp = await startSftpServer({ baseDir: join(baseDir, 'sftp') });
  const temporal = await startTemporalDevServer({ port: await freePort() });
  const connection = await Connection.connect({ address: temporal.address });
  return {
    baseDir,
    db,
    sftp,
    temporal,
    client: new Client({ connection }),
    env: {
      DATABASE_URL: db.url,
      TEMPORAL_ADDRESS: temporal.address,
      TWOWAY_WORK_DIR: join(baseDir, 'work'),
      // The sshd's key folder, so that the key references of deliveryFor are allowed.
      TWOWAY_SECRETS_DIR: sftp.secretsDir,
      TWOWAY_RETRY_INITIAL_INTERVAL: '200ms',
      TWOWAY_RETRY_MAX_INTERVAL: '1s',
    },
    close: async () => {
      await connection.close();
      await temporal.stop();
      await sftp.dispose();
      await db.drop();
      await rm(baseDir, { recursive: true, force: true });
    },
  };
}

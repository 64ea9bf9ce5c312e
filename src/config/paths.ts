import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project checkout (this file is compiled to `dist/src/config/paths.js`). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Git-ignored home of embedded service state (PostgreSQL, Temporal, sshd) and built files. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.TWOWAY_DATA_DIR ?? join(PROJECT_ROOT, '.data'));
}

/** Git-ignored home of tools the set-up installs (the Temporal CLI). */
export const TOOLS_DIR = join(PROJECT_ROOT, '.tools');

/** The prebuilt workflow bundle `npm run build` writes. */
export const WORKFLOW_BUNDLE_PATH = join(PROJECT_ROOT, 'dist', 'workflow-bundle.js');

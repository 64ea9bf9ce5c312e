// Prebundles the workflow code at build time so workers start without webpack.
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_PATH } from '../config/paths.js';

const require = createRequire(import.meta.url);
const { code } = await bundleWorkflowCode({
  workflowsPath: require.resolve('./index.js'),
  logger: { trace() {}, debug() {}, info() {}, warn() {}, error: (message: string) => process.stderr.write(`${message}\n`), log() {} },
});
await writeFile(WORKFLOW_BUNDLE_PATH, code);

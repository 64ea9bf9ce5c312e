/**
 * Replays the histories of real runs (test/workflows/histories, captured by `npm run
 * histories`) against today's workflow code. A change that would break a run in flight — an
 * activity reordered, added or removed without `patched()` — fails here; see the README's
 * "Changing workflows".
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import * as workflows from '../../src/workflows/index.js';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRequire } from 'node:module';
import proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root.js';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { PROJECT_ROOT, WORKFLOW_BUNDLE_PATH } from '../../src/config/paths.js';

const HISTORIES_DIR = join(PROJECT_ROOT, 'test', 'workflows', 'histories');
/** Every workflow type a schedule, the CLI or a parent starts must have at least one history here. */
/** Every workflow the worker registers: a new one needs a history too. */
const WORKFLOW_TYPES = Object.keys(workflows).filter((name) => name.endsWith('Workflow'));

/**
 * A history in the Temporal CLI's JSON (`temporal workflow show -o json`) as the SDK's
 * History. The SDK's own historyFromJSON fails in this install: @temporalio/common carries a
 * protobufjs copy of its own, whose protojson rejects @temporalio/proto's types ("type must be
 * a Type"); the protojson of the copy @temporalio/proto was built with accepts them.
 */
function historyFromCliJson(json: unknown): proto.temporal.api.history.v1.IHistory {
  const fromProto = createRequire(createRequire(import.meta.url).resolve('@temporalio/proto'));
  const { fromJson } = fromProto('protobufjs/ext/protojson') as {
    fromJson: (type: unknown, json: unknown, options: unknown) => proto.temporal.api.history.v1.IHistory;
  };
  const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');
  return fromJson(historyType, json, { ignoreUnknownFields: true });
}

describe('replay of committed histories against the current workflow code', async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const files = (await readdir(HISTORIES_DIR)).filter((name) => name.endsWith('.json')).sort();

  it('has histories of every workflow type', () => {
    for (const type of WORKFLOW_TYPES)
      assert.ok(
        files.some((name) => name.startsWith(`${type}--`)),
        `a history of ${type}`,
      );
  });

  for (const name of files) {
    it(`replays ${name} without nondeterminism`, async () => {
      const history = historyFromCliJson(JSON.parse(await readFile(join(HISTORIES_DIR, name), 'utf8')));
      await Worker.runReplayHistory({ workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH }, replayName: name }, history);
    });
  }
});

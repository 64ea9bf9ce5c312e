import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { findTemporalCli } from '../../src/devstack/temporal-dev-server.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/workflows/search-attributes.js';

let runtimeInstalled = false;

/** A real Temporal dev server (the project's CLI binary) with the project's search attributes. */
export function startTestTemporal(): Promise<TestWorkflowEnvironment> {
  // Once per process, before the SDK creates its default runtime: warnings and errors only.
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: findTemporalCli() },
      searchAttributes: [...SEARCH_ATTRIBUTE_KEYS],
      log: { format: 'pretty', level: 'error' },
    },
  });
}

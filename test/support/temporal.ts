import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { freePort } from '../../src/devstack/ports.js';
import { findTemporalTestServer, startTemporalDevServer } from '../../src/devstack/temporal-dev-server.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/workflows/search-attributes.js';

let runtimeInstalled = false;

/** Once per process, before the SDK creates its default runtime: warnings and errors only. */
function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  runtimeInstalled = true;
}

/** A real Temporal dev server (the project's wrapper of the CLI binary) with a client and a worker connection to it. */
export interface TestTemporal {
  /** `host:port` of its frontend. */
  readonly address: string;
  readonly namespace: string;
  readonly client: Client;
  readonly nativeConnection: NativeConnection;
  teardown(): Promise<void>;
}

/** A real Temporal dev server on a free port, with the project's search attributes unless `bare`. */
export async function startTestTemporal(options: { readonly bare?: boolean } = {}): Promise<TestTemporal> {
  installQuietRuntime();
  const server = await startTemporalDevServer({ port: await freePort(), uiPort: null, searchAttributes: !options.bare });
  try {
    const connection = await Connection.connect({ address: server.address });
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    return {
      address: server.address,
      namespace: 'default',
      client: new Client({ connection }),
      nativeConnection,
      teardown: async () => {
        await nativeConnection.close();
        await connection.close();
        await server.stop();
      },
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/**
 * Temporal's time-skipping test server (the binary set-up installs): while a client waits on a
 * workflow's result, timers fire at once, so days of workflow time pass in moments.
 */
export async function startTimeSkippingTemporal(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  const environment = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: findTemporalTestServer() } },
  });
  // It implements adding search attributes, not listing them (so not ensureSearchAttributes).
  await environment.nativeConnection.operatorService.addSearchAttributes({
    namespace: environment.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      SEARCH_ATTRIBUTE_KEYS.map((key) => [key.name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
  return environment;
}

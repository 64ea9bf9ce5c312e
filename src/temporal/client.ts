import { Client, Connection } from '@temporalio/client';
import { parseTemporalConfig } from '../config/env.js';

export interface TemporalClient {
  readonly client: Client;
  readonly namespace: string;
  close(): Promise<void>;
}

/** A Temporal client for TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (TLS or API key from the environment). */
export async function connectTemporal(env: NodeJS.ProcessEnv): Promise<TemporalClient> {
  const config = parseTemporalConfig(env);
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address: config.address,
      tls: config.tls === false ? undefined : config.tls,
      ...(config.apiKey ? { apiKey: config.apiKey } : {}),
      connectTimeout: '5 seconds',
    });
  } catch (error) {
    throw new Error(`cannot reach Temporal at ${config.address} (TEMPORAL_ADDRESS): ${error instanceof Error ? error.message : String(error)}`);
  }
  return { client: new Client({ connection, namespace: config.namespace }), namespace: config.namespace, close: () => connection.close() };
}

import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { DEFAULT_TEMPORAL_ADDRESS, DEFAULT_TEMPORAL_NAMESPACE } from '../../config/env.js';
import { findTemporalCli } from '../../devstack/temporal-dev-server.js';
import type { CliContext } from '../context.js';

/**
 * Our TLS variables and the Temporal CLI's names for them. The CLI reads TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY and TEMPORAL_TLS itself, under our names.
 */
const TLS_VARIABLES: readonly (readonly [ours: string, its: string])[] = [
  ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_CLIENT_CERT_PATH'],
  ['TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CLIENT_KEY_PATH'],
  ['TEMPORAL_TLS_CA', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH'],
];

/**
 * The Temporal CLI's environment: the server and namespace the project uses. Passed as
 * variables, not --address/--namespace flags, because `server`, `env` and `config` refuse those
 * flags while every client command (workflow, schedule, …) reads the variables, and a flag the
 * user gives still wins over them.
 */
export function temporalCliEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = {
    ...env,
    TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS?.trim() || DEFAULT_TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: env.TEMPORAL_NAMESPACE?.trim() || DEFAULT_TEMPORAL_NAMESPACE,
  };
  for (const [ours, its] of TLS_VARIABLES) {
    const value = env[ours]?.trim();
    if (value && !env[its]) result[its] = value;
  }
  return result;
}

/** `temporal ARGS…`: the project's Temporal CLI (PATH or .tools/) with ARGS; returns its exit status. */
export async function temporalCommand(args: readonly string[], context: CliContext): Promise<number> {
  const executable = findTemporalCli(context.env);
  const child = spawn(executable, [...args], { env: temporalCliEnv(context.env), stdio: 'inherit' });
  // The CLI decides how to stop (a dev server shuts down cleanly) and this process waits for it:
  // Ctrl-C reaches both already (one process group); a SIGTERM sent to this process is passed on.
  const ignoreInterrupt = () => undefined;
  const forwardTerminate = () => child.kill('SIGTERM');
  process.on('SIGINT', ignoreInterrupt);
  process.on('SIGTERM', forwardTerminate);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (error) => reject(new Error(`cannot run the Temporal CLI at ${executable}: ${error.message}`)));
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
    });
  } finally {
    process.off('SIGINT', ignoreInterrupt);
    process.off('SIGTERM', forwardTerminate);
  }
}

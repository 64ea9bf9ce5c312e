/** Logging around SFTP connections: ssh2-sftp-client's callbacks at debug level, and errors reduced to what may be logged. */
import type SftpClient from 'ssh2-sftp-client';
import type { Logger } from '../observability/logger.js';

/** ssh2-sftp-client prints to the console unless given callbacks; these log at debug level. */
export function quietCallbacks(logger: Logger): SftpClient.Callbacks {
  return {
    error: (error: unknown) => logger.debug({ err: describeForLog(error) }, 'SFTP connection error'),
    end: () => logger.debug('SFTP connection ended'),
    close: () => logger.debug('SFTP connection closed'),
  };
}

/** Message and code only: a logged error object would carry whatever else hangs off it. */
export function describeForLog(error: unknown): { message: string; code?: unknown } {
  if (typeof error !== 'object' || error === null) return { message: String(error) };
  const { message, code } = error as { message?: unknown; code?: unknown };
  return { message: typeof message === 'string' ? message : String(error), ...(code !== undefined ? { code } : {}) };
}

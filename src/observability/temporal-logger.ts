/** Temporal's own log lines (the SDK's and the core's) through the project's JSON logger. */
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/worker';
import { parsePeriodWorkflowId } from '../domain/workflow-ids.js';
import type { Logger } from './logger.js';

/**
 * The SDK's log metadata as a log line can show it: an error as its type and message (an Error
 * object would print as `{}`), and the client, frequency and period a period workflow's id names.
 */
export function describeLogMetadata(meta: LogMetadata | undefined): Record<string, unknown> {
  if (!meta) return {};
  const described: Record<string, unknown> = { ...meta };
  for (const [key, value] of Object.entries(meta)) {
    if (value instanceof Error) {
      const type = (value as Error & { type?: unknown }).type;
      described[key] = { type: typeof type === 'string' && type ? type : value.name, message: value.message };
    }
  }
  const period = typeof meta.workflowId === 'string' ? parsePeriodWorkflowId(meta.workflowId) : null;
  return period ? { client: period.clientId, frequency: period.frequency, period: period.periodStart, ...described } : described;
}

/** Temporal's own log lines, through the project's JSON logger. */
export function temporalLogger(logger: Logger): TemporalLogger {
  const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
    TRACE: 'trace',
    DEBUG: 'debug',
    INFO: 'info',
    WARN: 'warn',
    ERROR: 'error',
  };
  const write = (level: LogLevel, message: string, meta?: LogMetadata) => logger[levels[level]](describeLogMetadata(meta), message);
  return {
    log: write,
    trace: (message, meta) => write('TRACE', message, meta),
    debug: (message, meta) => write('DEBUG', message, meta),
    info: (message, meta) => write('INFO', message, meta),
    warn: (message, meta) => write('WARN', message, meta),
    error: (message, meta) => write('ERROR', message, meta),
  };
}

import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

/** Structured JSON logger. Bind `client`, `period` and `workflowId` with `child()`. */
export type Logger = PinoLogger;

// Keys that must never reach a log line, wherever they appear in a logged object.
const REDACTED_PATHS = [
  'password',
  'passphrase',
  'privateKey',
  'secret',
  'token',
  'apiKey',
  '*.password',
  '*.passphrase',
  '*.privateKey',
  '*.secret',
  '*.token',
  '*.apiKey',
];

export interface LoggerOptions {
  /** From LOG_LEVEL through parseLogLevel (src/config/env.ts); `info` when not given. */
  readonly level?: string;
  readonly name?: string;
  /** Where lines go; standard error when not given (standard output stays for command results). */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      name: options.name ?? 'twoway-report',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}

/** A logger that drops everything (library defaults, quiet tests). */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}

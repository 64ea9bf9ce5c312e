import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, describeValue } from '../domain/errors.js';
import { isLocalDate } from '../domain/local-date.js';
import { FREQUENCIES, type Frequency, type LocalDate } from '../domain/types.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Parses a command's options strictly: unknown options and stray arguments are usage errors. */
export function parseOptions<T extends OptionSpec>(command: string, args: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(`${command}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
}

export function requireOption(command: string, name: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError(`${command}: --${name} is required`);
  return value;
}

export function parseDateOption(name: string, value: string): LocalDate {
  if (!isLocalDate(value)) throw new UsageError(`--${name} is ${describeValue(value)}; allowed: a calendar date YYYY-MM-DD`);
  return value;
}

export function parseFrequencyOption(value: string): Frequency {
  if (!(FREQUENCIES as readonly string[]).includes(value)) {
    throw new UsageError(`--frequency is ${describeValue(value)}; allowed: ${FREQUENCIES.join(', ')}`);
  }
  return value as Frequency;
}

export function parseWholeNumberOption(name: string, value: string, min: number, max: number): number {
  const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`--${name} is ${describeValue(value)}; allowed: a whole number from ${min} to ${max}`);
  }
  return parsed;
}

import type { Database } from '../db/database.js';
import { openDatabase } from '../db/database.js';

/** What a command gets from the outside world; tests pass their own. */
export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream;
}

export function print(context: CliContext, line: string): void {
  context.stdout.write(`${line}\n`);
}

/** Runs `work` with the database of DATABASE_URL or the embedded one, closing it afterwards. */
export async function withDatabase<T>(context: CliContext, work: (database: Database) => Promise<T>): Promise<T> {
  const database = await openDatabase(context.env);
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}

/**
 * The baseline of the render section, run as a child process of its own: PostgreSQL's
 * `COPY (the report's own extraction query) TO STDOUT WITH CSV` streamed into a file. This
 * is as fast as PostgreSQL can hand the period's data over; `render` cannot beat it.
 *
 * usage: DATABASE_URL=… node dist/bench/copy-baseline.js --client ID --start ISO --end ISO --out FILE
 * prints one JSON line: { "rows": n, "bytes": n }
 */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { periodEventsSql } from '../src/db/period-events.js';

/** The same write size render batches to (1 MiB), so neither side is penalised by small writes. */
const WRITE_BUFFER_BYTES = 1 << 20;

function required(name: string, value: string | undefined): string {
  if (!value) throw new Error(`--${name} is required`);
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    strict: true,
    options: { client: { type: 'string' }, start: { type: 'string' }, end: { type: 'string' }, out: { type: 'string' } },
  });
  const url = required('DATABASE_URL (environment)', process.env.DATABASE_URL);
  const query = {
    clientId: required('client', values.client),
    startInstant: Date.parse(required('start', values.start)),
    endInstant: Date.parse(required('end', values.end)),
  };
  const out = required('out', values.out);
  const connection = new pg.Client({ connectionString: url, application_name: 'twoway-bench copy baseline' });
  connection.on('error', () => undefined);
  await connection.connect();
  try {
    const sql = `COPY (${periodEventsSql(query, (value) => connection.escapeLiteral(value))}) TO STDOUT WITH CSV`;
    const stream = connection.query(copyStreams.to(sql));
    await pipeline(stream, createWriteStream(out, { highWaterMark: WRITE_BUFFER_BYTES }));
    const { size } = await stat(out);
    process.stdout.write(`${JSON.stringify({ rows: stream.rowCount, bytes: size })}\n`);
  } finally {
    await connection.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`copy-baseline: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});

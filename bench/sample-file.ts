/**
 * A large file that looks like a report: CSV lines with names, emails, ids, timestamps and
 * random hex identifiers. Written in chunks, never held in memory whole, and random enough
 * that it does not compress to nothing (the SSH transport does not compress anyway, but the
 * bytes should be honest).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';

const LINES_PER_CHUNK = 4_096;
/** Random bytes each line draws from: two 16-byte ids and four 32-bit numbers. */
const RANDOM_BYTES_PER_LINE = 48;
const HASH_READ_BYTES = 1 << 20;
const FIRST_NAMES = ['Ana', 'José', 'Zoë', 'Chloé', 'Liam', 'Noah', '"Mary, Jr."', 'Wei', '李', 'Nguyễn', 'Siobhán', 'Olu', 'Ava', 'Mia', 'Björn', 'Priya'];
const LAST_NAMES = ["O'Neil", 'Smith', 'García', 'Müller', 'Kowalski', 'Tanaka', 'Johnson', 'Dubois', '"""Ace"" Ventura"', 'Okafor', 'Nakamura', 'Rossi'];
const EVENTS = [
  'twoway_webhook,customer_message_sent',
  'twoway_webhook,agent_message_sent',
  'twoway_webhook,system_message_sent',
  'twoway,agent_ping',
  'twoway,channel_closed',
  'twoway_webhook,member_added',
];
const GROUPS = ['north', 'south', 'east', 'west', 'escalations'];
const EPOCH_2026_MS = Date.UTC(2026, 0, 1);
const YEAR_MS = 365 * 24 * 3600 * 1000;

function pick<T>(values: readonly T[], random: number): T {
  return values[random % values.length] as T;
}

/** One chunk of CSV-like lines from fresh random bytes. */
function chunk(): Buffer {
  const random = randomBytes(LINES_PER_CHUNK * RANDOM_BYTES_PER_LINE);
  const lines: string[] = [];
  for (let index = 0; index < LINES_PER_CHUNK; index++) {
    const at = index * RANDOM_BYTES_PER_LINE;
    const [a, b, c, d] = [random.readUInt32LE(at + 32), random.readUInt32LE(at + 36), random.readUInt32LE(at + 40), random.readUInt32LE(at + 44)];
    const channel = random.toString('hex', at, at + 16);
    const conversation = random.toString('hex', at + 16, at + 32);
    const time = new Date(EPOCH_2026_MS + (a % YEAR_MS)).toISOString();
    lines.push(
      `agent${b % 200}@support.example.com,${pick(FIRST_NAMES, b)},${pick(LAST_NAMES, c)},twoway_agent,${pick(GROUPS, d)},cc-${c % 50_000},` +
        `${pick(FIRST_NAMES, c >>> 8)},${pick(LAST_NAMES, d >>> 8)},pg-${d % 40},${pick(EVENTS, a >>> 8)},${time},tag-${b % 12},CH${channel},` +
        `${conversation.slice(0, 8)}-${conversation.slice(8, 12)}-${conversation.slice(12, 16)}-${conversation.slice(16, 20)}-${conversation.slice(20)},,,${(a & 1) === 1},agent,active\r\n`,
    );
  }
  return Buffer.from(lines.join(''), 'utf8');
}

/** Writes exactly `bytes` bytes to `path`; returns their sha256. */
export async function writeSampleFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const file = await open(path, 'wx');
  try {
    for (let written = 0; written < bytes;) {
      const piece = chunk().subarray(0, bytes - written);
      hash.update(piece);
      await file.write(piece);
      written += piece.length;
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

/** sha256 of a file, streamed. */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const data of createReadStream(path, { highWaterMark: HASH_READ_BYTES }) as AsyncIterable<Buffer>) hash.update(data);
  return hash.digest('hex');
}

/**
 * The measured process of the PGP section: what a delivery does to a built CSV before it is
 * sent, and nothing else. It opens the keyring (pgp.ts: keys read and checked), streams the
 * CSV through gpg into the prepared file (local-file.ts, as the publisher does), and prints
 * one JSON line: the prepared file, its size and sha256, the CSV's sha256.
 *
 * Usage: node pgp-encrypt-child.js <csv path> <pgp settings as JSON>
 */
import { basename } from 'node:path';
import { prepareLocalFile } from '../src/delivery/local-file.js';
import { openPgpKeyring } from '../src/delivery/pgp.js';
import type { PgpSettings } from '../src/domain/types.js';

const [csvPath, settingsJson] = process.argv.slice(2);
if (!csvPath || !settingsJson) throw new Error('usage: pgp-encrypt-child.js <csv path> <pgp settings as JSON>');
const keyring = await openPgpKeyring('bench', JSON.parse(settingsJson) as PgpSettings);
try {
  const file = await prepareLocalFile(csvPath, basename(csvPath), { gzip: false, pgp: keyring, signal: undefined, onBytes: () => undefined });
  console.log(JSON.stringify({ path: file.path, bytes: file.bytes, sha256: file.sha256, csvSha256: file.csvSha256 }));
} finally {
  await keyring.dispose();
}

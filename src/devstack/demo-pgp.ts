/**
 * The demo's PGP client (`vandelay`): made once per demo home with the real gpg, kept with the
 * home. Our side: the client's public key and our signing key with its passphrase, as files
 * (0600) in the demo's secrets folder (0700), referenced by the client's `delivery.pgp`. The
 * client's side: a GNUPGHOME with the client's secret key and our public signing key, with
 * which the demo (and whoever runs it) decrypts and verifies the delivered files.
 */
import { randomBytes } from 'node:crypto';
import { access, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stopGpgAgent } from '../delivery/pgp.js';
import { createGnupgHome, decryptMessage, exportKey, generateKey, importKeyFile, type Decrypted } from './pgp-keys.js';

export const PGP_CLIENT = 'vandelay';
const KEYS_FILE = 'demo-keys.json';
const SECRET_FILE_MODE = 0o600;
const SECRETS_DIR_MODE = 0o700;
const PASSPHRASE_BYTES = 18;

export interface DemoPgp {
  /** Folder of the key files our delivery reads (0700). */
  readonly secretsDir: string;
  readonly recipientPublicKey: string;
  readonly signingSecretKey: string;
  readonly signingPassphrase: string;
  /** The client's GNUPGHOME: `gpg --homedir <it> --decrypt <file>` decrypts and verifies. */
  readonly clientHome: string;
  readonly signerFingerprint: string;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The demo's PGP keys in `home`: the ones a kept demo made, or new ones. */
export async function prepareDemoPgp(home: string): Promise<DemoPgp> {
  const secretsDir = join(home, 'secrets');
  await mkdir(secretsDir, { recursive: true, mode: SECRETS_DIR_MODE });
  await chmod(secretsDir, SECRETS_DIR_MODE);
  const pgpDir = join(home, 'pgp');
  const clientHome = join(pgpDir, `${PGP_CLIENT}-gnupg`);
  const paths = {
    secretsDir,
    recipientPublicKey: join(secretsDir, `${PGP_CLIENT}-public-key.asc`),
    signingSecretKey: join(secretsDir, 'twoway-signing-key.asc'),
    signingPassphrase: join(secretsDir, 'twoway-signing-key.passphrase'),
    clientHome,
  };
  const keysFile = join(pgpDir, KEYS_FILE);
  if (await exists(keysFile)) {
    const kept = JSON.parse(await readFile(keysFile, 'utf8')) as { signerFingerprint: string };
    return { ...paths, signerFingerprint: kept.signerFingerprint };
  }
  const maker = await createGnupgHome(join(pgpDir, 'maker'));
  await createGnupgHome(clientHome);
  // A fresh demo passphrase: the key is protected, as a production signing key should be.
  const passphrase = randomBytes(PASSPHRASE_BYTES).toString('hex');
  try {
    const recipient = await generateKey(maker, { userId: 'Vandelay Industries <reports@vandelay.example>' });
    const signer = await generateKey(maker, { userId: 'Twoway Reports (demo) <reports@twoway.example>', algorithm: 'ed25519', usage: 'sign', passphrase });
    await exportKey(maker, recipient, paths.recipientPublicKey);
    await exportKey(maker, signer, paths.signingSecretKey, { secret: true, passphrase });
    await writeFile(paths.signingPassphrase, `${passphrase}\n`, { mode: SECRET_FILE_MODE });
    const clientSecret = await exportKey(maker, recipient, join(pgpDir, `${PGP_CLIENT}-secret-key.asc`), { secret: true });
    await importKeyFile(clientHome, await readFile(clientSecret));
    await importKeyFile(clientHome, await readFile(await exportKey(maker, signer, join(pgpDir, 'twoway-signing-public-key.asc'))));
    await writeFile(keysFile, `${JSON.stringify({ recipientFingerprint: recipient, signerFingerprint: signer }, null, 2)}\n`);
    return { ...paths, signerFingerprint: signer };
  } finally {
    await stopGpgAgent(maker);
    await stopGpgAgent(clientHome);
  }
}

/**
 * The environment variables the demo's worker reads the PGP keys from: like the demo's other
 * secrets, environment references under the default TWOWAY_SECRET_ENV_PREFIX, so the row passes
 * the reference rules of any `clients` or `schedules` command run beside the demo.
 */
const PGP_SECRET_VARIABLES = {
  recipient: 'TWOWAY_SECRET_VANDELAY_PGP_PUBLIC_KEY',
  signingKey: 'TWOWAY_SECRET_DEMO_PGP_SIGNING_KEY',
  signingPassphrase: 'TWOWAY_SECRET_DEMO_PGP_SIGNING_PASSPHRASE',
} as const;

/** The `delivery.pgp` setting of the demo's PGP client: encrypted to its key, signed with ours. */
export function demoPgpSetting(): Record<string, unknown> {
  return {
    recipients: [{ env: PGP_SECRET_VARIABLES.recipient }],
    signingKey: { env: PGP_SECRET_VARIABLES.signingKey },
    signingPassphrase: { env: PGP_SECRET_VARIABLES.signingPassphrase },
  };
}

/** The values of demoPgpSetting's references, read from the demo's key files. */
export async function demoPgpSecrets(pgp: DemoPgp): Promise<Record<string, string>> {
  return {
    [PGP_SECRET_VARIABLES.recipient]: await readFile(pgp.recipientPublicKey, 'utf8'),
    [PGP_SECRET_VARIABLES.signingKey]: await readFile(pgp.signingSecretKey, 'utf8'),
    [PGP_SECRET_VARIABLES.signingPassphrase]: (await readFile(pgp.signingPassphrase, 'utf8')).trimEnd(),
  };
}

/** Decrypts a delivered file as the client does; the caller checks the plaintext and the signer. */
export async function decryptDemoFile(pgp: DemoPgp, bytes: Buffer): Promise<Decrypted> {
  try {
    return await decryptMessage(pgp.clientHome, bytes);
  } finally {
    await stopGpgAgent(pgp.clientHome);
  }
}

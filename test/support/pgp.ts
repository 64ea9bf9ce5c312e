/** OpenPGP keys for the PGP tests, made with the real gpg: good ones, and one of every kind a delivery must refuse. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stopGpgAgent } from '../../src/delivery/pgp.js';
import { createGnupgHome, exportKey, generateKey, importKeyFile } from '../../src/devstack/pgp-keys.js';

export const SIGNING_PASSPHRASE = 'correct horse battery staple';

export interface TestKeys {
  /** Key files (0600), each holding one key unless its name says otherwise. */
  readonly files: {
    readonly alicePublic: string;
    readonly bobPublic: string;
    readonly aliceSecret: string;
    readonly signerSecret: string;
    readonly signerPublic: string;
    /** Our signing key protected by SIGNING_PASSPHRASE. */
    readonly protectedSignerSecret: string;
    readonly expiredPublic: string;
    readonly revokedPublic: string;
    /** A sign-only key: no encryption subkey. */
    readonly signOnlyPublic: string;
    /** A certify-only secret key: cannot sign data. */
    readonly certOnlySecret: string;
    readonly expiredSignerSecret: string;
    /** Alice's and Bob's public keys in one file. */
    readonly twoPublic: string;
    readonly notAKey: string;
  };
  readonly signerFingerprint: string;
  readonly protectedSignerFingerprint: string;
  /** What the clients hold: each one's secret key and our signing key's public one. */
  readonly aliceHome: string;
  readonly bobHome: string;
  dispose(): Promise<void>;
}

/** Revokes a key with the revocation certificate gpg made with it (its armor line starts with ":" so that it is not imported by accident). */
async function revoke(home: string, fingerprint: string): Promise<void> {
  const certificate = await readFile(join(home, 'openpgp-revocs.d', `${fingerprint}.rev`), 'utf8');
  await importKeyFile(home, certificate.replace(/^:-----BEGIN/m, '-----BEGIN'));
}

/** Every key the tests use, made in `dir` (a few seconds: ed25519 keys). */
export async function createTestKeys(dir: string): Promise<TestKeys> {
  const maker = await createGnupgHome(join(dir, 'maker'));
  const aliceHome = await createGnupgHome(join(dir, 'alice'));
  const bobHome = await createGnupgHome(join(dir, 'bob'));
  const key = (name: string) => join(dir, name);

  const alice = await generateKey(maker, { userId: 'Alice Client <alice@client.example>' });
  const bob = await generateKey(maker, { userId: 'Bob Client <bob@client.example>' });
  const signer = await generateKey(maker, { userId: 'Twoway Reports <reports@twoway.example>', algorithm: 'ed25519', usage: 'sign' });
  const protectedSigner = await generateKey(maker, {
    userId: 'Twoway Protected <protected@twoway.example>',
    algorithm: 'ed25519',
    usage: 'sign',
    passphrase: SIGNING_PASSPHRASE,
  });
  const expired = await generateKey(maker, { userId: 'Expired <expired@client.example>', expire: '1d', madeAt: '20200101T000000' });
  const expiredSigner = await generateKey(maker, {
    userId: 'Expired Signer <old@twoway.example>',
    algorithm: 'ed25519',
    usage: 'sign',
    expire: '1d',
    madeAt: '20200101T000000',
  });
  const revoked = await generateKey(maker, { userId: 'Revoked <revoked@client.example>' });
  await revoke(maker, revoked);
  const signOnly = await generateKey(maker, { userId: 'Sign Only <signonly@client.example>', algorithm: 'ed25519', usage: 'sign' });
  const certOnly = await generateKey(maker, { userId: 'Cert Only <certonly@twoway.example>', algorithm: 'ed25519', usage: 'cert' });

  const files = {
    alicePublic: await exportKey(maker, alice, key('alice.pub.asc')),
    bobPublic: await exportKey(maker, bob, key('bob.pub.asc')),
    aliceSecret: await exportKey(maker, alice, key('alice.sec.asc'), { secret: true }),
    signerSecret: await exportKey(maker, signer, key('signer.sec.asc'), { secret: true }),
    signerPublic: await exportKey(maker, signer, key('signer.pub.asc')),
    protectedSignerSecret: await exportKey(maker, protectedSigner, key('protected-signer.sec.asc'), { secret: true, passphrase: SIGNING_PASSPHRASE }),
    expiredPublic: await exportKey(maker, expired, key('expired.pub.asc')),
    revokedPublic: await exportKey(maker, revoked, key('revoked.pub.asc')),
    signOnlyPublic: await exportKey(maker, signOnly, key('sign-only.pub.asc')),
    certOnlySecret: await exportKey(maker, certOnly, key('cert-only.sec.asc'), { secret: true }),
    expiredSignerSecret: await exportKey(maker, expiredSigner, key('expired-signer.sec.asc'), { secret: true }),
    twoPublic: key('two.pub.asc'),
    notAKey: key('not-a-key.asc'),
  };
  await writeFile(files.twoPublic, Buffer.concat([await readFile(files.alicePublic), await readFile(files.bobPublic)]), { mode: 0o600 });
  await writeFile(files.notAKey, '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key at all\n-----END PGP PUBLIC KEY BLOCK-----\n', { mode: 0o600 });

  await importKeyFile(aliceHome, await readFile(files.aliceSecret));
  await importKeyFile(bobHome, await readFile(await exportKey(maker, bob, key('bob.sec.asc'), { secret: true })));
  for (const home of [aliceHome, bobHome]) {
    await importKeyFile(home, await readFile(files.signerPublic));
    await importKeyFile(home, await readFile(await exportKey(maker, protectedSigner, key('protected-signer.pub.asc'))));
  }
  return {
    files,
    signerFingerprint: signer,
    protectedSignerFingerprint: protectedSigner,
    aliceHome,
    bobHome,
    dispose: async () => {
      for (const home of [maker, aliceHome, bobHome]) await stopGpgAgent(home);
    },
  };
}

/** Host key pinning [SPEC §6]: the server must present the key whose fingerprint the client setting holds. */
import { createHash, timingSafeEqual } from 'node:crypto';

/** OpenSSH's fingerprint of a public key blob: `SHA256:` + unpadded base64 of its sha256. */
export function hostKeyFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** Fingerprints compare as written by OpenSSH; padding some tools add is ignored. */
function normalizeFingerprint(fingerprint: string): string {
  return fingerprint.trim().replace(/=+$/, '');
}

export interface HostKeyPin {
  /** For ssh2's `hostVerifier`: true when the presented key matches the pin. */
  readonly verify: (keyBlob: Buffer) => boolean;
  /** The fingerprint of a refused key, once one was refused. */
  readonly refusedFingerprint: () => string | null;
}

export function pinHostKey(expectedSha256: string): HostKeyPin {
  const expected = Buffer.from(normalizeFingerprint(expectedSha256));
  let refused: string | null = null;
  return {
    verify(keyBlob: Buffer): boolean {
      const presented = hostKeyFingerprint(keyBlob);
      const given = Buffer.from(presented);
      const matches = given.length === expected.length && timingSafeEqual(given, expected);
      if (!matches) refused = presented;
      return matches;
    },
    refusedFingerprint: () => refused,
  };
}

/**
 * Host key pinning [SPEC §6]: the server must present a key whose fingerprint the client setting
 * holds; during a rotation the setting lists the old and the new key, and either is accepted.
 */
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

/** The pins of a `hostKeySha256` setting, as a list. */
export function hostKeyPins(setting: string | readonly string[]): readonly string[] {
  return typeof setting === 'string' ? [setting] : setting;
}

export function pinHostKey(setting: string | readonly string[]): HostKeyPin {
  const pins = hostKeyPins(setting).map((pin) => Buffer.from(normalizeFingerprint(pin)));
  let refused: string | null = null;
  return {
    verify(keyBlob: Buffer): boolean {
      const presented = hostKeyFingerprint(keyBlob);
      const given = Buffer.from(presented);
      const matches = pins.some((expected) => given.length === expected.length && timingSafeEqual(given, expected));
      if (!matches) refused = presented;
      return matches;
    },
    refusedFingerprint: () => refused,
  };
}

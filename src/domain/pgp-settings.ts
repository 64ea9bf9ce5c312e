/**
 * Validation of a client's `delivery.pgp` setting: which public keys the delivered file is
 * encrypted to, which key signs it, and whether it is ASCII-armored. Keys are given as secret
 * references like passwords; whether a referenced key is usable is checked when a delivery
 * reads it (delivery/pgp.ts), in the delivering process.
 */
import { InvalidClientSettingError, describeValue } from './errors.js';
import type { PgpSettings, SecretReference } from './types.js';

const PGP_KEYS = ['recipients', 'signingKey', 'signingPassphrase', 'armor'];
/** Enough for a key rotation and a few receiving teams; more is a mistake, not a need. */
export const MAX_PGP_RECIPIENTS = 8;
const FIELD = 'delivery.pgp';

/** Reads one secret reference of the setting, naming its field when it is not one (client-config's parser). */
export type ReferenceParser = (field: string, value: unknown) => SecretReference;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks `delivery.pgp`; undefined when the client has none (files go out unencrypted). */
export function parsePgpSettings(clientId: string, raw: unknown, parseReference: ReferenceParser): PgpSettings | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isPlainObject(raw)) {
    throw new InvalidClientSettingError(clientId, FIELD, describeValue(raw), 'an object {"recipients": [public key references], ...}');
  }
  const unknownKey = Object.keys(raw).find((key) => !PGP_KEYS.includes(key));
  if (unknownKey !== undefined) throw new InvalidClientSettingError(clientId, `${FIELD}.${unknownKey}`, 'present', `only ${PGP_KEYS.join(', ')}`);
  const recipients = raw.recipients;
  if (!Array.isArray(recipients) || recipients.length === 0 || recipients.length > MAX_PGP_RECIPIENTS) {
    throw new InvalidClientSettingError(
      clientId,
      `${FIELD}.recipients`,
      Array.isArray(recipients) ? `a list of ${recipients.length}` : describeValue(recipients),
      `a list of 1 to ${MAX_PGP_RECIPIENTS} references to the client's public keys (two during a key rotation)`,
    );
  }
  const armor = raw.armor ?? false;
  if (typeof armor !== 'boolean') throw new InvalidClientSettingError(clientId, `${FIELD}.armor`, describeValue(armor), 'true or false');
  if (raw.signingPassphrase !== undefined && raw.signingKey === undefined) {
    throw new InvalidClientSettingError(clientId, `${FIELD}.signingPassphrase`, 'a reference', `a passphrase only together with ${FIELD}.signingKey`);
  }
  return {
    recipients: recipients.map((recipient: unknown, index) => parseReference(`${FIELD}.recipients[${index}]`, recipient)),
    signingKey: raw.signingKey === undefined ? null : parseReference(`${FIELD}.signingKey`, raw.signingKey),
    signingPassphrase: raw.signingPassphrase === undefined ? null : parseReference(`${FIELD}.signingPassphrase`, raw.signingPassphrase),
    armor,
  };
}

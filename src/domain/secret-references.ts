/**
 * Where a client's secret references may point [SPEC §6]. Anyone who may edit a client row
 * could otherwise name the worker's own secrets (`{"env": "DATABASE_URL"}`,
 * `{"file": "/proc/self/environ"}`) and have them sent to a server of their choosing, so a
 * reference is allowed only when it names an environment variable under the configured prefix
 * that is not one of the worker's own settings, or a file inside the configured secrets folder
 * that is not one of the worker's own files. These are the checks on the reference as written;
 * the delivering process also follows symbolic links and checks the file's permissions
 * (delivery/secrets.ts).
 */
import { SecretReferenceRefusedError } from './errors.js';
import type { ClientConfig, SecretReference, SftpAuthentication } from './types.js';

/** What the delivering process allows references to name (from TWOWAY_SECRET_ENV_PREFIX and TWOWAY_SECRETS_DIR). */
export interface SecretRules {
  /** Every environment reference starts with it; never empty. */
  readonly envPrefix: string;
  /** Absolute folder, without `.`, `..` or a trailing slash, that every file reference lies inside. */
  readonly secretsDir: string;
  /** The worker's own settings: never resolved, whatever the prefix. */
  readonly ownVariables: ReadonlySet<string>;
  /** Files the worker's own settings name (TEMPORAL_TLS_KEY, say), by the variable naming them: never resolved. */
  readonly ownFiles: readonly { readonly variable: string; readonly path: string }[];
}

/** How a reference reads in messages: `environment variable NAME` or `file PATH`. */
export function describeSecretReference(ref: SecretReference): string {
  return 'env' in ref ? `environment variable ${ref.env}` : `file ${ref.file}`;
}

/** `/a/b`: absolute, no empty, `.` or `..` parts, no trailing slash, no control characters that end a line or a C string. */
export function isPlainAbsolutePath(path: string): boolean {
  return (
    path.length > 1 &&
    path.startsWith('/') &&
    !/[\0\r\n]/.test(path) &&
    path
      .slice(1)
      .split('/')
      .every((part) => part !== '' && part !== '.' && part !== '..')
  );
}

/** True when `path` lies below `dir` (both plain absolute paths). */
export function isInsideFolder(path: string, dir: string): boolean {
  return path.startsWith(`${dir}/`);
}

export function allowedEnvReferences(rules: SecretRules): string {
  return `an environment variable named ${rules.envPrefix}<NAME> (TWOWAY_SECRET_ENV_PREFIX) that is not one of the worker's own settings`;
}

export function allowedFileReferences(rules: SecretRules): string {
  return `a file inside ${rules.secretsDir} (TWOWAY_SECRETS_DIR) that only its owner can read (chmod 600), not one of the worker's own files`;
}

/** Refuses a reference the rules do not allow, naming the client, the field and the rule; never reads a value. */
export function assertSecretReferenceAllowed(clientId: string, field: string, ref: SecretReference, rules: SecretRules): void {
  const refuse = (problem: string, allowed: string) => new SecretReferenceRefusedError(clientId, field, describeSecretReference(ref), problem, allowed);
  if ('env' in ref) {
    const allowed = allowedEnvReferences(rules);
    if (rules.ownVariables.has(ref.env)) throw refuse("is one of the worker's own settings", allowed);
    if (!ref.env.startsWith(rules.envPrefix) || ref.env.length === rules.envPrefix.length) throw refuse(`is not named ${rules.envPrefix}<NAME>`, allowed);
    return;
  }
  const allowed = allowedFileReferences(rules);
  if (!isPlainAbsolutePath(ref.file)) throw refuse('is not a plain absolute path (it has empty, "." or ".." parts)', allowed);
  if (!isInsideFolder(ref.file, rules.secretsDir)) throw refuse(`is outside the secrets folder ${rules.secretsDir}`, allowed);
  const own = rules.ownFiles.find((file) => file.path === ref.file);
  if (own) throw refuse(`is the worker's own ${own.variable}`, allowed);
}

/** The login's reference fields, as the `delivery` setting names them. */
export const LOGIN_SECRET_FIELDS = { password: 'delivery.password', privateKey: 'delivery.privateKey', passphrase: 'delivery.passphrase' } as const;

function loginReferences(auth: SftpAuthentication): { readonly field: string; readonly ref: SecretReference }[] {
  const fields = LOGIN_SECRET_FIELDS;
  if (auth.method === 'password') return [{ field: fields.password, ref: auth.password }];
  return [{ field: fields.privateKey, ref: auth.privateKey }, ...(auth.passphrase ? [{ field: fields.passphrase, ref: auth.passphrase }] : [])];
}

/** Every secret reference of a client, checked as `clients set`/`clients add` save it: the delivering process would refuse the same. */
export function assertClientSecretsAllowed(client: ClientConfig, rules: SecretRules): void {
  if (!client.delivery) return;
  for (const { field, ref } of loginReferences(client.delivery.auth)) assertSecretReferenceAllowed(client.id, field, ref, rules);
}

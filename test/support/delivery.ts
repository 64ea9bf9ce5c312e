import { chown, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SftpServer } from '../../src/devstack/sftp-server.js';

/** A `clients.delivery` value for this sshd, with key login, into `<sftp root>/<folder>` (created); `patch` overrides fields. */
export async function deliveryFor(sftp: SftpServer, folder: string, patch: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  // Created as root here; the SFTP user must own it to write.
  await mkdir(join(sftp.rootDir, folder), { recursive: true });
  const owner = await stat(sftp.rootDir);
  await chown(join(sftp.rootDir, folder), owner.uid, owner.gid);
  const settings: Record<string, unknown> = {
    protocol: 'sftp',
    host: sftp.host,
    port: sftp.port,
    username: sftp.username,
    remoteDir: join(sftp.rootDir, folder),
    hostKeySha256: sftp.hostKeySha256,
    privateKey: { file: sftp.userKeyPath },
    ...patch,
  };
  // A password patch replaces key login.
  if (patch.password !== undefined && patch.privateKey === undefined) delete settings.privateKey;
  return settings;
}

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { openSshLoginOptions, startSftpServer } from '../../src/devstack/sftp-server.js';

function banner(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('data', (data: Buffer) => {
      socket.destroy();
      resolve(data.toString('latin1'));
    });
    socket.once('error', reject);
  });
}

function accountExists(username: string): boolean {
  return spawnSync('id', ['-u', username]).status === 0;
}

describe('the OpenSSH sshd harness', () => {
  it('serves SFTP on loopback with its own user, stops, starts again on the same port, and cleans up', async () => {
    const root = await mkdtemp(join(tmpdir(), 'twoway-harness-'));
    const baseDir = join(root, 'sshd');
    const server = await startSftpServer({ baseDir });
    try {
      assert.equal(server.host, '127.0.0.1');
      assert.match(server.username, /^twsftp[0-9a-f]{6}$/);
      assert.ok(accountExists(server.username));
      assert.match(await banner(server.port), /^SSH-2\.0-OpenSSH/);
      const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(baseDir, 'ssh_host_ed25519_key.pub')], { encoding: 'utf8' }).split(
        ' ',
      )[1];
      assert.equal(server.hostKeySha256, fingerprint);
      assert.match(readFileSync(server.userKeyPath, 'utf8'), /BEGIN OPENSSH PRIVATE KEY/);

      // OpenSSH's own client logs in with the user key and writes into rootDir.
      const upload = spawnSync('sftp', ['-b', '-', ...openSshLoginOptions(server), `${server.username}@127.0.0.1`], {
        input: `put ${server.userKeyPath}.pub ${server.rootDir}/uploaded.pub\n`,
        encoding: 'utf8',
      });
      assert.equal(upload.status, 0, upload.stderr);
      assert.ok(existsSync(join(server.rootDir, 'uploaded.pub')));

      await server.stop();
      await assert.rejects(banner(server.port), /ECONNREFUSED/);
      await server.start();
      assert.match(await banner(server.port), /^SSH-2\.0-/);
    } finally {
      await server.dispose();
    }
    assert.ok(!accountExists(server.username), 'dispose deletes the user');
    assert.ok(!existsSync(baseDir), 'dispose deletes the files');
    await rm(root, { recursive: true, force: true });
  });

  it('gives two harnesses two different users', async () => {
    const root = await mkdtemp(join(tmpdir(), 'twoway-harness-'));
    const [a, b] = await Promise.all([startSftpServer({ baseDir: join(root, 'a') }), startSftpServer({ baseDir: join(root, 'b') })]);
    try {
      assert.notEqual(a.username, b.username);
      assert.notEqual(a.port, b.port);
      assert.notEqual(a.password, b.password);
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
      await rm(root, { recursive: true, force: true });
    }
  });
});

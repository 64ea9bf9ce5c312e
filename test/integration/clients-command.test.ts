import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCliProcess } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const HOST_KEY = `SHA256:${'b'.repeat(43)}`;

describe('clients command (real PostgreSQL)', () => {
  let db: TestDatabase;
  const cli = (...args: string[]) => runCliProcess(args, { DATABASE_URL: db.url });

  before(async () => {
    db = await createTestDatabase();
    await db.knex('clients').insert([
      { id: 'acme', name: 'Acme', timezone: 'America/Chicago', delivery: JSON.stringify({ protocol: 'sftp', host: 'sftp.example.com', username: 'acme', remoteDir: '/in', hostKeySha256: HOST_KEY, password: { env: 'WRONG_PASSWORD' } }) },
      { id: 'broken', name: 'Broken', timezone: 'Nowhere/City' },
    ]);
  });

  after(async () => {
    await db.drop();
  });

  it('lists settings with secret references only, and says why a client is invalid', async () => {
    const result = await cli('clients', 'list');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(
      result.stdout,
      'acme  daily America/Chicago  production, enabled, no after-hours  sftp://acme@sftp.example.com:22/in (password from env WRONG_PASSWORD)\n' +
        'broken  INVALID: client "broken": timezone is "Nowhere/City"; allowed: an IANA time zone such as "America/Chicago" or "UTC"\n',
    );
  });

  it('switches a login from one secret reference to another and asks for a schedule sync', async () => {
    const result = await cli('clients', 'set', '--client', 'acme', '--unset', 'delivery.password', '--set', 'delivery.privateKey.file=/run/secrets/acme_key', '--set', 'frequency=weekly');
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^saved frequency, delivery: acme {2}weekly America\/Chicago .* \(key from file \/run\/secrets\/acme_key\)\nrun `twoway-report schedules sync`/);
    const row = await db.knex('clients').where({ id: 'acme' }).first();
    assert.deepEqual([row.frequency, row.delivery.privateKey, row.delivery.password], ['weekly', { file: '/run/secrets/acme_key' }, undefined]);
  });

  it('saves nothing when the result would be invalid', async () => {
    const result = await cli('clients', 'set', '--client', 'acme', '--set', 'timezone=Mars/Olympus', '--set', 'frequency=daily');
    assert.equal(result.status, 1);
    assert.equal(result.stderr, 'twoway-report: client "acme": timezone is "Mars/Olympus"; allowed: an IANA time zone such as "America/Chicago" or "UTC"\n');
    const row = await db.knex('clients').where({ id: 'acme' }).first();
    assert.deepEqual([row.timezone, row.frequency], ['America/Chicago', 'weekly']);
    const usage = await cli('clients', 'set', '--client', 'acme', '--set', 'secret=1');
    assert.equal(usage.status, 2);
  });
});

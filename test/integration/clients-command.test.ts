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
      {
        id: 'acme',
        name: 'Acme',
        timezone: 'America/Chicago',
        delivery: JSON.stringify({
          protocol: 'sftp',
          host: 'sftp.example.com',
          username: 'acme',
          remoteDir: '/in',
          hostKeySha256: HOST_KEY,
          password: { env: 'WRONG_PASSWORD' },
        }),
      },
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
      'acme  daily America/Chicago  production, enabled, no after-hours, due default  sftp://acme@sftp.example.com:22/in (password from env WRONG_PASSWORD)\n' +
        'broken  INVALID: client "broken": timezone is "Nowhere/City"; allowed: an IANA time zone such as "America/Chicago" or "UTC"\n',
    );
  });

  it('switches a login from one secret reference to another and asks for a schedule sync', async () => {
    const result = await cli(
      'clients',
      'set',
      '--client',
      'acme',
      '--unset',
      'delivery.password',
      '--set',
      'delivery.privateKey.file=/run/secrets/twoway/acme_key',
      '--set',
      'frequency=weekly',
    );
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stdout,
      /^saved frequency, delivery: acme {2}weekly America\/Chicago .* \(key from file \/run\/secrets\/twoway\/acme_key\)\nrun `twoway-report schedules sync`/,
    );
    const row = await db.knex('clients').where({ id: 'acme' }).first();
    assert.deepEqual([row.frequency, row.delivery.privateKey, row.delivery.password], ['weekly', { file: '/run/secrets/twoway/acme_key' }, undefined]);
  });

  it("refuses to save a reference the workers would refuse: the worker's own secrets, outside the prefix or the secrets folder", async () => {
    const before = (await db.knex('clients').where({ id: 'acme' }).first()).delivery;
    const refused = async (env: NodeJS.ProcessEnv, ...edits: string[]) => {
      const result = await runCliProcess(['clients', 'set', '--client', 'acme', ...edits.flatMap((edit) => ['--set', edit])], { DATABASE_URL: db.url, ...env });
      assert.equal(result.status, 1, result.stdout);
      assert.deepEqual((await db.knex('clients').where({ id: 'acme' }).first()).delivery, before, 'nothing saved');
      return result.stderr;
    };
    const envRule = "allowed: an environment variable named TWOWAY_SECRET_<NAME> (TWOWAY_SECRET_ENV_PREFIX) that is not one of the worker's own settings";
    const fileRule = 'allowed: a file inside /run/secrets/twoway (TWOWAY_SECRETS_DIR) that only its owner can read (chmod 600)';
    // The issue's reproductions: the worker's database URL and its whole environment as a client's password.
    assert.equal(
      await refused({}, 'delivery.passphrase.env=DATABASE_URL'),
      `twoway-report: client "acme": delivery.passphrase refers to environment variable DATABASE_URL, which is one of the worker's own settings; ${envRule}\n`,
    );
    assert.ok(
      (await refused({}, 'delivery.privateKey.file=/proc/self/environ')).startsWith(
        `twoway-report: client "acme": delivery.privateKey refers to file /proc/self/environ, which is outside the secrets folder /run/secrets/twoway; ${fileRule}`,
      ),
    );
    assert.match(await refused({}, 'delivery.passphrase.env=TEMPORAL_API_KEY'), /TEMPORAL_API_KEY, which is one of the worker's own settings/);
    // SPEC's example name is not under the default prefix; an operator names it TWOWAY_SECRET_… or sets the prefix.
    assert.match(await refused({}, 'delivery.passphrase.env=ACME_SFTP_PASSWORD'), /ACME_SFTP_PASSWORD, which is not named TWOWAY_SECRET_<NAME>/);
    assert.match(
      await refused({ TWOWAY_SECRET_ENV_PREFIX: 'TEMPORAL_' }, 'delivery.passphrase.env=TEMPORAL_API_KEY'),
      /TEMPORAL_API_KEY, which is one of the worker's own settings; allowed: an environment variable named TEMPORAL_<NAME>/,
    );
    assert.match(
      await refused({ TWOWAY_SECRETS_DIR: '/srv/acme-secrets' }, 'delivery.privateKey.file=/run/secrets/twoway/acme_key'),
      /outside the secrets folder \/srv\/acme-secrets; allowed: a file inside \/srv\/acme-secrets/,
    );
    assert.match(await refused({ TWOWAY_SECRET_ENV_PREFIX: '' }, 'frequency=weekly'), /^twoway-report: TWOWAY_SECRET_ENV_PREFIX is empty/);

    const prefixed = await runCliProcess(['clients', 'set', '--client', 'acme', '--set', 'delivery.passphrase.env=ACME_KEY_PASSPHRASE'], {
      DATABASE_URL: db.url,
      TWOWAY_SECRET_ENV_PREFIX: 'ACME_',
    });
    assert.equal(prefixed.status, 0, prefixed.stderr);
    const back = await cli('clients', 'set', '--client', 'acme', '--unset', 'delivery.passphrase');
    assert.equal(back.status, 0, back.stderr);
  });

  it('refuses `--set delivery.__proto__.protocol=sftp` as bad usage and leaves the invalid delivery invalid', async () => {
    const before = (await db.knex('clients').where({ id: 'acme' }).first()).delivery;
    // The reproduction: without a protocol the delivery is invalid; the prototype must not supply one.
    const polluting = await cli('clients', 'set', '--client', 'acme', '--unset', 'delivery.protocol', '--set', 'delivery.__proto__.protocol=sftp');
    assert.equal(polluting.status, 2);
    assert.equal(
      polluting.stderr,
      'twoway-report: setting "delivery.__proto__.protocol": "__proto__" is not a setting name (it would reach JavaScript\'s object prototype); allowed: the names of columns and of their fields, such as delivery.password.env\n' +
        'run `twoway-report clients --help` for its usage\n',
    );
    for (const path of ['delivery.constructor.prototype.protocol', 'delivery.prototype']) {
      const result = await cli('clients', 'set', '--client', 'acme', '--set', `${path}=sftp`);
      assert.equal(result.status, 2, path);
      assert.match(result.stderr, /is not a setting name/);
    }
    const added = await cli('clients', 'add', '--client', 'proto', '--name', 'Proto', '--set', 'delivery.__proto__.protocol=sftp');
    assert.equal(added.status, 2);
    assert.equal(await db.knex('clients').where({ id: 'proto' }).first(), undefined);
    assert.deepEqual((await db.knex('clients').where({ id: 'acme' }).first()).delivery, before);
    // Without the prototype, the same edit is the invalid delivery it is.
    const invalid = await cli('clients', 'set', '--client', 'acme', '--unset', 'delivery.protocol');
    assert.equal(invalid.status, 1);
    assert.match(invalid.stderr, /client "acme": delivery\.protocol is nothing; allowed: "sftp"/);
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

  it('refuses a time zone not in its canonical spelling, naming the one to use, and saves nothing', async () => {
    for (const [given, canonical] of [
      ['est', 'America/Panama'],
      ['america/chicago', 'America/Chicago'],
      ['US/Eastern', 'America/New_York'],
    ] as const) {
      const result = await cli('clients', 'set', '--client', 'acme', '--set', `timezone=${given}`);
      assert.equal(result.status, 1, given);
      assert.match(
        result.stderr,
        new RegExp(`^twoway-report: client "acme": timezone is "${given.replace('/', '\\/')}"; allowed: .*did you mean "${canonical.replace('/', '\\/')}"\\?`),
      );
    }
    assert.equal((await db.knex('clients').where({ id: 'acme' }).first()).timezone, 'America/Chicago');
  });

  it('refuses a bad enabled value with its field and what is allowed, not a database error', async () => {
    const result = await cli('clients', 'set', '--client', 'acme', '--set', 'enabled=maybe');
    assert.equal(result.status, 1);
    assert.equal(result.stderr, 'twoway-report: client "acme": enabled is "maybe"; allowed: true or false\n');
    assert.equal((await db.knex('clients').where({ id: 'acme' }).first()).enabled, true);
  });

  it('sets a due time and the date a client became active, validated like every setting', async () => {
    const saved = await cli('clients', 'set', '--client', 'acme', '--set', 'due=+1 07:30', '--set', 'active_since=2026-11-01');
    assert.equal(saved.status, 0, saved.stderr);
    assert.match(saved.stdout, /^saved due, active_since: acme .*due \+1 07:30, active since 2026-11-01 /);
    assert.deepEqual(await db.knex('client_watch').select('due', 'active_since').where({ client_id: 'acme' }).first(), {
      due: '+1 07:30',
      active_since: '2026-11-01',
    });
    const refused = await cli('clients', 'set', '--client', 'acme', '--set', 'due=tomorrow 9am');
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^twoway-report: client "acme": due is "tomorrow 9am"; allowed: "\+N HH:MM"/);
    const badDate = await cli('clients', 'set', '--client', 'acme', '--set', 'active_since=2026-02-30');
    assert.equal(badDate.status, 1);
    assert.match(badDate.stderr, /client "acme": active_since is "2026-02-30"; allowed: a date YYYY-MM-DD/);
    const back = await cli('clients', 'set', '--client', 'acme', '--unset', 'due');
    assert.equal(back.status, 0, back.stderr);
    assert.match(back.stdout, /due default, active since 2026-11-01/);
    assert.deepEqual(await db.knex('client_watch').select('due', 'active_since').where({ client_id: 'acme' }).first(), {
      due: null,
      active_since: '2026-11-01',
    });
  });

  it('adds a validated client, and refuses an existing id or an invalid row', async () => {
    const added = await cli(
      'clients',
      'add',
      '--client',
      'newco',
      '--name',
      'New Co',
      '--set',
      'timezone=Europe/Berlin',
      '--set',
      'frequency=weekly',
      '--set',
      'enabled=false',
    );
    assert.equal(added.status, 0, added.stderr);
    // Watched from the day it is added, in its own zone.
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin' }).format(new Date());
    assert.match(
      added.stdout,
      new RegExp(
        `^added newco {2}weekly Europe/Berlin {2}production, disabled, no after-hours, due default, active since ${today} {2}no delivery\nrun \`twoway-report schedules sync\``,
      ),
    );
    const row = await db.knex('clients').where({ id: 'newco' }).first();
    assert.deepEqual([row.name, row.timezone, row.frequency, row.enabled, row.delivery], ['New Co', 'Europe/Berlin', 'weekly', false, null]);
    assert.equal((await db.knex('client_watch').where({ client_id: 'newco' }).first()).active_since, today);

    const again = await cli('clients', 'add', '--client', 'newco', '--name', 'Other', '--set', 'enabled=false');
    assert.equal(again.status, 1);
    assert.match(again.stderr, /^twoway-report: client "newco" already exists in the clients table/);
    assert.equal((await db.knex('clients').where({ id: 'newco' }).first()).name, 'New Co');

    const invalid = await cli('clients', 'add', '--client', 'badzone', '--name', 'Bad', '--set', 'timezone=est', '--set', 'enabled=false');
    assert.equal(invalid.status, 1);
    assert.match(invalid.stderr, /client "badzone": timezone is "est"; .*did you mean "America\/Panama"\?/);
    const noDelivery = await cli('clients', 'add', '--client', 'nodelivery', '--name', 'No delivery');
    assert.equal(noDelivery.status, 1);
    assert.match(noDelivery.stderr, /client "nodelivery": delivery is null/);
    const badId = await cli('clients', 'add', '--client', 'no/slash', '--name', 'Bad id');
    assert.equal(badId.status, 1);
    assert.match(badId.stderr, /client "no\/slash": id is "no\/slash"; allowed: letters, digits/);
    assert.deepEqual((await db.knex('clients').whereIn('id', ['badzone', 'nodelivery', 'no/slash'])).length, 0);
    assert.equal((await cli('clients', 'add', '--client', 'x')).status, 2, '--name is required');
  });

  it('enables only a row that validates as enabled, and disables any row, even an invalid one', async () => {
    const refused = await cli('clients', 'enable', '--client', 'newco');
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^twoway-report: client "newco": delivery is null; allowed: SFTP settings/);
    assert.equal((await db.knex('clients').where({ id: 'newco' }).first()).enabled, false);

    const disabled = await cli('clients', 'disable', '--client', 'broken');
    assert.equal(disabled.status, 0, disabled.stderr);
    assert.match(disabled.stdout, /^disabled broken\n/);
    assert.equal((await db.knex('clients').where({ id: 'broken' }).first()).enabled, false);

    await cli('clients', 'disable', '--client', 'acme');
    assert.equal((await db.knex('clients').where({ id: 'acme' }).first()).enabled, false);
    const enabled = await cli('clients', 'enable', '--client', 'acme');
    assert.equal(enabled.status, 0, enabled.stderr);
    assert.match(enabled.stdout, /^saved enabled: acme .* production, enabled,/);
    assert.equal((await db.knex('clients').where({ id: 'acme' }).first()).enabled, true);
  });

  it('exits 1 with a one-line reason for an unknown client', async () => {
    for (const action of ['enable', 'disable']) {
      const result = await cli('clients', action, '--client', 'nosuch');
      assert.equal(result.status, 1, action);
      assert.equal(result.stderr, 'twoway-report: client "nosuch" does not exist in the clients table\n');
    }
    const set = await cli('clients', 'set', '--client', 'nosuch', '--set', 'frequency=daily');
    assert.equal(set.status, 1);
    assert.equal(set.stderr, 'twoway-report: client "nosuch" does not exist in the clients table\n');
  });
});

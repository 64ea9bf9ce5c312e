import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { migrateLatest } from '../../src/db/knex.js';

describe('migrations', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db.drop();
  });

  it('creates the source tables with the columns SPEC section 2 names, in order', async () => {
    const columns = async (table: string) =>
      (
        await db
          .knex('information_schema.columns')
          .where({ table_schema: 'public', table_name: table })
          .orderBy('ordinal_position')
          .select<{ column_name: string; data_type: string }[]>('column_name', 'data_type')
      ).map((row) => `${row.column_name}:${row.data_type}`);
    assert.deepEqual(await columns('clients'), [
      'id:text',
      'name:text',
      'environment:text',
      'timezone:text',
      'frequency:text',
      'enabled:boolean',
      'after_hours:jsonb',
      'delivery:jsonb',
      'file_name_template:text',
    ]);
    assert.deepEqual(await columns('agents'), ['id:text', 'email:text', 'first_name:text', 'last_name:text', 'roles:ARRAY', 'control_group:text']);
    assert.deepEqual(await columns('customers'), ['client_id:text', 'ccid:text', 'first_name:text', 'last_name:text', 'product_group_id:text']);
    assert.deepEqual(await columns('twoway_events'), [
      'id:bigint',
      'client_id:text',
      'event_name:text',
      'event_time:timestamp with time zone',
      'ccid:text',
      'agent_id:text',
      'control_tag:text',
      'twoway_channel_sid:text',
      'conversation_id:text',
      'closed_reason:text',
      'closed_additional_information:text',
      'sender_type:text',
      'conversation_status:text',
      'message_text:text',
      'received_at:timestamp with time zone',
    ]);
  });

  it('applies defaults and keys as the contract declares them', async () => {
    await db.knex('clients').insert({ id: 'defaults', name: 'Defaults' });
    const client = await db.knex('clients').where({ id: 'defaults' }).first();
    assert.equal(client.environment, 'production');
    assert.equal(client.timezone, 'UTC');
    assert.equal(client.frequency, 'daily');
    assert.equal(client.enabled, true);
    await assert.rejects(db.knex('customers').insert({ client_id: 'nobody', ccid: 'c1' }), /foreign key/);
    await assert.rejects(
      db.knex.raw("INSERT INTO twoway_events (id, client_id, event_name, event_time) VALUES (1, 'x', 'y', now())"),
      /cannot insert a non-DEFAULT value into column "id"/,
    );
    const [{ indexdef }] = (await db.knex.raw("SELECT indexdef FROM pg_indexes WHERE tablename = 'twoway_events' AND indexname LIKE '%event_time%'")).rows;
    assert.match(indexdef, /\(client_id, event_time, id\)/);
  });

  it("indexes the ledger by start for status's newest runs, so listing them reads n entries, not the whole ledger", async () => {
    const [{ indexdef }] = (await db.knex.raw("SELECT indexdef FROM pg_indexes WHERE indexname = 'report_runs_started_idx'")).rows;
    assert.match(indexdef, /ON public\.report_runs USING btree \(started_at, id\)/);
    await db.knex.transaction(async (trx) => {
      // Too few rows for the planner to prefer it by cost; with scans priced out it must be usable for the ORDER BY … DESC LIMIT.
      await trx.raw('SET LOCAL enable_seqscan = off');
      const plan = (await trx.raw('EXPLAIN SELECT * FROM report_runs ORDER BY started_at DESC, id DESC LIMIT 30')).rows.map(
        (row: Record<string, string>) => Object.values(row)[0],
      );
      assert.match(plan.join('\n'), /Index Scan Backward using report_runs_started_idx/);
    });
  });

  it('is idempotent: a second run applies nothing', async () => {
    assert.deepEqual(await migrateLatest(db.knex), []);
  });

  it('keeps at most one delivered row per period revision in the ledger', async () => {
    const row = {
      client_id: 'acme',
      frequency: 'daily',
      period_start: '2026-11-24',
      period_end: '2026-11-25',
      status: 'delivered',
      revision: 1,
      workflow_id: 'w',
      run_id: 'r1',
    };
    await db.knex('report_runs').insert(row);
    await assert.rejects(db.knex('report_runs').insert({ ...row, run_id: 'r2' }), /report_runs_delivered_revision_idx/);
    await db.knex('report_runs').insert({ ...row, run_id: 'r3', status: 'failed' });
  });
});

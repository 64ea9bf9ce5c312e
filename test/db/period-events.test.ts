import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readPeriodFingerprint, readPeriodFingerprints } from '../../src/db/period-events.js';
import type { SourceFingerprint } from '../../src/domain/late-data.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const DAY = '2026-11-24';
const NEXT = '2026-11-25';
const range = (label: string, start: string, end: string) => ({
  label,
  startInstant: Date.parse(`${start}T00:00:00Z`),
  endInstant: Date.parse(`${end}T00:00:00Z`),
});

describe('source fingerprints of periods (real PostgreSQL)', () => {
  let db: TestDatabase;
  const fingerprint = async (): Promise<SourceFingerprint> => {
    const found = (await readPeriodFingerprints(db.knex, 'acme', [range(DAY, DAY, NEXT)])).get(DAY);
    assert.ok(found);
    return found;
  };

  before(async () => {
    db = await createTestDatabase();
    await db.knex('clients').insert([
      { id: 'acme', name: 'Acme' },
      { id: 'other', name: 'Other' },
    ]);
    await db.knex('agents').insert({ id: 'agent-1', email: 'ann@example.com', first_name: 'Ann', roles: ['twoway_agent'] });
    await db.knex('customers').insert({ client_id: 'acme', ccid: 'cc-1', first_name: 'Bo' });
    await db.knex('twoway_events').insert([
      { client_id: 'acme', event_name: 'twoway.agent_ping', event_time: `${DAY}T10:00:00Z`, ccid: 'cc-1', agent_id: 'agent-1' },
      { client_id: 'acme', event_name: 'twoway_webhook.customer_message_sent', event_time: `${DAY}T11:00:00Z`, ccid: 'cc-2', message_text: 'hi' },
    ]);
  });

  after(async () => {
    await db?.drop();
  });

  it('reads every period of a client in one statement, as each would be read alone, empty ones too', async () => {
    const ranges = [range(DAY, DAY, NEXT), range(NEXT, NEXT, '2026-11-26')];
    const together = await readPeriodFingerprints(db.knex, 'acme', ranges);
    for (const one of ranges) assert.deepEqual(together.get(one.label), await readPeriodFingerprint(db.knex, { clientId: 'acme', ...one }));
    assert.equal(together.get(DAY)?.rows, 2);
    assert.deepEqual(together.get(NEXT), { rows: 0, events: '0', joined: '0' });
  });

  it('changes with what the file shows, and with nothing else', async () => {
    const before = await fingerprint();
    // Nothing the file shows: another client, an excluded type, the first instant after the period, a field never exported.
    await db.knex('twoway_events').insert([
      { client_id: 'other', event_name: 'twoway.agent_ping', event_time: `${DAY}T10:00:00Z` },
      { client_id: 'acme', event_name: 'twoway_webhook.message_read', event_time: `${DAY}T10:30:00Z` },
      { client_id: 'acme', event_name: 'twoway.agent_ping', event_time: `${NEXT}T00:00:00Z` },
    ]);
    await db.knex('twoway_events').where({ message_text: 'hi' }).update({ message_text: 'edited' });
    assert.deepEqual(await fingerprint(), before);

    // A renamed agent changes the joined part only; an edited event the events part.
    await db.knex('agents').where({ id: 'agent-1' }).update({ first_name: 'Anne' });
    const renamed = await fingerprint();
    assert.deepEqual([renamed.rows, renamed.events], [before.rows, before.events]);
    assert.notEqual(renamed.joined, before.joined);
    await db.knex('twoway_events').where({ ccid: 'cc-2' }).update({ control_tag: 'tagged' });
    const edited = await fingerprint();
    assert.notEqual(edited.events, renamed.events);
    assert.equal(edited.rows, 2);

    // A customer row appearing for an event that had none is a joined change; a deleted event changes the count.
    await db.knex('customers').insert({ client_id: 'acme', ccid: 'cc-2', first_name: 'Cy' });
    assert.notEqual((await fingerprint()).joined, edited.joined);
    await db.knex('twoway_events').where({ ccid: 'cc-2' }).delete();
    assert.equal((await fingerprint()).rows, 1);
  });
});

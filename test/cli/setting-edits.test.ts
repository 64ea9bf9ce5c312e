import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/domain/errors.js';
import { applyEdits, parseSetEdit, parseUnsetEdit } from '../../src/cli/setting-edits.js';

describe('setting edits', () => {
  const row = { id: 'acme', timezone: 'UTC', enabled: true, delivery: { host: 'h', password: { env: 'OLD' } }, after_hours: null };

  it('reads values as JSON when they are JSON, else as text', () => {
    assert.deepEqual(parseSetEdit('enabled=false'), { kind: 'set', path: ['enabled'], value: false });
    assert.deepEqual(parseSetEdit('delivery.port=2222'), { kind: 'set', path: ['delivery', 'port'], value: 2222 });
    assert.deepEqual(parseSetEdit('timezone=Europe/Berlin'), { kind: 'set', path: ['timezone'], value: 'Europe/Berlin' });
    assert.deepEqual(parseSetEdit('delivery.password={"env":"NEW"}'), { kind: 'set', path: ['delivery', 'password'], value: { env: 'NEW' } });
  });

  it('sets and unsets paths inside JSON columns without touching the original row', () => {
    const edited = applyEdits(row, [
      parseUnsetEdit('delivery.password'),
      parseSetEdit('delivery.privateKey.file=/run/secrets/key'),
      parseSetEdit('after_hours.businessHours.mon=[["08:00","17:00"]]'),
    ]);
    assert.deepEqual(edited.delivery, { host: 'h', privateKey: { file: '/run/secrets/key' } });
    assert.deepEqual(edited.after_hours, { businessHours: { mon: [['08:00', '17:00']] } });
    assert.deepEqual(row.delivery, { host: 'h', password: { env: 'OLD' } });
    assert.equal(applyEdits(row, [parseUnsetEdit('delivery')]).delivery, null);
  });

  it('refuses unknown columns, paths into plain columns and a missing =', () => {
    assert.throws(() => parseSetEdit('id=other'), UsageError);
    assert.throws(() => parseSetEdit('timezone.x=1'), /timezone has no fields/);
    assert.throws(() => parseSetEdit('frequency'), /allowed: path=value/);
    assert.throws(() => parseUnsetEdit('delivery..x'), UsageError);
  });
});

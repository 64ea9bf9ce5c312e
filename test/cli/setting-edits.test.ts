import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDeliverySettings } from '../../src/domain/client-config.js';
import { InvalidClientSettingError, UsageError } from '../../src/domain/errors.js';
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

  it('refuses path parts that reach object prototypes, naming the part and what is allowed', () => {
    for (const [raw, part] of [
      ['delivery.__proto__.protocol=sftp', '__proto__'],
      ['delivery.constructor.prototype.protocol=sftp', 'constructor'],
      ['after_hours.prototype=1', 'prototype'],
      ['__proto__=1', '__proto__'],
    ] as const) {
      assert.throws(
        () => parseSetEdit(raw),
        (error: unknown) =>
          error instanceof UsageError &&
          error.message.startsWith(`setting "${raw.slice(0, raw.indexOf('='))}": "${part}" is not a setting name`) &&
          error.message.endsWith('allowed: the names of columns and of their fields, such as delivery.password.env'),
        raw,
      );
    }
    assert.throws(() => parseUnsetEdit('delivery.__proto__'), /"__proto__" is not a setting name/);
  });

  it('never changes a prototype, even given a path parsePath would refuse', () => {
    const invalid = { id: 'acme', delivery: { host: 'sftp.example.com' } };
    const edited = applyEdits(invalid, [
      { kind: 'set', path: ['delivery', '__proto__', 'protocol'], value: 'sftp' },
      { kind: 'set', path: ['delivery', 'constructor', 'prototype', 'protocol'], value: 'sftp' },
      { kind: 'set', path: ['__proto__'], value: { polluted: true } },
      { kind: 'unset', path: ['delivery', 'toString'] },
    ]);
    assert.equal(({} as Record<string, unknown>).protocol, undefined, 'Object.prototype is untouched');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(edited), Object.prototype);
    const delivery = edited.delivery as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(delivery), Object.prototype);
    assert.equal(delivery.protocol, undefined, 'no protocol, own or inherited');
    assert.deepEqual(Object.keys(delivery), ['host', '__proto__', 'constructor']);
    // What was written is data the domain refuses by name, as JSON round-trips it.
    assert.throws(
      () => parseDeliverySettings('acme', JSON.parse(JSON.stringify(delivery))),
      (error: unknown) => error instanceof InvalidClientSettingError && /delivery\.__proto__ is present/.test(error.message),
    );
  });
});

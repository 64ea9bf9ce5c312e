/**
 * Edits of a client row given on the command line: `--set path=value` and `--unset path`,
 * where path is a column (`timezone`) or a path into a JSON column (`delivery.password.env`).
 * Pure: the command validates the result with the domain before saving anything.
 */
import { UsageError, describeValue } from '../domain/errors.js';

export const CLIENT_COLUMNS = ['name', 'environment', 'timezone', 'frequency', 'enabled', 'after_hours', 'delivery', 'file_name_template'] as const;
/** Settings of the project's own `client_watch` table, edited like columns of the client. */
export const WATCH_COLUMNS = ['due', 'active_since'] as const;
export const EDITABLE_COLUMNS = [...CLIENT_COLUMNS, ...WATCH_COLUMNS] as const;
const JSON_COLUMNS = new Set(['after_hours', 'delivery']);
const PATH_PART = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Names that reach JavaScript's object prototypes (`delivery.__proto__.protocol` would set it on every object): never a setting. */
const PROTOTYPE_PARTS = new Set(['__proto__', 'constructor', 'prototype']);

export type Edit = { readonly kind: 'set'; readonly path: string[]; readonly value: unknown } | { readonly kind: 'unset'; readonly path: string[] };

function parsePath(raw: string): string[] {
  const path = raw.split('.');
  const [column] = path;
  const prototypePart = path.find((part) => PROTOTYPE_PARTS.has(part));
  if (prototypePart !== undefined) {
    throw new UsageError(
      `setting ${describeValue(raw)}: "${prototypePart}" is not a setting name (it would reach JavaScript's object prototype); allowed: the names of columns and of their fields, such as delivery.password.env`,
    );
  }
  if (!column || !(EDITABLE_COLUMNS as readonly string[]).includes(column) || !path.every((part) => PATH_PART.test(part))) {
    throw new UsageError(
      `setting ${describeValue(raw)}: allowed: one of ${EDITABLE_COLUMNS.join(', ')}, or a path into after_hours or delivery such as delivery.password.env`,
    );
  }
  if (path.length > 1 && !JSON_COLUMNS.has(column))
    throw new UsageError(`setting ${describeValue(raw)}: ${column} has no fields; allowed: paths into after_hours or delivery`);
  return path;
}

/** `path=value`; the value is read as JSON when it is JSON (true, 22, {"env":"X"}), else as text. */
export function parseSetEdit(raw: string): Edit {
  const equals = raw.indexOf('=');
  if (equals <= 0) throw new UsageError(`--set ${describeValue(raw)}: allowed: path=value, e.g. frequency=weekly`);
  const text = raw.slice(equals + 1);
  let value: unknown = text;
  try {
    value = JSON.parse(text);
  } catch {
    // Plain text, such as a time zone name.
  }
  return { kind: 'set', path: parsePath(raw.slice(0, equals)), value };
}

export function parseUnsetEdit(raw: string): Edit {
  return { kind: 'unset', path: parsePath(raw) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An own property that is an object, never one reached through the prototype. */
function ownObject(target: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const value = Object.hasOwn(target, key) ? target[key] : undefined;
  return isObject(value) ? value : undefined;
}

/** Sets an own property, even one named like a prototype accessor (`__proto__`), which plain assignment would not create. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * Applies the edits to a copy of the row; JSON objects on the way are created as needed. Only
 * own properties are read and written, so no path, even one parsePath would refuse, can
 * change a prototype.
 */
export function applyEdits(row: Readonly<Record<string, unknown>>, edits: readonly Edit[]): Record<string, unknown> {
  const result: Record<string, unknown> = structuredClone({ ...row });
  for (const edit of edits) {
    const [column, ...inside] = edit.path as [string, ...string[]];
    if (inside.length === 0) {
      setOwn(result, column, edit.kind === 'set' ? edit.value : null);
      continue;
    }
    let target = ownObject(result, column);
    if (!target) {
      target = {};
      setOwn(result, column, target);
    }
    for (const part of inside.slice(0, -1)) {
      let next = ownObject(target, part);
      if (!next) {
        next = {};
        setOwn(target, part, next);
      }
      target = next;
    }
    const last = inside[inside.length - 1] as string;
    if (edit.kind === 'set') setOwn(target, last, edit.value);
    else if (Object.hasOwn(target, last)) delete target[last];
  }
  return result;
}

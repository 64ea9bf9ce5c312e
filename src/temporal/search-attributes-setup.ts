/**
 * The namespace's search attributes (TwowayClient, TwowayFrequency, TwowayPeriod): registered
 * once per namespace by `twoway-report setup-namespace` (or, in docker-compose, by the
 * temporal-init service), never by the worker. On Temporal Cloud they are created in the
 * Cloud UI or with `tcld`: a Cloud namespace's search attributes are managed outside the
 * operator API a worker's API key reaches.
 */
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes.js';

/** The part of a connection these calls need: the client's Connection and the worker's NativeConnection both have it. */
export interface OperatorConnection {
  readonly operatorService: {
    listSearchAttributes(request: {
      namespace: string;
    }): Promise<{ customAttributes?: Record<string, unknown> | null; systemAttributes?: Record<string, unknown> | null }>;
    addSearchAttributes(request: { namespace: string; searchAttributes: Record<string, proto.temporal.api.enums.v1.IndexedValueType> }): Promise<unknown>;
  };
}

/** The project's search attributes the namespace lacks. Throws what the server throws (a Cloud API key may not list them). */
export async function missingSearchAttributes(connection: OperatorConnection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set([...Object.keys(existing.customAttributes ?? {}), ...Object.keys(existing.systemAttributes ?? {})]);
  return SEARCH_ATTRIBUTE_KEYS.map((key) => key.name).filter((name) => !known.has(name));
}

/** Registers the missing search attributes (Keyword); returns the names it added. */
export async function ensureSearchAttributes(connection: OperatorConnection, namespace: string): Promise<string[]> {
  const missing = await missingSearchAttributes(connection, namespace);
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((name) => [name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
  return missing;
}

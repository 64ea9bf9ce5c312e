/** The report's columns and how one source event becomes one record [SPEC §1, §4]. */

/** The only events the report contains. */
export const INCLUDED_EVENT_NAMES: readonly string[] = [
  'twoway.agent_ping',
  'twoway.agent_invite',
  'twoway.channel_closed',
  'twoway_webhook.customer_message_sent',
  'twoway_webhook.agent_message_sent',
  'twoway_webhook.system_message_sent',
  'twoway_webhook.member_added',
  'twoway_webhook.member_removed',
  'twoway_webhook.channel_added',
];

export interface ReportColumn {
  readonly name: string;
  /** Longest value in Unicode code points; null where the value's format bounds it. */
  readonly maxLength: number | null;
}

export const REPORT_COLUMNS: readonly ReportColumn[] = [
  { name: 'agent_email', maxLength: 100 },
  { name: 'agent_first_name', maxLength: 100 },
  { name: 'agent_last_name', maxLength: 100 },
  { name: 'agent_roles', maxLength: 1024 },
  { name: 'agent_control_group', maxLength: 100 },
  { name: 'ccid', maxLength: 255 },
  { name: 'customer_first_name', maxLength: 100 },
  { name: 'customer_last_name', maxLength: 100 },
  { name: 'product_group_id', maxLength: 255 },
  { name: 'event_type', maxLength: 100 },
  { name: 'event_subtype', maxLength: 100 },
  { name: 'event_time', maxLength: null },
  { name: 'control_tag', maxLength: 100 },
  { name: 'twoway_channel_sid', maxLength: 100 },
  { name: 'conversation_id', maxLength: 256 },
  { name: 'closed_reason', maxLength: 256 },
  { name: 'closed_additional_information', maxLength: 1024 },
  { name: 'after_hours_flag', maxLength: null },
  { name: 'sender_type', maxLength: 50 },
  { name: 'conversation_status', maxLength: 50 },
];

export const REPORT_HEADER: readonly string[] = REPORT_COLUMNS.map((column) => column.name);

/**
 * The fields the extraction query selects, in this order. The joins, the roles join and the
 * UTC millisecond formatting of `event_time` happen in SQL; everything else happens here.
 */
export const SOURCE_FIELDS = [
  'agent_email',
  'agent_first_name',
  'agent_last_name',
  /** `agents.roles` joined with `|` in array order (a null element as an empty string). */
  'agent_roles',
  'agent_control_group',
  'ccid',
  'customer_first_name',
  'customer_last_name',
  'product_group_id',
  'event_name',
  /** `2026-11-24T13:05:22.123Z`: UTC, milliseconds, sub-millisecond digits truncated. */
  'event_time',
  'control_tag',
  'twoway_channel_sid',
  'conversation_id',
  'closed_reason',
  'closed_additional_information',
  'sender_type',
  'conversation_status',
] as const;

export type SourceField = (typeof SOURCE_FIELDS)[number];
/** One extracted event, indexed like SOURCE_FIELDS; null for SQL NULL. */
export type SourceRow = readonly (string | null)[];
/** One record of the file, indexed like REPORT_COLUMNS; null becomes an empty field. */
export type ReportRecord = (string | null)[];

const DEFAULT_SENDER_TYPES: Readonly<Record<string, string>> = {
  'twoway_webhook.customer_message_sent': 'customer',
  'twoway_webhook.agent_message_sent': 'agent',
  'twoway.agent_ping': 'agent',
  'twoway.agent_invite': 'agent',
};
const FALLBACK_SENDER_TYPE = 'system';

/**
 * Cuts a value to `maxLength` Unicode code points (as PostgreSQL's `char_length` counts
 * them), never splitting a surrogate pair.
 */
export function truncateCodePoints(value: string, maxLength: number): string {
  // A string of n UTF-16 units holds at most n code points: most values end here.
  if (value.length <= maxLength) return value;
  let units = 0;
  for (let points = 0; points < maxLength && units < value.length; points++) {
    const code = value.charCodeAt(units);
    const isPairStart = code >= 0xd800 && code <= 0xdbff && units + 1 < value.length;
    units += isPairStart && isLowSurrogate(value.charCodeAt(units + 1)) ? 2 : 1;
  }
  return value.slice(0, units);
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function cut(value: string | null | undefined, maxLength: number): string | null {
  return value === null || value === undefined ? null : truncateCodePoints(value, maxLength);
}

/** `sender_type`, or what the event implies when it is null [§4 column 19]. */
export function senderTypeOf(eventName: string, senderType: string | null | undefined): string {
  if (senderType !== null && senderType !== undefined) return senderType;
  return DEFAULT_SENDER_TYPES[eventName] ?? FALLBACK_SENDER_TYPE;
}

/** Position of each source field in a SourceRow. */
export const SOURCE_INDEX = Object.fromEntries(SOURCE_FIELDS.map((field, index) => [field, index])) as Record<SourceField, number>;
const at = SOURCE_INDEX;

function limitOf(column: string): number {
  const found = REPORT_COLUMNS.find((candidate) => candidate.name === column);
  if (!found?.maxLength) throw new Error(`column ${column} has no length limit`);
  return found.maxLength;
}

const LIMIT = {
  agent_email: limitOf('agent_email'),
  agent_first_name: limitOf('agent_first_name'),
  agent_last_name: limitOf('agent_last_name'),
  agent_roles: limitOf('agent_roles'),
  agent_control_group: limitOf('agent_control_group'),
  ccid: limitOf('ccid'),
  customer_first_name: limitOf('customer_first_name'),
  customer_last_name: limitOf('customer_last_name'),
  product_group_id: limitOf('product_group_id'),
  event_type: limitOf('event_type'),
  event_subtype: limitOf('event_subtype'),
  control_tag: limitOf('control_tag'),
  twoway_channel_sid: limitOf('twoway_channel_sid'),
  conversation_id: limitOf('conversation_id'),
  closed_reason: limitOf('closed_reason'),
  closed_additional_information: limitOf('closed_additional_information'),
  sender_type: limitOf('sender_type'),
  conversation_status: limitOf('conversation_status'),
};

/** Maps one extracted event to one file record, in REPORT_COLUMNS order. `afterHours` comes from the client's settings [§5]. */
export function toReportRecord(source: SourceRow, afterHours: boolean): ReportRecord {
  const eventName = source[at.event_name] ?? '';
  const dot = eventName.indexOf('.');
  const eventType = dot === -1 ? eventName : eventName.slice(0, dot);
  const eventSubtype = dot === -1 ? '' : eventName.slice(dot + 1);
  return [
    cut(source[at.agent_email], LIMIT.agent_email),
    cut(source[at.agent_first_name], LIMIT.agent_first_name),
    cut(source[at.agent_last_name], LIMIT.agent_last_name),
    cut(source[at.agent_roles], LIMIT.agent_roles),
    cut(source[at.agent_control_group], LIMIT.agent_control_group),
    cut(source[at.ccid], LIMIT.ccid),
    cut(source[at.customer_first_name], LIMIT.customer_first_name),
    cut(source[at.customer_last_name], LIMIT.customer_last_name),
    cut(source[at.product_group_id], LIMIT.product_group_id),
    truncateCodePoints(eventType, LIMIT.event_type),
    truncateCodePoints(eventSubtype, LIMIT.event_subtype),
    source[at.event_time] ?? null,
    cut(source[at.control_tag], LIMIT.control_tag),
    cut(source[at.twoway_channel_sid], LIMIT.twoway_channel_sid),
    cut(source[at.conversation_id], LIMIT.conversation_id),
    cut(source[at.closed_reason], LIMIT.closed_reason),
    cut(source[at.closed_additional_information], LIMIT.closed_additional_information),
    afterHours ? 'true' : 'false',
    truncateCodePoints(senderTypeOf(eventName, source[at.sender_type]), LIMIT.sender_type),
    cut(source[at.conversation_status], LIMIT.conversation_status),
  ];
}

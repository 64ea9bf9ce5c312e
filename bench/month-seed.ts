/**
 * One production client-month of generated events (the project's own generator: realistic
 * names, agents, customers, conversations, the names a CSV writer must quote), for the
 * render and memory sections.
 */
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import { periodContaining } from '../src/domain/periods.js';
import { MS_PER_SECOND } from '../src/domain/time-zone.js';
import type { LocalDate, Period } from '../src/domain/types.js';
import { seedClients, seedEvents, type SeedClient } from '../src/db/seed.js';
import { count, line, seconds } from './format.js';

/** A full local month with a DST change (8 March 2026 in Chicago): 743 hours, handled exactly. */
export const BENCH_MONTH: LocalDate = '2026-03-01';
const BENCH_TIME_ZONE = 'America/Chicago';
/** Customers of a large client; events refer to ccids a little beyond them (missing customer rows). */
const CUSTOMERS_PER_MONTH_CLIENT = 20_000;
const WEEKDAY_HOURS = [['08:00', '17:00']];
/** After-hours settings, so every row's flag is computed (windows, a split day, a holiday). */
const AFTER_HOURS = {
  businessHours: {
    mon: WEEKDAY_HOURS,
    tue: [
      ['08:00', '12:00'],
      ['13:00', '17:00'],
    ],
    wed: WEEKDAY_HOURS,
    thu: WEEKDAY_HOURS,
    fri: [['08:00', '20:00']],
    sat: [['10:00', '14:00']],
  },
  holidays: ['2026-03-17'],
};

export interface SeededMonth {
  /** `1M`, `5M`: how the month is named in the output. */
  readonly label: string;
  readonly clientId: string;
  readonly events: number;
  /** A date inside the period, as `render --period` takes it. */
  readonly periodDate: LocalDate;
  readonly period: Period;
}

export function monthClient(id: string): SeedClient {
  return { id, name: `Benchmark ${id}`, environment: 'production', timezone: BENCH_TIME_ZONE, frequency: 'monthly', afterHours: AFTER_HOURS };
}

/** Seeds `events` events spread evenly over the month for a client of its own, and prints how long it took. */
export async function seedMonth(knex: Knex, label: string, events: number): Promise<SeededMonth> {
  const clientId = `bench-${label.toLowerCase()}`;
  const period = periodContaining('monthly', BENCH_MONTH, BENCH_TIME_ZONE);
  const started = performance.now();
  await seedClients(knex, [monthClient(clientId)]);
  await seedEvents(knex, {
    clientIds: [clientId],
    from: period.startInstant,
    to: period.endInstant,
    count: events,
    customersPerClient: CUSTOMERS_PER_MONTH_CLIENT,
  });
  const seeded = (performance.now() - started) / MS_PER_SECOND;
  // As autovacuum would in time: hint bits and the visibility map set once, not by the first measured reader.
  const vacuumStarted = performance.now();
  await knex.raw('VACUUM ANALYZE twoway_events');
  const vacuumed = (performance.now() - vacuumStarted) / MS_PER_SECOND;
  line(
    `seeded ${count(events)} events for ${clientId}, month ${period.start} .. ${period.lastDay} (${BENCH_TIME_ZONE}) in ${seconds(seeded)} (${count(events / seeded)} events/s); VACUUM ANALYZE ${seconds(vacuumed)}`,
  );
  return { label, clientId, events, periodDate: BENCH_MONTH, period };
}

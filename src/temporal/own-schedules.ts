/**
 * The project's own schedules (the watchdog's, the drift check's), beside the clients': each
 * created when missing and brought in line when its note (which states what it does and how
 * often) differs; a paused one stays paused.
 */
import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleOptions } from '@temporalio/client';
import type { SyncResult } from './schedules.js';

export async function syncOwnSchedule(
  client: Client,
  label: string,
  options: ScheduleOptions & { readonly state: { readonly note: string } },
): Promise<SyncResult> {
  const note = options.state.note;
  const handle = client.schedule.getHandle(options.scheduleId);
  try {
    const current = await handle.describe();
    if (current.state.note === note) return { clientId: label, action: 'unchanged', detail: note };
    await handle.update((previous) => ({
      ...previous,
      spec: options.spec,
      action: options.action,
      policies: options.policies,
      state: { ...previous.state, note },
    }));
    return { clientId: label, action: 'updated', detail: note };
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
  }
  try {
    await client.schedule.create(options);
  } catch (error) {
    // Created by a concurrent sync a moment ago.
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  return { clientId: label, action: 'created', detail: note };
}

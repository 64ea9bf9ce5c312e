/**
 * Watches the client's SFTP folder on the local disk (sshd serves a local directory) the way a
 * receiver would: lists it every POLL_INTERVAL_MS, and at once whenever the folder changes,
 * recording every (name, size) seen, for the whole drill.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export const POLL_INTERVAL_MS = 50;

export interface Sighting {
  readonly name: string;
  /** Every distinct size seen, in the order first seen. */
  readonly sizes: number[];
  readonly firstSeenAt: number;
  lastSeenAt: number;
}

export type ListingListener = (entries: ReadonlyMap<string, number>) => void;

export class FolderPoller {
  readonly sightings = new Map<string, Sighting>();
  /** Listings taken so far. */
  scans = 0;
  private readonly listeners = new Set<ListingListener>();
  private timer: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  private scanning: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(readonly folder: string) {}

  start(): void {
    this.timer = setInterval(() => this.trigger(), POLL_INTERVAL_MS);
    try {
      this.watcher = watch(this.folder, () => this.trigger());
      this.watcher.on('error', () => undefined);
    } catch {
      // The interval alone still lists the folder.
    }
    this.trigger();
  }

  /** Called after every listing with name → size of what is there now. */
  onListing(listener: ListingListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One more listing now, after any in progress; resolves when it is done. */
  async scanNow(): Promise<void> {
    this.trigger();
    while (this.scanning) await this.scanning;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.watcher?.close();
    while (this.scanning) await this.scanning;
  }

  private trigger(): void {
    if (this.stopped) return;
    if (this.scanning) {
      this.again = true;
      return;
    }
    this.scanning = this.scan().finally(() => {
      this.scanning = null;
      if (this.again) {
        this.again = false;
        this.trigger();
      }
    });
  }

  private async scan(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.folder);
    } catch {
      return;
    }
    const now = Date.now();
    const entries = new Map<string, number>();
    for (const name of names) {
      try {
        entries.set(name, (await stat(join(this.folder, name))).size);
      } catch {
        // Renamed or removed between the listing and the stat: the next listing sees where it went.
      }
    }
    this.scans += 1;
    for (const [name, size] of entries) {
      const seen = this.sightings.get(name);
      if (!seen) this.sightings.set(name, { name, sizes: [size], firstSeenAt: now, lastSeenAt: now });
      else {
        if (!seen.sizes.includes(size)) seen.sizes.push(size);
        seen.lastSeenAt = now;
      }
    }
    for (const listener of this.listeners) listener(entries);
  }
}

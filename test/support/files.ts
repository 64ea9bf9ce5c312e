import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Every file (not folder) under `dir`, as sorted paths inside it; none when `dir` is missing. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

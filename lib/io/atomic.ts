/** Crash-safe file writes: a reader sees the old file or the new one, never a torn one. */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ioError } from './output-dir.js';

/**
 * Writes `data` to `path` atomically: a temporary file beside it, fsync, rename over `path`, then an
 * fsync of the folder so the rename itself survives a crash.
 *
 * @example
 * ```ts
 * await writeFileAtomic('/models/run1/config.json', JSON.stringify(config));
 * ```
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let file: FileHandle;
  try {
    file = await open(tmp, 'wx');
  } catch (err) {
    throw ioError(path, 'cannot write', err);
  }
  try {
    await file.writeFile(data);
    await file.sync();
    await file.close();
    await rename(tmp, path);
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw ioError(path, 'cannot write', err);
  }
  fsyncDir(dirname(path));
}

/** Flushes a folder's entries (renames, new files) to disk. Windows cannot open folders for fsync. */
export function fsyncDir(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Puts the finished folder `tmp` (a sibling of `final`, fsynced) at `final` with renames: a previous
 * `final` is moved to `<tmp>.old` and deleted only once `tmp` is in place. A crash leaves the old folder
 * or the new one at `final` (or, between the two renames, neither there and the old one at `<tmp>.old`).
 */
export function swapInDir(tmp: string, final: string): void {
  if (existsSync(final)) {
    const old = `${tmp}.old`;
    renameSync(final, old);
    renameSync(tmp, final);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(tmp, final);
  }
  fsyncDir(dirname(final));
}

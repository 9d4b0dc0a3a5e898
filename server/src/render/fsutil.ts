// Small file helpers: atomic writes (temp file + rename, so a reader or a crash never sees half
// a file), reads that never wait on a special file, tolerant JSON reads, and a lock file shared
// by processes.
import { createHash, randomBytes } from 'node:crypto';
import { close, constants, fstat, open, promises as fs, read, readSync, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod/mini';
import { currentOwner, ownerAlive, type TakeOwner } from './owner';

/** Writes `data` to `file` atomically: a temp file in the same folder, then rename over it. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fs.writeFile(temp, data);
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}

/** Opening for reading never waits (a named pipe without a writer opens at once). */
export const READ_NONBLOCKING = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * A file opened for reading without waiting, and the opened file's own type and size (`fstat`,
 * so nothing can swap the path between a check and the open). A named pipe without a writer opens
 * at once instead of holding the caller; read only when `stat.isFile()` (a pipe or a terminal
 * could hold a read for ever), then `closeQuietly(fd)`. Node's callback API: its promise API's
 * FileHandle took twice as long for the 56 media files of the benchmark storyboard (7–8 ms
 * against 3.3 ms, median of 20 rounds).
 */
export async function openForReading(file: string): Promise<{ fd: number; stat: Stats }> {
  const fd = await new Promise<number>((resolve, reject) =>
    open(file, READ_NONBLOCKING, (e, f) => (e ? reject(e) : resolve(f))),
  );
  try {
    const stat = await new Promise<Stats>((resolve, reject) =>
      fstat(fd, (e, st) => (e ? reject(e) : resolve(st))),
    );
    return { fd, stat };
  } catch (e) {
    closeQuietly(fd);
    throw e;
  }
}

/** Reads into `buf` from `position` until it is full or the file ends; the bytes read. */
export async function readFully(fd: number, buf: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < buf.length) {
    const at = done;
    const n = await new Promise<number>((resolve, reject) =>
      read(fd, buf, at, buf.length - at, position + at, (e, bytes) =>
        e ? reject(e) : resolve(bytes),
      ),
    );
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** `readFully` for synchronous callers (mediafacts.ts `readMediaFileSync`). */
export function readFullySync(fd: number, buf: Uint8Array, position: number): number {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Closes a descriptor without anyone waiting for it. */
export function closeQuietly(fd: number): void {
  close(fd, () => undefined);
}

/**
 * The text of a regular file (see `openForReading`): anything but a regular file is refused at
 * once with code `EISDIR` (a folder) or `ENOTREGULAR` (a FIFO, socket or device), as is a file
 * over `maxBytes` (`EFBIG`). Other errors keep their code (`ENOENT`, `EACCES`…).
 */
export async function readRegularText(file: string, maxBytes = Infinity): Promise<string> {
  const { fd, stat } = await openForReading(file);
  try {
    const refuse = (code: string, what: string) =>
      Object.assign(new Error(`${path.basename(file)} ${what}`), { code });
    if (stat.isDirectory()) throw refuse('EISDIR', 'is a folder');
    if (!stat.isFile()) throw refuse('ENOTREGULAR', 'is not a regular file');
    if (stat.size > maxBytes) throw refuse('EFBIG', `is larger than ${maxBytes} bytes`);
    const buf = Buffer.allocUnsafe(stat.size);
    return buf.subarray(0, await readFully(fd, buf, 0)).toString('utf8');
  } finally {
    closeQuietly(fd);
  }
}

/** Parsed JSON of a file, or undefined when it is missing, unreadable or not a regular file. */
export async function readJsonFile(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readRegularText(file));
  } catch {
    return undefined;
  }
}

/**
 * True when `file` is `folder` or lies below it, compared as written (pass real paths to judge
 * links: see plan.ts `outsideFolders`). A name that merely starts with `..` is inside.
 */
export function isInside(folder: string, file: string): boolean {
  const rel = path.relative(folder, file);
  return rel === '' || (rel.split(path.sep)[0] !== '..' && !path.isAbsolute(rel));
}

/** True when the path exists. */
export async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates `file` with `data` only if it does not exist yet: the data goes to a temp file that is
 * hard-linked to the final name, which fails if the name exists. So two processes can never both
 * create it, and a reader never sees it without its content. False when it already existed.
 */
export async function createExclusive(file: string, data: string): Promise<boolean> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.claim`;
  await fs.writeFile(temp, data);
  try {
    await fs.link(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await fs.rm(temp, { force: true });
  }
}

/** Thrown by `withFileLock` when a live holder keeps the lock for the whole wait. */
export class LockBusyError extends Error {
  readonly code = 'ELOCKED';
}

export interface FileLockOptions {
  /** Longest wait for a lock held by a live holder, then `LockBusyError` (never a hang). */
  waitMs: number;
  /** A lock this old is stale even when its holder still runs (a holder stalled mid-update). */
  staleMs: number;
}

/**
 * Runs `fn` while this process holds `lockFile`, a lock shared by every process using the same
 * path: created exclusively (`open` with `wx`, so no flock and the same on Linux, macOS and
 * Windows), holding the holder's pid, host and start time (owner.ts), removed afterwards. A lock
 * whose holder is gone (pid no longer running, or recycled) or older than `staleMs` is broken;
 * a waiter polls with a short backoff for at most `waitMs`. Safe as long as a live holder never
 * stalls longer than `staleMs` inside `fn` (read-merge-write of a small file takes milliseconds).
 */
export async function withFileLock<T>(
  lockFile: string,
  fn: () => Promise<T>,
  opts: FileLockOptions,
): Promise<T> {
  const token = randomBytes(12).toString('hex');
  await acquireLock(lockFile, token, opts);
  try {
    return await fn();
  } finally {
    // Only our own lock: if ours was broken as stale, the file may be another holder's by now.
    // A failure here is not `fn`'s: a lock left behind is broken as stale (age, or pid gone).
    try {
      if ((await readLock(lockFile))?.generation === token) await fs.rm(lockFile, { force: true });
    } catch {
      // see above
    }
  }
}

const lockSchema = z.object({
  token: z.string(),
  at: z.number(),
  owner: z.object({ pid: z.number(), host: z.string(), start: z.optional(z.string()) }),
});

interface LockSeen {
  /** The holder's token, or (content not written yet, or damaged) the file's identity on disk. */
  generation: string;
  owner?: TakeOwner;
  at?: number;
  ageMs: number;
}

/** The lock as it is on disk now; undefined when there is none. */
async function readLock(lockFile: string): Promise<LockSeen | undefined> {
  let opened: Awaited<ReturnType<typeof openForReading>>;
  try {
    opened = await openForReading(lockFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const { fd, stat } = opened;
  try {
    const buf = Buffer.alloc(Math.min(stat.size, 4096));
    const text = buf.subarray(0, await readFully(fd, buf, 0)).toString('utf8');
    const ageMs = Date.now() - stat.mtimeMs;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = lockSchema.safeParse(json);
    if (parsed.success) return { generation: parsed.data.token, ...parsed.data, ageMs };
    return { generation: `${stat.dev}:${stat.ino}:${stat.mtimeMs}:${stat.size}`, ageMs };
  } finally {
    closeQuietly(fd);
  }
}

function isStale(lock: LockSeen, staleMs: number): boolean {
  if (lock.ageMs > staleMs) return true;
  return lock.owner !== undefined && !ownerAlive(lock.owner, lock.at ?? Date.now() - lock.ageMs);
}

async function acquireLock(lockFile: string, token: string, opts: FileLockOptions): Promise<void> {
  await fs.mkdir(path.dirname(lockFile), { recursive: true });
  const deadline = Date.now() + opts.waitMs;
  for (let attempt = 0; ; attempt++) {
    let handle: FileHandle | undefined;
    try {
      handle = await fs.open(lockFile, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (handle) {
      try {
        await handle.writeFile(
          JSON.stringify({ token, at: Date.now(), owner: currentOwner() }) + '\n',
        );
        await handle.close();
      } catch (err) {
        await handle.close().catch(() => undefined);
        await fs.rm(lockFile, { force: true });
        throw err;
      }
      return;
    }
    const held = await readLock(lockFile);
    // Gone meanwhile, or a stale one just removed: try again at once.
    const freed =
      !held || (isStale(held, opts.staleMs) && (await breakLock(lockFile, held, opts.staleMs)));
    if (Date.now() >= deadline) {
      const who = held?.owner ? `pid ${held.owner.pid} on ${held.owner.host}` : 'another process';
      throw new LockBusyError(
        `${path.basename(lockFile)} stayed locked by ${who} for ${opts.waitMs} ms`,
      );
    }
    if (freed) continue;
    const step = Math.min(50, 2 * 2 ** Math.min(attempt, 5));
    await new Promise((resolve) => setTimeout(resolve, step * (0.5 + Math.random())));
  }
}

/**
 * Removes a stale lock, but only the one judged stale. Breakers of the same lock take turns
 * through a marker named after it (created exclusively), and the one that gets the marker checks
 * the lock is still that same one before removing it: two waiters that both saw a dead holder's
 * lock can never remove the fresh lock the first of them then took. A marker left by a breaker
 * that died in those few milliseconds is itself removed once older than `staleMs`. False when
 * another process is breaking it right now.
 */
async function breakLock(lockFile: string, stale: LockSeen, staleMs: number): Promise<boolean> {
  const id = createHash('sha256').update(stale.generation).digest('hex').slice(0, 16);
  const marker = `${lockFile}.${id}.break`;
  try {
    await (await fs.open(marker, 'wx')).close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const since = await fs.stat(marker).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (since > staleMs) await fs.rm(marker, { force: true });
    return false;
  }
  try {
    if ((await readLock(lockFile))?.generation === stale.generation)
      await fs.rm(lockFile, { force: true });
  } finally {
    await fs.rm(marker, { force: true });
  }
  return true;
}

// Media facts read from disk — the one home for reading a media file's head and sniffing it:
// the language server (readMediaFile, with a stamp for its cache), `check`, Generate and the
// extension's inline previews (mediaFactsOnDisk / …Sync) all call this module.
//
// readMediaFile: the file opened without waiting and typed by its own `fstat` (fsutil.ts
// `openForReading`: a FIFO or a device named as media never holds the language server,
// test/lsp/stale.test.ts), one small read, then a `close` nobody waits for, and FIRST_READ_BYTES
// instead of up to MEDIA_HEAD_BYTES per file. Only a JPEG whose size is not in the first bytes
// (large EXIF or ICC blocks come before it) is read further. mediaFactsOnDisk checks the file's
// type before opening it.
import { closeSync, openSync, readSync, statSync, promises as fs } from 'node:fs';
import { MEDIA_HEAD_BYTES, sniffMedia, type MediaFacts } from '../core/media';
import { closeQuietly, openForReading, readFully, readRegularText } from './fsutil';

/**
 * The first read: PNG, GIF, BMP and WEBP keep their size in the first 30 bytes, MP4/MOV only
 * need their first 12, and one JPEG segment is at most 64 KB.
 */
export const FIRST_READ_BYTES = 64 * 1024;

/** Facts and what identifies the file's content they were read from (for a cache). */
export interface ReadMedia {
  facts: MediaFacts;
  /** Modification time and size when read (absent when the path names no regular file). */
  stamp?: FileStamp;
}

export interface FileStamp {
  mtimeMs: number;
  size: number;
}

/** Same modification time and size: the facts read under `a` still hold. */
export function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  return !!a && !!b && a.mtimeMs === b.mtimeMs && a.size === b.size;
}

/** The errors that mean "no such file here" (anything else is unknown, not missing). */
function missing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

/**
 * Facts about the file at `absPath`; undefined when it cannot be read for another reason than
 * not existing (permissions and the like: no media diagnostic rather than a wrong one).
 * Nothing here waits on a special file: the open does not block, and only a regular file is
 * read (a pipe or terminal could hold a read for ever).
 */
export async function readMediaFile(
  absPath: string,
  firstBytes = FIRST_READ_BYTES,
): Promise<ReadMedia | undefined> {
  let opened: Awaited<ReturnType<typeof openForReading>>;
  try {
    opened = await openForReading(absPath);
  } catch (e) {
    const facts = absent(e);
    return facts && { facts };
  }
  const { fd, stat } = opened;
  try {
    if (!stat.isFile()) return { facts: { exists: false } };
    const stamp = { mtimeMs: stat.mtimeMs, size: stat.size };
    const first = Buffer.allocUnsafe(Math.min(firstBytes, stat.size));
    const got = await readFully(fd, first, 0);
    let facts = sniffMedia(first.subarray(0, got), stat.size);
    if (facts.format === 'jpeg' && facts.width === undefined && got === firstBytes) {
      // The size comes after the first bytes: read on, up to MEDIA_HEAD_BYTES.
      const head = Buffer.allocUnsafe(Math.min(MEDIA_HEAD_BYTES, stat.size));
      head.set(first);
      const more = await readFully(fd, head.subarray(got), got);
      facts = sniffMedia(head.subarray(0, got + more), stat.size);
    }
    return { facts, stamp };
  } catch (e) {
    const facts = absent(e);
    return facts && { facts };
  } finally {
    closeQuietly(fd);
  }
}

/**
 * The text of a regular file of at most `maxBytes`; undefined for anything else (missing,
 * unreadable, too large, a folder, a FIFO, a device), never waiting on a special file (see
 * fsutil.ts `readRegularText`; the language server's cost history reads the ledger with it).
 */
export async function readRegularFileText(
  absPath: string,
  maxBytes: number,
): Promise<string | undefined> {
  return readRegularText(absPath, maxBytes).catch(() => undefined);
}

/** The modification time and size of a regular file; undefined otherwise (or unreadable). */
export async function fileStamp(absPath: string): Promise<FileStamp | undefined> {
  try {
    const stat = await fs.stat(absPath);
    return stat.isFile() ? { mtimeMs: stat.mtimeMs, size: stat.size } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the bytes of a file say (format, size, pixels), `{ exists: false }` when there is no
 * regular file there (missing, a folder, a FIFO…), undefined when it cannot be told (permissions).
 * The type is checked before the file is opened.
 */
export async function mediaFactsOnDisk(absPath: string): Promise<MediaFacts | undefined> {
  try {
    if (!(await fs.stat(absPath)).isFile()) return { exists: false };
  } catch (e) {
    return absent(e);
  }
  return (await readMediaFile(absPath))?.facts;
}

/** `mediaFactsOnDisk` for synchronous callers (the CLI's check). */
export function mediaFactsOnDiskSync(absPath: string): MediaFacts | undefined {
  try {
    const stat = statSync(absPath);
    if (!stat.isFile()) return { exists: false };
    const fd = openSync(absPath, 'r');
    try {
      const head = Buffer.alloc(Math.min(MEDIA_HEAD_BYTES, stat.size));
      const read = readSync(fd, head, 0, head.length, 0);
      return sniffMedia(head.subarray(0, read), stat.size);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    return absent(e);
  }
}

/** Missing → `{ exists: false }`; permissions and the like: unknown, so no media diagnostic rather than a wrong one. */
function absent(e: unknown): MediaFacts | undefined {
  return missing(e) ? { exists: false } : undefined;
}

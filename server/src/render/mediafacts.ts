// Media facts read from disk — the one home for reading a media file's head and sniffing it:
// the language server (readMediaFile, or readMediaFileSync where reads cannot wait: see
// localfs.ts; each with a stamp for its cache), `check`, Generate and the extension's inline
// previews (mediaFactsOnDisk / …Sync) all call this module.
//
// readMediaFile: the file opened without waiting and typed by its own `fstat` (fsutil.ts
// `openForReading`: a FIFO or a device named as media never holds the language server,
// test/lsp/stale.test.ts), one small read, then a `close` nobody waits for, and FIRST_READ_BYTES
// instead of up to MEDIA_HEAD_BYTES per file. Only a JPEG whose size is not in the first bytes
// (large EXIF or ICC blocks come before it) is read further. readMediaFileSync does the same
// with synchronous calls. mediaFactsOnDisk checks the file's type before opening it.
import { closeSync, fstatSync, openSync, statSync, promises as fs, type Stats } from 'node:fs';
import { MEDIA_HEAD_BYTES, sniffMedia, type MediaFacts } from '../core/media';
import {
  closeQuietly,
  openForReading,
  READ_NONBLOCKING,
  readFully,
  readFullySync,
  readRegularText,
} from './fsutil';

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
    return absentRead(e);
  }
  const { fd, stat } = opened;
  try {
    if (!stat.isFile()) return { facts: { exists: false } };
    const first = Buffer.allocUnsafe(Math.min(firstBytes, stat.size));
    const got = await readFully(fd, first, 0);
    let facts = sniffMedia(first.subarray(0, got), stat.size);
    if (readOn(facts, got, firstBytes)) {
      const head = headAfter(first, stat.size);
      const more = await readFully(fd, head.subarray(got), got);
      facts = sniffMedia(head.subarray(0, got + more), stat.size);
    }
    return { facts, stamp: stampOf(stat) };
  } catch (e) {
    return absentRead(e);
  } finally {
    closeQuietly(fd);
  }
}

/**
 * `readMediaFile` with synchronous calls, for files on a local disk that answers at once (the
 * language server decides: localfs.ts). The same facts; a FIFO or device is not read either.
 */
export function readMediaFileSync(
  absPath: string,
  firstBytes = FIRST_READ_BYTES,
): ReadMedia | undefined {
  let fd: number;
  try {
    fd = openSync(absPath, READ_NONBLOCKING);
  } catch (e) {
    return absentRead(e);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { facts: { exists: false } };
    const first = Buffer.allocUnsafe(Math.min(firstBytes, stat.size));
    const got = readFullySync(fd, first, 0);
    let facts = sniffMedia(first.subarray(0, got), stat.size);
    if (readOn(facts, got, firstBytes)) {
      const head = headAfter(first, stat.size);
      const more = readFullySync(fd, head.subarray(got), got);
      facts = sniffMedia(head.subarray(0, got + more), stat.size);
    }
    return { facts, stamp: stampOf(stat) };
  } catch (e) {
    return absentRead(e);
  } finally {
    closeSync(fd);
  }
}

/** A JPEG whose size was not in a full first read: its size comes later, read on. */
function readOn(facts: MediaFacts, got: number, firstBytes: number): boolean {
  return facts.format === 'jpeg' && facts.width === undefined && got === firstBytes;
}

/** A buffer of up to MEDIA_HEAD_BYTES that starts with the bytes already read. */
function headAfter(first: Buffer, size: number): Buffer {
  const head = Buffer.allocUnsafe(Math.min(MEDIA_HEAD_BYTES, size));
  head.set(first);
  return head;
}

function stampOf(stat: Stats): FileStamp {
  return { mtimeMs: stat.mtimeMs, size: stat.size };
}

/** The error of an open or read as a result: not found, or unknown (undefined). */
function absentRead(e: unknown): ReadMedia | undefined {
  const facts = absent(e);
  return facts && { facts };
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
    return stat.isFile() ? stampOf(stat) : undefined;
  } catch {
    return undefined;
  }
}

/** `fileStamp` for synchronous callers (see readMediaFileSync). */
export function fileStampSync(absPath: string): FileStamp | undefined {
  try {
    const stat = statSync(absPath);
    return stat.isFile() ? stampOf(stat) : undefined;
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

/** `mediaFactsOnDisk` for synchronous callers (the CLI's check): `readMediaFileSync`'s facts. */
export function mediaFactsOnDiskSync(absPath: string): MediaFacts | undefined {
  return readMediaFileSync(absPath)?.facts;
}

/** Missing → `{ exists: false }`; permissions and the like: unknown, so no media diagnostic rather than a wrong one. */
function absent(e: unknown): MediaFacts | undefined {
  return missing(e) ? { exists: false } : undefined;
}

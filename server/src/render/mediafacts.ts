// Media facts read from disk for `check` and the extension's inline previews. The file's type is
// checked before it is opened, so a FIFO or a device never blocks a reader, and only its head is
// read. (The language server still opens first: test/lsp/stale.test.ts holds an analysis on a
// FIFO to prove stale diagnostics are dropped; moving it here needs another way to hold one.)
import { closeSync, openSync, readSync, statSync, promises as fs } from 'node:fs';
import { MEDIA_HEAD_BYTES, sniffMedia, type MediaFacts } from '../core/media';

/**
 * What the bytes of a file say (format, size, pixels), `{ exists: false }` when there is no
 * regular file there (missing, a folder, a FIFO…), undefined when it cannot be told (permissions).
 */
export async function mediaFactsOnDisk(absPath: string): Promise<MediaFacts | undefined> {
  let handle: fs.FileHandle | undefined;
  try {
    const stat = await fs.stat(absPath);
    if (!stat.isFile()) return { exists: false };
    handle = await fs.open(absPath, 'r');
    const head = new Uint8Array(Math.min(MEDIA_HEAD_BYTES, stat.size));
    let read = 0;
    while (read < head.length) {
      const r = await handle.read(head, read, head.length - read, read);
      if (r.bytesRead === 0) break;
      read += r.bytesRead;
    }
    return sniffMedia(head.subarray(0, read), stat.size);
  } catch (e) {
    return absent(e);
  } finally {
    await handle?.close().catch(() => undefined);
  }
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

function absent(e: unknown): MediaFacts | undefined {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return { exists: false };
  // Permissions and the like: unknown, so no media diagnostic rather than a wrong one.
  return undefined;
}

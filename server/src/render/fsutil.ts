// Small file helpers: atomic writes (temp file + rename, so a reader or a crash never sees half
// a file), reads that never wait on a special file, and tolerant JSON reads.
import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';

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

/**
 * The text of a regular file. Opened without waiting (a named pipe without a writer would hold a
 * plain read for ever) and checked by the opened file's own type: anything but a regular file is
 * refused at once with code `EISDIR` (a folder) or `ENOTREGULAR` (a FIFO, socket or device), as is
 * a file over `maxBytes` (`EFBIG`). Other errors keep their code (`ENOENT`, `EACCES`…).
 */
export async function readRegularText(file: string, maxBytes = Infinity): Promise<string> {
  const handle = await fs.open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const st = await handle.stat();
    const refuse = (code: string, what: string) =>
      Object.assign(new Error(`${path.basename(file)} ${what}`), { code });
    if (st.isDirectory()) throw refuse('EISDIR', 'is a folder');
    if (!st.isFile()) throw refuse('ENOTREGULAR', 'is not a regular file');
    if (st.size > maxBytes) throw refuse('EFBIG', `is larger than ${maxBytes} bytes`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close().catch(() => undefined);
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

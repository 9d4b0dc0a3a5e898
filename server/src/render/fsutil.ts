// Small file helpers: atomic writes (temp file + rename, so a reader or a crash never sees half
// a file) and tolerant JSON reads.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
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

/** Parsed JSON of a file, or undefined when it is missing or unreadable. */
export async function readJsonFile(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
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

// Downloads a result video into place atomically: stream to a temp file next to the target,
// check it, then rename. A reader never sees a partial file at the final path.
import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { USER_AGENT } from '../providers/http';

export class DownloadError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

/** Fetches `url` to `target` via a temp file + rename; returns the byte count. */
export async function downloadTo(
  url: string,
  target: string,
  opts: { fetch?: typeof fetch; timeoutMs: number; signal?: AbortSignal },
): Promise<number> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const temp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.part`;
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  try {
    let res: Response;
    try {
      res = await (opts.fetch ?? globalThis.fetch)(url, {
        headers: { 'User-Agent': USER_AGENT },
        signal,
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw new DownloadError(
        `download failed: ${timeout.aborted ? 'timed out' : describe(err)}`,
        true,
      );
    }
    if (!res.ok || !res.body) {
      throw new DownloadError(
        `download failed: HTTP ${res.status}`,
        res.status === 404 || res.status === 429 || res.status >= 500 || res.status === 403,
      );
    }
    try {
      await pipeline(
        Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
        createWriteStream(temp),
      );
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw new DownloadError(`download failed: the connection broke (${describe(err)})`, true);
    }
    const size = (await fs.stat(temp)).size;
    const expected = Number(res.headers.get('content-length') ?? NaN);
    if (!Number.isNaN(expected) && expected !== size) {
      throw new DownloadError(`download failed: got ${size} of ${expected} bytes`, true);
    }
    if (size === 0) throw new DownloadError('download failed: the file is empty', true);
    await fs.rename(temp, target);
    return size;
  } finally {
    await fs.rm(temp, { force: true });
  }
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string } })?.cause?.code;
  return cause ?? (err instanceof Error ? err.message : String(err));
}

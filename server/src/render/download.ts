// Download: a generated take's video is fetched into place atomically (stream to a temp file next
// to the target, check it — size, and that the bytes are an MP4/MOV: an `ftyp` box first — then
// rename: a reader never sees a partial file at the final path, and an HTML error page is never
// saved as a take), with a fresh result URL asked for when one fails, and a sidecar JSON written
// beside it. The temp files of a download that was killed are removed by the next download there.
import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import { costUnit } from '../core/estimate';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { USER_AGENT } from '../providers/http';
import { Cancelled, oneLine, type RunContext, type Step } from './context';
import { writeFileAtomic } from './fsutil';
import type { Ledger, StoredEntry } from './ledger';
import { backoffDelay } from './limits';
import { refreshSourceUrl, wantsWatermark } from './poll';

/** Downloads a generated take (retrying, with a fresh URL) and records it done with its sidecar. */
export async function downloadTake(
  run: RunContext,
  entry: StoredEntry,
  ledger: Ledger,
): Promise<Step> {
  if (entry.state === 'failed') {
    // A later run retrying a failed download: ask for a fresh URL first (result URLs expire).
    await refreshSourceUrl(run, entry);
    entry.state = 'downloading';
    entry.error = undefined;
    await run.save(ledger, entry);
  }
  // The video, then (watermark: on) its watermarked copy: the take is done only with both.
  const files: { url: () => string | undefined; target: string }[] = [
    { url: () => entry.sourceUrl, target: entry.targetPath },
  ];
  if (wantsWatermark(entry) && !entry.watermarkUrl) await refreshSourceUrl(run, entry);
  // A provider that gives no watermarked copy does not hold the take back (said below).
  const noWatermark = wantsWatermark(entry) && !entry.watermarkUrl;
  if (wantsWatermark(entry) && entry.watermarkUrl)
    files.push({ url: () => entry.watermarkUrl, target: watermarkedPath(entry.targetPath) });
  let lastError = '';
  for (const file of files) {
    lastError = await downloadWithRetries(run, entry, file.url, file.target);
    if (lastError) break;
  }
  if (lastError) {
    entry.state = 'failed';
    return run.stopWith(
      entry,
      ledger,
      `${lastError.replace(/\.$/, '')}. The video was generated: the next render or resume downloads it again without generating (result URLs expire, KIE's within about 24 h).`,
    );
  }
  entry.videoPath = entry.targetPath;
  entry.state = 'done';
  entry.finishedAt = Date.now();
  entry.error = undefined;
  const sidecar = entry.targetPath.replace(/\.mp4$/, '.json');
  try {
    await writeFileAtomic(sidecar, JSON.stringify(sidecarOf(entry), null, 2) + '\n');
  } catch (err) {
    // The video is saved; a missing sidecar loses only its notes, never the take.
    run.emit(entry, `${entry.sceneTitle}: could not write ${sidecar} (${oneLine(err)}).`);
  }
  await run.save(ledger, entry);
  run.emit(entry, `${entry.sceneTitle}: done — take ${entry.take} saved to ${entry.videoPath}`);
  if (noWatermark)
    run.emit(entry, `${entry.sceneTitle}: the provider gave no watermarked copy of this take.`);
  run.warnIfUnsaved(entry);
  return 'stop';
}

/** One file of a take, retried with backoff and a fresh URL; '' when saved, else the last error. */
async function downloadWithRetries(
  run: RunContext,
  entry: StoredEntry,
  url: () => string | undefined,
  target: string,
): Promise<string> {
  const en = run.engine;
  let lastError = '';
  for (let attempt = 0; attempt < 4; attempt++) {
    const from = url();
    if (!from) {
      lastError = `download failed: ${target.endsWith(WATERMARKED) ? 'no watermarked video URL was given' : 'no result URL'}`;
      if (attempt === 3) break;
      await refreshSourceUrl(run, entry);
      continue;
    }
    try {
      await downloadTo(from, target, {
        fetch: run.opts.fetch,
        timeoutMs: Math.max(en.requestTimeout(), 300_000),
        signal: run.signal,
        expect: 'video',
      });
      return '';
    } catch (err) {
      if (run.signal?.aborted) throw new Cancelled();
      lastError = oneLine(err);
      if (!(err instanceof DownloadError) || !err.retryable) break;
      run.log(`${entry.sceneTitle}: ${lastError}; retrying.`);
      await run.wait(backoffDelay(attempt, en.pollBase(), en.maxWait(), en.random));
      if (attempt === 1) await refreshSourceUrl(run, entry);
    }
  }
  return lastError;
}

const WATERMARKED = '.watermarked.mp4';

/** Where the watermarked copy of a take goes: `take-N.watermarked.mp4` beside `take-N.mp4`. */
export function watermarkedPath(targetPath: string): string {
  return targetPath.replace(/\.mp4$/, '') + WATERMARKED;
}

/** What the sidecar JSON beside a take says: where it came from and how long it took. */
function sidecarOf(entry: StoredEntry): unknown {
  return {
    storyboard: entry.storyboardPath,
    scene: entry.sceneTitle,
    take: entry.take,
    provider: entry.provider,
    endpoint: entry.endpoint,
    taskId: entry.taskId,
    externalTaskId: entry.externalTaskId,
    requestHash: entry.requestHash,
    request: entry.request,
    sourceUrl: entry.sourceUrl,
    // What the provider reported charging; absent when it did not say (never a guess).
    cost:
      entry.reportedCost === undefined
        ? undefined
        : { amount: entry.reportedCost, unit: costUnit(entry.provider) },
    watermarkedVideo: entry.watermarkUrl ? watermarkedPath(entry.targetPath) : undefined,
    timings: {
      createdAt: iso(entry.createdAt),
      submittedAt: iso(entry.submittedAt),
      finishedAt: iso(entry.finishedAt),
      generationSeconds:
        entry.submittedAt !== undefined && entry.finishedAt !== undefined
          ? Math.round((entry.finishedAt - entry.submittedAt) / 1000)
          : undefined,
    },
  };
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

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
  opts: {
    fetch?: typeof fetch;
    timeoutMs: number;
    signal?: AbortSignal;
    /** What the bytes must be: 'video' → an MP4/MOV `ftyp` box, 'image' → PNG or JPEG. */
    expect?: 'video' | 'image';
  },
): Promise<number> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  await removeLeftovers(path.dirname(target));
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
    const head = opts.expect ? await readHead(temp, 12) : undefined;
    if (head && !(opts.expect === 'video' ? isIsoMedia(head) : isPngOrJpeg(head))) {
      const type = res.headers.get('content-type')?.split(';')[0]?.trim();
      throw new DownloadError(
        `download failed: the result is not ${opts.expect === 'video' ? 'a video' : 'an image'} (${type ? `${type}, ` : ''}${describeHead(head)}); it was not saved`,
        true,
      );
    }
    await fs.rename(temp, target);
    return size;
  } finally {
    await fs.rm(temp, { force: true });
  }
}

/** True when the bytes start with an ISO base media box `ftyp` (MP4, MOV): `size(4) 'ftyp'`. */
export function isIsoMedia(head: Uint8Array): boolean {
  return head.length >= 8 && Buffer.from(head.subarray(4, 8)).toString('latin1') === 'ftyp';
}

/** PNG or JPEG signature. */
export function isPngOrJpeg(head: Uint8Array): boolean {
  const b = Buffer.from(head);
  return (
    (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from('89504e470d0a1a0a', 'hex'))) ||
    (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff)
  );
}

async function readHead(file: string, n: number): Promise<Uint8Array> {
  const handle = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await handle.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** What the first bytes look like, for the message: printable text shown, else hex. */
function describeHead(head: Uint8Array): string {
  const text = Buffer.from(head).toString('latin1');
  return /^[\x20-\x7e\s]+$/.test(text)
    ? `starts "${text.replace(/\s+/g, ' ').trim()}…"`
    : `starts 0x${Buffer.from(head.subarray(0, 8)).toString('hex')}`;
}

/**
 * Removes `<name>.<pid>.<hex>.part` files left in `dir` by a download whose process is gone
 * (killed mid-download). Files of live processes (this one included) are left alone.
 */
export async function removeLeftovers(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = /\.(\d+)\.[0-9a-f]{8}\.part$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    await fs.rm(path.join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string } })?.cause?.code;
  return cause ?? (err instanceof Error ? err.message : String(err));
}

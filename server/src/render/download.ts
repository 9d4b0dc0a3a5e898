// Download: a generated take's video is fetched into place atomically (stream to a temp file next
// to the target, check it, then rename: a reader never sees a partial file at the final path),
// with a fresh result URL asked for when one fails, and a sidecar JSON written beside it.
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
import { refreshSourceUrl } from './poll';

/** Downloads a generated take (retrying, with a fresh URL) and records it done with its sidecar. */
export async function downloadTake(
  run: RunContext,
  entry: StoredEntry,
  ledger: Ledger,
): Promise<Step> {
  const en = run.engine;
  if (entry.state === 'failed') {
    // A later run retrying a failed download: ask for a fresh URL first (result URLs expire).
    await refreshSourceUrl(run, entry);
    entry.state = 'downloading';
    entry.error = undefined;
    await run.save(ledger, entry);
  }
  let lastError = '';
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      await downloadTo(entry.sourceUrl!, entry.targetPath, {
        fetch: run.opts.fetch,
        timeoutMs: Math.max(en.requestTimeout(), 300_000),
        signal: run.signal,
      });
      lastError = '';
      break;
    } catch (err) {
      if (run.signal?.aborted) throw new Cancelled();
      lastError = oneLine(err);
      if (!(err instanceof DownloadError) || !err.retryable) break;
      run.log(`${entry.sceneTitle}: ${lastError}; retrying.`);
      await run.wait(backoffDelay(attempt, en.pollBase(), en.maxWait(), en.random));
      if (attempt === 1) await refreshSourceUrl(run, entry);
    }
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
  await writeFileAtomic(
    entry.targetPath.replace(/\.mp4$/, '.json'),
    JSON.stringify(sidecarOf(entry), null, 2) + '\n',
  );
  await run.save(ledger, entry);
  run.emit(entry, `${entry.sceneTitle}: done — take ${entry.take} saved to ${entry.videoPath}`);
  return 'stop';
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

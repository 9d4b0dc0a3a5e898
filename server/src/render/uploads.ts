// KIE uploads: each distinct local file (by content hash) is uploaded once and its downloadUrl
// reused while fresh (24 h, server/docs/providers.md "Uploads"). Uploads run in parallel up to a limit; two scenes
// needing the same file share one upload. The cache file is shared by every process (extension,
// CLI): each write merges what is on disk under a lock file next to it (fsutil `withFileLock`), so
// no process's write drops another's entry. The cache is only an optimisation: a cache that cannot
// be read counts as empty, and one that cannot be written is logged, never a failed upload.
import path from 'node:path';
import * as z from 'zod/mini';
import type { KieClient } from '../providers/kie';
import { readJsonFile, withFileLock, writeFileAtomic } from './fsutil';
import { backoffDelay, Semaphore } from './limits';
import { delay, ProviderError } from '../providers/http';
import { formatFile, sniffFormat } from '../core/media';

const entrySchema = z.object({ url: z.string(), uploadedAt: z.number() });
type UploadCache = Record<string, z.infer<typeof entrySchema>>;

/** How long a cache write waits for another process's lock: longer than a lock can be held. */
const LOCK_WAIT_MS = 15_000;
/** A lock this old is broken: a read-merge-write of the cache takes milliseconds. */
const LOCK_STALE_MS = 10_000;

export interface UploaderOptions {
  client: () => KieClient;
  /** Host root of the upload API: cached URLs are only valid for the host that issued them. */
  uploadBase: string;
  /** Cache file (JSON: `<base>|<sha256>` → url + time); undefined = memory only. */
  cacheFile?: string;
  freshMs: number;
  concurrency: number;
  uploadPath: string;
  /** Extra attempts after a transient failure, and the first backoff. */
  retries: number;
  retryBaseMs: number;
  now?: () => number;
  /** Where a cache file that cannot be written is reported (the upload itself goes on). */
  log?: (line: string) => void;
  /** Longest wait for the cache file's lock (default 15 s; tests shorten it). */
  lockWaitMs?: number;
}

/** Uploads files by content hash with a persistent cache and in-flight sharing. */
export class Uploader {
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly slots: Semaphore;
  /** Every URL this instance knows: read from the cache file, and each upload as it finishes. */
  private readonly memory: UploadCache = {};
  private loaded = false;
  /** Writes of the cache file, one after another (see `remember`). */
  private writes: Promise<void> = Promise.resolve();
  /** A failed cache write was logged; not again until a write succeeds. */
  private warned = false;
  private readonly now: () => number;
  /** Number of uploads actually sent by this instance (for logs and tests). */
  sent = 0;

  constructor(private readonly opts: UploaderOptions) {
    this.slots = new Semaphore(opts.concurrency);
    this.now = opts.now ?? Date.now;
  }

  /** The download URL for these bytes: cached while fresh, else uploaded once. */
  async urlFor(
    bytes: Uint8Array,
    sha256: string,
    absPath: string,
    signal?: AbortSignal,
  ): Promise<string> {
    const key = `${this.opts.uploadBase}|${sha256}`;
    if (!this.loaded) await this.readDisk();
    // Another process (CLI, Upload Media command) may have uploaded it since we last read.
    if (!this.memory[key]) await this.readDisk();
    const cached = this.memory[key];
    // Keep a margin so a URL handed to a task does not expire before KIE fetches it.
    const margin = Math.min(3_600_000, this.opts.freshMs / 24);
    if (cached && this.now() - cached.uploadedAt < this.opts.freshMs - margin) return cached.url;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.slots
        .run(async () => {
          // Named by the detected format, not the file name (a PNG saved as .webp goes as .png).
          const detected = formatFile(sniffFormat(bytes));
          const ext = detected?.extension ?? path.extname(absPath).toLowerCase();
          // Content-addressed name: re-uploading the same bytes overwrites identical content.
          const fileName = `${sha256.slice(0, 32)}${ext}`;
          const mime = detected?.mime ?? 'application/octet-stream';
          let downloadUrl: string;
          for (let attempt = 0; ; attempt++) {
            try {
              ({ downloadUrl } = await this.opts
                .client()
                .uploadFile(bytes, fileName, this.opts.uploadPath, mime, signal));
              break;
            } catch (err) {
              // Same name, same bytes: repeating an upload is harmless, so transient failures retry.
              if (!(err instanceof ProviderError) || !err.retryable || attempt >= this.opts.retries)
                throw err;
              await delay(
                err.retryAfterMs ?? backoffDelay(attempt, this.opts.retryBaseMs, 30_000),
                signal,
              );
            }
          }
          this.sent++;
          await this.remember(key, downloadUrl, absPath);
          return downloadUrl;
        })
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /**
   * Adds the cache file's entries to what this instance knows. Entries are only ever added (or
   * replaced by a newer upload of the same bytes), never forgotten: a re-read while another
   * upload of this instance is being written must not lose that upload.
   */
  private async readDisk(): Promise<void> {
    this.loaded = true;
    if (!this.opts.cacheFile) return;
    // Damaged (not JSON, not an object): counts as empty and is rewritten by the next upload.
    // A damaged entry is skipped, the others kept.
    const json = await readJsonFile(this.opts.cacheFile);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return;
    for (const [k, raw] of Object.entries(json)) {
      const parsed = entrySchema.safeParse(raw);
      if (!parsed.success) continue;
      const known = this.memory[k];
      if (!known || known.uploadedAt < parsed.data.uploadedAt) this.memory[k] = parsed.data;
    }
  }

  /**
   * Records an upload, in memory at once and in the cache file. The file is written by one
   * write at a time, each with everything known when it starts (the file's entries merged in):
   * two overlapping writes could otherwise land out of order and the later-landing, older one
   * would drop the other's upload — the next run would then pay to upload those bytes again.
   * Other processes are kept out by the lock file for the whole read-merge-write. Never throws:
   * the upload succeeded and its URL is known, so a cache that cannot be written (folder not
   * writable, path taken by a folder, lock held too long) is logged and the render goes on.
   */
  private async remember(key: string, url: string, absPath: string): Promise<void> {
    this.memory[key] = { url, uploadedAt: this.now() };
    const file = this.opts.cacheFile;
    if (!file) return;
    const write = this.writes
      .then(() =>
        withFileLock(`${file}.lock`, () => this.writeCache(file), {
          waitMs: this.opts.lockWaitMs ?? LOCK_WAIT_MS,
          staleMs: LOCK_STALE_MS,
        }),
      )
      .then(
        () => {
          this.warned = false;
        },
        (err: unknown) => {
          if (this.warned) return;
          this.warned = true;
          const why = err instanceof Error ? err.message : String(err);
          this.opts.log?.(
            `Warning: the upload cache ${file} could not be written (${why}); ` +
              `${path.basename(absPath)} was uploaded and is used, but a later run may upload it again.`,
          );
        },
      );
    this.writes = write;
    await write;
  }

  /** Merges the file's entries (another process may have added some), drops stale ones, writes. */
  private async writeCache(file: string): Promise<void> {
    await this.readDisk();
    const fresh: UploadCache = {};
    for (const [k, v] of Object.entries(this.memory))
      if (this.now() - v.uploadedAt < this.opts.freshMs) fresh[k] = v;
    await writeFileAtomic(file, JSON.stringify(fresh, null, 2) + '\n');
  }
}

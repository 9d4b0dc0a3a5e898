// The task ledger: one JSON file per take in `<storyboard folder>/<output>/.ledger/`, named
// `<storyboard>--<scene-slug>--take-<n>.json`. A take is claimed with an exclusive create (two
// processes can never submit the same take), then rewritten atomically at every state change.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as z from 'zod/mini';
import { writeFileAtomic } from './fsutil';
import { currentOwner, type TakeOwner } from './owner';
import type { LedgerEntry, TaskState } from './types';

/** A local file that went into a request: enough to rebuild the body after a restart. */
export interface StoredMedia {
  path: (string | number)[];
  absPath: string;
  sha256: string;
  kind: 'image' | 'video';
}

/** What the ledger stores: the contract's entry plus what resuming needs. */
export interface StoredEntry extends LedgerEntry {
  storyboardName: string;
  /** Absolute output folder (`<storyboard folder>/<output>`). */
  outputDir: string;
  /** Body with local media as placeholders (re-sending a Kling create needs the bytes again). */
  body: unknown;
  media: StoredMedia[];
  /** The process currently advancing this take (cleared when it stops). */
  owner?: TakeOwner;
  /** Set just before a create is sent, cleared on a definite refusal: "the create may have been delivered". */
  createSentAt?: number;
  /** Create attempts claimed so far (each one exclusively, see `Ledger.claimCreate`). */
  createAttempts?: number;
  /** Where the video goes (absolute), decided when the take is claimed. */
  targetPath: string;
}

const STATES = [
  'pending-submit',
  'unknown-submit',
  'submitted',
  'running',
  'downloading',
  'done',
  'failed',
  'cancelled',
] as const satisfies readonly TaskState[];

const ownerSchema = z.object({
  pid: z.number(),
  host: z.string(),
  start: z.optional(z.string()),
});

const storedSchema = z.looseObject({
  key: z.string(),
  requestHash: z.string(),
  take: z.int().check(z.positive()),
  storyboardPath: z.string(),
  storyboardName: z.string(),
  outputDir: z.string(),
  targetPath: z.string(),
  sceneIndex: z.int(),
  sceneTitle: z.string(),
  sceneSlug: z.string(),
  provider: z.enum(['kie', 'kling']),
  endpoint: z.string(),
  externalTaskId: z.optional(z.string()),
  taskId: z.optional(z.string()),
  state: z.enum(STATES),
  error: z.optional(z.string()),
  request: z.unknown(),
  body: z.unknown(),
  media: z.array(
    z.object({
      path: z.array(z.union([z.string(), z.number()])),
      absPath: z.string(),
      sha256: z.string(),
      kind: z.enum(['image', 'video']),
    }),
  ),
  sourceUrl: z.optional(z.string()),
  videoPath: z.optional(z.string()),
  reportedCost: z.optional(z.number().check(z.nonnegative())),
  createdAt: z.number(),
  createSentAt: z.optional(z.number()),
  createAttempts: z.optional(z.int().check(z.nonnegative())),
  owner: z.optional(ownerSchema),
  submittedAt: z.optional(z.number()),
  finishedAt: z.optional(z.number()),
  updatedAt: z.number(),
});

const createClaimSchema = z.object({
  owner: ownerSchema,
  at: z.number(),
});

/** States in which the engine still has work to do (poll, download, look up). */
export function isUnfinished(e: LedgerEntry): boolean {
  return (
    e.state === 'pending-submit' ||
    e.state === 'submitted' ||
    e.state === 'running' ||
    e.state === 'downloading' ||
    needsDownloadRetry(e) ||
    // Kling takes can be looked up by external_task_id, so an unknown submit is retried later.
    (e.state === 'unknown-submit' && e.provider === 'kling')
  );
}

/** A take whose generation succeeded but whose download failed: fetch again, never regenerate. */
export function needsDownloadRetry(e: LedgerEntry): boolean {
  return e.state === 'failed' && !!e.sourceUrl && !!e.taskId && !e.videoPath;
}

/** The ledger folder of an output folder. */
export function ledgerDirFor(outputDir: string): string {
  return path.join(outputDir, '.ledger');
}

/** File-name-safe storyboard name: the file name without `.kling`. */
export function storyboardNameOf(storyboardPath: string): string {
  return path.basename(storyboardPath).replace(/\.kling$/i, '');
}

/** One ledger folder. */
export class Ledger {
  constructor(readonly dir: string) {}

  private fileFor(storyboardName: string, sceneSlug: string, take: number): string {
    return path.join(this.dir, `${storyboardName}--${sceneSlug}--take-${take}.json`);
  }

  /** Every readable entry in the folder (unreadable files are skipped, never fatal). */
  async list(): Promise<StoredEntry[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch {
      return [];
    }
    const out: StoredEntry[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      try {
        const parsed = storedSchema.safeParse(
          JSON.parse(await fs.readFile(path.join(this.dir, name), 'utf8')),
        );
        if (parsed.success) out.push(parsed.data as StoredEntry);
      } catch {
        // A file being replaced this instant or a foreign file: skip.
      }
    }
    out.sort((a, b) => a.sceneIndex - b.sceneIndex || a.take - b.take);
    return out;
  }

  /** The stored copy of an entry's take, or undefined when missing or unreadable. */
  async read(entry: StoredEntry): Promise<StoredEntry | undefined> {
    try {
      const file = this.fileFor(entry.storyboardName, entry.sceneSlug, entry.take);
      const parsed = storedSchema.safeParse(JSON.parse(await fs.readFile(file, 'utf8')));
      return parsed.success ? (parsed.data as StoredEntry) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Entries of one scene of one storyboard, oldest take first. */
  async forScene(storyboardPath: string, sceneSlug: string): Promise<StoredEntry[]> {
    return (await this.list()).filter(
      (e) => e.storyboardPath === storyboardPath && e.sceneSlug === sceneSlug,
    );
  }

  /**
   * Claims a take: the entry is written to a temp file and hard-linked to its final name, which
   * fails if the name exists. So the claim is exclusive (two processes never get the same take)
   * and a reader never sees a claimed file without its content. False when already claimed.
   */
  async claim(entry: StoredEntry): Promise<boolean> {
    await fs.mkdir(this.dir, { recursive: true });
    const file = this.fileFor(entry.storyboardName, entry.sceneSlug, entry.take);
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.claim`;
    entry.updatedAt = Date.now();
    await fs.writeFile(temp, JSON.stringify(entry, null, 2) + '\n');
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

  /**
   * Claims create attempt `attempt` of a take, exclusively (same temp file + hard link as
   * `claim`): true when this process may send that create, else who claimed it and when
   * (undefined when the marker cannot be read).
   */
  async claimCreate(
    entry: StoredEntry,
    attempt: number,
  ): Promise<true | { owner: TakeOwner; at: number } | undefined> {
    await fs.mkdir(this.dir, { recursive: true });
    const file = `${this.fileFor(entry.storyboardName, entry.sceneSlug, entry.take)}.create-${attempt}`;
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.claim`;
    await fs.writeFile(temp, JSON.stringify({ owner: currentOwner(), at: Date.now() }) + '\n');
    try {
      await fs.link(temp, file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return this.createClaimOf(entry, attempt);
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  /** Who claimed create attempt `attempt` of a take and when; undefined when unclaimed or unreadable. */
  async createClaimOf(
    entry: StoredEntry,
    attempt: number,
  ): Promise<{ owner: TakeOwner; at: number } | undefined> {
    const file = `${this.fileFor(entry.storyboardName, entry.sceneSlug, entry.take)}.create-${attempt}`;
    try {
      const parsed = createClaimSchema.safeParse(JSON.parse(await fs.readFile(file, 'utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  /** Rewrites an entry atomically (updatedAt set now). */
  async save(entry: StoredEntry): Promise<void> {
    entry.updatedAt = Date.now();
    await writeFileAtomic(
      this.fileFor(entry.storyboardName, entry.sceneSlug, entry.take),
      JSON.stringify(entry, null, 2) + '\n',
    );
  }
}

/** The public view of a stored entry (the contract's fields only). */
export function publicEntry(e: StoredEntry): LedgerEntry {
  const out: LedgerEntry = {
    key: e.key,
    requestHash: e.requestHash,
    take: e.take,
    storyboardPath: e.storyboardPath,
    sceneIndex: e.sceneIndex,
    sceneTitle: e.sceneTitle,
    sceneSlug: e.sceneSlug,
    provider: e.provider,
    endpoint: e.endpoint,
    state: e.state,
    request: e.request,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
  if (e.externalTaskId !== undefined) out.externalTaskId = e.externalTaskId;
  if (e.taskId !== undefined) out.taskId = e.taskId;
  if (e.error !== undefined) out.error = e.error;
  if (e.sourceUrl !== undefined) out.sourceUrl = e.sourceUrl;
  if (e.videoPath !== undefined) out.videoPath = e.videoPath;
  if (e.submittedAt !== undefined) out.submittedAt = e.submittedAt;
  if (e.finishedAt !== undefined) out.finishedAt = e.finishedAt;
  if (e.reportedCost !== undefined) out.reportedCost = e.reportedCost;
  return out;
}

// The task ledger: one JSON file per take in `<storyboard folder>/<output>/.ledger/`, named
// `<storyboard>--<scene-slug>--take-<n>.json` after where its video goes. A take is claimed with
// an exclusive create (two processes can never submit the same take), then rewritten atomically
// at every state change. Takes are found by what was paid for — `requestHash`, the request's
// identity — not by the file name (README, "The ledger"). The absolute paths inside an entry are
// re-based on the folder the ledger is read from, so a moved project keeps its takes. A file that
// cannot be read as an entry is reported as damaged, never skipped.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as z from 'zod/mini';
import { createExclusive, readRegularText, writeFileAtomic } from './fsutil';
import { mapInOrder } from './limits';
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
  /** Result URL of the watermarked copy (Kling with `watermark: on`), saved beside the take. */
  watermarkUrl?: string;
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
  watermarkUrl: z.optional(z.string()),
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

/** True when a ledger still needs attention: unfinished takes, or damaged files that may be ones. */
export function holdsWork(scan: LedgerScan): boolean {
  return scan.damaged.length > 0 || scan.entries.some(isUnfinished);
}

export { ledgerDirFor } from './ledgerdir';

/** File-name-safe storyboard name: the file name without `.kling`. */
export function storyboardNameOf(storyboardPath: string): string {
  return path.basename(storyboardPath).replace(/\.kling$/i, '');
}

/**
 * A ledger file that cannot be read as an entry (unreadable, truncated, an unknown state …). It
 * may record a paid task, so the scene it belongs to is refused until the user resolves it.
 */
export interface DamagedEntry {
  /** Absolute path of the file. */
  file: string;
  /** What is wrong, one line. */
  problem: string;
  /**
   * The request identity, when it can still be read from the text (its `requestHash`, else the
   * `key` that starts with it). Without it the file may record any request of its folder.
   */
  requestHash?: string;
  /** Storyboard name, scene slug and take, from the file name. */
  storyboardName?: string;
  sceneSlug?: string;
  take?: number;
}

/** What a ledger folder holds: the entries it could read and the files it could not. */
export interface LedgerScan {
  entries: StoredEntry[];
  damaged: DamagedEntry[];
}

const FILE_NAME = /^(.+)--(.+)--take-(\d+)\.json$/;

/** Ledger entries read at the same time by `scan`. */
const SCAN_CONCURRENCY = 16;

/** One ledger folder. */
export class Ledger {
  constructor(readonly dir: string) {}

  private fileFor(storyboardName: string, sceneSlug: string, take: number): string {
    return path.join(this.dir, `${storyboardName}--${sceneSlug}--take-${take}.json`);
  }

  /**
   * Every entry in the folder, oldest take first, and every file that is not a readable entry;
   * with `only`, just the files whose name gives a storyboard name it accepts (others: `''`).
   */
  async scan(only?: (storyboardName: string) => boolean): Promise<LedgerScan> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { entries: [], damaged: [] };
      return {
        entries: [],
        damaged: [{ file: this.dir, problem: `the ledger folder cannot be read (${code ?? err})` }],
      };
    }
    const entries: StoredEntry[] = [];
    const damaged: DamagedEntry[] = [];
    // Read a few at a time (a plan of a large storyboard reads thousands), kept in name order.
    const files = names
      .filter((n) => n.endsWith('.json'))
      .filter((n) => !only || only(FILE_NAME.exec(n)?.[1] ?? ''))
      .sort()
      .map((n) => path.join(this.dir, n));
    for (const read of await mapInOrder(files, SCAN_CONCURRENCY, (f) => this.readFile(f))) {
      if ('entry' in read) entries.push(read.entry);
      else if (read.damaged) damaged.push(read.damaged);
    }
    entries.sort((a, b) => a.sceneIndex - b.sceneIndex || a.take - b.take);
    return { entries, damaged };
  }

  /** The storyboard names the folder's entry files are named by (one listing, nothing read). */
  async storyboardNames(): Promise<Set<string>> {
    let names: string[] = [];
    try {
      names = await fs.readdir(this.dir);
    } catch {
      // No ledger folder: no names.
    }
    const out = new Set<string>();
    for (const n of names) {
      const m = FILE_NAME.exec(n);
      if (m) out.add(m[1]!);
    }
    return out;
  }

  /** Every readable entry in the folder (see `scan` for the damaged ones). */
  async list(): Promise<StoredEntry[]> {
    return (await this.scan()).entries;
  }

  /** The stored copy of an entry's take, or undefined when missing or unreadable. */
  async read(entry: StoredEntry): Promise<StoredEntry | undefined> {
    const read = await this.readFile(
      this.fileFor(entry.storyboardName, entry.sceneSlug, entry.take),
    );
    return 'entry' in read ? read.entry : undefined;
  }

  private async readFile(
    file: string,
  ): Promise<{ entry: StoredEntry } | { damaged?: DamagedEntry }> {
    const m = FILE_NAME.exec(path.basename(file));
    const damaged = (problem: string, text = ''): { damaged: DamagedEntry } => ({
      damaged: {
        file,
        problem,
        requestHash: (/"requestHash"\s*:\s*"([0-9a-f]{64})"/.exec(text) ??
          /"key"\s*:\s*"([0-9a-f]{64})-t\d+"/.exec(text))?.[1],
        storyboardName: m?.[1],
        sceneSlug: m?.[2],
        take: m ? Number(m[3]) : undefined,
      },
    });
    let text: string;
    try {
      text = await readRegularText(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Gone between the listing and the read (a claim that lost, a cleanup): not an entry.
      if (code === 'ENOENT') return {};
      if (code === 'ENOTREGULAR')
        return damaged('is not a regular file (a named pipe, socket or device)');
      if (code === 'EISDIR') return damaged('is a folder, not a file');
      return damaged(`cannot be read (${code ?? String(err)})`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return damaged(
        text.trim() === '' ? 'is empty' : 'is not valid JSON (truncated or garbled)',
        text,
      );
    }
    const parsed = storedSchema.safeParse(json);
    if (!parsed.success) {
      const state = (json as { state?: unknown } | null)?.state;
      if (typeof state === 'string' && !(STATES as readonly string[]).includes(state))
        return damaged(`has an unknown state "${state}"`, text);
      const fields = [
        ...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(top level)')),
      ];
      return damaged(`has missing or malformed fields (${fields.slice(0, 4).join(', ')})`, text);
    }
    return { entry: rebased(parsed.data as StoredEntry, path.dirname(this.dir)) };
  }

  /**
   * Claims a take: the entry is written to a temp file and hard-linked to its final name, which
   * fails if the name exists. So the claim is exclusive (two processes never get the same take)
   * and a reader never sees a claimed file without its content. False when already claimed.
   */
  async claim(entry: StoredEntry): Promise<boolean> {
    entry.updatedAt = Date.now();
    return createExclusive(
      this.fileFor(entry.storyboardName, entry.sceneSlug, entry.take),
      JSON.stringify(entry, null, 2) + '\n',
    );
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
    const file = `${this.fileFor(entry.storyboardName, entry.sceneSlug, entry.take)}.create-${attempt}`;
    const claimed = await createExclusive(
      file,
      JSON.stringify({ owner: currentOwner(), at: Date.now() }) + '\n',
    );
    return claimed ? true : this.createClaimOf(entry, attempt);
  }

  /** Who claimed create attempt `attempt` of a take and when; undefined when unclaimed or unreadable. */
  async createClaimOf(
    entry: StoredEntry,
    attempt: number,
  ): Promise<{ owner: TakeOwner; at: number } | undefined> {
    const file = `${this.fileFor(entry.storyboardName, entry.sceneSlug, entry.take)}.create-${attempt}`;
    try {
      const parsed = createClaimSchema.safeParse(JSON.parse(await readRegularText(file)));
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

/**
 * An entry read from `outputDir`, with its absolute paths moved along when the folder was moved,
 * renamed or reached by another path since it was written: paths under the recorded output
 * folder or the recorded storyboard folder follow them; paths elsewhere stay as they are.
 */
function rebased(e: StoredEntry, outputDir: string): StoredEntry {
  const oldOut = e.outputDir;
  if (oldOut === outputDir) return e;
  const oldBoardDir = path.dirname(e.storyboardPath);
  const boardDir = path.resolve(outputDir, path.relative(oldOut, oldBoardDir));
  const move = (p: string): string => {
    for (const [from, to] of [
      [oldOut, outputDir],
      [oldBoardDir, boardDir],
    ] as const) {
      const rel = path.relative(from, p);
      if (rel === '' || !(rel.startsWith('..') || path.isAbsolute(rel))) return path.join(to, rel);
    }
    return p;
  };
  return {
    ...e,
    outputDir,
    storyboardPath: move(e.storyboardPath),
    targetPath: move(e.targetPath),
    videoPath: e.videoPath === undefined ? undefined : move(e.videoPath),
    media: e.media.map((m) => ({ ...m, absPath: move(m.absPath) })),
  };
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

// Take planning: for each selected scene, decide — without sending anything — whether its request
// reuses a take the ledger already holds (done, running, or undecided), needs a new take (and so a
// payment), or is refused with a reason. The engine runs the plan; front ends call `planRender`
// to show or total what a render would submit.
import path from 'node:path';
import type { Storyboard } from '../core/ast';
import { parseStoryboard } from '../core/parse';
import { buildRequests, type SceneRequest } from '../core/request';
import { DEFAULT_OUTPUT, outputAsWritten } from '../core/resolve';
import { PROVIDER_FACTS } from '../providers/adapter';
import { canonicalJson, setAtPath, sha256 } from './hash';
import { LEDGER_FOLDER_NAME } from './ledgerdir';
import { exists, isInside } from './fsutil';
import { mapInOrder } from './limits';
import {
  isUnfinished,
  Ledger,
  ledgerDirFor,
  storyboardNameOf,
  type DamagedEntry,
  type LedgerScan,
  type StoredEntry,
  type StoredMedia,
} from './ledger';
import { promises as fs } from 'node:fs';
import { hasKeys, type EngineOptions, type ProviderId, type ProviderKeys } from './types';

/** The options planning reads (a subset of the engine's). */
export type PlanOptions = Pick<
  EngineOptions,
  'keys' | 'defaultOutput' | 'defaultProvider' | 'klingRefStyle' | 'files' | 'newTakeHint'
> & {
  /**
   * Content hashes kept between plans (the storyboard preview plans again after every pause in
   * typing). Without it every media file is read and hashed on each plan, as a render must.
   */
  hashCache?: ContentHashCache;
};

/**
 * A media file's content hash by absolute path, trusted while the file's identity (inode), size,
 * modification time and change time are unchanged — only for estimates: a render always hashes
 * the bytes it uploads. The change time is there because tools may set the modification time
 * back (`cp -p`, `rsync -t`, `touch -d`), and nothing but the kernel sets the change time: other
 * bytes of the same size under the old modification time are hashed again, so the estimate does
 * not say "not charged" for a take Generate would pay for.
 */
export type ContentHashCache = Map<
  string,
  { ino: number; size: number; mtimeMs: number; ctimeMs: number; sha256: string }
>;

export interface PlanRequest {
  /** Absolute path of the .kling file. */
  storyboardPath: string;
  /** Its current text (may be unsaved editor text). */
  text: string;
  /** Scene indexes; default all. */
  scenes?: number[];
  newTake?: boolean;
  /**
   * Plan as if the provider's keys were set (a cost preview: what a render would reuse and pay
   * for does not depend on them).
   */
  ignoreKeys?: boolean;
  /**
   * For the plan benchmark (test/bench/plan.ts) only: plan without the plan's shared look-ups
   * (`PlanLookups`), every reference on its own and the scenes one after another, as before they
   * were shared. The plans are the same.
   */
  uncached?: boolean;
}

/** What a take about to be claimed is: the request's identity and where it goes. */
export interface NewTake {
  requestHash: string;
  media: StoredMedia[];
  outputDir: string;
  ledger: Ledger;
  storyboardName: string;
  /** The scene's takes already in the ledger, oldest first. */
  existing: StoredEntry[];
  /** The first take number free in the ledger and on disk. */
  firstFree: number;
  /** Media files outside the storyboard's folder (sending them needs consent). */
  outside: string[];
  /** Asked for explicitly (pay again even when the same request has a take). */
  newTake: boolean;
}

/** The decision for one scene. */
export type ScenePlan =
  | {
      action: 'refuse';
      scene: SceneRequest;
      message: string;
      /** Asking for a new take sends it (the refusal guards a take that may be paid already). */
      newTakeSends?: true;
    }
  | {
      action: 'reuse';
      scene: SceneRequest;
      take: StoredEntry;
      /**
       * rendered: done and its video is on disk; undecided: a create that may have been sent and
       * cannot be looked up; download: done but the video is gone (fetched again, not paid
       * again); resume: still being generated or downloaded.
       */
      how: 'rendered' | 'undecided' | 'download' | 'resume';
      /** This scene's media now (same content as the take's, maybe at other paths). */
      media: StoredMedia[];
      /** The storyboard asking now (the take may have been recorded under another path or title). */
      storyboardPath: string;
    }
  | { action: 'submit'; scene: SceneRequest; take: NewTake };

/** The selected scenes' requests, each with its output folder as written. */
export function sceneRequests(
  opts: PlanOptions,
  text: string,
  scenes?: number[],
  storyboardPath?: string,
): { storyboard: Storyboard; requests: SceneRequest[] } {
  const { storyboard } = parseStoryboard(text);
  const requests = buildRequests(storyboard, {
    scenes,
    klingRefStyle: opts.klingRefStyle,
    defaultProvider: opts.defaultProvider,
    // `continue-from` scenes send their source's last frame (render/continuity.ts extracts it).
    continuity: storyboardPath
      ? { storyboardName: storyboardNameOf(storyboardPath), defaultOutput: opts.defaultOutput }
      : undefined,
  });
  // The builder knows only the header's `output:`; the configured default fills the gap.
  const output = outputAsWritten(storyboard, opts.defaultOutput);
  for (const sr of requests) sr.output = output;
  return { storyboard, requests };
}

/** Scenes planned at the same time (their file-system calls overlap; the plans keep scene order). */
const PLAN_CONCURRENCY = 16;

/**
 * Plans every selected scene of a storyboard; nothing is sent or written. `lookups` may be the
 * caller's, to ask them more after the plan (the CodeLens: which ledger folders it read).
 */
export async function planRender(
  opts: PlanOptions,
  req: PlanRequest,
  lookups = new PlanLookups(opts, !req.uncached),
): Promise<ScenePlan[]> {
  const storyboardPath = await realOr(path.resolve(req.storyboardPath));
  const { requests } = sceneRequests(opts, req.text, req.scenes, storyboardPath);
  const plan = (sr: SceneRequest) =>
    planScene(opts, storyboardPath, sr, !!req.newTake, !!req.ignoreKeys, lookups);
  return mapInOrder(requests, req.uncached ? 1 : PLAN_CONCURRENCY, plan);
}

/**
 * `sceneIdentities`' last answer for one storyboard, kept by a caller that asks again and again
 * (the extension's panels, on every change): the same text, options and scenes, and every media
 * file it read still of the same content (by the plan's hash cache, a stat each), give the same
 * answer without building the requests again (2,000 scenes: ≈ 60–80 ms).
 */
export interface IdentityMemo {
  text?: string;
  key?: string;
  media?: Map<string, string | undefined>;
  identities?: Map<number, string>;
}

/**
 * The request identity of each scene (or of the scenes given), as a render computes it
 * (`requestIdentity`, media by content), by scene index; a scene with a media file that cannot be
 * read has none. Takes are found by it (render/takes.ts: a renamed scene keeps its takes).
 */
export async function sceneIdentities(
  opts: PlanOptions,
  storyboardPath: string,
  text: string,
  scenes?: number[],
  memo?: IdentityMemo,
): Promise<Map<number, string>> {
  const real = await realOr(path.resolve(storyboardPath));
  const lookups = new PlanLookups(opts);
  const digest = (absPath: string) => lookups.hash(absPath).catch(() => undefined);
  const key = JSON.stringify([
    real,
    scenes ?? null,
    opts.defaultProvider ?? null,
    opts.defaultOutput ?? null,
    opts.klingRefStyle ?? null,
  ]);
  if (memo?.text === text && memo.key === key && memo.media && memo.identities) {
    let same = true;
    for (const [absPath, sha] of memo.media) if ((await digest(absPath)) !== sha) same = false;
    if (same) return memo.identities;
  }
  const { requests } = sceneRequests(opts, text, scenes, real);
  const storyDir = path.dirname(real);
  const out = new Map<number, string>();
  const read = new Map<string, string | undefined>();
  await mapInOrder(requests, PLAN_CONCURRENCY, async (sr) => {
    const media = await hashedMedia(lookups, storyDir, sr);
    for (const slot of sr.media) {
      const absPath = path.resolve(storyDir, slot.ref);
      if (!read.has(absPath)) read.set(absPath, await digest(absPath));
    }
    if (!('unreadable' in media)) out.set(sr.sceneIndex, requestIdentity(sr, media));
  });
  if (memo) Object.assign(memo, { text, key, media: read, identities: out });
  return out;
}

/** A scene's media files with their content hashes, or the first that cannot be read. */
async function hashedMedia(
  lookups: PlanLookups,
  storyDir: string,
  sr: SceneRequest,
): Promise<StoredMedia[] | { unreadable: string; err: unknown }> {
  const media: StoredMedia[] = [];
  for (const slot of sr.media) {
    const absPath = path.resolve(storyDir, slot.ref);
    let digest: string;
    try {
      digest = await lookups.hash(absPath);
    } catch (err) {
      return { unreadable: slot.ref, err };
    }
    media.push({ path: slot.path, absPath, sha256: digest, kind: slot.kind });
  }
  return media;
}

/**
 * File-system answers shared by the scenes of one plan (a plan of 2,000 scenes references the
 * same few media files thousands of times): each ledger folder read once, each path's real path,
 * each media file's content hash and each storyboard's video folder listed once. They live for
 * one plan only, so a file changed between two plans is seen by the next one; nothing is claimed
 * while planning, so every scene would have read the same. Unshared (the plan benchmark's
 * "before"), every call goes to the file system, except the ledger reads.
 */
export class PlanLookups {
  /** Ledger reads by ledger folder. */
  readonly scans = new Map<string, Promise<LedgerScan>>();
  private readonly reals = new Map<string, Promise<string>>();
  private readonly hashes = new Map<string, Promise<string>>();
  private readonly listings = new Map<string, Promise<Set<string> | 'unlisted' | 'none'>>();
  private readonly indexes = new WeakMap<LedgerScan, LedgerIndex>();
  private readonly nearLedgers = new Map<string, Promise<string[]>>();

  constructor(
    private readonly opts: PlanOptions,
    private readonly shared = true,
  ) {}

  /**
   * The entries of `scan` of this request or of this scene (same storyboard name and scene slug),
   * in the scan's order. Shared, from an index of the scan built once, instead of a pass over
   * every entry for every scene (2,000 × 2,000 comparisons).
   */
  takesOf(
    scan: LedgerScan,
    requestHash: string,
    storyboardName: string,
    sceneSlug: string,
  ): StoredEntry[] {
    if (!this.shared)
      return scan.entries.filter(
        (e) =>
          e.requestHash === requestHash ||
          (e.storyboardName === storyboardName && e.sceneSlug === sceneSlug),
      );
    let index = this.indexes.get(scan);
    if (!index) {
      index = { byRequest: new Map(), byScene: new Map() };
      for (const [i, e] of scan.entries.entries()) {
        push(index.byRequest, e.requestHash, i);
        let slugs = index.byScene.get(e.storyboardName);
        if (!slugs) index.byScene.set(e.storyboardName, (slugs = new Map()));
        push(slugs, e.sceneSlug, i);
      }
      this.indexes.set(scan, index);
    }
    const a = index.byRequest.get(requestHash) ?? [];
    const b = index.byScene.get(storyboardName)?.get(sceneSlug) ?? [];
    const at = b.length ? [...new Set([...a, ...b])].sort((x, y) => x - y) : a;
    return at.map((i) => scan.entries[i]!);
  }

  /**
   * Ledger folders of other output folders of the storyboard's project: `.ledger` in its folder
   * or in a folder up to two levels below it (hidden folders and node_modules left out; at most
   * LEDGER_SEARCH_LOOKS folders listed or looked into). Once per plan, shared.
   */
  ledgersNear(storyDir: string): Promise<string[]> {
    if (!this.shared) return ledgersNear(storyDir);
    return memo(this.nearLedgers, storyDir, () => ledgersNear(storyDir));
  }

  /**
   * A take of this request paid for in another output folder of the project than `ledgerDir`
   * (done, running, or sent without an answer), with the ledger folder that has it.
   */
  async paidElsewhere(
    storyDir: string,
    ledgerDir: string,
    requestHash: string,
  ): Promise<{ entry: StoredEntry; ledgerDir: string } | undefined> {
    const near = await this.ledgersNear(storyDir);
    if (!near.length) return undefined;
    const own = await this.real(ledgerDir);
    for (const dir of near) {
      if ((await this.real(dir)) === own) continue;
      const ledger = new Ledger(dir);
      const scan = this.shared
        ? await memo(this.scans, dir, () => ledger.scan())
        : await ledger.scan();
      // takesOf also gives a scene's takes by name: no name here, only the request.
      const entry = this.takesOf(scan, requestHash, '', '')
        .filter((e) => e.requestHash === requestHash && isPaid(e))
        .at(-1);
      if (entry) return { entry, ledgerDir: dir };
    }
    return undefined;
  }

  /** `realOr`, once per path. */
  real(p: string): Promise<string> {
    if (!this.shared) return realOr(p);
    return memo(this.reals, p, () => realOr(p));
  }

  /** `contentHash`, once per file (a file that cannot be read: the same error for every scene). */
  hash(absPath: string): Promise<string> {
    if (!this.shared) return contentHash(this.opts, absPath);
    return memo(this.hashes, absPath, () => contentHash(this.opts, absPath));
  }

  /** True when a file lies outside `folder`, compared as real paths (see `outsideFolders`). */
  async outside(absPath: string, folder: string): Promise<boolean> {
    return !isInside(await this.real(folder), await this.real(absPath));
  }

  /**
   * The highest `take-N.mp4` number in a scene's video folder `<storyboardDir>/<sceneSlug>` (0
   * when none). Shared, the storyboard's folder is listed once and only the scene folders it
   * holds are read.
   */
  async takesOnDisk(storyboardDir: string, sceneSlug: string): Promise<number> {
    const sceneDir = path.join(storyboardDir, sceneSlug);
    if (!this.shared) return takesOnDisk(sceneDir);
    const names = await memo(this.listings, storyboardDir, () => folderNames(storyboardDir));
    if (names === 'none' || (names !== 'unlisted' && !names.has(foldName(sceneSlug)))) return 0;
    return takesOnDisk(sceneDir);
  }
}

/** Folders `ledgersNear` lists or looks for at most: a storyboard in a large folder costs a bounded look. */
const LEDGER_SEARCH_LOOKS = 100;

/** See `PlanLookups.ledgersNear`. */
async function ledgersNear(storyDir: string): Promise<string[]> {
  const found: string[] = [];
  let looks = 0;
  /** The folders in `dir` (undefined when it cannot be listed, or the looks are used up). */
  const folders = async (dir: string): Promise<string[] | undefined> => {
    if (looks++ >= LEDGER_SEARCH_LOOKS) return undefined;
    try {
      const entries = await fs.readdir(dir, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return undefined;
    }
  };
  const searched = (name: string) => !name.startsWith('.') && name !== 'node_modules';
  const top = await folders(storyDir);
  if (!top) return found;
  if (top.includes(LEDGER_FOLDER_NAME)) found.push(path.join(storyDir, LEDGER_FOLDER_NAME));
  for (const name of top.filter(searched)) {
    const child = path.join(storyDir, name);
    const below = await folders(child);
    if (!below) continue;
    if (below.includes(LEDGER_FOLDER_NAME)) found.push(path.join(child, LEDGER_FOLDER_NAME));
    // Two levels down only the ledger folder itself is looked for (a video folder is not listed).
    for (const inner of below.filter(searched)) {
      if (looks++ >= LEDGER_SEARCH_LOOKS) return found;
      const ledger = path.join(child, inner, LEDGER_FOLDER_NAME);
      try {
        if ((await fs.stat(ledger)).isDirectory()) found.push(ledger);
      } catch {
        // No ledger there.
      }
    }
  }
  return found;
}

/**
 * A take that was (or may have been) paid for — done, still running, or sent without an answer —
 * and so is reused rather than paid for again.
 */
function isPaid(e: StoredEntry): boolean {
  return isUnfinished(e) || e.state === 'done' || e.state === 'unknown-submit';
}

/** Positions of a scan's entries by request identity, and by storyboard name then scene slug. */
interface LedgerIndex {
  byRequest: Map<string, number[]>;
  byScene: Map<string, Map<string, number[]>>;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** The cached promise for `key`, made by `make` on the first call. */
function memo<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let p = cache.get(key);
  if (!p) cache.set(key, (p = make()));
  return p;
}

/**
 * A folder's entry names as `foldName` compares them; 'none' when the folder is missing (or not
 * a folder), so nothing under it exists; 'unlisted' when it cannot be listed for another reason
 * (its entries may still be readable: each is then tried).
 */
async function folderNames(dir: string): Promise<Set<string> | 'unlisted' | 'none'> {
  try {
    return new Set((await fs.readdir(dir)).map(foldName));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'none' : 'unlisted';
  }
}

/**
 * A name compared without case or Unicode form: on a file system that ignores them (macOS,
 * Windows) a scene folder is found whatever its listed spelling; elsewhere a match that is not
 * one is read and found empty — the listing only skips folders that are certainly absent.
 */
function foldName(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/** Plans one scene: refuse, reuse a take, or submit a new one. */
export async function planScene(
  opts: PlanOptions,
  storyboardPath: string,
  sr: SceneRequest,
  newTake: boolean,
  ignoreKeys = false,
  lookups: PlanLookups = new PlanLookups(opts, false),
): Promise<ScenePlan> {
  const refuse = (message: string): Extract<ScenePlan, { action: 'refuse' }> => ({
    action: 'refuse',
    scene: sr,
    message,
  });
  if (sr.problems.length)
    return refuse(`${sr.sceneTitle}: cannot be sent: ${sr.problems.join('; ')}.`);
  const keyProblem = ignoreKeys ? undefined : missingKeys(opts.keys, sr.provider);
  if (keyProblem) return refuse(keyProblem);

  const storyDir = path.dirname(storyboardPath);
  const media = await hashedMedia(lookups, storyDir, sr);
  if ('unreadable' in media)
    return refuse(`${sr.sceneTitle}: cannot read ${media.unreadable} (${errCode(media.err)}).`);
  const requestHash = requestIdentity(sr, media);

  const outputDir = path.resolve(storyDir, sr.output);
  const ledger = new Ledger(ledgerDirFor(outputDir));
  const scan = await memo(lookups.scans, ledger.dir, () => ledger.scan());
  const storyboardName = storyboardNameOf(storyboardPath);
  const sameScene = (e: { storyboardName?: string; sceneSlug?: string }) =>
    e.storyboardName === storyboardName && e.sceneSlug === sr.sceneSlug;
  // Takes of this request wherever they were recorded (another scene title, another path to the
  // project), and the takes of this scene's video folder.
  const existing = lookups.takesOf(scan, requestHash, storyboardName, sr.sceneSlug);
  // A damaged file may record a paid task of this request: never pay again until it is resolved.
  // It is this request's when the identity still in its text says so, or, without one, when its
  // file name names this scene.
  const refuseFor = (d: DamagedEntry, which = ''): ScenePlan => ({
    ...refuse(
      `${sr.sceneTitle}: not sent: the ledger entry ${d.file} ${d.problem}. It may record a take ` +
        `already paid for${which}, so nothing is submitted for this scene until it is resolved: ` +
        `repair or delete the file, or ${opts.newTakeHint ?? 'ask for a new take'} to pay for a new one.`,
    ),
    newTakeSends: true,
  });
  const damaged = scan.damaged.find((d) =>
    d.requestHash ? d.requestHash === requestHash : d.storyboardName === undefined || sameScene(d),
  );
  if (damaged && !newTake) return refuseFor(damaged);
  if (!newTake) {
    const same = existing
      .filter((e) => e.requestHash === requestHash)
      .sort((a, b) => a.createdAt - b.createdAt)
      .at(-1);
    if (same && isPaid(same)) {
      const reuse = (how: 'rendered' | 'undecided' | 'download' | 'resume'): ScenePlan => ({
        action: 'reuse',
        scene: sr,
        take: same,
        how,
        media,
        storyboardPath,
      });
      if (same.state === 'done' && same.videoPath && (await exists(same.videoPath)))
        return reuse('rendered');
      if (same.state === 'unknown-submit' && !PROVIDER_FACTS[same.provider].externalIds)
        return reuse('undecided');
      return reuse(same.state === 'done' ? 'download' : 'resume');
    }
  }

  // Without an identity a damaged file may record any request of this folder: its file name is
  // the storyboard and scene as they were named when it was written, and a scene or storyboard
  // renamed since keeps its takes (found by identity). So no new take is paid for while one is
  // there; a take that is reused costs nothing and goes on.
  const unknown = scan.damaged.find((d) => !d.requestHash);
  if (unknown && !newTake) {
    return refuseFor(
      unknown,
      ' (of this scene or another: the request it recorded cannot be read, and its file name is' +
        ' the scene and storyboard as they were named then)',
    );
  }

  // The same request paid for under another output folder of the project (`output:` or the
  // kling.outputFolder setting changed since): its take is there, not here, so a new one would be
  // paid for twice. Set the folder back to use it, or ask for a new take on purpose.
  if (!newTake) {
    const paid = await lookups.paidElsewhere(storyDir, ledger.dir, requestHash);
    if (paid) {
      const there = path.relative(storyDir, path.dirname(paid.ledgerDir)) || '.';
      const here = path.relative(storyDir, outputDir) || '.';
      return {
        ...refuse(
          `${sr.sceneTitle}: not sent: this request was already paid for (take ${paid.entry.take}, ` +
            `${paid.entry.state}) in the output folder ${there}, and the output folder is now ` +
            `${here}. Set the output folder back to ${there} to use that take, or ` +
            `${opts.newTakeHint ?? 'ask for a new take'} to pay for a new one in ${here}.`,
        ),
        newTakeSends: true,
      };
    }
  }

  const outside: string[] = [];
  for (const m of new Set(media.map((x) => x.absPath)))
    if (await lookups.outside(m, storyDir)) outside.push(m);
  // Videos already on disk count too: a ledger that was deleted must not lead to a paid take
  // being overwritten by the next one.
  const onDisk = await lookups.takesOnDisk(path.join(outputDir, storyboardName), sr.sceneSlug);
  const firstFree =
    Math.max(
      onDisk,
      ...existing.map((e) => e.take),
      ...scan.damaged.filter(sameScene).map((d) => d.take ?? 0),
      0,
    ) + 1;
  return {
    action: 'submit',
    scene: sr,
    take: {
      requestHash,
      media,
      outputDir,
      ledger,
      storyboardName,
      existing,
      firstFree,
      outside,
      newTake,
    },
  };
}

/**
 * A request's identity: the hash of provider + endpoint + body with each local file replaced by
 * its content hash. The ledger finds takes by it, so a renamed scene or a moved project reuses
 * what was paid for.
 */
export function requestIdentity(sr: SceneRequest, media: StoredMedia[]): string {
  let hashBody: unknown = sr.body;
  for (const m of media) hashBody = setAtPath(hashBody, m.path, `sha256:${m.sha256}`);
  return sha256(canonicalJson({ provider: sr.provider, endpoint: sr.endpoint, body: hashBody }));
}

/**
 * True when a file lies outside every one of `folders`, compared as real paths: a link inside a
 * folder that points outside it is outside (the extension's confirmation and the engine's hook
 * both ask this).
 */
export async function outsideFolders(absPath: string, folders: string[]): Promise<boolean> {
  const real = await realOr(absPath);
  for (const folder of folders) if (isInside(await realOr(folder), real)) return false;
  return true;
}

/** The real path (symlinks resolved), or the path itself when it cannot be resolved. */
export async function realOr(p: string): Promise<string> {
  try {
    return await fs.realpath(p);
  } catch {
    return p;
  }
}

/**
 * A storyboard's absolute output folder, from its file on disk (an unreadable or deleted
 * storyboard: the default folder). The folder as written is `outputAsWritten` (core/resolve.ts).
 */
export async function outputDirOf(
  opts: Pick<PlanOptions, 'defaultOutput' | 'files'>,
  storyboardPath: string,
): Promise<string> {
  let output = opts.defaultOutput || DEFAULT_OUTPUT;
  try {
    const text = Buffer.from(await readRegularFile(opts, storyboardPath)).toString('utf8');
    output = outputAsWritten(parseStoryboard(text).storyboard, opts.defaultOutput);
  } catch {
    // Unreadable or deleted storyboard: the default folder.
  }
  return path.resolve(path.dirname(storyboardPath), output);
}

/** Why a provider's keys are missing (one line), or undefined when they are set. */
export function missingKeys(keys: ProviderKeys, provider: ProviderId): string | undefined {
  if (hasKeys(keys, provider)) return undefined;
  return provider === 'kie'
    ? 'No KIE API key is set (KIE_API_KEY, or "Kling: Set KIE API Key" in VS Code).'
    : 'No Kling access/secret key pair is set (KLING_ACCESS_KEY + KLING_SECRET_KEY, or "Kling: Set Kling Access/Secret Keys").';
}

/**
 * Reads a file the engine needs whole (media, a storyboard); a directory, a FIFO or a device is
 * refused by its type first, so a FIFO never blocks the run.
 */
export async function readRegularFile(
  opts: Pick<PlanOptions, 'files'>,
  absPath: string,
): Promise<Uint8Array> {
  const st = await fs.stat(absPath).catch(() => undefined);
  if (st?.isDirectory()) throw new Error('it is a directory, not a file');
  if (st && !st.isFile()) throw new Error('not a regular file (a FIFO, socket or device)');
  return readWith(opts, absPath);
}

/** The SHA-256 of a media file's bytes, from `opts.hashCache` while the file is unchanged. */
async function contentHash(opts: PlanOptions, absPath: string): Promise<string> {
  const cache = opts.files ? undefined : opts.hashCache;
  const st = cache && (await fs.stat(absPath).catch(() => undefined));
  const hit = st?.isFile() ? cache?.get(absPath) : undefined;
  if (
    st &&
    hit &&
    hit.ino === st.ino &&
    hit.size === st.size &&
    hit.mtimeMs === st.mtimeMs &&
    hit.ctimeMs === st.ctimeMs
  )
    return hit.sha256;
  const digest = sha256(await readRegularFile(opts, absPath));
  if (cache && st?.isFile()) {
    if (cache.size > 10_000) cache.clear();
    const { ino, size, mtimeMs, ctimeMs } = st;
    cache.set(absPath, { ino, size, mtimeMs, ctimeMs, sha256: digest });
  }
  return digest;
}

/** Reads a file through the injected file access, else node:fs. */
export async function readWith(
  opts: Pick<PlanOptions, 'files'>,
  absPath: string,
): Promise<Uint8Array> {
  return opts.files ? opts.files.readFile(absPath) : fs.readFile(absPath);
}

/** The highest `take-N.mp4` number in a scene's video folder (0 when none). */
async function takesOnDisk(sceneDir: string): Promise<number> {
  let names: string[];
  try {
    names = await fs.readdir(sceneDir);
  } catch {
    return 0;
  }
  let max = 0;
  for (const name of names) {
    const m = /^take-(\d+)\.mp4$/.exec(name);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max;
}

function errCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EISDIR') return 'it is a directory, not a file';
  return code ?? (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
}

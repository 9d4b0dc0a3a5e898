// One take's life: a planned scene is turned into a claimed ledger entry (or joins the take the
// plan found), then its state machine runs — submit → poll → download — once per process, owned
// on disk so a second process follows instead of racing. Cancelling before a create was sent
// closes the take; after, only the waiting stops.
import path from 'node:path';
import { externalTaskIdFor, type SceneRequest } from '../core/request';
import { PROVIDER_FACTS } from '../providers/adapter';
import { Cancelled, type RunContext, type Step } from './context';
import { downloadTake } from './download';
import {
  isUnfinished,
  Ledger,
  ledgerDirFor,
  needsDownloadRetry,
  publicEntry,
  type StoredEntry,
} from './ledger';
import { currentOwner, ownedElsewhere, ownerAlive } from './owner';
import type { ScenePlan } from './plan';
import { pollDelay } from './limits';
import { poll } from './poll';
import { submit } from './submit';
import { FINAL_STATES, type LedgerEntry } from './types';

/** Carries out a scene's plan: refuse it, reuse its take, or claim and run a new one. */
export async function runPlan(
  run: RunContext,
  storyboardPath: string,
  plan: ScenePlan,
): Promise<LedgerEntry> {
  const sr = plan.scene;
  if (plan.action === 'refuse') return refused(run, storyboardPath, sr, plan.message);
  const hint = run.engine.newTakeHint();
  if (plan.action === 'reuse') {
    const same = plan.take;
    // The take now answers to the scene as it is named and found today.
    const relabel = (e: StoredEntry) => {
      e.storyboardPath = plan.storyboardPath;
      e.sceneTitle = sr.sceneTitle;
      e.sceneIndex = sr.sceneIndex;
      const byPath = new Map(plan.media.map((m) => [m.path.join('/'), m]));
      e.media = e.media.map((m) => {
        const now = byPath.get(m.path.join('/'));
        return now && now.sha256 === m.sha256 ? { ...m, absPath: now.absPath } : m;
      });
    };
    if (plan.how === 'rendered' || plan.how === 'undecided') await relabelFinal(same, relabel);
    if (plan.how === 'rendered') {
      run.emit(
        same,
        `${same.sceneTitle}: already rendered as take ${same.take} (${same.videoPath}); ${hint} to generate again.`,
      );
      return publicEntry(same);
    }
    if (plan.how === 'undecided') {
      run.emit(
        same,
        `${same.sceneTitle}: take ${same.take} may already be submitted (${same.error ?? 'unknown'}); not re-sent; ${hint} to submit again.`,
      );
      return publicEntry(same);
    }
    if (plan.how === 'download') {
      // The video was deleted: fetch it again rather than paying for a new generation.
      same.state = 'downloading';
      same.videoPath = undefined;
    }
    run.emit(
      same,
      `${same.sceneTitle}: resuming take ${same.take} (${same.state}${same.taskId ? `, task ${same.taskId}` : ''}).`,
    );
    return publicEntry(await continueOnce(run, same, relabel));
  }

  const t = plan.take;
  // About to send: files outside the storyboard's folder need the user's consent (once per file).
  const confirm = run.opts.confirmOutsideUpload;
  if (confirm) {
    for (const m of t.outside) {
      if (!(await confirm(m))) {
        return refused(
          run,
          storyboardPath,
          sr,
          `${sr.sceneTitle}: not sent: ${m} is outside the storyboard's folder and was not allowed.`,
        );
      }
    }
  }
  const newTake = t.newTake;
  let take = t.firstFree;
  const now = Date.now();
  const make = (n: number): StoredEntry => {
    return {
      key: `${t.requestHash}-t${n}`,
      requestHash: t.requestHash,
      take: n,
      storyboardPath,
      storyboardName: t.storyboardName,
      outputDir: t.outputDir,
      targetPath: path.join(t.outputDir, t.storyboardName, sr.sceneSlug, `take-${n}.mp4`),
      sceneIndex: sr.sceneIndex,
      sceneTitle: sr.sceneTitle,
      sceneSlug: sr.sceneSlug,
      provider: sr.provider,
      endpoint: sr.endpoint,
      externalTaskId: PROVIDER_FACTS[sr.provider].externalIds
        ? externalTaskIdFor(t.requestHash, n)
        : undefined,
      state: 'pending-submit',
      owner: currentOwner(),
      request: sr.body,
      body: sr.body,
      media: t.media,
      createdAt: now,
      updatedAt: now,
    };
  };
  let entry = make(take);
  const known = new Set(t.existing.map((e) => e.key));
  const claim = async (e: StoredEntry) => {
    try {
      return await t.ledger.claim(e);
    } catch (err) {
      const code = writeProblem(err);
      if (!code) throw err;
      throw new LedgerNotWritable(
        `${sr.sceneTitle}: not sent: cannot write the ledger in ${t.ledger.dir} (${code}). Nothing was spent; make the folder writable and run again.`,
      );
    }
  };
  while (!(await claim(entry))) {
    if (!newTake) {
      // Another process claimed a take of this request meanwhile: join it.
      const raced = (await t.ledger.list()).find(
        (e) =>
          e.requestHash === t.requestHash &&
          !known.has(e.key) &&
          (isUnfinished(e) || e.state === 'done'),
      );
      if (raced) {
        run.log(
          `${raced.sceneTitle}: take ${raced.take} was just started by another process; following it.`,
        );
        return publicEntry(await continueOnce(run, raced));
      }
    }
    entry = make(++take);
  }
  await run.engine.indexLedger(t.ledger.dir);
  run.emit(entry, `${entry.sceneTitle}: take ${take} recorded; preparing to submit.`);
  return publicEntry(await continueOnce(run, entry));
}

/** Applies a relabel to a take in a final state (no process advances it) and saves it. */
async function relabelFinal(entry: StoredEntry, relabel: (e: StoredEntry) => void): Promise<void> {
  const before = JSON.stringify(entry);
  relabel(entry);
  if (JSON.stringify(entry) === before) return;
  // Best effort: the take is reported either way; a read-only ledger keeps the old labels.
  await new Ledger(ledgerDirFor(entry.outputDir)).save(entry).catch(() => undefined);
}

/** Runs an entry's state machine once per process (a second caller joins the first). */
export function continueOnce(
  run: RunContext,
  entry: StoredEntry,
  relabel?: (e: StoredEntry) => void,
): Promise<StoredEntry> {
  const active = run.engine.active;
  const id = `${entry.outputDir}|${entry.storyboardName}|${entry.sceneSlug}|${entry.take}`;
  const running = active.get(id);
  if (running) return running;
  const p = advance(run, entry, relabel).finally(() => active.delete(id));
  active.set(id, p);
  return p;
}

async function advance(
  run: RunContext,
  entry: StoredEntry,
  relabel?: (e: StoredEntry) => void,
): Promise<StoredEntry> {
  const ledger = new Ledger(ledgerDirFor(entry.outputDir));
  try {
    return await advanceOrFollow(run, entry, ledger, relabel);
  } catch (err) {
    const code = writeProblem(err);
    if (!code) throw err;
    // The take stays as last written there, so the next run resumes it: not "failed".
    const snapshot: StoredEntry = {
      ...entry,
      owner: undefined,
      error: `cannot write the ledger in ${ledger.dir} (${code}); the take${entry.taskId ? ` (task ${entry.taskId})` : ''} is kept there as it was and resumes once the folder is writable.`,
    };
    run.emit(snapshot, `${entry.sceneTitle}: ${snapshot.error}`);
    return snapshot;
  }
}

async function advanceOrFollow(
  run: RunContext,
  entry: StoredEntry,
  ledger: Ledger,
  relabel?: (e: StoredEntry) => void,
): Promise<StoredEntry> {
  for (;;) {
    // Our copy may have been read long ago (before waiting for a scene slot): if another process
    // has written the take since, continue from what it wrote, never over it.
    const onDisk = await ledger.read(entry);
    if (onDisk && onDisk.updatedAt > entry.updatedAt) Object.assign(entry, onDisk);
    const other = await handledElsewhere(ledger, entry);
    if (other) {
      const followed = await follow(run, entry, ledger, other);
      if (followed) return followed;
      continue; // the other process stopped without finishing: this one carries on
    }
    relabel?.(entry);
    // Mark the take as ours so a second process (CLI next to the editor) follows instead of racing.
    entry.owner = currentOwner();
    await ledger.save(entry);
    let result: StoredEntry;
    try {
      result = await advanceOwned(run, entry, ledger);
    } finally {
      entry.owner = undefined;
      // A take left to another process is its to write.
      if (!run.engine.leftToOthers.has(entry)) await ledger.save(entry).catch(() => undefined);
    }
    if (!run.engine.leftToOthers.delete(entry)) return result;
    // Another live process claimed the create meanwhile: follow it like any other take of its.
  }
}

/** Who else is advancing this take right now (owner, or the claimer of its next create), if anyone. */
async function handledElsewhere(ledger: Ledger, entry: StoredEntry): Promise<string | undefined> {
  const other = ownedElsewhere(entry.owner, entry.updatedAt);
  if (other || entry.state !== 'pending-submit') return other;
  // Its next create may already be claimed by a live process that has not saved the take yet.
  const claim = await ledger.createClaimOf(entry, (entry.createAttempts ?? 0) + 1);
  if (claim && claim.owner.pid !== process.pid && ownerAlive(claim.owner, claim.at))
    return `pid ${claim.owner.pid}`;
  return undefined;
}

/**
 * Waits, reading the ledger only, while another process advances the take: its final entry when
 * it finishes (so two processes sharing the work both report every scene done), undefined when
 * it stops without finishing (this process takes over), or a snapshot when this run's timeout
 * passes or it is cancelled — the ledger untouched.
 */
async function follow(
  run: RunContext,
  entry: StoredEntry,
  ledger: Ledger,
  other: string,
): Promise<StoredEntry | undefined> {
  const en = run.engine;
  run.emit(
    entry,
    `${entry.sceneTitle}: being handled by another running process (${other}); following it.`,
  );
  const started = Date.now();
  const leftAlone = (error: string): StoredEntry => {
    const snapshot = { ...entry, error };
    run.emit(snapshot, `${entry.sceneTitle}: ${error}`);
    return snapshot;
  };
  for (;;) {
    if (Date.now() - started > en.timeoutMs())
      return leftAlone(`being handled by another running process (${other}); not touched here.`);
    try {
      await run.wait(pollDelay(Date.now() - started, en.pollBase(), en.random));
    } catch {
      return leftAlone(
        `stopped following; another running process (${other}) keeps handling this take.`,
      );
    }
    const now = await ledger.read(entry);
    if (!now) continue;
    Object.assign(entry, now);
    if (!isUnfinished(now) && FINAL_STATES.includes(now.state)) return now;
    const still = await handledElsewhere(ledger, now);
    if (!still) return undefined;
    other = still;
  }
}

async function advanceOwned(
  run: RunContext,
  entry: StoredEntry,
  ledger: Ledger,
): Promise<StoredEntry> {
  try {
    for (;;) {
      let step: Step;
      if (entry.state === 'unknown-submit' && PROVIDER_FACTS[entry.provider].externalIds) {
        // Look it up again by its external id (and re-send under the same id if absent).
        entry.state = 'pending-submit';
        entry.createSentAt ??= entry.updatedAt;
      }
      if (entry.state === 'pending-submit') step = await submit(run, entry, ledger);
      else if (entry.state === 'submitted' || entry.state === 'running')
        step = await poll(run, entry, ledger);
      else if (entry.state === 'downloading' || needsDownloadRetry(entry))
        step = await downloadTake(run, entry, ledger);
      else return entry;
      if (step === 'stop') return entry;
    }
  } catch (err) {
    if (err instanceof Cancelled || run.signal?.aborted) return cancelled(run, entry, ledger);
    throw err;
  }
}

/** Cancellation: before any create was sent the take is closed; after, only waiting stops. */
async function cancelled(
  run: RunContext,
  entry: StoredEntry,
  ledger: Ledger,
): Promise<StoredEntry> {
  if (entry.state === 'pending-submit' && entry.createSentAt === undefined) {
    entry.state = 'cancelled';
    entry.error = 'cancelled before submitting; nothing was spent.';
    entry.finishedAt = Date.now();
    await run.save(ledger, entry);
    run.emit(entry, `${entry.sceneTitle}: ${entry.error}`);
    return entry;
  }
  const snapshot: StoredEntry = {
    ...entry,
    state: 'cancelled',
    error:
      'stopped waiting. The remote task keeps running (and is charged); it is picked up again on the next render or resume.',
  };
  run.emit(snapshot, `${entry.sceneTitle}: ${snapshot.error}`);
  return snapshot;
}

/** Thrown when a new take cannot be recorded: the scene is refused with this one line. */
export class LedgerNotWritable extends Error {}

/** The error code when `err` is a failed write to a read-only, full or missing ledger folder. */
function writeProblem(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code && ['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'ENOTDIR'].includes(code)
    ? code
    : undefined;
}

/** A scene that was not sent: reported, never written to the ledger. */
export function refused(
  run: RunContext,
  storyboardPath: string,
  sr: SceneRequest,
  message: string,
): LedgerEntry {
  const now = Date.now();
  const entry: LedgerEntry = {
    key: '',
    requestHash: '',
    take: 0,
    storyboardPath,
    sceneIndex: sr.sceneIndex,
    sceneTitle: sr.sceneTitle,
    sceneSlug: sr.sceneSlug,
    provider: sr.provider,
    endpoint: sr.endpoint,
    state: 'failed',
    error: message,
    request: sr.body,
    createdAt: now,
    updatedAt: now,
  };
  run.onEvent?.({ entry, message });
  run.log(message);
  return entry;
}

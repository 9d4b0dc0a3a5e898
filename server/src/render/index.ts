// The render engine: scene → uploaded media → ledger entry → createTask → polling → download.
// It never pays twice: every take is claimed in the ledger before its create is sent, a create
// whose answer was lost is looked up (Kling: external_task_id) or reported (KIE: no way to
// look it up), and unfinished takes resume after a restart. No vscode import: the extension
// and the CLI both drive it. The work is split by step (see README, "Code map"): plan.ts decides
// per scene, take.ts runs a take's state machine through submit.ts, poll.ts and download.ts;
// views.ts and account.ts are the two other paid/remote calls; context.ts is what they share.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { finalMessage } from '../providers/http';
import { balance, credits } from './account';
import { EngineContext } from './context';
import {
  isUnfinished,
  Ledger,
  ledgerDirFor,
  publicEntry,
  storyboardNameOf,
  type DamagedEntry,
  type StoredEntry,
} from './ledger';
import { exists } from './fsutil';
import { planScene, realOr, sceneRequests } from './plan';
import { knownLedgers } from './state';
import { continueOnce, refused, runPlan } from './take';
import type { EngineOptions, LedgerEntry, ProviderId, RenderEvent, RenderRequest } from './types';
import { expandElementViews, type ViewsOptions } from './views';

export * from './types';
export type { DamagedEntry } from './ledger';
export { planRender, type PlanOptions, type PlanRequest, type ScenePlan } from './plan';
export { previewRequests } from './preview';
export { ViewsNotApproved, type ViewsOptions } from './views';
export { endpointPath } from '../providers/adapter';

/** What a scene's turn in a slot ended with: its entry, or the take of its request being made. */
type SceneStep =
  { entry: LedgerEntry; after?: undefined } | { entry?: undefined; after: Promise<unknown> };

/** Renders storyboard scenes through KIE or Kling; see the file comment for the guarantees. */
export class RenderEngine {
  private readonly en: EngineContext;
  /** `renamedEntries` by ledger folder, with the folder's modification time it was read at. */
  private readonly renamed = new Map<
    string,
    { mtimeMs: number; key: string; entries: LedgerEntry[] }
  >();

  constructor(opts: EngineOptions) {
    this.en = new EngineContext(opts);
  }

  /** Renders the selected scenes (default all); one entry per scene, in scene order. */
  async render(req: RenderRequest): Promise<LedgerEntry[]> {
    const en = this.en;
    // One name per storyboard: reached through a symlink, it is still the same project.
    const storyboardPath = await realOr(path.resolve(req.storyboardPath));
    const { requests } = sceneRequests(en.opts, req.text, req.scenes, storyboardPath);
    const run = en.run(req.signal, req.onEvent);
    // Scenes of this run that send the same request (two scenes written alike) make one take:
    // while the first one's take runs, the others wait outside their slot, then plan again and
    // reuse it (or, if it failed, the first of them tries). Planned at once, each would find no
    // take yet and pay.
    const making = new Map<string, Promise<unknown>>();
    const renderScene = async (sr: (typeof requests)[number]): Promise<LedgerEntry> => {
      let newTake = !!req.newTake;
      for (;;) {
        const step = await en.sceneSlots.run(async (): Promise<SceneStep> => {
          const plan = await planScene(en.opts, storyboardPath, sr, newTake);
          if (plan.action !== 'submit') return { entry: await runPlan(run, storyboardPath, plan) };
          const hash = plan.take.requestHash;
          const first = making.get(hash);
          if (first) return { after: first };
          const taking = runPlan(run, storyboardPath, plan);
          const settled = taking.then(
            () => making.delete(hash),
            () => making.delete(hash),
          );
          making.set(hash, settled);
          return { entry: await taking };
        });
        if (step.entry) return step.entry;
        await step.after;
        // The take just made is this request's take: a new take was asked for once, not twice.
        newTake = false;
      }
    };
    const results = await Promise.all(
      requests.map((sr) =>
        renderScene(sr).catch((err: unknown) =>
          refused(run, storyboardPath, sr, finalMessage(err)),
        ),
      ),
    );
    await en.refreshIndex(results);
    return results;
  }

  /** Continues unfinished takes (poll, download, look up) of the given storyboards, or of every known ledger. */
  async resume(
    storyboardPaths: string[] | 'known',
    onEvent?: (e: RenderEvent) => void,
    signal?: AbortSignal,
  ): Promise<LedgerEntry[]> {
    const en = this.en;
    const run = en.run(signal, onEvent);
    let stored: StoredEntry[] = [];
    if (storyboardPaths === 'known') {
      for (const dir of await knownLedgers(en.stateDir))
        stored.push(...(await new Ledger(dir).list()));
    } else {
      for (const p of storyboardPaths) {
        const abs = await realOr(path.resolve(p));
        const ledger = new Ledger(ledgerDirFor(await en.outputDirOf(abs)));
        stored.push(...(await ledger.list()).filter((e) => e.storyboardPath === abs));
      }
    }
    stored = stored.filter(isUnfinished);
    const results = await Promise.all(
      stored.map((e) =>
        en.sceneSlots
          .run(() => continueOnce(run, e))
          .then(publicEntry)
          .catch((err: unknown) => ({ ...publicEntry(e), error: finalMessage(err) })),
      ),
    );
    if (storyboardPaths === 'known') {
      // Drop ledgers that no longer hold unfinished work.
      for (const dir of await knownLedgers(en.stateDir)) await en.settleIndex(dir);
    } else await en.refreshIndex(results);
    return results;
  }

  /** What the ledger knows: every take of one storyboard, or of every storyboard with unfinished work. */
  async entries(storyboardPath?: string): Promise<LedgerEntry[]> {
    const en = this.en;
    if (storyboardPath === undefined) {
      const all: LedgerEntry[] = [];
      for (const dir of await knownLedgers(en.stateDir))
        all.push(...(await new Ledger(dir).list()).map(publicEntry));
      return all;
    }
    const abs = await realOr(path.resolve(storyboardPath));
    const ledger = new Ledger(ledgerDirFor(await en.outputDirOf(abs)));
    return (await ledger.list()).filter((e) => e.storyboardPath === abs).map(publicEntry);
  }

  /**
   * The takes in a storyboard's output folder recorded for storyboards whose file is gone from
   * its folder (renamed since: a render finds those takes by request and relabels them; until
   * then the film finds them here, render/takes.ts). One listing of the ledger folder and a look
   * for each other storyboard's file; when one is gone, its entries are read (a second listing),
   * and kept while the folder is unchanged.
   */
  async renamedEntries(storyboardPath: string): Promise<LedgerEntry[]> {
    const abs = await realOr(path.resolve(storyboardPath));
    const ledger = new Ledger(ledgerDirFor(await this.en.outputDirOf(abs)));
    const own = storyboardNameOf(abs);
    const gone = new Set<string>();
    for (const name of await ledger.storyboardNames()) {
      if (name !== own && !(await exists(path.join(path.dirname(abs), `${name}.kling`))))
        gone.add(name);
    }
    if (!gone.size) return [];
    // Kept while the ledger folder is unchanged (every entry is written by a rename into it, which
    // changes its modification time): a deleted storyboard's entries are not read on every redraw.
    const key = [...gone].sort().join('\n');
    const mtimeMs = (await fs.stat(ledger.dir).catch(() => undefined))?.mtimeMs;
    const hit = this.renamed.get(ledger.dir);
    if (hit && mtimeMs !== undefined && hit.mtimeMs === mtimeMs && hit.key === key)
      return hit.entries;
    const entries = (await ledger.scan((name) => gone.has(name))).entries.map(publicEntry);
    if (mtimeMs !== undefined) this.renamed.set(ledger.dir, { mtimeMs, key, entries });
    return entries;
  }

  /**
   * Ledger files that cannot be read as takes (unreadable, truncated, unknown state): of one
   * storyboard's output folder, or of every known ledger. Each one blocks the request it recorded,
   * or, when that cannot be read from it, every new take written to its folder (see plan.ts): a
   * storyboard's list has its own files and those.
   */
  async damaged(storyboardPath?: string): Promise<DamagedEntry[]> {
    const en = this.en;
    if (storyboardPath === undefined) {
      const out: DamagedEntry[] = [];
      for (const dir of await knownLedgers(en.stateDir))
        out.push(...(await new Ledger(dir).scan()).damaged);
      return out;
    }
    const abs = await realOr(path.resolve(storyboardPath));
    const name = storyboardNameOf(abs);
    const { damaged } = await new Ledger(ledgerDirFor(await en.outputDirOf(abs))).scan();
    return damaged.filter(
      (d) => d.storyboardName === undefined || d.storyboardName === name || !d.requestHash,
    );
  }

  /**
   * Scenes whose create is on the wire right now: its answer carries a task id not yet recorded,
   * so a front end that is asked to quit waits for it (the CLI's second Ctrl+C says so).
   */
  createsInFlight(): string[] {
    return [...this.en.createsInFlight].map((e) => e.sceneTitle);
  }

  /** The account balance as one line (KIE credits; Kling has no balance endpoint). */
  credits(provider: ProviderId): Promise<string> {
    return credits(this.en, provider);
  }

  /** The balance as a number (KIE credits); undefined where the API has none (Kling); throws when unreadable. */
  balance(provider: ProviderId): Promise<number | undefined> {
    return balance(this.en, provider);
  }

  /**
   * Kling AI Multi-Shot: from one frontal image, generates three more views of the subject and
   * saves them next to it (`<name>-view-1.png` …). Returns their absolute paths. Under the
   * views ledger: asking again for the same image reuses the paid task (running or done) unless
   * `newTake`; a cancelled wait leaves the task to the next call. A new task is estimated and
   * logged first, and sent only if `approve` (when given) agrees.
   */
  expandElementViews(
    frontalImageAbsPath: string,
    signal?: AbortSignal,
    options: ViewsOptions = {},
  ): Promise<string[]> {
    return expandElementViews(this.en, frontalImageAbsPath, signal, options);
  }
}

// The render engine: scene → uploaded media → ledger entry → createTask → polling → download.
// It never pays twice: every take is claimed in the ledger before its create is sent, a create
// whose answer was lost is looked up (Kling: external_task_id) or reported (KIE: no way to
// look it up), and unfinished takes resume after a restart. No vscode import: the extension
// and the CLI both drive it.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Storyboard } from '../core/ast';
import { parseStoryboard } from '../core/parse';
import { buildRequests, externalTaskIdFor, type SceneRequest } from '../core/request';
import { storyboardProvider, lastSetting } from '../core/resolve';
import { delay, finalMessage, ProviderError, redact, retryingMessage } from '../providers/http';
import { KieClient, kieFailureMessage, kiePhase, KIE_PATHS } from '../providers/kie';
import {
  KlingClient,
  klingFailureMessage,
  klingPhase,
  KLING_PATHS,
  type KlingVideoKind,
} from '../providers/kling';
import { downloadTo, DownloadError } from './download';
import { exists, writeFileAtomic } from './fsutil';
import { canonicalJson, setAtPath, sha256 } from './hash';
import {
  isUnfinished,
  Ledger,
  ledgerDirFor,
  needsDownloadRetry,
  publicEntry,
  storyboardNameOf,
  type StoredEntry,
  type StoredMedia,
} from './ledger';
import { backoffDelay, CreateGate, pollDelay, Semaphore, type Sleep } from './limits';
import { defaultStateDir, knownLedgers, updateLedgerIndex } from './state';
import { currentOwner, ownedElsewhere, ownerAlive } from './owner';
import type { EngineOptions, LedgerEntry, ProviderId, RenderEvent, RenderRequest } from './types';
import { Uploader } from './uploads';

export * from './types';

/** Per-call context: where events go and what cancels waiting. */
interface RunContext {
  signal?: AbortSignal;
  onEvent?: (e: RenderEvent) => void;
}

type Step = 'next' | 'stop';

class Cancelled extends Error {}

const KIE_MAX_CREATE_RETRIES = 5;

/** Renders storyboard scenes through KIE or Kling; see the file comment for the guarantees. */
export class RenderEngine {
  private readonly opts: EngineOptions;
  private readonly sceneSlots: Semaphore;
  private readonly kieGate: CreateGate;
  private readonly klingGate: CreateGate;
  private readonly uploader: Uploader;
  private readonly stateDir: string;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly active = new Map<string, Promise<StoredEntry>>();
  private readonly indexed = new Set<string>();
  /** Entries found mid-submit by another live process: not saved again by this one. */
  private readonly leftToOthers = new WeakSet<StoredEntry>();
  private kie?: KieClient;
  private kling?: KlingClient;

  constructor(opts: EngineOptions) {
    this.opts = opts;
    this.sceneSlots = new Semaphore(Math.max(1, opts.concurrency));
    this.stateDir = opts.stateDir ?? defaultStateDir();
    this.sleep = opts.sleep ?? delay;
    this.random = opts.random ?? Math.random;
    const window = opts.kieCreateWindow ?? { max: 18, windowMs: 10_000 };
    this.kieGate = new CreateGate({ window, sleep: this.sleep });
    this.klingGate = new CreateGate({ sleep: this.sleep });
    this.uploader = new Uploader({
      client: () => this.kieClient(),
      uploadBase: opts.bases.kieUpload,
      cacheFile: path.join(this.stateDir, 'uploads.json'),
      freshMs: opts.uploadFreshMs ?? 24 * 3_600_000,
      concurrency: opts.uploadConcurrency ?? 3,
      uploadPath: opts.uploadPath ?? 'kling-storyboard',
      retries: 3,
      retryBaseMs: this.scaled(1000),
    });
  }

  /** Renders the selected scenes (default all); one entry per scene, in scene order. */
  async render(req: RenderRequest): Promise<LedgerEntry[]> {
    const storyboardPath = path.resolve(req.storyboardPath);
    const { storyboard } = parseStoryboard(req.text);
    const requests = buildRequests(storyboard, {
      scenes: req.scenes,
      klingRefStyle: this.opts.klingRefStyle,
      defaultProvider: this.opts.defaultProvider,
    });
    // The builder knows only the header's `output:`; the configured default fills the gap.
    const output = this.outputOf(storyboard);
    for (const sr of requests) sr.output = output;
    const ctx: RunContext = { signal: req.signal, onEvent: req.onEvent };
    const results = await Promise.all(
      requests.map((sr) =>
        this.sceneSlots
          .run(() => this.renderScene(storyboardPath, sr, !!req.newTake, ctx))
          .catch((err: unknown) =>
            this.ephemeral(storyboardPath, sr, 'failed', finalMessage(err), ctx),
          ),
      ),
    );
    await this.refreshIndex(results);
    return results;
  }

  /** Continues unfinished takes (poll, download, look up) of the given storyboards, or of every known ledger. */
  async resume(
    storyboardPaths: string[] | 'known',
    onEvent?: (e: RenderEvent) => void,
    signal?: AbortSignal,
  ): Promise<LedgerEntry[]> {
    const ctx: RunContext = { signal, onEvent };
    let stored: StoredEntry[] = [];
    if (storyboardPaths === 'known') {
      for (const dir of await knownLedgers(this.stateDir))
        stored.push(...(await new Ledger(dir).list()));
    } else {
      for (const p of storyboardPaths) {
        const abs = path.resolve(p);
        const ledger = new Ledger(ledgerDirFor(await this.outputDirOf(abs)));
        stored.push(...(await ledger.list()).filter((e) => e.storyboardPath === abs));
      }
    }
    stored = stored.filter(isUnfinished);
    const results = await Promise.all(
      stored.map((e) =>
        this.sceneSlots
          .run(() => this.continueOnce(e, ctx))
          .then(publicEntry)
          .catch((err: unknown) => ({ ...publicEntry(e), error: finalMessage(err) })),
      ),
    );
    if (storyboardPaths === 'known') {
      // Drop ledgers that no longer hold unfinished work.
      for (const dir of await knownLedgers(this.stateDir)) {
        const left = (await new Ledger(dir).list()).some(isUnfinished);
        if (!left) await updateLedgerIndex(this.stateDir, dir, false);
      }
    } else await this.refreshIndex(results);
    return results;
  }

  /** What the ledger knows: every take of one storyboard, or of every storyboard with unfinished work. */
  async entries(storyboardPath?: string): Promise<LedgerEntry[]> {
    if (storyboardPath === undefined) {
      const all: LedgerEntry[] = [];
      for (const dir of await knownLedgers(this.stateDir))
        all.push(...(await new Ledger(dir).list()).map(publicEntry));
      return all;
    }
    const abs = path.resolve(storyboardPath);
    const ledger = new Ledger(ledgerDirFor(await this.outputDirOf(abs)));
    return (await ledger.list()).filter((e) => e.storyboardPath === abs).map(publicEntry);
  }

  /** The account balance as one line (KIE credits; Kling has no balance endpoint). */
  async credits(provider: ProviderId): Promise<string> {
    if (provider === 'kling') {
      return "Kling's API has no balance endpoint; see the resource packs in the Kling developer console.";
    }
    for (let attempt = 0; ; attempt++) {
      try {
        return `KIE credits: ${await this.kieClient().credits()}`;
      } catch (err) {
        if (!(err instanceof ProviderError) || !err.retryable || attempt >= 2) throw err;
        await this.sleep(
          err.retryAfterMs ?? backoffDelay(attempt, this.scaled(1000), this.maxWait(), this.random),
        );
      }
    }
  }

  /**
   * Kling AI Multi-Shot: from one frontal image, generates three more views of the subject and
   * saves them next to it (`<name>-view-1.png` …). Returns their absolute paths.
   */
  async expandElementViews(frontalImageAbsPath: string, signal?: AbortSignal): Promise<string[]> {
    const client = this.klingClient();
    const bytes = await this.readFile(frontalImageAbsPath);
    const hash = sha256(bytes);
    const ext = `ksb-views-${hash.slice(0, 16)}-${Date.now().toString(36)}`;
    const created = await client.createMultiShot(
      Buffer.from(bytes).toString('base64'),
      ext,
      signal,
    );
    const started = Date.now();
    let task = created;
    while (klingPhase(task.status) !== 'succeeded') {
      if (klingPhase(task.status) === 'failed') throw new Error(klingFailureMessage(task));
      if (Date.now() - started > this.timeoutMs()) {
        throw new Error(
          `Kling AI Multi-Shot still running after ${minutes(this.timeoutMs())}; try again later.`,
        );
      }
      await this.sleep(pollDelay(Date.now() - started, this.pollBase(), this.random), signal);
      try {
        task = await client.queryMultiShot(created.taskId, signal);
      } catch (err) {
        if (!(err instanceof ProviderError) || !err.retryable) throw err;
      }
    }
    if (task.imageUrls.length === 0)
      throw new Error('Kling AI Multi-Shot succeeded but returned no images.');
    const dir = path.dirname(frontalImageAbsPath);
    const base = path.basename(frontalImageAbsPath).replace(/\.[^.]+$/, '');
    const out: string[] = [];
    for (const [i, url] of task.imageUrls.entries()) {
      const extName = /\.(png|jpe?g)(\?|$)/i.exec(url)?.[1]?.toLowerCase() ?? 'png';
      const target = path.join(
        dir,
        `${base}-view-${i + 1}.${extName === 'jpeg' ? 'jpg' : extName}`,
      );
      await downloadTo(url, target, { fetch: this.opts.fetch, timeoutMs: 120_000, signal });
      out.push(target);
    }
    return out;
  }

  // ---- one scene ---------------------------------------------------------------------------

  private async renderScene(
    storyboardPath: string,
    sr: SceneRequest,
    newTake: boolean,
    ctx: RunContext,
  ): Promise<LedgerEntry> {
    if (sr.problems.length) {
      return this.ephemeral(
        storyboardPath,
        sr,
        'failed',
        `${sr.sceneTitle}: cannot be sent: ${sr.problems.join('; ')}.`,
        ctx,
      );
    }
    const keyProblem = this.missingKeys(sr.provider);
    if (keyProblem) return this.ephemeral(storyboardPath, sr, 'failed', keyProblem, ctx);

    const storyDir = path.dirname(storyboardPath);
    const media: StoredMedia[] = [];
    for (const slot of sr.media) {
      const absPath = path.resolve(storyDir, slot.ref);
      let bytes: Uint8Array;
      try {
        bytes = await this.readFile(absPath);
      } catch (err) {
        return this.ephemeral(
          storyboardPath,
          sr,
          'failed',
          `${sr.sceneTitle}: cannot read ${slot.ref} (${errCode(err)}).`,
          ctx,
        );
      }
      media.push({ path: slot.path, absPath, sha256: sha256(bytes), kind: slot.kind });
    }
    let hashBody: unknown = sr.body;
    for (const m of media) hashBody = setAtPath(hashBody, m.path, `sha256:${m.sha256}`);
    const requestHash = sha256(
      canonicalJson({ provider: sr.provider, endpoint: sr.endpoint, body: hashBody }),
    );

    const outputDir = path.resolve(storyDir, sr.output);
    const ledger = new Ledger(ledgerDirFor(outputDir));
    const existing = await ledger.forScene(storyboardPath, sr.sceneSlug);

    if (!newTake) {
      const same = existing.filter((e) => e.requestHash === requestHash).at(-1);
      if (
        same &&
        (isUnfinished(same) || same.state === 'done' || same.state === 'unknown-submit')
      ) {
        if (same.state === 'done' && same.videoPath && (await exists(same.videoPath))) {
          this.emit(
            ctx,
            same,
            `${same.sceneTitle}: already rendered as take ${same.take} (${same.videoPath}); ${this.newTakeHint()} to generate again.`,
          );
          return publicEntry(same);
        }
        if (same.state === 'unknown-submit' && same.provider === 'kie') {
          this.emit(
            ctx,
            same,
            `${same.sceneTitle}: take ${same.take} may already be submitted (${same.error ?? 'unknown'}); not re-sent; ${this.newTakeHint()} to submit again.`,
          );
          return publicEntry(same);
        }
        if (same.state === 'done') {
          // The video was deleted: fetch it again rather than paying for a new generation.
          same.state = 'downloading';
          same.videoPath = undefined;
        }
        this.emit(
          ctx,
          same,
          `${same.sceneTitle}: resuming take ${same.take} (${same.state}${same.taskId ? `, task ${same.taskId}` : ''}).`,
        );
        return publicEntry(await this.continueOnce(same, ctx));
      }
    }

    // About to send: files outside the storyboard's folder need the user's consent (once per file).
    if (this.opts.confirmOutsideUpload) {
      for (const m of new Set(media.map((x) => x.absPath))) {
        const rel = path.relative(storyDir, m);
        if (!(rel.startsWith('..') || path.isAbsolute(rel))) continue;
        if (!(await this.opts.confirmOutsideUpload(m))) {
          return this.ephemeral(
            storyboardPath,
            sr,
            'failed',
            `${sr.sceneTitle}: not sent: ${m} is outside the storyboard's folder and was not allowed.`,
            ctx,
          );
        }
      }
    }

    const storyboardName = storyboardNameOf(storyboardPath);
    // Videos already on disk count too: a ledger that was deleted must not lead to a paid take
    // being overwritten by the next one.
    const onDisk = await takesOnDisk(path.join(outputDir, storyboardName, sr.sceneSlug));
    let take = Math.max(onDisk, ...existing.map((e) => e.take), 0) + 1;
    const now = Date.now();
    const make = (t: number): StoredEntry => {
      const identity = sha256(`${requestHash}|${storyboardPath}|${sr.sceneSlug}`);
      return {
        key: `${requestHash}-t${t}`,
        requestHash,
        take: t,
        storyboardPath,
        storyboardName,
        outputDir,
        targetPath: path.join(outputDir, storyboardName, sr.sceneSlug, `take-${t}.mp4`),
        sceneIndex: sr.sceneIndex,
        sceneTitle: sr.sceneTitle,
        sceneSlug: sr.sceneSlug,
        provider: sr.provider,
        endpoint: sr.endpoint,
        externalTaskId: sr.provider === 'kling' ? externalTaskIdFor(identity, t) : undefined,
        state: 'pending-submit',
        owner: currentOwner(),
        request: sr.body,
        body: sr.body,
        media,
        createdAt: now,
        updatedAt: now,
      };
    };
    let entry = make(take);
    while (!(await ledger.claim(entry))) {
      if (!newTake) {
        // Another process claimed this scene meanwhile; if it is the same request, join it.
        const raced = (await ledger.forScene(storyboardPath, sr.sceneSlug)).find(
          (e) =>
            e.requestHash === requestHash &&
            e.take >= take &&
            (isUnfinished(e) || e.state === 'done'),
        );
        if (raced) {
          this.log(
            `${raced.sceneTitle}: take ${raced.take} was just started by another process; following it.`,
          );
          return publicEntry(await this.continueOnce(raced, ctx));
        }
      }
      entry = make(++take);
    }
    await this.indexLedger(ledger.dir);
    this.emit(ctx, entry, `${entry.sceneTitle}: take ${take} recorded; preparing to submit.`);
    return publicEntry(await this.continueOnce(entry, ctx));
  }

  /** Runs an entry's state machine once per process (a second caller joins the first). */
  private continueOnce(entry: StoredEntry, ctx: RunContext): Promise<StoredEntry> {
    const id = `${entry.outputDir}|${entry.storyboardName}|${entry.sceneSlug}|${entry.take}`;
    const running = this.active.get(id);
    if (running) return running;
    const p = this.advance(entry, ctx).finally(() => this.active.delete(id));
    this.active.set(id, p);
    return p;
  }

  private async advance(entry: StoredEntry, ctx: RunContext): Promise<StoredEntry> {
    const ledger = new Ledger(ledgerDirFor(entry.outputDir));
    // Our copy may have been read long ago (before waiting for a scene slot): if another process
    // has written the take since, continue from what it wrote, never over it.
    const onDisk = await ledger.read(entry);
    if (onDisk && onDisk.updatedAt > entry.updatedAt) Object.assign(entry, onDisk);
    let other = ownedElsewhere(entry.owner, entry.updatedAt);
    if (!other && entry.state === 'pending-submit') {
      // Its next create may already be claimed by a live process that has not saved the take yet.
      const claim = await ledger.createClaimOf(entry, (entry.createAttempts ?? 0) + 1);
      if (claim && claim.owner.pid !== process.pid && ownerAlive(claim.owner, claim.at))
        other = `pid ${claim.owner.pid}`;
    }
    if (other) {
      const snapshot = {
        ...entry,
        error: `being handled by another running process (${other}); not touched here.`,
      };
      this.emit(ctx, snapshot, `${entry.sceneTitle}: ${snapshot.error}`);
      return snapshot;
    }
    // Mark the take as ours so a second process (CLI next to the editor) follows instead of racing.
    entry.owner = currentOwner();
    await ledger.save(entry);
    try {
      return await this.advanceOwned(entry, ledger, ctx);
    } finally {
      entry.owner = undefined;
      // A take left to another process is its to write.
      if (!this.leftToOthers.delete(entry)) await ledger.save(entry).catch(() => undefined);
    }
  }

  private async advanceOwned(
    entry: StoredEntry,
    ledger: Ledger,
    ctx: RunContext,
  ): Promise<StoredEntry> {
    try {
      for (;;) {
        let step: Step;
        if (entry.state === 'unknown-submit' && entry.provider === 'kling') {
          // Look it up again by external_task_id (and re-send under the same id if absent).
          entry.state = 'pending-submit';
          entry.createSentAt ??= entry.updatedAt;
        }
        if (entry.state === 'pending-submit') step = await this.submit(entry, ledger, ctx);
        else if (entry.state === 'submitted' || entry.state === 'running')
          step = await this.poll(entry, ledger, ctx);
        else if (entry.state === 'downloading' || needsDownloadRetry(entry))
          step = await this.download(entry, ledger, ctx);
        else return entry;
        if (step === 'stop') return entry;
      }
    } catch (err) {
      if (err instanceof Cancelled || ctx.signal?.aborted)
        return this.cancelled(entry, ledger, ctx);
      throw err;
    }
  }

  // ---- submit ------------------------------------------------------------------------------

  private async submit(entry: StoredEntry, ledger: Ledger, ctx: RunContext): Promise<Step> {
    // A create that may have been sent before (crash, lost answer) is looked up, never re-sent blindly.
    if (entry.createSentAt !== undefined) {
      if (entry.provider === 'kie')
        return this.unknownKie(
          entry,
          ledger,
          ctx,
          'the previous run stopped while its createTask was in flight',
        );
      const found = await this.lookupKling(entry, ctx);
      if (found === 'error') return this.unknownKling(entry, ledger, ctx);
      if (found) return this.accepted(entry, ledger, ctx, found);
    }

    let body: unknown;
    try {
      body = await this.materialize(entry, ctx);
    } catch (err) {
      if (err instanceof Cancelled || ctx.signal?.aborted) throw new Cancelled();
      return this.fail(
        entry,
        ledger,
        ctx,
        `could not prepare the media: ${finalMessage(err)} Nothing was submitted.`,
      );
    }
    await this.save(ledger, entry);

    const gate = entry.provider === 'kie' ? this.kieGate : this.klingGate;
    let ambiguous = entry.createSentAt !== undefined;
    const submitStarted = Date.now();
    for (let attempt = 0; ; attempt++) {
      if (Date.now() - submitStarted > this.timeoutMs()) {
        return this.fail(
          entry,
          ledger,
          ctx,
          `could not submit within ${minutes(this.timeoutMs())} (the provider kept refusing new tasks). Nothing was charged.`,
        );
      }
      try {
        await gate.admit(ctx.signal);
      } catch {
        throw new Cancelled();
      }
      // Each create attempt is claimed exclusively on disk first, so two processes resuming the
      // same take (CLI next to the editor) can never both send it.
      const slot = (entry.createAttempts ?? 0) + 1;
      const claim = await ledger.claimCreate(entry, slot);
      entry.createAttempts = slot;
      // Recorded before the call: if we die during it, the next run knows to check first.
      entry.createSentAt = Date.now();
      if (claim !== true) {
        if (claim && ownerAlive(claim.owner, claim.at)) {
          // Reported, never saved: the ledger file is the other process's to write.
          entry.error = `being submitted by another running process (pid ${claim.owner.pid}); not touched here.`;
          this.leftToOthers.add(entry);
          this.emit(ctx, entry, `${entry.sceneTitle}: ${entry.error}`);
          return 'stop';
        }
        // Whoever claimed this attempt is gone and may have sent it: check, never re-send blindly.
        await this.save(ledger, entry);
        const why = 'another run stopped while its create was in flight';
        if (entry.provider === 'kie') return this.unknownKie(entry, ledger, ctx, why);
        const found = await this.lookupKling(entry, ctx);
        if (found === 'error') return this.unknownKling(entry, ledger, ctx);
        if (found) return this.accepted(entry, ledger, ctx, found);
        ambiguous = true;
        entry.createSentAt = undefined;
        await this.save(ledger, entry);
        continue;
      }
      await this.save(ledger, entry);
      try {
        // No abort signal: a create runs to its answer so its task id is never lost to a cancel.
        if (entry.provider === 'kie') {
          const { taskId } = await this.kieClient().createTask(body);
          return this.accepted(entry, ledger, ctx, taskId);
        }
        const task = await this.klingClient().createVideo(klingKind(entry), body);
        return this.accepted(entry, ledger, ctx, task.taskId);
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err;
        if (err.mayHaveReachedServer) {
          ambiguous = true;
          this.log(`${entry.sceneTitle}: ${err.message}`);
          if (entry.provider === 'kie') return this.unknownKie(entry, ledger, ctx, err.message);
          const found = await this.lookupKling(entry, ctx);
          if (found === 'error') return this.unknownKling(entry, ledger, ctx);
          if (found) return this.accepted(entry, ledger, ctx, found);
          if (attempt >= 3) return this.unknownKling(entry, ledger, ctx);
          // Not found: the create did not happen. Re-sending with the same external_task_id is
          // safe: Kling keeps that id unique, so a late duplicate would be refused.
          entry.createSentAt = undefined;
          await this.save(ledger, entry);
          await this.sleep(
            backoffDelay(attempt, this.scaled(1000), this.maxWait(), this.random),
            ctx.signal,
          ).catch(() => {
            throw new Cancelled();
          });
          continue;
        }
        // A definite refusal: nothing was created.
        entry.createSentAt = undefined;
        if (err.rateLimited) {
          const wait = Math.min(
            this.maxWait(),
            err.retryAfterMs ??
              (entry.provider === 'kie'
                ? (this.opts.kieCreateWindow?.windowMs ?? 10_000)
                : backoffDelay(attempt, this.scaled(1000), this.scaled(60_000), this.random)),
          );
          gate.pause(wait);
          entry.error = retryingMessage(err, wait);
          await this.save(ledger, entry);
          this.emit(ctx, entry, `${entry.sceneTitle}: ${entry.error}`);
          continue;
        }
        if (entry.provider === 'kling' && (ambiguous || err.code === 1200 || err.code === 1201)) {
          // The create may have been refused because a task with this external_task_id exists:
          // the first create landed after all, or the ledger was deleted after an earlier run
          // of this very take. Either way it is this take's task: follow it, never pay again.
          const found = await this.lookupKling(entry, ctx);
          if (found && found !== 'error') {
            if (!ambiguous)
              this.log(
                `${entry.sceneTitle}: Kling already has task ${found} for ${entry.externalTaskId}; following it.`,
              );
            return this.accepted(entry, ledger, ctx, found);
          }
        }
        if (err.retryable && attempt < KIE_MAX_CREATE_RETRIES) {
          const wait = Math.min(
            this.maxWait(),
            err.retryAfterMs ??
              backoffDelay(attempt, this.scaled(2000), this.scaled(60_000), this.random),
          );
          entry.error = retryingMessage(err, wait);
          await this.save(ledger, entry);
          this.emit(ctx, entry, `${entry.sceneTitle}: ${entry.error}`);
          await this.sleep(wait, ctx.signal).catch(() => {
            throw new Cancelled();
          });
          continue;
        }
        return this.fail(entry, ledger, ctx, `${finalMessage(err)} Nothing was submitted.`);
      }
    }
  }

  /** Fills local media into the body: KIE → uploaded URLs, Kling → raw base64. Updates `entry.request`. */
  private async materialize(entry: StoredEntry, ctx: RunContext): Promise<unknown> {
    let body = entry.body;
    let shown = entry.body;
    await Promise.all(
      entry.media.map(async (m) => {
        const bytes = await this.readFile(m.absPath);
        if (sha256(bytes) !== m.sha256) {
          throw new Error(
            `${m.absPath} changed since take ${entry.take} was recorded; generate again.`,
          );
        }
        if (entry.provider === 'kie') {
          const url = await this.uploader.urlFor(bytes, m.sha256, m.absPath, ctx.signal);
          body = setAtPath(body, m.path, url);
          shown = setAtPath(shown, m.path, url);
        } else {
          body = setAtPath(body, m.path, Buffer.from(bytes).toString('base64'));
          shown = setAtPath(
            shown,
            m.path,
            `<base64 of ${path.basename(m.absPath)}, ${kb(bytes.length)}, sha256:${m.sha256.slice(0, 12)}>`,
          );
        }
      }),
    );
    if (entry.externalTaskId) {
      body = { ...(body as Record<string, unknown>), external_task_id: entry.externalTaskId };
      shown = { ...(shown as Record<string, unknown>), external_task_id: entry.externalTaskId };
    }
    entry.request = shown;
    return body;
  }

  /** Looks a Kling take up by its external_task_id: task id, undefined (not created) or 'error'. */
  private async lookupKling(
    entry: StoredEntry,
    ctx: RunContext,
  ): Promise<string | undefined | 'error'> {
    if (!entry.externalTaskId) return 'error';
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        const task = await this.klingClient().findByExternalId(
          klingKind(entry),
          entry.externalTaskId,
          ctx.signal,
        );
        return task?.taskId;
      } catch (err) {
        if (ctx.signal?.aborted) throw new Cancelled();
        if (!(err instanceof ProviderError) || !err.retryable) return 'error';
        await this.sleep(
          err.retryAfterMs ?? backoffDelay(attempt, this.scaled(1000), this.maxWait(), this.random),
          ctx.signal,
        ).catch(() => {
          throw new Cancelled();
        });
      }
    }
    return 'error';
  }

  private async accepted(
    entry: StoredEntry,
    ledger: Ledger,
    ctx: RunContext,
    taskId: string,
  ): Promise<Step> {
    entry.taskId = taskId;
    entry.state = 'submitted';
    entry.submittedAt = Date.now();
    entry.error = undefined;
    await this.save(ledger, entry);
    this.emit(ctx, entry, `${entry.sceneTitle}: submitted (task ${taskId}).`);
    return 'next';
  }

  private async unknownKie(
    entry: StoredEntry,
    ledger: Ledger,
    ctx: RunContext,
    why: string,
  ): Promise<Step> {
    entry.state = 'unknown-submit';
    entry.error =
      `createTask may have reached KIE but its answer was lost (${why.replace(/\.$/, '')}). ` +
      'KIE offers no way to look the task up, so it was NOT re-sent to avoid paying twice. ' +
      `Check https://kie.ai/logs; ${this.newTakeHint()} to submit again.`;
    await this.save(ledger, entry);
    this.emit(ctx, entry, `${entry.sceneTitle}: ${entry.error}`);
    return 'stop';
  }

  private async unknownKling(entry: StoredEntry, ledger: Ledger, ctx: RunContext): Promise<Step> {
    entry.state = 'unknown-submit';
    entry.error =
      `the create may have reached Kling but could not be confirmed by its external_task_id (${entry.externalTaskId}); ` +
      `it was NOT re-sent to avoid paying twice. Resume later to look it up again, or ${this.newTakeHint()}.`;
    await this.save(ledger, entry);
    this.emit(ctx, entry, `${entry.sceneTitle}: ${entry.error}`);
    return 'stop';
  }

  // ---- poll --------------------------------------------------------------------------------

  private async poll(entry: StoredEntry, ledger: Ledger, ctx: RunContext): Promise<Step> {
    const started = entry.submittedAt ?? Date.now();
    // The overall timeout and the cadence count from when *this run* began waiting: a take
    // resumed hours after its submit is polled (quickly at first), not given up on at once.
    const waitStarted = Date.now();
    let extraWait = 0;
    let failures = 0;
    for (;;) {
      const waited = Date.now() - waitStarted;
      if (waited > this.timeoutMs()) {
        entry.error = `still ${entry.state} after ${minutes(Date.now() - started)}; stopped waiting. The remote task keeps running — render or resume again to pick it up.`;
        await this.save(ledger, entry);
        this.emit(ctx, entry, `${entry.sceneTitle}: ${entry.error}`);
        return 'stop';
      }
      const wait = Math.min(
        this.maxWait(),
        Math.max(pollDelay(waited, this.pollBase(), this.random), extraWait),
      );
      await this.sleep(wait, ctx.signal).catch(() => {
        throw new Cancelled();
      });
      extraWait = 0;
      let phase: 'queued' | 'running' | 'succeeded' | 'failed';
      let url: string | undefined;
      let failure: string | undefined;
      try {
        if (entry.provider === 'kie') {
          const info = await this.kieClient().recordInfo(entry.taskId!, ctx.signal);
          phase = kiePhase(info.state);
          url = info.resultUrls[0];
          if (phase === 'failed') failure = kieFailureMessage(info);
        } else {
          const task = await this.klingClient().queryVideo(
            klingKind(entry),
            entry.taskId!,
            ctx.signal,
          );
          phase = klingPhase(task.status);
          url = task.videos[0]?.url;
          if (phase === 'failed') failure = klingFailureMessage(task);
        }
      } catch (err) {
        if (ctx.signal?.aborted) throw new Cancelled();
        if (err instanceof ProviderError && err.retryable) {
          failures++;
          extraWait =
            err.retryAfterMs ??
            backoffDelay(Math.min(failures, 6), this.pollBase(), this.maxWait(), this.random);
          this.log(`${entry.sceneTitle}: ${err.message}`);
          continue;
        }
        entry.error = `${oneLine(err)} Stopped waiting; the remote task keeps running — resume later to pick it up.`;
        await this.save(ledger, entry);
        this.emit(ctx, entry, `${entry.sceneTitle}: ${entry.error}`);
        return 'stop';
      }
      failures = 0;
      if (phase === 'succeeded') {
        if (!url)
          return this.fail(entry, ledger, ctx, 'the task succeeded but returned no video URL.');
        entry.sourceUrl = url;
        entry.state = 'downloading';
        entry.error = undefined;
        await this.save(ledger, entry);
        this.emit(ctx, entry, `${entry.sceneTitle}: generated; downloading.`);
        return 'next';
      }
      if (phase === 'failed') return this.fail(entry, ledger, ctx, failure ?? 'the task failed.');
      const state = phase === 'running' ? 'running' : entry.state;
      if (state !== entry.state || entry.error) {
        entry.state = state;
        entry.error = undefined;
        await this.save(ledger, entry);
      }
      this.emit(
        ctx,
        entry,
        `${entry.sceneTitle}: ${entry.state === 'running' ? 'running' : 'queued'} (${seconds(Date.now() - started)})`,
      );
    }
  }

  // ---- download ----------------------------------------------------------------------------

  private async download(entry: StoredEntry, ledger: Ledger, ctx: RunContext): Promise<Step> {
    if (entry.state === 'failed') {
      // A later run retrying a failed download: ask for a fresh URL first (result URLs expire).
      await this.refreshSourceUrl(entry, ctx);
      entry.state = 'downloading';
      entry.error = undefined;
      await this.save(ledger, entry);
    }
    let lastError = '';
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        await downloadTo(entry.sourceUrl!, entry.targetPath, {
          fetch: this.opts.fetch,
          timeoutMs: Math.max(this.requestTimeout(), 300_000),
          signal: ctx.signal,
        });
        lastError = '';
        break;
      } catch (err) {
        if (ctx.signal?.aborted) throw new Cancelled();
        lastError = oneLine(err);
        if (!(err instanceof DownloadError) || !err.retryable) break;
        this.log(`${entry.sceneTitle}: ${lastError}; retrying.`);
        await this.sleep(
          backoffDelay(attempt, this.pollBase(), this.maxWait(), this.random),
          ctx.signal,
        ).catch(() => {
          throw new Cancelled();
        });
        if (attempt === 1) await this.refreshSourceUrl(entry, ctx);
      }
    }
    if (lastError) {
      entry.state = 'failed';
      entry.error = `${lastError.replace(/\.$/, '')}. The video was generated: the next render or resume downloads it again without generating (result URLs expire, KIE's within about 24 h).`;
      await this.save(ledger, entry);
      this.emit(ctx, entry, `${entry.sceneTitle}: ${entry.error}`);
      return 'stop';
    }
    entry.videoPath = entry.targetPath;
    entry.state = 'done';
    entry.finishedAt = Date.now();
    entry.error = undefined;
    const sidecar = entry.targetPath.replace(/\.mp4$/, '.json');
    await writeFileAtomic(
      sidecar,
      JSON.stringify(
        {
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
          timings: {
            createdAt: iso(entry.createdAt),
            submittedAt: iso(entry.submittedAt),
            finishedAt: iso(entry.finishedAt),
            generationSeconds:
              entry.submittedAt !== undefined
                ? Math.round((entry.finishedAt - entry.submittedAt) / 1000)
                : undefined,
          },
        },
        null,
        2,
      ) + '\n',
    );
    await this.save(ledger, entry);
    this.emit(
      ctx,
      entry,
      `${entry.sceneTitle}: done — take ${entry.take} saved to ${entry.videoPath}`,
    );
    return 'stop';
  }

  private async refreshSourceUrl(entry: StoredEntry, ctx: RunContext): Promise<void> {
    try {
      if (entry.provider === 'kie') {
        const info = await this.kieClient().recordInfo(entry.taskId!, ctx.signal);
        if (info.resultUrls[0]) entry.sourceUrl = info.resultUrls[0];
      } else {
        const task = await this.klingClient().queryVideo(
          klingKind(entry),
          entry.taskId!,
          ctx.signal,
        );
        if (task.videos[0]?.url) entry.sourceUrl = task.videos[0].url;
      }
    } catch {
      // Keep the recorded URL; the download itself reports what goes wrong.
    }
  }

  // ---- helpers -----------------------------------------------------------------------------

  private async fail(
    entry: StoredEntry,
    ledger: Ledger,
    ctx: RunContext,
    message: string,
  ): Promise<Step> {
    entry.state = 'failed';
    entry.error = message;
    entry.finishedAt = Date.now();
    await this.save(ledger, entry);
    this.emit(ctx, entry, `${entry.sceneTitle}: failed — ${message}`);
    return 'stop';
  }

  /** Cancellation: before any create was sent the take is closed; after, only waiting stops. */
  private async cancelled(
    entry: StoredEntry,
    ledger: Ledger,
    ctx: RunContext,
  ): Promise<StoredEntry> {
    if (entry.state === 'pending-submit' && entry.createSentAt === undefined) {
      entry.state = 'cancelled';
      entry.error = 'cancelled before submitting; nothing was spent.';
      entry.finishedAt = Date.now();
      await this.save(ledger, entry);
      this.emit(ctx, entry, `${entry.sceneTitle}: ${entry.error}`);
      return entry;
    }
    const snapshot: StoredEntry = {
      ...entry,
      state: 'cancelled',
      error:
        'stopped waiting. The remote task keeps running (and is charged); it is picked up again on the next render or resume.',
    };
    this.emit(ctx, snapshot, `${entry.sceneTitle}: ${snapshot.error}`);
    return snapshot;
  }

  private ephemeral(
    storyboardPath: string,
    sr: SceneRequest,
    state: 'failed',
    message: string,
    ctx: RunContext,
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
      state,
      error: message,
      request: sr.body,
      createdAt: now,
      updatedAt: now,
    };
    ctx.onEvent?.({ entry, message });
    this.log(message);
    return entry;
  }

  private async save(ledger: Ledger, entry: StoredEntry): Promise<void> {
    await ledger.save(entry);
    if (isUnfinished(entry)) await this.indexLedger(ledger.dir);
  }

  private async indexLedger(dir: string): Promise<void> {
    if (this.indexed.has(dir)) return;
    await updateLedgerIndex(this.stateDir, dir, true);
    this.indexed.add(dir);
  }

  private async refreshIndex(results: LedgerEntry[]): Promise<void> {
    const dirs = new Set<string>();
    for (const r of results) {
      if (!r.key) continue;
      dirs.add(ledgerDirFor(await this.outputDirOf(r.storyboardPath)));
    }
    for (const dir of dirs) {
      const left = (await new Ledger(dir).list()).some(isUnfinished);
      await updateLedgerIndex(this.stateDir, dir, left);
      if (!left) this.indexed.delete(dir);
    }
  }

  private emit(ctx: RunContext, entry: StoredEntry, message: string): void {
    const k = this.opts.keys;
    const clean = redact(message, [k.kieApiKey, k.klingAccessKey, k.klingSecretKey]);
    this.log(clean);
    ctx.onEvent?.({ entry: publicEntry(entry), message: clean });
  }

  private log(line: string): void {
    const k = this.opts.keys;
    this.opts.log?.(redact(line, [k.kieApiKey, k.klingAccessKey, k.klingSecretKey]));
  }

  /** The output folder as written: the header's `output:`, else the configured default, else `renders`. */
  private outputOf(storyboard: Storyboard): string {
    return (
      lastSetting(storyboard.headerSettings, 'output')?.value ||
      this.opts.defaultOutput ||
      'renders'
    );
  }

  /** The storyboard's absolute output folder, read from its file on disk. */
  private async outputDirOf(storyboardPath: string): Promise<string> {
    let output = this.opts.defaultOutput || 'renders';
    try {
      const text = Buffer.from(await this.readFile(storyboardPath)).toString('utf8');
      output = this.outputOf(parseStoryboard(text).storyboard);
    } catch {
      // Unreadable or deleted storyboard: the default folder.
    }
    return path.resolve(path.dirname(storyboardPath), output);
  }

  private async readFile(absPath: string): Promise<Uint8Array> {
    return this.opts.files ? this.opts.files.readFile(absPath) : fs.readFile(absPath);
  }

  private missingKeys(provider: ProviderId): string | undefined {
    const k = this.opts.keys;
    if (provider === 'kie' && !k.kieApiKey)
      return 'No KIE API key is set (KIE_API_KEY, or "Kling: Set KIE API Key" in VS Code).';
    if (provider === 'kling' && (!k.klingAccessKey || !k.klingSecretKey)) {
      return 'No Kling access/secret key pair is set (KLING_ACCESS_KEY + KLING_SECRET_KEY, or "Kling: Set Kling Access/Secret Keys").';
    }
    return undefined;
  }

  private kieClient(): KieClient {
    const key = this.opts.keys.kieApiKey;
    if (!key) throw new Error(this.missingKeys('kie'));
    this.kie ??= new KieClient({
      apiKey: key,
      apiBase: this.opts.bases.kieApi,
      uploadBase: this.opts.bases.kieUpload,
      fetch: this.opts.fetch,
      timeoutMs: this.requestTimeout(),
    });
    return this.kie;
  }

  private klingClient(): KlingClient {
    const { klingAccessKey, klingSecretKey } = this.opts.keys;
    if (!klingAccessKey || !klingSecretKey) throw new Error(this.missingKeys('kling'));
    this.kling ??= new KlingClient({
      accessKey: klingAccessKey,
      secretKey: klingSecretKey,
      apiBase: this.opts.bases.klingApi,
      fetch: this.opts.fetch,
      timeoutMs: this.requestTimeout(),
    });
    return this.kling;
  }

  private newTakeHint(): string {
    return this.opts.newTakeHint ?? 'ask for a new take';
  }

  private pollBase(): number {
    return this.opts.pollIntervalMs ?? 2500;
  }

  /** Scales a production delay by the poll option, so tests that shrink polling shrink backoffs too. */
  private scaled(ms: number): number {
    return Math.max(1, Math.round((ms * this.pollBase()) / 2500));
  }

  private timeoutMs(): number {
    return this.opts.timeoutMs ?? 20 * 60_000;
  }

  private maxWait(): number {
    return this.opts.maxWaitMs ?? 10 * 60_000;
  }

  private requestTimeout(): number {
    return this.opts.requestTimeoutMs ?? 60_000;
  }
}

/** The exact requests of a storyboard's scenes without keys or network: local media as "<to upload: …>". */
export function previewRequests(
  storyboardPath: string,
  text: string,
  scenes?: number[],
  options: { klingRefStyle?: 'numbered' | 'as-written'; defaultProvider?: ProviderId } = {},
): unknown[] {
  const { storyboard } = parseStoryboard(text);
  const provider = storyboardProvider(storyboard, options.defaultProvider);
  const built = buildRequests(storyboard, {
    scenes,
    klingRefStyle: options.klingRefStyle,
    defaultProvider: options.defaultProvider,
  });
  return built.map((sr) => {
    const out: Record<string, unknown> = {
      scene: sr.sceneTitle,
      sceneIndex: sr.sceneIndex,
      provider: sr.provider ?? provider,
      method: 'POST',
      path: endpointPath(sr.endpoint),
      body: sr.body,
    };
    const notes = [...sr.notes];
    if (sr.provider === 'kling')
      notes.push(
        'external_task_id is added at submit time (derived from the request hash and take).',
      );
    if (notes.length) out.notes = notes;
    if (sr.problems.length) out.problems = sr.problems;
    // The path is part of the contract for later use (per-folder defaults); the body does not depend on it.
    void storyboardPath;
    return out;
  });
}

/** The documented path of an endpoint id (for previews and logs). */
export function endpointPath(endpoint: string): string {
  switch (endpoint) {
    case 'kie.createTask':
      return KIE_PATHS.createTask;
    case 'kling.text2video':
      return KLING_PATHS.text2video;
    case 'kling.image2video':
      return KLING_PATHS.image2video;
    default:
      return endpoint;
  }
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

function klingKind(entry: StoredEntry): KlingVideoKind {
  return entry.endpoint === 'kling.image2video' ? 'image2video' : 'text2video';
}

function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s+/g, ' ').trim();
}

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? oneLine(err);
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

function minutes(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : seconds(ms);
}

function kb(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MB`
    : `${Math.ceil(bytes / 1024)} KB`;
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

// The one place the extension talks to the render engine: it owns the engine instance, the
// running generations (with their AbortControllers), the ledger snapshots the CodeLens, status bar
// and results panel show, and the trust / key checks that must pass before anything is spent.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { continuityLinks } from '../../server/src/core/continuity';
import { parseStoryboard } from '../../server/src/core/parse';
import { planRender, RenderEngine } from '../../server/src/render/index';
import {
  renderInOrder,
  syncContinuityFrames,
  type ContinuityOptions,
} from '../../server/src/render/continuity';
import { findFfmpeg } from '../../server/src/render/ffmpeg';
import {
  outsideFolders,
  realOr,
  type ContentHashCache,
  type IdentityMemo,
} from '../../server/src/render/plan';
import {
  approveSpend,
  continuityTargets,
  costOfPlan,
  type PlanCost,
} from '../../server/src/render/cost';
import {
  FINAL_STATES,
  hasKeys,
  type LedgerEntry,
  type ProviderId,
  type ProviderKeys,
  type RenderEvent,
} from '../../server/src/render/types';
import {
  storyboardTakes,
  useTake,
  type StoryboardTakes,
  type TakeFinding,
  type TakeLedger,
} from '../../server/src/render/takes';
import type { KeyStore } from './keyStore';
import type { Log } from './log';
import { estimateOptions } from './cost';
import { readSettings, resolveBases } from './settings';

/** A generation the user started in this window. */
interface RunningJob {
  storyboardPath: string;
  controller: AbortController;
}

export class TaskCenter implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<string>();
  /** Fires with the storyboard path whose ledger entries changed. */
  readonly onDidChange = this.changed.event;
  private readonly jobs = new Set<RunningJob>();
  /** Latest snapshot per ledger key, by storyboard path. */
  private readonly snapshots = new Map<string, Map<string, LedgerEntry>>();
  private readonly loaded = new Set<string>();
  private engineInstance?: RenderEngine;
  private readonly statusItem: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  private resumeController?: AbortController;
  /**
   * Media hashes for `outOfDate`'s plans (every CodeLens redraw of a storyboard with continuity
   * scenes): by absolute path, trusted while a file's modification time and size are unchanged
   * (render/plan.ts `ContentHashCache`), so one cache serves every storyboard.
   */
  private readonly hashCache: ContentHashCache = new Map();
  /** Each storyboard's last request identities (render/plan.ts `IdentityMemo`), for `finding`. */
  private readonly identityMemos = new Map<string, IdentityMemo>();

  /**
   * Asks the user before paying: true when they choose `action`. A modal dialog; the
   * integration tests replace it, since a modal cannot be answered from the extension host.
   */
  ask: (message: string, detail: string, action: string) => Promise<boolean> = async (
    message,
    detail,
    action,
  ) =>
    (await vscode.window.showWarningMessage(message, { modal: true, detail }, action)) === action;

  /** What the last generation would pay for, as planned before it submitted (tests read it). */
  lastCost?: PlanCost;

  constructor(
    private readonly keyStore: KeyStore,
    private readonly log: Log,
  ) {
    this.statusItem = vscode.window.createStatusBarItem(
      'kling.tasks',
      vscode.StatusBarAlignment.Left,
      10,
    );
    this.statusItem.name = 'Kling generations';
    this.statusItem.command = 'kling.showResults';
    this.disposables.push(
      this.statusItem,
      this.changed,
      keyStore.onDidChange(() => this.invalidateEngine()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('kling')) this.invalidateEngine();
      }),
    );
    // The CLI (or another window) may render the same storyboards: follow their ledger writes.
    const ledgerWatcher = vscode.workspace.createFileSystemWatcher('**/.ledger/*.json');
    const onLedger = () => this.scheduleReload();
    // … and choose takes (`kling-storyboard takes --use`).
    const choiceWatcher = vscode.workspace.createFileSystemWatcher('**/.chosen-takes.json');
    this.disposables.push(
      ledgerWatcher,
      ledgerWatcher.onDidCreate(onLedger),
      ledgerWatcher.onDidChange(onLedger),
      ledgerWatcher.onDidDelete(onLedger),
      choiceWatcher,
      choiceWatcher.onDidCreate(onLedger),
      choiceWatcher.onDidChange(onLedger),
      choiceWatcher.onDidDelete(onLedger),
    );
  }

  private reloadTimer?: NodeJS.Timeout;

  /** Re-reads every loaded ledger once writes have settled (our own writes arrive as events too). */
  private scheduleReload(): void {
    if (this.jobs.size) return; // our own render reports through events; no need to re-read
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => {
      for (const p of this.loaded) void this.reload(p);
    }, 500);
  }

  /** The engine for the current keys and settings; rebuilt after either changes. */
  async engine(): Promise<RenderEngine> {
    if (!this.engineInstance) {
      const settings = readSettings();
      this.engineInstance = new RenderEngine({
        keys: await this.keyStore.keys(),
        bases: resolveBases(settings),
        concurrency: settings.concurrency,
        defaultProvider: settings.defaultProvider,
        defaultOutput: settings.outputFolder,
        pollIntervalMs: settings.pollIntervalSeconds * 1000,
        timeoutMs: settings.timeoutMinutes * 60_000,
        log: (line) => this.log.info(line),
        confirmOutsideUpload: confirmOutsideWorkspace,
        // What the engine's messages tell you to do to pay for a take again, in this editor.
        newTakeHint: 'use “↻ New take” above the scene',
      });
    }
    return this.engineInstance;
  }

  /** The keys the engine would use (secrets, else environment). */
  keys(): Promise<ProviderKeys> {
    return this.keyStore.keys();
  }

  /** Makes the next operation build a fresh engine (after keys, settings or the upload cache change). */
  invalidateEngine(): void {
    // Running renders keep the instance they started with; the next one picks up the change.
    this.engineInstance = undefined;
  }

  /** Ledger entries of one storyboard, newest take last; cached and kept fresh by engine events. */
  async entries(storyboardPath: string): Promise<LedgerEntry[]> {
    if (!this.loaded.has(storyboardPath)) {
      await this.alias(storyboardPath);
      await this.reload(storyboardPath);
    }
    return [...(this.snapshots.get(storyboardPath)?.values() ?? [])].sort(
      (a, b) => a.sceneIndex - b.sceneIndex || a.take - b.take || a.createdAt - b.createdAt,
    );
  }

  /** Every scene's takes and the one it uses (chosen, else the latest finished), for `text`. */
  async takes(storyboardPath: string, text: string): Promise<StoryboardTakes> {
    const settings = readSettings(vscode.Uri.file(storyboardPath));
    return storyboardTakes(
      this.takeLedger(),
      storyboardPath,
      text,
      settings.outputFolder,
      this.finding(storyboardPath),
    );
  }

  /** The ledger as the film reads it: the takes held here, and a renamed storyboard's on disk. */
  takeLedger(): TakeLedger {
    return {
      entries: (p) => this.entries(p),
      renamedEntries: async (p) => (await this.engine()).renamedEntries(p),
    };
  }

  /**
   * How a renamed scene's takes are found (by the request it sends: render/takes.ts), with media
   * hashes and the storyboard's last identities kept between calls — the results and preview
   * panels ask again on every change.
   */
  finding(storyboardPath: string): TakeFinding {
    const settings = readSettings(vscode.Uri.file(storyboardPath));
    let memo = this.identityMemos.get(storyboardPath);
    if (!memo) {
      if (this.identityMemos.size >= 20) this.identityMemos.clear();
      this.identityMemos.set(storyboardPath, (memo = {}));
    }
    return { defaultProvider: settings.defaultProvider, hashCache: this.hashCache, memo };
  }

  /** Makes `take` the scene's chosen take (kept beside the ledger); returns why it cannot be. */
  async useTake(
    storyboardPath: string,
    text: string,
    sceneSlug: string,
    take: number,
  ): Promise<string | undefined> {
    const settings = readSettings(vscode.Uri.file(storyboardPath));
    const problem = await useTake(
      this.takeLedger(),
      storyboardPath,
      text,
      sceneSlug,
      take,
      settings.outputFolder,
      this.finding(storyboardPath),
    );
    if (problem) return problem;
    // Scenes that continue from this one start from the chosen take's last frame.
    const frames = await syncContinuityFrames(
      this.takeLedger(),
      storyboardPath,
      text,
      this.continuityOptions(storyboardPath),
    ).catch(() => undefined);
    for (const f of frames?.values() ?? [])
      if (f.state === 'error') this.log.warn(`Continuity frame: ${f.message}`);
    this.changed.fire(storyboardPath);
    return undefined;
  }

  /** ffmpeg (from `kling.ffmpegPath`, FFMPEG_PATH or PATH) and the output default, for continuity frames. */
  continuityOptions(storyboardPath: string): ContinuityOptions {
    const settings = readSettings(vscode.Uri.file(storyboardPath));
    return {
      tools: () => findFfmpeg({ configured: settings.ffmpegPath }),
      defaultOutput: settings.outputFolder,
      finding: this.finding(storyboardPath),
    };
  }

  /**
   * Scenes whose chosen take no longer matches what would be sent now (a `continue-from` scene
   * after another take of its source was chosen), with the source's title.
   */
  async outOfDate(storyboardPath: string, text: string): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    const { storyboard } = parseStoryboard(text);
    const links = continuityLinks(storyboard).filter((l) => l.valid && l.source);
    if (!links.length) return out;
    const takes = await this.takes(storyboardPath, text);
    const settings = readSettings(vscode.Uri.file(storyboardPath));
    const plans = await planRender(
      {
        keys: await this.keys(),
        defaultOutput: settings.outputFolder,
        defaultProvider: settings.defaultProvider,
        hashCache: this.hashCache,
      },
      { storyboardPath, text, scenes: links.map((l) => l.scene.index) },
    );
    for (const plan of plans) {
      const index = plan.scene.sceneIndex;
      const chosen = takes.scenes[index]?.chosen;
      const now =
        plan.action === 'submit' || plan.action === 'reuse' ? plan.take.requestHash : undefined;
      if (chosen && now && chosen.requestHash !== now)
        out.set(index, links.find((l) => l.scene.index === index)!.source!.displayTitle);
    }
    return out;
  }

  /** Writes one line to the extension's log. */
  logLine(line: string): void {
    this.log.info(line);
  }

  /** Synchronous view for CodeLens: whatever is cached (call `entries` first to load). */
  cached(storyboardPath: string): LedgerEntry[] {
    return [...(this.snapshots.get(storyboardPath)?.values() ?? [])];
  }

  /** Re-reads the ledger from disk (after a reload or when another process may have written it). */
  async reload(storyboardPath: string): Promise<void> {
    try {
      const entries = await (await this.engine()).entries(storyboardPath);
      const map = new Map<string, LedgerEntry>();
      for (const e of entries) map.set(e.key, e);
      this.snapshots.set(storyboardPath, map);
      this.loaded.add(storyboardPath);
      this.changed.fire(storyboardPath);
    } catch (err) {
      this.log.warn(
        `Could not read the task ledger of ${path.basename(storyboardPath)}: ${errorLine(err)}`,
      );
      this.loaded.add(storyboardPath);
    }
  }

  /** Entries still in flight, across all storyboards. */
  running(): LedgerEntry[] {
    const out: LedgerEntry[] = [];
    for (const m of this.snapshots.values()) {
      for (const e of m.values()) if (!FINAL_STATES.includes(e.state)) out.push(e);
    }
    return out;
  }

  /** True while a generation started from this window is still waiting. */
  get busy(): boolean {
    return this.jobs.size > 0;
  }

  /**
   * Generates scenes of a storyboard under a cancellable progress notification.
   * Refuses (with a message) in an untrusted workspace or without the provider's keys.
   */
  async generate(
    document: vscode.TextDocument,
    scenes: number[] | undefined,
    options: { newTake?: boolean; provider: ProviderId; label: string; confirmCost?: boolean },
  ): Promise<LedgerEntry[] | undefined> {
    if (!requireTrust('generate videos')) return undefined;
    if (!(await this.requireKeys(options.provider))) return undefined;
    const storyboardPath = document.uri.fsPath;
    await this.alias(storyboardPath);
    const engine = await this.engine();
    if (!(await this.costGate(engine, document, scenes, options))) return undefined;
    const job: RunningJob = { storyboardPath, controller: new AbortController() };
    this.jobs.add(job);
    this.updateStatus();
    try {
      return await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `Kling: ${options.label}`,
          cancellable: true,
        },
        async (progress, token) => {
          token.onCancellationRequested(() => job.controller.abort());
          // `continue-from` scenes are sent after their source finished (render/continuity.ts).
          const entries = await renderInOrder(
            engine,
            {
              storyboardPath,
              text: document.getText(),
              scenes,
              newTake: options.newTake,
              signal: job.controller.signal,
              onEvent: (e) => {
                progress.report({ message: e.message });
                this.accept(e);
              },
            },
            this.continuityOptions(storyboardPath),
          );
          for (const e of entries) this.remember(e);
          this.announce(entries, job.controller.signal.aborted);
          return entries;
        },
      );
    } catch (err) {
      const line = errorLine(err);
      this.log.error(`Generation failed: ${line}`);
      void vscode.window.showErrorMessage(`Kling: ${line}`);
      return undefined;
    } finally {
      this.jobs.delete(job);
      this.updateStatus();
      this.changed.fire(storyboardPath);
    }
  }

  /**
   * Before anything is uploaded or submitted: plans the run, logs what it would pay for, reads
   * the KIE balance (below the estimate → ask, nothing sent unless the user says so; unreadable
   * → say so and go on) and, for Generate All and New take (`confirmCost`), asks when the
   * estimate is above `kling.confirmAboveCredits` or unknown. False: send nothing.
   */
  private async costGate(
    engine: RenderEngine,
    document: vscode.TextDocument,
    scenes: number[] | undefined,
    options: { newTake?: boolean; provider: ProviderId; confirmCost?: boolean },
  ): Promise<boolean> {
    const storyboardPath = document.uri.fsPath;
    const settings = readSettings(document.uri);
    const plans = await planRender(
      {
        keys: await this.keys(),
        defaultOutput: settings.outputFolder,
        defaultProvider: settings.defaultProvider,
      },
      { storyboardPath, text: document.getText(), scenes, newTake: options.newTake },
    );
    const cost = costOfPlan(
      plans,
      estimateOptions(document.uri, await this.entries(storyboardPath)),
      continuityTargets(document.getText()),
    );
    this.lastCost = cost;
    this.log.info(`${path.basename(storyboardPath)}: ${cost.summary}`);
    return this.approve(engine, cost, {
      provider: options.provider,
      scope: document.uri,
      action: 'Generate',
      confirmCost: options.confirmCost,
    });
  }

  /**
   * The questions before paying for a planned cost (render/cost.ts approveSpend): the balance
   * read through the engine, and with `confirmCost` the `kling.confirmAboveCredits` question.
   * Generate and Expand Element Views both ask here. False: send nothing.
   */
  approve(
    engine: RenderEngine,
    cost: PlanCost,
    options: {
      provider: ProviderId;
      scope: vscode.ConfigurationScope;
      action: string;
      confirmCost?: boolean;
    },
  ): Promise<boolean> {
    return approveSpend(cost, {
      provider: options.provider,
      balance: () => engine.balance(options.provider),
      ask: (message, detail, action) => this.ask(`Kling: ${message}`, detail, action),
      warn: (line) => {
        this.log.warn(line);
        void vscode.window.showWarningMessage(`Kling: ${line}`);
      },
      log: (line) => this.log.warn(line),
      confirmAbove: options.confirmCost
        ? readSettings(options.scope).confirmAboveCredits
        : undefined,
      action: options.action,
    });
  }

  /** Stops waiting for every generation of this window; the remote tasks keep running. */
  cancelAll(): number {
    const count = this.jobs.size;
    for (const job of this.jobs) job.controller.abort();
    this.resumeController?.abort();
    return count;
  }

  /** Resumes unfinished tasks recorded by any earlier session (poll + download), in the background. */
  resumeUnfinished(): void {
    if (!vscode.workspace.isTrusted) return;
    this.resumeController?.abort();
    const controller = new AbortController();
    this.resumeController = controller;
    void (async () => {
      try {
        const engine = await this.engine();
        const resumed = await engine.resume('known', (e) => this.accept(e), controller.signal);
        for (const e of resumed) this.remember(e);
        if (resumed.length) this.log.info(`Resumed ${resumed.length} unfinished task(s).`);
      } catch (err) {
        if (!controller.signal.aborted)
          this.log.warn(`Resuming unfinished tasks: ${errorLine(err)}`);
      } finally {
        this.updateStatus();
      }
    })();
  }

  private accept(e: RenderEvent): void {
    this.log.info(e.message);
    this.remember(e.entry);
    this.updateStatus();
  }

  private remember(entry: LedgerEntry): void {
    // The engine records real paths; views ask by the path the editor has (maybe via a symlink).
    const paths = [entry.storyboardPath, ...(this.aliases.get(entry.storyboardPath) ?? [])];
    for (const p of paths) {
      let map = this.snapshots.get(p);
      if (!map) {
        map = new Map();
        this.snapshots.set(p, map);
      }
      map.set(entry.key, entry);
      this.changed.fire(p);
    }
  }

  /** Editor paths by the real path the engine records for them. */
  private readonly aliases = new Map<string, Set<string>>();

  /** Remembers that `storyboardPath` is known to the engine by its real path. */
  private async alias(storyboardPath: string): Promise<void> {
    const real = await realOr(storyboardPath);
    if (real === storyboardPath) return;
    let set = this.aliases.get(real);
    if (!set) this.aliases.set(real, (set = new Set()));
    set.add(storyboardPath);
  }

  private announce(entries: LedgerEntry[], cancelled: boolean): void {
    if (cancelled) {
      void vscode.window.showInformationMessage(
        'Kling: stopped waiting. The remote tasks keep running; they are resumed when you generate again or reopen VS Code.',
      );
      return;
    }
    const failed = entries.filter((e) => e.state === 'failed' || e.state === 'unknown-submit');
    const done = entries.filter((e) => e.state === 'done');
    if (failed.length) {
      const first = failed[0];
      void vscode.window
        .showErrorMessage(
          `Kling: ${failed.length} scene(s) did not finish — ${first.sceneTitle}: ${first.error ?? first.state}`,
          'Show Results',
        )
        .then(
          (pick) =>
            pick && vscode.commands.executeCommand('kling.showResults', first.storyboardPath),
        );
    } else if (done.length) {
      const last = done[done.length - 1];
      void vscode.window
        .showInformationMessage(
          done.length === 1
            ? `Kling: ${last.sceneTitle} — take ${last.take} is ready.`
            : `Kling: ${done.length} takes are ready.`,
          'Show Results',
        )
        .then(
          (pick) =>
            pick &&
            vscode.commands.executeCommand(
              'kling.showResults',
              last.storyboardPath,
              last.sceneIndex,
              last.take,
            ),
        );
    }
  }

  private updateStatus(): void {
    const running = this.running();
    const count = Math.max(running.length, this.jobs.size);
    if (!count) {
      this.statusItem.hide();
      return;
    }
    this.statusItem.text = `$(sync~spin) Kling: ${count} running`;
    this.statusItem.tooltip = running.length
      ? running.map((e) => `${e.sceneTitle} (take ${e.take}): ${e.state}`).join('\n')
      : 'Preparing…';
    this.statusItem.show();
  }

  private async requireKeys(provider: ProviderId): Promise<boolean> {
    const keys = await this.keyStore.keys();
    if (hasKeys(keys, provider)) return true;
    const command = provider === 'kie' ? 'kling.setKieApiKey' : 'kling.setKlingKeys';
    const what = provider === 'kie' ? 'a KIE API key' : 'the Kling access and secret keys';
    const pick = await vscode.window.showErrorMessage(
      `Kling: this storyboard uses provider ${provider}, which needs ${what}.`,
      'Set Key',
    );
    if (pick) await vscode.commands.executeCommand(command);
    return false;
  }

  dispose(): void {
    clearTimeout(this.reloadTimer);
    this.cancelAll();
    for (const d of this.disposables) d.dispose();
  }
}

/** In an untrusted workspace nothing is uploaded or generated; says so and returns false. */
export function requireTrust(action: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window
    .showWarningMessage(
      `Kling: this workspace is not trusted, so the extension will not ${action}. Language features still work.`,
      'Manage Workspace Trust',
    )
    .then((pick) => pick && vscode.commands.executeCommand('workbench.trust.manage'));
  return false;
}

/** Asks before a file outside every workspace folder is uploaded; files inside pass silently. */
export async function confirmOutsideWorkspace(absPath: string): Promise<boolean> {
  // Real paths on both sides: a link inside the workspace that points outside it is outside.
  const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  if (!(await outsideFolders(absPath, folders))) return true;
  const real = await realOr(absPath);
  const answer = await vscode.window.showWarningMessage(
    `Upload ${absPath}?`,
    {
      modal: true,
      detail:
        (real !== absPath ? `It is a link to ${real}, ` : 'This file is ') +
        'outside the workspace folders. It will be uploaded to the provider to generate the video.',
    },
    'Upload',
  );
  return answer === 'Upload';
}

/** One line for a thrown value, for messages and the log. */
export function errorLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0];
}

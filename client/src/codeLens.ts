// CodeLens above each `[scene …]` header, in the manner of REST Client's "Send Request":
// "▶ Generate · 10 s · pro · 2 elements" + "Preview request"; while a take runs, its state and
// elapsed time (refreshed every second); afterwards "▶ Play take 2" or "Failed: <reason>".
// A scene that has errors shows the first one instead of Generate. A scene whose unchanged request
// already has a take says "reuses take 1, not charged" instead of a price: Generate reuses it, as
// the render plan decides (render/plan.ts, through previewPlan); a scene the plan refuses (a
// damaged ledger entry, unreadable media) says it will not be sent, and why, instead of a price.
// The plan is kept while the document, the settings, the ledger folder and the media files it
// read are unchanged (BoundedAnswers' keeping): redraws then cost a stat per file, not a plan.
import * as vscode from 'vscode';
import { FINAL_STATES, type LedgerEntry } from '../../server/src/render/types';
import { formatEstimate } from '../../server/src/core/estimate';
import {
  inputsState,
  previewPlan,
  refusalLabel,
  reusedSceneLabels,
  type WatchedPlan,
} from '../../server/src/render/cost';
import type { ContentHashCache } from '../../server/src/render/plan';
import { BoundedAnswers } from './boundedAnswers';
import { blockingErrors, summarizeDocument } from './commands/target';
import { estimateOptions, sceneEstimates } from './cost';
import { readSettings } from './settings';
import { latestTake } from './webview/previewPanel';
import type { TaskCenter } from './tasks';

/**
 * How long the lenses wait for the render plan before drawing with the estimate alone; a plan that
 * arrives later redraws them. With the hash cache a plan is a few stats per scene and one ledger
 * read: the bound is reached on a first hash of large media, a slow disk, or a very large
 * storyboard (the 2,000-scene bench storyboard: 0.1–0.6 s per plan, bundled, README "Benchmarks"). The plan is then kept
 * while its inputs are unchanged, so only the first draw after a change waits for it.
 */
const PLAN_WAIT_MS = 750;

/**
 * The longest refusal reason a lens shows whole: it replaces the price, and its end is what is
 * wrong (`the ledger entry renders/.ledger/generate--ball-test--take-1.json is not valid JSON
 * (truncated or garbled)`: 106 characters). The tooltip has the plan's full message.
 */
const REASON_CHARS = 160;

export class SceneCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private ticker?: NodeJS.Timeout;
  private readonly disposables: vscode.Disposable[];
  /** Render plans per document, waited for at most PLAN_WAIT_MS, kept while their inputs hold. */
  private readonly plans = new BoundedAnswers<WatchedPlan>(
    PLAN_WAIT_MS,
    () => this.changed.fire(),
    { inputs: (plan) => inputsState(plan.inputs) },
  );
  /** Media hashes per document between plans (the lenses redraw after every pause in typing). */
  private readonly hashCaches = new Map<string, ContentHashCache>();
  /**
   * Each document's summary and scene estimates, for one `version:generation` (each a parse of
   * the whole text; the lenses redraw every second while a take runs).
   */
  private readonly parsed = new Map<
    string,
    {
      key: string;
      summary: ReturnType<typeof summarizeDocument>;
      estimates: ReturnType<typeof sceneEstimates>;
    }
  >();
  /** Counts ledger and setting changes: a plan made before one is not used after it. */
  private generation = 0;

  constructor(private readonly tasks: TaskCenter) {
    this.disposables = [
      this.changed,
      tasks.onDidChange(() => {
        this.generation++;
        this.refresh();
      }),
      vscode.languages.onDidChangeDiagnostics(() => this.changed.fire()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.changed.fire()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('kling')) this.generation++;
        if (e.affectsConfiguration('kling.rates')) this.changed.fire();
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => {
        this.plans.forget(doc.uri.toString());
        this.hashCaches.delete(doc.uri.toString());
        this.parsed.delete(doc.uri.toString());
      }),
    ];
  }

  /**
   * What Generate would pay for in this document, planned as render plans (a scene whose
   * unchanged request has a take reuses it); undefined when the plan fails or is not ready within
   * PLAN_WAIT_MS — then the lenses show the estimate, and are drawn again once the plan arrives.
   */
  private plannedCost(
    doc: vscode.TextDocument,
    entries: readonly LedgerEntry[],
    generation: number,
  ): Promise<WatchedPlan | undefined> {
    if (doc.uri.scheme !== 'file') return Promise.resolve(undefined);
    const id = doc.uri.toString();
    let hashCache = this.hashCaches.get(id);
    if (!hashCache) this.hashCaches.set(id, (hashCache = new Map()));
    const cache = hashCache;
    const key = () => `${doc.version}:${this.generation}`;
    return this.plans.get(id, `${doc.version}:${generation}`, key, () => {
      const settings = readSettings(doc.uri);
      return previewPlan(
        {
          keys: {},
          defaultOutput: settings.outputFolder,
          defaultProvider: settings.defaultProvider,
          hashCache: cache,
        },
        doc.uri.fsPath,
        doc.getText(),
        estimateOptions(doc.uri, entries),
      );
    });
  }

  /** Redraws now, and every second while any take is running (elapsed times). */
  private refresh(): void {
    this.changed.fire();
    const anyRunning = this.tasks.running().length > 0 || this.tasks.busy;
    if (anyRunning && !this.ticker) {
      this.ticker = setInterval(() => {
        this.changed.fire();
        if (!this.tasks.running().length && !this.tasks.busy) {
          clearInterval(this.ticker);
          this.ticker = undefined;
        }
      }, 1000);
    }
  }

  async provideCodeLenses(doc: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    // Before the reads below: a change during them leaves this key behind, so it is planned again.
    const generation = this.generation;
    const entries = doc.uri.scheme === 'file' ? await this.tasks.entries(doc.uri.fsPath) : [];
    const chosen =
      doc.uri.scheme === 'file'
        ? (await this.tasks.takes(doc.uri.fsPath, doc.getText()).catch(() => undefined))?.scenes
        : undefined;
    const stale =
      doc.uri.scheme === 'file'
        ? await this.tasks.outOfDate(doc.uri.fsPath, doc.getText()).catch(() => undefined)
        : undefined;
    const lenses: vscode.CodeLens[] = [];
    const parsedKey = `${doc.version}:${generation}`;
    let known = this.parsed.get(doc.uri.toString());
    if (known?.key !== parsedKey) {
      known = {
        key: parsedKey,
        summary: summarizeDocument(doc),
        estimates: sceneEstimates(doc.getText(), doc.uri, entries),
      };
      this.parsed.set(doc.uri.toString(), known);
    }
    const { summary, estimates } = known;
    const planned = vscode.workspace.isTrusted
      ? await this.plannedCost(doc, entries, generation)
      : undefined;
    // Only a plan says a scene is free; without one every scene shows its estimate.
    const reused = planned ? reusedSceneLabels(planned.cost) : new Map<number, string>();
    for (const scene of summary.scenes) {
      const range = new vscode.Range(scene.headerLine, 0, scene.headerLine, 0);
      const args = [doc.uri, scene.index];
      const take = latestTake(entries, scene);
      const running = take && !FINAL_STATES.includes(take.state) ? take : undefined;
      const errors = blockingErrors(doc.uri, summary, scene.index);
      let newTakeShown = false;
      if (running) {
        lenses.push(
          new vscode.CodeLens(range, {
            title: `$(sync~spin) Take ${running.take}: ${running.state} · ${elapsed(running)}`,
            tooltip: 'Show this take in the results panel',
            command: 'kling.showResults',
            arguments: [doc.uri.fsPath, scene.index, running.take],
          }),
          new vscode.CodeLens(range, { title: 'Cancel', command: 'kling.cancel', arguments: [] }),
        );
      } else if (errors.length) {
        const first = errors[0];
        lenses.push(
          new vscode.CodeLens(range, {
            title: `⚠ Cannot generate: ${oneLine(first.message)}`,
            tooltip: `Line ${first.range.start.line + 1}: ${first.message}`,
            command: 'kling.revealPosition',
            arguments: [doc.uri, first.range.start.line, first.range.start.character],
          }),
        );
      } else if (!vscode.workspace.isTrusted) {
        // Restricted Mode: language features work, nothing is uploaded or generated.
        lenses.push(
          new vscode.CodeLens(range, {
            title: '$(shield) Restricted Mode: trust this folder to generate',
            tooltip: 'Nothing is uploaded or generated in an untrusted workspace',
            command: 'workbench.trust.manage',
            arguments: [],
          }),
        );
      } else if (planned?.refusals.has(scene.index)) {
        // Generate would refuse it with this message (render/plan.ts): no price, no click.
        const message = planned.refusals.get(scene.index)!;
        lenses.push(
          new vscode.CodeLens(range, {
            title: `$(circle-slash) Not sent: ${oneLine(refusalLabel(message, scene.title, planned.folder), REASON_CHARS)}`,
            tooltip: `Generate would not send “${scene.title}”:\n${message}`,
            command: '',
          }),
        );
        // A damaged ledger entry may record a paid take: only an explicit new take pays again.
        if (planned.newTakeSends.has(scene.index)) {
          lenses.push(newTakeLens(range, args));
          newTakeShown = true;
        }
      } else {
        const elements = scene.elementNames.length;
        const estimate = estimates.get(scene.index);
        const free = reused.get(scene.index);
        const parts = [
          `${scene.duration} s`,
          scene.mode,
          estimate?.sound ? 'sound' : undefined,
          scene.shots.length || scene.intelligence ? scene.shotsLabel : undefined,
          elements ? `${elements} element${elements === 1 ? '' : 's'}` : undefined,
          free ?? (estimate ? formatEstimate(estimate) : undefined),
        ].filter(Boolean);
        lenses.push(
          new vscode.CodeLens(range, {
            title: `▶ Generate · ${parts.join(' · ')}`,
            tooltip:
              `Generate “${scene.title}” with ${scene.provider}` +
              (free
                ? `\nThis request is unchanged: Generate ${free} (↻ New take pays for another)`
                : estimate
                  ? `\nEstimate: ${formatEstimate(estimate)} (${estimate.basis})`
                  : ''),
            command: 'kling.generateScene',
            arguments: args,
          }),
        );
      }
      lenses.push(
        new vscode.CodeLens(range, {
          title: 'Preview request',
          tooltip: 'Show the JSON that would be sent (no keys, no network)',
          command: 'kling.previewRequest',
          arguments: args,
        }),
      );
      if (take && !running)
        lenses.push(
          ...this.outcome(doc, scene.index, range, take, errors.length === 0 && !newTakeShown),
        );
      const used = chosen?.[scene.index];
      const staleFrom = stale?.get(scene.index);
      if (used?.chosen && staleFrom !== undefined) {
        lenses.push(
          new vscode.CodeLens(range, {
            title: `⚠ Take ${used.chosen.take} is out of date: “${staleFrom}” now uses another take — generate again`,
            tooltip: `This scene continues from “${staleFrom}”; its first frame changed since take ${used.chosen.take} was made`,
            command: 'kling.generateScene',
            arguments: args,
          }),
        );
      } else if (used?.chosen) {
        const how = used.by === 'choice' ? 'chosen' : 'latest finished';
        lenses.push(
          new vscode.CodeLens(range, {
            title: `🎬 Cut uses take ${used.chosen.take} (${how})`,
            tooltip:
              'The storyboard preview, its playback and Export Cut use this take; choose another with “Use this take” in the results panel',
            command: 'kling.showResults',
            arguments: [doc.uri.fsPath, scene.index, used.chosen.take],
          }),
        );
      }
    }
    return lenses;
  }

  private outcome(
    doc: vscode.TextDocument,
    sceneIndex: number,
    range: vscode.Range,
    take: LedgerEntry,
    canGenerate: boolean,
  ): vscode.CodeLens[] {
    const show = {
      command: 'kling.showResults',
      arguments: [doc.uri.fsPath, sceneIndex, take.take],
    };
    const lenses: vscode.CodeLens[] = [];
    if (take.state === 'done') {
      lenses.push(new vscode.CodeLens(range, { title: `▶ Play take ${take.take}`, ...show }));
      if (canGenerate && vscode.workspace.isTrusted) {
        lenses.push(newTakeLens(range, [doc.uri, sceneIndex]));
      }
    } else if (take.state === 'failed') {
      lenses.push(
        new vscode.CodeLens(range, {
          title: `Failed: ${oneLine(take.error ?? 'unknown reason')}`,
          ...show,
        }),
      );
    } else if (take.state === 'unknown-submit') {
      lenses.push(
        new vscode.CodeLens(range, {
          title: `⚠ Take ${take.take}: not known whether it was submitted — check before generating again`,
          tooltip: take.error,
          ...show,
        }),
      );
      // Generate reuses an undecided take (it may be paid); a new take is the explicit way on.
      if (canGenerate && vscode.workspace.isTrusted) {
        lenses.push(newTakeLens(range, [doc.uri, sceneIndex]));
      }
    } else if (take.state === 'cancelled') {
      lenses.push(new vscode.CodeLens(range, { title: `Take ${take.take} cancelled`, ...show }));
    }
    return lenses;
  }

  dispose(): void {
    clearInterval(this.ticker);
    for (const d of this.disposables) d.dispose();
  }
}

/** "↻ New take": generates the scene again as a new, paid task, whatever the ledger holds. */
function newTakeLens(range: vscode.Range, args: unknown[]): vscode.CodeLens {
  return new vscode.CodeLens(range, {
    title: '↻ New take',
    tooltip: 'Generate this scene again (a new paid task)',
    command: 'kling.generateScene',
    arguments: [...args, { newTake: true }],
  });
}

function elapsed(e: LedgerEntry): string {
  const seconds = Math.max(0, Math.round((Date.now() - (e.submittedAt ?? e.createdAt)) / 1000));
  return seconds < 60
    ? `${seconds} s`
    : `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
}

function oneLine(text: string, max = 90): string {
  const line = text.split('\n')[0];
  return line.length > max ? `${line.slice(0, max - 3)}…` : line;
}

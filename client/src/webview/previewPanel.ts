// The storyboard preview beside the editor (like the Markdown preview): one row per scene, shots
// as cards whose widths follow their durations, element chips with thumbnails, frame thumbnails,
// diagnostics counts and the latest take. It re-renders, debounced, as the document changes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { FINAL_STATES, type LedgerEntry } from '../../../server/src/render/types';
import { formatEstimate, formatTotal, totalEstimate } from '../../../server/src/core/estimate';
import { estimateOptions, sceneEstimates } from '../cost';
import { formatPreviewTotal, previewCost, type PlanCost } from '../../../server/src/render/cost';
import type { ContentHashCache } from '../../../server/src/render/plan';
import {
  continuityFrames,
  continuityLinks,
  storyboardNameFromPath,
} from '../../../server/src/core/continuity';
import type { StoryboardTakes } from '../../../server/src/render/takes';
import { readSettings } from '../settings';
import { isUrl, summarize, type MediaRef, type SceneSummary } from '../storyboardModel';
import type { TaskCenter } from '../tasks';
import { extensionRoots, pageHtml } from './html';
import {
  previewFromWebview,
  previewPersisted,
  type MediaView,
  type PreviewModel,
  type SceneView,
} from './messages';
import { outputFolderOf, revealLine } from './resultsPanel';
import { isInside } from '../../../server/src/render/fsutil';

export const PREVIEW_VIEW_TYPE = 'klingPreview';
const IMAGE_EXT = /\.(png|jpe?g|webp|gif)$/i;

export class PreviewPanel implements vscode.Disposable {
  private static readonly panels = new Map<string, PreviewPanel>();
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private timer?: NodeJS.Timeout;
  /** Media hashes between updates: the total is planned again after every pause in typing. */
  private readonly hashCache: ContentHashCache = new Map();
  private roots: vscode.Uri[] = [];

  /** Opens the preview of a storyboard beside it, or reveals the one already open. */
  static createOrShow(
    extensionUri: vscode.Uri,
    tasks: TaskCenter,
    doc: vscode.TextDocument,
  ): PreviewPanel {
    const existing = PreviewPanel.panels.get(doc.uri.toString());
    if (existing) {
      existing.panel.reveal(vscode.ViewColumn.Beside, true);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      PREVIEW_VIEW_TYPE,
      `Preview ${path.basename(doc.uri.fsPath)}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, localResourceRoots: [] },
    );
    return new PreviewPanel(panel, extensionUri, tasks, doc.uri);
  }

  /** Restores a preview after a window reload. */
  static revive(
    panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    tasks: TaskCenter,
    state: unknown,
  ): void {
    const parsed = previewPersisted.safeParse(state);
    if (!parsed.success) {
      panel.dispose();
      return;
    }
    new PreviewPanel(panel, extensionUri, tasks, vscode.Uri.parse(parsed.data.documentUri));
  }

  /** Open previews (tests read them). */
  static all(): PreviewPanel[] {
    return [...PreviewPanel.panels.values()];
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly tasks: TaskCenter,
    readonly documentUri: vscode.Uri,
  ) {
    PreviewPanel.panels.set(documentUri.toString(), this);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'client', 'media', 'kling-file.svg');
    this.roots = this.computeRoots();
    panel.webview.options = { enableScripts: true, localResourceRoots: this.roots };
    panel.webview.html = pageHtml({
      webview: panel.webview,
      extensionUri,
      script: 'preview',
      title: panel.title,
      initial: { documentUri: documentUri.toString() },
    });
    const isMine = (uri: vscode.Uri) => uri.toString() === documentUri.toString();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m) => this.onMessage(m)),
      vscode.workspace.onDidChangeTextDocument((e) => isMine(e.document.uri) && this.schedule(250)),
      vscode.languages.onDidChangeDiagnostics((e) => e.uris.some(isMine) && this.schedule(100)),
      tasks.onDidChange((p) => p === documentUri.fsPath && this.schedule(100)),
    );
    void tasks.entries(documentUri.fsPath).then(() => this.schedule(0));
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.update(), delayMs);
  }

  /**
   * The extension's own files, the workspace folders, the storyboard's folder and its output
   * folder (as the storyboard names it when the panel opens).
   */
  private computeRoots(): vscode.Uri[] {
    const roots = extensionRoots(this.extensionUri);
    for (const f of vscode.workspace.workspaceFolders ?? []) roots.push(f.uri);
    if (this.documentUri.scheme === 'file') {
      const folder = path.dirname(this.documentUri.fsPath);
      if (!roots.some((r) => isInside(r.fsPath, folder))) roots.push(vscode.Uri.file(folder));
      const out = outputFolderOf(this.documentUri.fsPath);
      if (!roots.some((r) => isInside(r.fsPath, out))) roots.push(vscode.Uri.file(out));
    }
    return roots;
  }

  private async update(): Promise<void> {
    if (!this.ready) return;
    let doc: vscode.TextDocument;
    try {
      doc = await vscode.workspace.openTextDocument(this.documentUri);
    } catch {
      return;
    }
    const takes =
      doc.uri.scheme === 'file'
        ? await this.tasks.takes(doc.uri.fsPath, doc.getText()).catch(() => undefined)
        : undefined;
    const model = this.buildModel(doc, takes, await this.planCost(doc));
    await this.panel.webview.postMessage(model);
  }

  /**
   * What generating every scene would pay for, decided as render decides it (reused takes cost
   * nothing); undefined for a document that is not a file or when the plan cannot be made.
   */
  private async planCost(doc: vscode.TextDocument): Promise<PlanCost | undefined> {
    if (doc.uri.scheme !== 'file') return undefined;
    const settings = readSettings(doc.uri);
    const storyboardPath = doc.uri.fsPath;
    try {
      return await previewCost(
        {
          keys: {},
          defaultOutput: settings.outputFolder,
          defaultProvider: settings.defaultProvider,
          hashCache: this.hashCache,
        },
        storyboardPath,
        doc.getText(),
        estimateOptions(doc.uri, await this.tasks.entries(storyboardPath)),
      );
    } catch {
      return undefined;
    }
  }

  /** Turns the document into what the page draws. */
  private buildModel(
    doc: vscode.TextDocument,
    takes?: StoryboardTakes,
    planned?: PlanCost,
  ): PreviewModel {
    const settings = readSettings(doc.uri);
    const summary = summarize(doc.getText(), settings.defaultProvider);
    const folder = path.dirname(doc.uri.fsPath);
    const diagnostics = vscode.languages.getDiagnostics(doc.uri);
    const entries = this.tasks.cached(doc.uri.fsPath);
    const estimates = sceneEstimates(doc.getText(), doc.uri, entries);
    const media = (ref: MediaRef | undefined): MediaView | undefined => {
      if (!ref) return undefined;
      return { value: ref.value, line: ref.line, src: this.imageSrc(folder, ref.value) };
    };
    // `continue-from` scenes start from their source's last frame (once it is extracted).
    const frames = continuityFrames(
      summary.storyboard,
      storyboardNameFromPath(doc.uri.fsPath),
      settings.outputFolder,
    );
    const links = new Map(continuityLinks(summary.storyboard).map((l) => [l.scene.index, l]));
    const scenes: SceneView[] = summary.scenes.map((s) => {
      const frame = frames.get(s.index);
      const continued: MediaView | undefined =
        frame && !s.firstFrame
          ? {
              value: `last frame of “${frame.source.displayTitle}”`,
              line: links.get(s.index)?.setting.line ?? s.headerLine,
              src: this.imageSrc(folder, frame.ref),
            }
          : undefined;
      const inScene = diagnostics.filter(
        (d) => d.range.start.line >= s.headerLine && d.range.start.line <= s.endLine,
      );
      const latest = latestTake(entries, s);
      const estimate = estimates.get(s.index);
      const reused = planned?.scenes.find((p) => p.sceneIndex === s.index && p.action === 'reuse');
      const used = takes?.scenes[s.index];
      return {
        index: s.index,
        title: s.title,
        line: s.headerLine,
        duration: s.duration,
        mode: s.mode,
        provider: s.provider,
        sound: s.sound,
        prompt: s.prompt,
        shotsLabel: s.shotsLabel,
        // An intelligence scene sends one prompt: its [shot] blocks are not drawn as sent shots.
        shots: (s.intelligence ? [] : s.shots).map((shot) => ({
          duration: shot.duration,
          label: shot.label,
          prompt: shot.prompt,
          line: shot.headerLine,
          elementNames: shot.elementNames,
        })),
        elementNames: s.elementNames,
        firstFrame: media(s.firstFrame) ?? continued,
        lastFrame: media(s.lastFrame),
        errors: inScene.filter((d) => d.severity === vscode.DiagnosticSeverity.Error).length,
        warnings: inScene.filter((d) => d.severity === vscode.DiagnosticSeverity.Warning).length,
        latestTake: latest && {
          take: latest.take,
          state: latest.state,
          error: latest.error,
          videoSrc: this.videoSrc(latest),
        },
        cost: reused
          ? { text: 'reused, not charged', basis: reused.line }
          : estimate && {
              text: formatEstimate(estimate),
              basis: `Estimate: ${estimate.basis}`,
            },
        chosenTake:
          used?.chosen && used.by !== 'none'
            ? { take: used.chosen.take, by: used.by, videoSrc: this.videoSrc(used.chosen) }
            : undefined,
      };
    });
    return {
      type: 'model',
      title: path.basename(doc.uri.fsPath),
      scenes,
      elements: summary.elements.map((e) => ({
        name: e.name,
        line: e.headerLine,
        description: e.description,
        thumb: media(e.images[0] ?? e.frontal),
        hasVideo: !!e.video,
      })),
      totalDuration: summary.scenes.reduce((sum, s) => sum + s.duration, 0),
      // Only what would be paid: scenes whose unchanged request has a take are reused (render/plan.ts).
      totalCost: planned
        ? formatPreviewTotal(planned)
        : estimates.size
          ? `${formatTotal(totalEstimate([...estimates.values()]))} to generate (estimate)`
          : undefined,
    };
  }

  private imageSrc(folder: string, value: string): string | undefined {
    if (isUrl(value) || !IMAGE_EXT.test(value)) return undefined;
    const abs = path.resolve(folder, value);
    if (!this.roots.some((r) => isInside(r.fsPath, abs)) || !fs.existsSync(abs)) return undefined;
    return this.panel.webview.asWebviewUri(vscode.Uri.file(abs)).toString();
  }

  private videoSrc(entry: LedgerEntry): string | undefined {
    const p = entry.videoPath;
    if (!p || entry.state !== 'done' || !fs.existsSync(p)) return undefined;
    if (!this.roots.some((r) => isInside(r.fsPath, p))) return undefined;
    return this.panel.webview.asWebviewUri(vscode.Uri.file(p)).toString();
  }

  private async onMessage(raw: unknown): Promise<void> {
    const parsed = previewFromWebview.safeParse(raw);
    if (!parsed.success) return;
    const msg = parsed.data;
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        await this.update();
        return;
      case 'reveal': {
        const doc = await vscode.workspace.openTextDocument(this.documentUri);
        await revealLine(doc, msg.line);
        return;
      }
      case 'generate':
        await vscode.commands.executeCommand(
          'kling.generateScene',
          this.documentUri,
          msg.sceneIndex,
        );
        return;
      case 'showResults':
        await vscode.commands.executeCommand(
          'kling.showResults',
          this.documentUri.fsPath,
          msg.sceneIndex,
          msg.take,
        );
        return;
    }
  }

  dispose(): void {
    PreviewPanel.panels.delete(this.documentUri.toString());
    clearTimeout(this.timer);
    this.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}

/** The newest take recorded for a scene (matched by title, else by position). */
export function latestTake(entries: LedgerEntry[], scene: SceneSummary): LedgerEntry | undefined {
  const byTitle = entries.filter((e) => e.sceneTitle === scene.title);
  const mine = byTitle.length ? byTitle : entries.filter((e) => e.sceneIndex === scene.index);
  return mine.reduce<LedgerEntry | undefined>((best, e) => {
    if (!best) return e;
    // A running take outranks a finished older one; otherwise the highest take number wins.
    const running = (x: LedgerEntry) => !FINAL_STATES.includes(x.state);
    if (running(e) !== running(best)) return running(e) ? e : best;
    return e.take > best.take || (e.take === best.take && e.updatedAt > best.updatedAt) ? e : best;
  }, undefined);
}

/** Registers the serializer that brings previews back after a window reload. */
export function registerPreviewSerializer(
  extensionUri: vscode.Uri,
  tasks: TaskCenter,
): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(PREVIEW_VIEW_TYPE, {
    async deserializeWebviewPanel(panel, state) {
      PreviewPanel.revive(panel, extensionUri, tasks, state);
    },
  });
}

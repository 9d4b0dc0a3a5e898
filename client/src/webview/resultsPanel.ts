// The results panel: every take of a storyboard's scenes as video players, with state, timing,
// task id, the prompt sent and failure reasons. One panel; it follows the storyboard it was last
// opened for and survives a window reload through its serializer.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseStoryboard } from '../../../server/src/core/parse';
import { outputAsWritten } from '../../../server/src/core/resolve';
import { formatReportedCost } from '../../../server/src/render/cost';
import { isInside } from '../../../server/src/render/fsutil';
import type { LedgerEntry } from '../../../server/src/render/types';
import { readSettings } from '../settings';
import { summarize } from '../storyboardModel';
import { storyboardText } from '../commands/film';
import { errorLine, type TaskCenter } from '../tasks';
import { extensionRoots, pageHtml } from './html';
import { planOpen, planReveal, takeActionLabels, type WindowFacts } from './openPlan';
import {
  resultsFromWebview,
  resultsPersisted,
  type ResultsState,
  type SceneResultsView,
  type TakeView,
} from './messages';

export const RESULTS_VIEW_TYPE = 'klingResults';

export class ResultsPanel implements vscode.Disposable {
  static current: ResultsPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private focus?: { sceneIndex: number; take?: number };
  private ready = false;
  private refreshTimer?: NodeJS.Timeout;

  /** Opens (or reveals) the panel for a storyboard, optionally scrolled to one scene/take. */
  static createOrShow(
    extensionUri: vscode.Uri,
    tasks: TaskCenter,
    storyboardPath: string,
    focus?: { sceneIndex: number; take?: number },
  ): ResultsPanel {
    const column = vscode.ViewColumn.Beside;
    if (ResultsPanel.current) {
      const current = ResultsPanel.current;
      current.panel.reveal(column, true);
      current.show(storyboardPath, focus);
      return current;
    }
    const panel = vscode.window.createWebviewPanel(
      RESULTS_VIEW_TYPE,
      'Kling Results',
      { viewColumn: column, preserveFocus: true },
      { enableScripts: true, retainContextWhenHidden: true, localResourceRoots: [] },
    );
    ResultsPanel.current = new ResultsPanel(panel, extensionUri, tasks, storyboardPath, focus);
    return ResultsPanel.current;
  }

  /** Restores the panel after a reload from the state its page saved. */
  static revive(
    panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    tasks: TaskCenter,
    state: unknown,
  ): void {
    const parsed = resultsPersisted.safeParse(state);
    // A page that never saved its state (closed before its first message) follows the storyboard
    // in view rather than coming back empty.
    const saved = parsed.success ? parsed.data.storyboardPath : '';
    ResultsPanel.current?.dispose();
    ResultsPanel.current = new ResultsPanel(
      panel,
      extensionUri,
      tasks,
      saved || visibleStoryboard() || '',
      undefined,
    );
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly tasks: TaskCenter,
    private storyboardPath: string,
    focus: { sceneIndex: number; take?: number } | undefined,
  ) {
    this.focus = focus;
    this.panel.iconPath = vscode.Uri.joinPath(extensionUri, 'client', 'media', 'kling-file.svg');
    this.applyOptions();
    this.panel.webview.html = pageHtml({
      webview: panel.webview,
      extensionUri,
      script: 'results',
      title: 'Kling Results',
    });
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m) =>
        this.onMessage(m).catch((err: unknown) => {
          void vscode.window.showErrorMessage(`Kling: ${errorLine(err)}`);
        }),
      ),
      tasks.onDidChange((p) => {
        if (p === this.storyboardPath) this.scheduleRefresh();
      }),
    );
    void this.tasks.reload(this.storyboardPath);
    if (!storyboardPath) {
      // Revived before any editor came back: follow the first storyboard that shows up.
      this.disposables.push(
        vscode.window.onDidChangeActiveTextEditor(() => {
          const next = visibleStoryboard();
          if (next && !this.storyboardPath) this.show(next);
        }),
      );
    }
  }

  /** The storyboard shown now (tests read it). */
  get storyboard(): string {
    return this.storyboardPath;
  }

  private show(storyboardPath: string, focus?: { sceneIndex: number; take?: number }): void {
    this.focus = focus;
    if (storyboardPath !== this.storyboardPath) {
      this.storyboardPath = storyboardPath;
      this.applyOptions();
      void this.tasks.reload(storyboardPath);
    }
    void this.refresh();
  }

  /** Media may only come from the extension and the storyboard's output folder (and where takes really are). */
  private applyOptions(): void {
    const roots = extensionRoots(this.extensionUri);
    if (this.storyboardPath) roots.push(vscode.Uri.file(outputFolderOf(this.storyboardPath)));
    for (const e of this.tasks.cached(this.storyboardPath)) {
      if (e.videoPath && !roots.some((r) => isInside(r.fsPath, e.videoPath!))) {
        roots.push(vscode.Uri.file(path.dirname(e.videoPath)));
      }
    }
    this.panel.webview.options = { enableScripts: true, localResourceRoots: dedupe(roots) };
    this.panel.title = this.storyboardPath
      ? `Kling Results: ${path.basename(this.storyboardPath)}`
      : 'Kling Results';
  }

  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => void this.refresh(), 100);
  }

  private async refresh(): Promise<void> {
    if (!this.ready) return;
    const entries = this.storyboardPath ? await this.tasks.entries(this.storyboardPath) : [];
    const roots = this.panel.webview.options.localResourceRoots ?? [];
    if (entries.some((e) => e.videoPath && !roots.some((r) => isInside(r.fsPath, e.videoPath!)))) {
      // Changing the roots reloads the page, which then asks again with 'ready'.
      this.applyOptions();
      return;
    }
    const state: ResultsState = {
      type: 'state',
      storyboardPath: this.storyboardPath,
      storyboardName: this.storyboardPath ? path.basename(this.storyboardPath) : '',
      scenes: this.group(entries, await this.chosenKeys()),
      focus: this.focus,
      now: Date.now(),
      labels: takeActionLabels(await windowFacts()),
    };
    this.focus = undefined;
    await this.panel.webview.postMessage(state);
  }

  /** Ledger keys of the takes the scenes use (chosen, else the latest finished). */
  private async chosenKeys(): Promise<Set<string>> {
    if (!this.storyboardPath) return new Set();
    try {
      const takes = await this.tasks.takes(
        this.storyboardPath,
        storyboardText(this.storyboardPath),
      );
      return new Set(takes.scenes.flatMap((s) => (s.chosen ? [s.chosen.key] : [])));
    } catch {
      return new Set();
    }
  }

  private group(entries: LedgerEntry[], chosen: Set<string>): SceneResultsView[] {
    const scenes = new Map<number, SceneResultsView>();
    for (const e of entries) {
      let scene = scenes.get(e.sceneIndex);
      if (!scene) {
        scene = { sceneIndex: e.sceneIndex, title: e.sceneTitle, takes: [] };
        scenes.set(e.sceneIndex, scene);
      }
      scene.title = e.sceneTitle;
      scene.takes.push({ ...this.takeView(e), chosen: chosen.has(e.key) });
    }
    return [...scenes.values()].sort((a, b) => a.sceneIndex - b.sceneIndex);
  }

  private takeView(e: LedgerEntry): TakeView {
    const exists = !!e.videoPath && fs.existsSync(e.videoPath);
    return {
      key: e.key,
      take: e.take,
      state: e.state,
      provider: e.provider,
      endpoint: e.endpoint,
      taskId: e.taskId,
      error: e.error,
      prompt: promptOf(e.request),
      videoSrc: exists
        ? this.panel.webview.asWebviewUri(vscode.Uri.file(e.videoPath!)).toString()
        : undefined,
      videoName: e.videoPath ? path.basename(e.videoPath) : undefined,
      hasSound: soundOf(e.request),
      cost: formatReportedCost(e),
      createdAt: e.createdAt,
      submittedAt: e.submittedAt,
      finishedAt: e.finishedAt,
    };
  }

  private async onMessage(raw: unknown): Promise<void> {
    const parsed = resultsFromWebview.safeParse(raw);
    if (!parsed.success) return;
    const msg = parsed.data;
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        await this.refresh();
        return;
      case 'reveal':
      case 'openExternal': {
        const entry = this.tasks.cached(this.storyboardPath).find((e) => e.key === msg.key);
        if (!entry?.videoPath) return;
        await (msg.type === 'reveal' ? revealTake : openTake)(entry.videoPath);
        return;
      }
      case 'useTake': {
        const entry = this.tasks.cached(this.storyboardPath).find((e) => e.key === msg.key);
        if (!entry) return;
        const problem = await this.tasks.useTake(
          this.storyboardPath,
          storyboardText(this.storyboardPath),
          entry.sceneSlug,
          entry.take,
        );
        if (problem) void vscode.window.showErrorMessage(`Kling: ${problem}.`);
        return;
      }
      case 'openStoryboard':
        await revealScene(this.storyboardPath, msg.sceneIndex);
        return;
      case 'newTake':
        await vscode.commands.executeCommand(
          'kling.generateScene',
          this.storyboardPath,
          msg.sceneIndex,
          {
            newTake: true,
          },
        );
        return;
    }
  }

  dispose(): void {
    if (ResultsPanel.current === this) ResultsPanel.current = undefined;
    clearTimeout(this.refreshTimer);
    this.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}

/** The file path of the active (else the first visible) `.kling` editor. */
function visibleStoryboard(): string | undefined {
  const editors = [vscode.window.activeTextEditor, ...vscode.window.visibleTextEditors];
  const doc = editors.find(
    (e) => e?.document.languageId === 'kling' && e.document.uri.scheme === 'file',
  )?.document;
  return doc?.uri.fsPath;
}

let windowFactsOnce: Promise<WindowFacts> | undefined;

/** What decides how a take is revealed or opened in this window (fixed for the window's life). */
function windowFacts(): Promise<WindowFacts> {
  windowFactsOnce ??= (async () => {
    const commands = await vscode.commands.getCommands(true);
    return {
      desktop: vscode.env.uiKind === vscode.UIKind.Desktop,
      remoteName: vscode.env.remoteName,
      hasRevealFileInOS: commands.includes('revealFileInOS'),
      platform: process.platform,
    };
  })();
  return windowFactsOnce;
}

/** Shows a downloaded take in the system file manager, or VS Code's Explorer when remote. */
export async function revealTake(videoPath: string): Promise<void> {
  const uri = vscode.Uri.file(videoPath);
  const plan = planReveal(await windowFacts(), !!vscode.workspace.getWorkspaceFolder(uri));
  if (plan.kind === 'os') await vscode.commands.executeCommand('revealFileInOS', uri);
  else if (plan.kind === 'explorer') await vscode.commands.executeCommand('revealInExplorer', uri);
  else await vscode.commands.executeCommand('vscode.open', uri, { preview: true });
}

/** Plays a take in the user's own player when the file is local, else in VS Code's video preview. */
export async function openTake(videoPath: string): Promise<void> {
  const uri = vscode.Uri.file(videoPath);
  if (planOpen(await windowFacts()).kind === 'system' && (await vscode.env.openExternal(uri)))
    return;
  await vscode.commands.executeCommand('vscode.open', uri, {
    viewColumn: vscode.ViewColumn.Active,
  });
}

/** Registers the serializer that brings the results panel back after a window reload. */
export function registerResultsSerializer(
  extensionUri: vscode.Uri,
  tasks: TaskCenter,
): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(RESULTS_VIEW_TYPE, {
    async deserializeWebviewPanel(panel, state) {
      ResultsPanel.revive(panel, extensionUri, tasks, state);
    },
  });
}

/** `<storyboard folder>/<output>`: the header's `output:`, else the setting (default `renders`). */
export function outputFolderOf(storyboardPath: string): string {
  const folder = path.dirname(storyboardPath);
  const open = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === storyboardPath);
  let text = open?.getText();
  if (text === undefined) {
    try {
      // Only a regular file is read: a FIFO would block the extension host.
      text = fs.statSync(storyboardPath).isFile() ? fs.readFileSync(storyboardPath, 'utf8') : '';
    } catch {
      text = '';
    }
  }
  const configured = readSettings(vscode.Uri.file(storyboardPath)).outputFolder;
  return path.resolve(folder, outputAsWritten(parseStoryboard(text).storyboard, configured));
}

/** Opens the storyboard with the cursor on a scene's header. */
export async function revealScene(storyboardPath: string, sceneIndex: number): Promise<void> {
  if (!storyboardPath) return;
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(storyboardPath));
  const scene = summarize(doc.getText()).scenes[sceneIndex];
  await revealLine(doc, scene?.headerLine ?? 0);
}

/** Shows a document in its column (or the first) with the cursor at the start of `line`. */
export async function revealLine(doc: vscode.TextDocument, line: number): Promise<void> {
  const visible = vscode.window.visibleTextEditors.find((e) => e.document === doc);
  const editor = await vscode.window.showTextDocument(doc, {
    viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One,
    preserveFocus: false,
  });
  const pos = new vscode.Position(Math.min(line, doc.lineCount - 1), 0);
  editor.selection = new vscode.Selection(pos, pos);
  editor.revealRange(
    new vscode.Range(pos, pos),
    vscode.TextEditorRevealType.InCenterIfOutsideViewport,
  );
}

/** The prompt(s) of a request as sent, for display: single prompt or numbered shots. */
export function promptOf(request: unknown): string {
  const body = (request ?? {}) as Record<string, unknown>;
  const input = (typeof body.input === 'object' && body.input ? body.input : body) as Record<
    string,
    unknown
  >;
  const shots = input.multi_prompt;
  if (Array.isArray(shots) && shots.length) {
    return shots
      .map((s, i) => {
        const shot = (s ?? {}) as Record<string, unknown>;
        return `${i + 1}. (${String(shot.duration ?? '?')} s) ${String(shot.prompt ?? '')}`;
      })
      .join('\n');
  }
  return typeof input.prompt === 'string' ? input.prompt : '';
}

/** Whether the request asked for sound (KIE `sound: true`, Kling `sound: "on"`). */
export function soundOf(request: unknown): boolean {
  const body = (request ?? {}) as Record<string, unknown>;
  const input = (typeof body.input === 'object' && body.input ? body.input : body) as Record<
    string,
    unknown
  >;
  return input.sound === true || input.sound === 'on';
}

function dedupe(uris: vscode.Uri[]): vscode.Uri[] {
  const seen = new Set<string>();
  return uris.filter((u) => !seen.has(u.toString()) && !!seen.add(u.toString()));
}

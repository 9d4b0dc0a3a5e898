// From storyboard to film in VS Code: Use This Take and Export Cut. The work itself is in
// server/src/render (takes.ts, cut.ts, ffmpeg.ts); here are the progress, Cancel and messages.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseStoryboard } from '../../../server/src/core/parse';
import { sceneSlugs } from '../../../server/src/core/request';
import { exportCut, type CutResult } from '../../../server/src/render/cut';
import {
  FfmpegMissingError,
  findFfmpeg,
  type FfmpegTools,
} from '../../../server/src/render/ffmpeg';
import { readSettings } from '../settings';
import { errorLine, type TaskCenter } from '../tasks';
import { storyboardDocument } from './target';

/** The storyboard's current text: the open editor's (maybe unsaved), else the file on disk. */
export function storyboardText(storyboardPath: string): string {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === storyboardPath);
  if (open) return open.getText();
  try {
    return fs.readFileSync(storyboardPath, 'utf8');
  } catch {
    return '';
  }
}

/** ffmpeg and ffprobe from `kling.ffmpegPath`, FFMPEG_PATH or PATH; when missing, says how to install them. */
export function ffmpegTools(scope?: vscode.Uri): FfmpegTools | undefined {
  try {
    return findFfmpeg({ configured: readSettings(scope).ffmpegPath });
  } catch (err) {
    const message = err instanceof FfmpegMissingError ? err.message : errorLine(err);
    void vscode.window
      .showErrorMessage(`Kling: ${message}`, { modal: false }, 'Set ffmpeg Path', 'Download ffmpeg')
      .then((pick) => {
        if (pick === 'Set ffmpeg Path')
          void vscode.commands.executeCommand('workbench.action.openSettings', 'kling.ffmpegPath');
        else if (pick === 'Download ffmpeg')
          void vscode.env.openExternal(vscode.Uri.parse('https://ffmpeg.org/download.html'));
      });
    return undefined;
  }
}

/** `kling.useTake`: makes take N the one a scene uses (storyboard preview, results panel, cut). */
export async function useTakeCommand(
  tasks: TaskCenter,
  target?: unknown,
  sceneIndex?: unknown,
  take?: unknown,
): Promise<boolean> {
  const doc = await storyboardDocument(target);
  if (!doc || typeof sceneIndex !== 'number' || typeof take !== 'number') return false;
  const text = doc.getText();
  const slug = sceneSlugs(parseStoryboard(text).storyboard)[sceneIndex];
  if (!slug) return false;
  const problem = await tasks.useTake(doc.uri.fsPath, text, slug, take);
  if (problem) void vscode.window.showErrorMessage(`Kling: ${problem}.`);
  return !problem;
}

/**
 * `kling.exportCut`: the chosen takes in storyboard order into one MP4 (default
 * `<output>/<storyboard>/cut.mp4`), under a progress notification with Cancel.
 */
export async function exportCutCommand(
  tasks: TaskCenter,
  target?: unknown,
  out?: unknown,
): Promise<CutResult | undefined> {
  const doc = await storyboardDocument(target);
  if (!doc) return undefined;
  if (doc.uri.scheme !== 'file') {
    void vscode.window.showWarningMessage('Kling: save the storyboard to disk before exporting.');
    return undefined;
  }
  const tools = ffmpegTools(doc.uri);
  if (!tools) return undefined;
  const storyboardPath = doc.uri.fsPath;
  const controller = new AbortController();
  try {
    const result = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Kling: exporting the cut of ${path.basename(storyboardPath)}`,
        cancellable: true,
      },
      async (progress, token) => {
        token.onCancellationRequested(() => controller.abort());
        let shown = 0;
        return exportCut({
          ledger: tasks.takeLedger(),
          tools,
          storyboardPath,
          text: doc.getText(),
          out: typeof out === 'string' && out ? out : undefined,
          defaultOutput: readSettings(doc.uri).outputFolder,
          finding: tasks.finding(storyboardPath),
          signal: controller.signal,
          onProgress: (fraction) => {
            const pct = Math.round(fraction * 100);
            if (pct <= shown) return;
            progress.report({ increment: pct - shown, message: `${pct} %` });
            shown = pct;
          },
        });
      },
    );
    for (const w of result.plan.warnings) tasks.logLine(`Export Cut: ${w}`);
    const how = result.plan.mode === 'copy' ? 'stream copy' : 're-encoded to H.264/AAC';
    const stills = result.plan.segments.filter((s) => s.kind === 'still').length;
    const note = stills
      ? ` ${stills} scene${stills === 1 ? ' has' : 's have'} no take yet and ${stills === 1 ? 'is' : 'are'} shown as a still.`
      : '';
    const show = stills ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(
      `Kling: cut written to ${vscode.workspace.asRelativePath(result.out)} (${Math.round(result.plan.totalSeconds)} s, ${how}).${note}`,
      'Open',
    ).then(
      (pick) => pick && vscode.commands.executeCommand('vscode.open', vscode.Uri.file(result.out)),
    );
    return result;
  } catch (err) {
    if (controller.signal.aborted) {
      void vscode.window.showInformationMessage('Kling: export cancelled; nothing was written.');
      return undefined;
    }
    const line = errorLine(err);
    tasks.logLine(`Export Cut failed: ${line}`);
    void vscode.window.showErrorMessage(`Kling: export failed: ${line}`);
    return undefined;
  }
}

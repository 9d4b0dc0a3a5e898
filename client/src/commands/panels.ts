// Show Results / Open Storyboard Preview, and the small reveal helper the CodeLens uses.
import * as vscode from 'vscode';
import type { TaskCenter } from '../tasks';
import { PreviewPanel } from '../webview/previewPanel';
import { ResultsPanel } from '../webview/resultsPanel';
import { storyboardDocument } from './target';

/** Opens the results panel for a storyboard (path or Uri), optionally at one scene's take. */
export async function showResults(
  extensionUri: vscode.Uri,
  tasks: TaskCenter,
  target?: unknown,
  sceneIndex?: unknown,
  take?: unknown,
): Promise<ResultsPanel | undefined> {
  let storyboardPath: string | undefined;
  if (typeof target === 'string' && target && !target.includes('://')) storyboardPath = target;
  else storyboardPath = (await storyboardDocument(target))?.uri.fsPath;
  if (!storyboardPath) return undefined;
  const focus =
    typeof sceneIndex === 'number'
      ? { sceneIndex, take: typeof take === 'number' ? take : undefined }
      : undefined;
  return ResultsPanel.createOrShow(extensionUri, tasks, storyboardPath, focus);
}

/** Opens the live storyboard preview beside the editor. */
export async function openPreview(
  extensionUri: vscode.Uri,
  tasks: TaskCenter,
  target?: unknown,
): Promise<PreviewPanel | undefined> {
  const doc = await storyboardDocument(target);
  return doc && PreviewPanel.createOrShow(extensionUri, tasks, doc);
}

/** Puts the cursor at a position of a document (CodeLens "Cannot generate" → the error). */
export async function revealPosition(
  uri: unknown,
  line: unknown,
  character: unknown,
): Promise<void> {
  if (!(uri instanceof vscode.Uri) || typeof line !== 'number') return;
  const editor = await vscode.window.showTextDocument(uri);
  const pos = new vscode.Position(line, typeof character === 'number' ? character : 0);
  editor.selection = new vscode.Selection(pos, pos);
  editor.revealRange(
    new vscode.Range(pos, pos),
    vscode.TextEditorRevealType.InCenterIfOutsideViewport,
  );
}

// Preview Request: the exact JSON that would be sent, as a read-only document beside the storyboard.
// A TextDocumentContentProvider on the `kling-preview:` scheme keeps it read-only and live: it
// re-renders (debounced) while the storyboard is edited, from the unsaved editor text.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LedgerEntry } from '../../../server/src/render/types';
import { previewRequests } from '../../../server/src/render/index';
import { withEstimates } from '../../../server/src/render/cost';
import { estimateOptions } from '../cost';
import { readSettings } from '../settings';
import { cursorLine, storyboardDocument, summarizeDocument } from './target';
import { sceneAtLine } from '../storyboardModel';

export const PREVIEW_SCHEME = 'kling-preview';

export class RequestPreviewProvider
  implements vscode.TextDocumentContentProvider, vscode.Disposable
{
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly subscription: vscode.Disposable;

  /** `entriesOf` gives the storyboard's recorded takes (their reported costs refine the estimate). */
  constructor(
    private readonly entriesOf: (storyboardPath: string) => Promise<LedgerEntry[]> = async () => [],
  ) {
    this.subscription = vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document.languageId !== 'kling') return;
      for (const doc of vscode.workspace.textDocuments) {
        if (doc.uri.scheme !== PREVIEW_SCHEME) continue;
        if (sourceOf(doc.uri).toString() !== e.document.uri.toString()) continue;
        this.schedule(doc.uri);
      }
    });
  }

  private schedule(uri: vscode.Uri): void {
    const key = uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        this.changed.fire(uri);
      }, 300),
    );
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const source = sourceOf(uri);
    const doc = await vscode.workspace.openTextDocument(source);
    const scene = new URLSearchParams(uri.query).get('scene');
    const scenes = scene === null || scene === '' ? undefined : [Number(scene)];
    try {
      const { defaultProvider } = readSettings();
      const requests = withEstimates(
        previewRequests(source.fsPath, doc.getText(), scenes, { defaultProvider }),
        estimateOptions(
          source,
          source.scheme === 'file' ? await this.entriesOf(source.fsPath) : [],
        ),
      );
      return (
        JSON.stringify(scenes && requests.length === 1 ? requests[0] : requests, null, 2) + '\n'
      );
    } catch (err) {
      // The preview must never throw at the user: show the reason in place of the JSON.
      return (
        JSON.stringify({ error: err instanceof Error ? err.message : String(err) }, null, 2) + '\n'
      );
    }
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.subscription.dispose();
    this.changed.dispose();
  }
}

/** `kling-preview:/abs/story.kling.request.json?source=<uri>&scene=N` → the storyboard's URI. */
function sourceOf(uri: vscode.Uri): vscode.Uri {
  return vscode.Uri.parse(new URLSearchParams(uri.query).get('source') ?? '');
}

/** Opens the request preview of one scene (argument or cursor) or of the whole storyboard. */
export async function previewRequest(
  target?: unknown,
  sceneIndex?: unknown,
): Promise<vscode.TextDocument | undefined> {
  const doc = await storyboardDocument(target);
  if (!doc) return undefined;
  const summary = summarizeDocument(doc);
  let index: number | undefined = typeof sceneIndex === 'number' ? sceneIndex : undefined;
  if (index === undefined) {
    const line = cursorLine(doc);
    index = line === undefined ? undefined : sceneAtLine(summary, line)?.index;
  }
  const base = path.basename(doc.uri.fsPath, '.kling');
  const scene = index === undefined ? undefined : summary.scenes[index];
  const name = scene ? `${base} · ${scene.title}.request.json` : `${base}.request.json`;
  const query = new URLSearchParams({
    source: doc.uri.toString(),
    scene: index === undefined ? '' : String(index),
  });
  const uri = vscode.Uri.from({
    scheme: PREVIEW_SCHEME,
    path: `/${name}`,
    query: query.toString(),
  });
  const preview = await vscode.workspace.openTextDocument(uri);
  const json =
    preview.languageId === 'json'
      ? preview
      : await vscode.languages.setTextDocumentLanguage(preview, 'json');
  await vscode.window.showTextDocument(json, {
    viewColumn: vscode.ViewColumn.Beside,
    preserveFocus: true,
    preview: true,
  });
  return json;
}

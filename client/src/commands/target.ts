// Which storyboard a command acts on: an explicit argument (Uri or absolute path, as CodeLens and
// tests pass it), else the active editor, else the only open `.kling` document.
import * as vscode from 'vscode';
import { sceneBlockers } from '../../../server/src/core/blocking';
import { createLanguageService } from '../../../server/src/core/service';
import { mediaFactsOnDisk } from '../../../server/src/render/mediafacts';
import { readSettings } from '../settings';
import { summarize, type StoryboardSummary } from '../storyboardModel';

/** Resolves a command's storyboard argument to an open TextDocument, or tells the user why not. */
export async function storyboardDocument(
  target?: unknown,
): Promise<vscode.TextDocument | undefined> {
  const uri =
    target instanceof vscode.Uri
      ? target
      : typeof target === 'string' && target
        ? target.includes('://')
          ? vscode.Uri.parse(target)
          : vscode.Uri.file(target)
        : undefined;
  if (uri) return vscode.workspace.openTextDocument(uri);
  const active = vscode.window.activeTextEditor?.document;
  if (active?.languageId === 'kling') return active;
  const open = vscode.workspace.textDocuments.filter((d) => d.languageId === 'kling');
  if (open.length === 1) return open[0];
  void vscode.window.showWarningMessage('Kling: open a .kling storyboard first.');
  return undefined;
}

/** The cursor line when `doc` is in the active editor. */
export function cursorLine(doc: vscode.TextDocument): number | undefined {
  const editor = vscode.window.activeTextEditor;
  return editor?.document === doc ? editor.selection.active.line : undefined;
}

/** Parses a document with the configured default provider. */
export function summarizeDocument(doc: vscode.TextDocument): StoryboardSummary {
  return summarize(doc.getText(), readSettings(doc.uri).defaultProvider);
}

/**
 * The errors that stop a scene from being generated: those on its own lines, on the elements it
 * references, and in the header zone (before the first block), in document order.
 */
export function blockingErrors(
  uri: vscode.Uri,
  summary: StoryboardSummary,
  sceneIndex: number,
): vscode.Diagnostic[] {
  const scene = summary.scenes[sceneIndex];
  if (!scene) return [];
  const firstBlockLine = summary.storyboard.blocks[0]?.headerLine ?? Number.MAX_SAFE_INTEGER;
  const ranges: [number, number][] = [
    [scene.headerLine, scene.endLine],
    [0, firstBlockLine - 1],
  ];
  for (const name of scene.elementNames) {
    const el = summary.elements.find((e) => e.name === name);
    if (el) ranges.push([el.headerLine, el.endLine]);
  }
  return vscode.languages
    .getDiagnostics(uri)
    .filter(
      (d) =>
        d.severity === vscode.DiagnosticSeverity.Error &&
        ranges.some(([from, to]) => d.range.start.line >= from && d.range.start.line <= to),
    )
    .sort((a, b) => a.range.start.compareTo(b.range.start));
}

/**
 * The errors that block each of the given scenes in the document's current text, found by the
 * language service itself (suppressions, `kling.diagnostics.severity` and media read from disk
 * now included), so Generate judges exactly what it is about to send.
 */
export async function blockersNow(
  doc: vscode.TextDocument,
  sceneIndexes: number[],
): Promise<Map<number, vscode.Diagnostic[]>> {
  const settings = readSettings(doc.uri);
  const service = createLanguageService({
    media: (absPath) => mediaFactsOnDisk(absPath),
    settings: { defaultProvider: settings.defaultProvider, severity: settings.severity },
  });
  const text = doc.getText();
  const sdoc = { uri: doc.uri.toString(), version: doc.version, getText: () => text };
  const diagnostics = await service.check(sdoc);
  const { storyboard } = service.analyze(sdoc).parsed;
  const out = new Map<number, vscode.Diagnostic[]>();
  for (const index of sceneIndexes) {
    const scene = storyboard.scenes[index];
    if (!scene) continue;
    out.set(
      index,
      sceneBlockers(storyboard, text.length, diagnostics, scene).map((d) => {
        const range = new vscode.Range(
          doc.positionAt(d.span.offset),
          doc.positionAt(d.span.offset + d.span.length),
        );
        return new vscode.Diagnostic(range, d.message, vscode.DiagnosticSeverity.Error);
      }),
    );
  }
  return out;
}

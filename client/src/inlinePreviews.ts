// Inline previews: after each local media path a dimmed "  1024×1024 · PNG · 212 KB" (or the
// problem), and the image itself as a gutter icon on its line. Facts come from the core's
// `sniffMedia` (magic bytes + `image-size` on the first 512 KB), the same code the language
// server's diagnostics use; results are cached by path, size and mtime, so typing re-reads nothing.
// A gutter icon rather than `after.contentIconPath`: the latter renders the image at its natural
// size, while gutter icons scale to the line height (`gutterIconSize: 'contain'`).
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { MEDIA_WATCH_GLOB } from '../../server/src/core/media';
import { mediaFactsOnDisk } from '../../server/src/render/mediafacts';
import { readSettings } from './settings';
import { isUrl, mediaRefs, summarize } from './storyboardModel';

interface MediaInfo {
  key: string;
  text: string;
  isImage: boolean;
  missing: boolean;
}

export class InlinePreviews implements vscode.Disposable {
  private readonly textDecoration = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor('editorCodeLens.foreground'), margin: '0 0 0 0.5em' },
    rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
  });
  /** One gutter-icon decoration type per image file (gutter icons cannot be set per instance). */
  private readonly gutterTypes = new Map<string, vscode.TextEditorDecorationType>();
  private readonly cache = new Map<string, { stamp: string; info: Omit<MediaInfo, 'key'> }>();
  private readonly timers = new Map<vscode.TextEditor, NodeJS.Timeout>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor() {
    const watcher = vscode.workspace.createFileSystemWatcher(MEDIA_WATCH_GLOB);
    const forget = (uri: vscode.Uri) => {
      this.cache.delete(uri.fsPath);
      this.refreshAll();
    };
    this.disposables.push(
      this.textDecoration,
      watcher,
      watcher.onDidChange(forget),
      watcher.onDidCreate(forget),
      watcher.onDidDelete(forget),
      vscode.window.onDidChangeVisibleTextEditors(() => this.refreshAll()),
      vscode.workspace.onDidChangeTextDocument((e) => {
        for (const editor of vscode.window.visibleTextEditors) {
          if (editor.document === e.document) this.schedule(editor, 300);
        }
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('kling.inlinePreviews')) this.refreshAll();
      }),
    );
    this.refreshAll();
  }

  private refreshAll(): void {
    for (const editor of vscode.window.visibleTextEditors) this.schedule(editor, 0);
  }

  private schedule(editor: vscode.TextEditor, delayMs: number): void {
    if (editor.document.languageId !== 'kling') return;
    clearTimeout(this.timers.get(editor));
    this.timers.set(
      editor,
      setTimeout(() => {
        this.timers.delete(editor);
        void this.update(editor);
      }, delayMs),
    );
  }

  /** Recomputes the decorations of one editor. */
  async update(editor: vscode.TextEditor): Promise<void> {
    const doc = editor.document;
    const enabled = readSettings(doc.uri).inlinePreviewsEnabled && doc.uri.scheme === 'file';
    const refs = enabled ? mediaRefs(summarize(doc.getText())).filter((r) => !isUrl(r.value)) : [];
    const version = doc.version;
    const folder = path.dirname(doc.uri.fsPath);
    const infos = await Promise.all(refs.map((r) => this.info(path.resolve(folder, r.value))));
    if (doc.version !== version || doc.isClosed) return; // a newer update is on its way
    const text: vscode.DecorationOptions[] = [];
    const gutters = new Map<string, vscode.Range[]>();
    const linesWithIcon = new Set<number>();
    refs.forEach((ref, i) => {
      const info = infos[i];
      const end = doc.positionAt(ref.span.offset + ref.span.length);
      const range = new vscode.Range(end, end);
      text.push({ range, renderOptions: { after: { contentText: `  ${info.text}` } } });
      if (info.isImage && !info.missing && !linesWithIcon.has(ref.line)) {
        linesWithIcon.add(ref.line);
        const list = gutters.get(info.key) ?? [];
        list.push(new vscode.Range(ref.line, 0, ref.line, 0));
        gutters.set(info.key, list);
      }
    });
    editor.setDecorations(this.textDecoration, text);
    for (const [file, type] of this.gutterTypes) {
      if (!gutters.has(file)) editor.setDecorations(type, []);
    }
    for (const [file, ranges] of gutters) editor.setDecorations(this.gutterType(file), ranges);
  }

  private gutterType(file: string): vscode.TextEditorDecorationType {
    let type = this.gutterTypes.get(file);
    if (!type) {
      type = vscode.window.createTextEditorDecorationType({
        gutterIconPath: vscode.Uri.file(file),
        gutterIconSize: 'contain',
      });
      this.gutterTypes.set(file, type);
    }
    return type;
  }

  private async info(abs: string): Promise<MediaInfo> {
    let stat: import('node:fs').Stats;
    try {
      stat = await fs.stat(abs);
    } catch {
      return { key: abs, text: 'not found', isImage: false, missing: true };
    }
    const stamp = `${stat.size}:${stat.mtimeMs}`;
    const cached = this.cache.get(abs);
    if (cached?.stamp === stamp) return { key: abs, ...cached.info };
    const info = await describe(abs, stat.size);
    this.cache.set(abs, { stamp, info });
    return { key: abs, ...info };
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const type of this.gutterTypes.values()) type.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

/** "1024×1024 · PNG · 212 KB" for images, "MP4 · 3.4 MB" for videos, the problem otherwise. */
async function describe(abs: string, bytes: number): Promise<Omit<MediaInfo, 'key'>> {
  const size = formatBytes(bytes);
  try {
    const facts = await mediaFactsOnDisk(abs);
    if (!facts || facts.exists === false) throw new Error('not a readable file');
    const format =
      facts.format && facts.format !== 'unknown' ? facts.format.toUpperCase() : undefined;
    if (facts.width && facts.height) {
      return {
        text: `${facts.width}×${facts.height} · ${format} · ${size}`,
        isImage: true,
        missing: false,
      };
    }
    return {
      text: `${format ?? 'unrecognised content'} · ${size}`,
      isImage: false,
      missing: false,
    };
  } catch {
    return { text: `unreadable · ${size}`, isImage: false, missing: false };
  }
}

/** Bytes as "212 KB" / "3.4 MB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

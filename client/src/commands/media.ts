// Upload Media: uploads every local file the storyboard's scenes would send (KIE File Upload API)
// ahead of generation. It uses the engine's Uploader with the engine's own cache file
// (<state dir>/uploads.json, keyed by upload host + content hash), so a later Generate reuses
// these URLs while they are fresh. Kling's API takes media inline, so there is nothing to upload.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { sha256 } from '../../../server/src/render/hash';
import { defaultStateDir } from '../../../server/src/render/state';
import { hasKeys } from '../../../server/src/render/types';
import { Uploader } from '../../../server/src/render/uploads';
import { KieClient } from '../../../server/src/providers/kie';
import { readSettings, resolveBases } from '../settings';
import { isUrl, type StoryboardSummary } from '../storyboardModel';
import type { TaskCenter } from '../tasks';
import { confirmOutsideWorkspace, errorLine, requireTrust } from '../tasks';
import { storyboardDocument, summarizeDocument } from './target';

/** Uploads the storyboard's local media; returns the number of files now available on KIE. */
export async function uploadMedia(
  tasks: TaskCenter,
  target?: unknown,
): Promise<number | undefined> {
  const doc = await storyboardDocument(target);
  if (!doc) return undefined;
  const summary = summarizeDocument(doc);
  const provider = summary.scenes[0]?.provider ?? readSettings(doc.uri).defaultProvider;
  if (provider === 'kling') {
    void vscode.window.showInformationMessage(
      'Kling: this storyboard uses Kling’s official API, which takes local images inline with each request — nothing to upload.',
    );
    return 0;
  }
  const files = sentLocalMedia(summary, path.dirname(doc.uri.fsPath));
  if (!files.length) {
    void vscode.window.showInformationMessage('Kling: no scene sends a local media file.');
    return 0;
  }
  if (!requireTrust('upload media')) return undefined;
  const keys = await tasks.keys();
  if (!hasKeys(keys, 'kie')) {
    const pick = await vscode.window.showErrorMessage(
      'Kling: uploading to KIE needs a KIE API key.',
      'Set Key',
    );
    if (pick) await vscode.commands.executeCommand('kling.setKieApiKey');
    return undefined;
  }
  const allowed: string[] = [];
  for (const file of files) if (await confirmOutsideWorkspace(file)) allowed.push(file);
  const bases = resolveBases(readSettings(doc.uri));
  const client = new KieClient({
    apiKey: keys.kieApiKey,
    apiBase: bases.kieApi,
    uploadBase: bases.kieUpload,
  });
  const uploader = new Uploader({
    client: () => client,
    uploadBase: bases.kieUpload,
    cacheFile: path.join(defaultStateDir(), 'uploads.json'),
    freshMs: 24 * 3_600_000,
    concurrency: 3,
    uploadPath: 'kling-storyboard',
    retries: 3,
    retryBaseMs: 1000,
  });
  try {
    await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: 'Kling: uploading media',
        cancellable: true,
      },
      async (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        let finished = 0;
        await Promise.all(
          allowed.map(async (file) => {
            const bytes = await fs.readFile(file);
            await uploader.urlFor(bytes, sha256(bytes), file, controller.signal);
            finished++;
            progress.report({
              message: `${finished}/${allowed.length} ${path.basename(file)}`,
              increment: 100 / allowed.length,
            });
          }),
        );
      },
    );
  } catch (err) {
    void vscode.window.showErrorMessage(`Kling: upload failed: ${errorLine(err)}`);
    return undefined;
  }
  // The engine caches the upload list in memory; a fresh instance reads the new entries.
  tasks.invalidateEngine();
  const fresh = allowed.length - uploader.sent;
  void vscode.window.showInformationMessage(
    `Kling: ${uploader.sent} file(s) uploaded${fresh ? `, ${fresh} still fresh from an earlier upload` : ''}.`,
  );
  return allowed.length;
}

/** Absolute paths of the local files scenes send: frames and the media of referenced elements. */
export function sentLocalMedia(summary: StoryboardSummary, folder: string): string[] {
  const values: string[] = [];
  for (const scene of summary.scenes) {
    if (scene.firstFrame) values.push(scene.firstFrame.value);
    if (scene.lastFrame) values.push(scene.lastFrame.value);
    for (const name of scene.elementNames) {
      const el = summary.elements.find((e) => e.name === name);
      if (!el) continue;
      values.push(...el.images.map((i) => i.value));
      if (el.video) values.push(el.video.value);
    }
  }
  return [...new Set(values.filter((v) => !isUrl(v)).map((v) => path.resolve(folder, v)))];
}

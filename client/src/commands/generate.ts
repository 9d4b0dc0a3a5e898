// Generate Scene / Generate All Scenes / Cancel. The engine does the work; these functions pick the
// scenes, refuse scenes with errors (the same rule the CodeLens shows) and hand over to TaskCenter.
import * as vscode from 'vscode';
import { continuityLinks } from '../../../server/src/core/continuity';
import { parseStoryboard } from '../../../server/src/core/parse';
import type { LedgerEntry } from '../../../server/src/render/types';
import type { TaskCenter } from '../tasks';
import type { SceneSummary, StoryboardSummary } from '../storyboardModel';
import { sceneAtLine } from '../storyboardModel';
import { blockersNow, cursorLine, storyboardDocument, summarizeDocument } from './target';

export interface GenerateOptions {
  newTake?: boolean;
}

/**
 * Generates one scene: `sceneIndex` when given (CodeLens, tests), else the scene at the cursor,
 * else one picked from a list.
 */
export async function generateScene(
  tasks: TaskCenter,
  target?: unknown,
  sceneIndex?: unknown,
  options?: GenerateOptions,
): Promise<LedgerEntry[] | undefined> {
  const doc = await storyboardDocument(target);
  if (!doc) return undefined;
  const summary = summarizeDocument(doc);
  const scene = await chooseScene(doc, summary, sceneIndex);
  if (!scene) return undefined;
  if (!(await refuseIfErrors(doc, [scene]))) return undefined;
  // `continue-from`: a source without a take is pending; say so and offer to generate both, in order.
  const pending = await pendingSource(tasks, doc, scene.index);
  if (pending) {
    const both = `Generate “${pending.title}” then “${scene.title}”`;
    const pick = await vscode.window.showInformationMessage(
      `Kling: “${scene.title}” continues from “${pending.title}”, which has no finished take yet. Its first frame is the last frame of that take, so “${pending.title}” must be generated first.`,
      both,
    );
    if (pick !== both) return undefined;
    if (!(await refuseIfErrors(doc, [summary.scenes[pending.index]!]))) return undefined;
    return tasks.generate(doc, [pending.index, scene.index], {
      newTake: options?.newTake === true,
      provider: scene.provider,
      label: `generating “${pending.title}”, then “${scene.title}”`,
    });
  }
  return tasks.generate(doc, [scene.index], {
    newTake: options?.newTake === true,
    provider: scene.provider,
    label: `generating “${scene.title}”${options?.newTake ? ' (new take)' : ''}`,
    // A new take always pays: ask above the threshold, as Generate All does.
    confirmCost: options?.newTake === true,
  });
}

/** Generates every scene of the storyboard (the engine runs them with the configured concurrency). */
export async function generateAll(
  tasks: TaskCenter,
  target?: unknown,
  options?: GenerateOptions,
): Promise<LedgerEntry[] | undefined> {
  const doc = await storyboardDocument(target);
  if (!doc) return undefined;
  const summary = summarizeDocument(doc);
  if (!summary.scenes.length) {
    void vscode.window.showWarningMessage('Kling: this storyboard has no [scene] blocks yet.');
    return undefined;
  }
  if (!(await refuseIfErrors(doc, summary.scenes))) return undefined;
  return tasks.generate(
    doc,
    summary.scenes.map((s) => s.index),
    {
      newTake: options?.newTake === true,
      provider: summary.scenes[0].provider,
      label: `generating ${summary.scenes.length} scene(s)`,
      confirmCost: true,
    },
  );
}

/** The source a `continue-from` scene waits for, when that source has no finished take. */
async function pendingSource(
  tasks: TaskCenter,
  doc: vscode.TextDocument,
  sceneIndex: number,
): Promise<{ index: number; title: string } | undefined> {
  if (doc.uri.scheme !== 'file') return undefined;
  const text = doc.getText();
  const link = continuityLinks(parseStoryboard(text).storyboard).find(
    (l) => l.scene.index === sceneIndex && l.valid && l.source,
  );
  if (!link) return undefined;
  const takes = await tasks.takes(doc.uri.fsPath, text);
  if (takes.scenes[link.source!.index]?.chosen) return undefined;
  return { index: link.source!.index, title: link.source!.displayTitle };
}

/** Stops waiting for this window's generations; the remote tasks keep running and resume later. */
export function cancelGenerations(tasks: TaskCenter): number {
  const count = tasks.cancelAll();
  if (!count) void vscode.window.showInformationMessage('Kling: nothing is being generated.');
  return count;
}

async function chooseScene(
  doc: vscode.TextDocument,
  summary: StoryboardSummary,
  sceneIndex: unknown,
): Promise<SceneSummary | undefined> {
  if (typeof sceneIndex === 'number') {
    const scene = summary.scenes[sceneIndex];
    if (!scene) void vscode.window.showErrorMessage(`Kling: there is no scene ${sceneIndex + 1}.`);
    return scene;
  }
  const line = cursorLine(doc);
  const atCursor = line === undefined ? undefined : sceneAtLine(summary, line);
  if (atCursor) return atCursor;
  if (!summary.scenes.length) {
    void vscode.window.showWarningMessage('Kling: this storyboard has no [scene] blocks yet.');
    return undefined;
  }
  if (summary.scenes.length === 1) return summary.scenes[0];
  const pick = await vscode.window.showQuickPick(
    summary.scenes.map((s) => ({
      label: s.title,
      description: `${s.duration} s · ${s.mode} · ${s.shotsLabel}`,
      scene: s,
    })),
    { title: 'Kling: which scene?' },
  );
  return pick?.scene;
}

/**
 * Shows the first blocking error and returns false when any of the scenes cannot be generated.
 * The text about to be sent is validated here, through the language service with this window's
 * severity settings and media facts read from disk — not the last diagnostics the server
 * published, which may predate an edit or a changed file.
 */
async function refuseIfErrors(doc: vscode.TextDocument, scenes: SceneSummary[]): Promise<boolean> {
  const blockers = await blockersNow(
    doc,
    scenes.map((s) => s.index),
  );
  for (const scene of scenes) {
    const errors = blockers.get(scene.index) ?? [];
    if (errors.length) {
      const first = errors[0];
      void vscode.window
        .showErrorMessage(
          `Kling: “${scene.title}” cannot be generated: ${first.message} (line ${first.range.start.line + 1}).`,
          'Go to Error',
        )
        .then(async (pick) => {
          if (!pick) return;
          const editor = await vscode.window.showTextDocument(doc);
          editor.selection = new vscode.Selection(first.range.start, first.range.start);
          editor.revealRange(first.range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
        });
      return false;
    }
  }
  return true;
}

// Expand Element Views: Kling AI Multi-Shot turns an element's `frontal:` image into three views; the
// engine saves them next to the frontal image and this command writes them into `images:`.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ViewsNotApproved } from '../../../server/src/render/views';
import type { TaskCenter } from '../tasks';
import { errorLine, requireTrust } from '../tasks';
import { elementAtLine, isUrl, type ElementSummary } from '../storyboardModel';
import { cursorLine, storyboardDocument, summarizeDocument } from './target';

/** Expands the element at the cursor (or named `elementName`); returns the written paths. */
export async function expandElementViews(
  tasks: TaskCenter,
  target?: unknown,
  elementName?: unknown,
): Promise<string[] | undefined> {
  const doc = await storyboardDocument(target);
  if (!doc) return undefined;
  const summary = summarizeDocument(doc);
  const element = await chooseElement(doc, summary.elements, elementName);
  if (!element) return undefined;
  if (!element.frontal) {
    void vscode.window.showErrorMessage(
      `Kling: element @${element.name} has no “frontal:” image to expand. Add “frontal: refs/${element.name}.jpg” first.`,
    );
    return undefined;
  }
  if (isUrl(element.frontal.value)) {
    void vscode.window.showErrorMessage(
      'Kling: Expand Element Views needs a local frontal image, not a URL.',
    );
    return undefined;
  }
  if (!requireTrust('upload images or generate views')) return undefined;
  const keys = await tasks.keys();
  if (!keys.klingAccessKey || !keys.klingSecretKey) {
    const pick = await vscode.window.showErrorMessage(
      'Kling: Expand Element Views uses Kling’s official API (AI Multi-Shot) and needs the Kling access and secret keys.',
      'Set Kling Keys',
    );
    if (pick) await vscode.commands.executeCommand('kling.setKlingKeys');
    return undefined;
  }
  const folder = path.dirname(doc.uri.fsPath);
  const frontalAbs = path.resolve(folder, element.frontal.value);
  const engine = await tasks.engine();
  let views: string[];
  try {
    views = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Kling: expanding views of @${element.name}`,
        cancellable: true,
      },
      (_progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        // A new task is estimated first and paid for only as Generate All would be: the balance,
        // then a question above kling.confirmAboveCredits or when the cost is unknown.
        return engine.expandElementViews(frontalAbs, controller.signal, {
          label: `@${element.name} views`,
          approve: (cost) =>
            tasks.approve(engine, cost, {
              provider: 'kling',
              scope: doc.uri,
              action: 'Expand Views',
              confirmCost: true,
            }),
        });
      },
    );
  } catch (err) {
    if (err instanceof ViewsNotApproved) return undefined;
    void vscode.window.showErrorMessage(`Kling: Expand Element Views failed: ${errorLine(err)}`);
    return undefined;
  }
  const relative = views.map((abs) => path.relative(folder, abs).split(path.sep).join('/'));
  try {
    await writeImages(doc, element, relative);
  } catch (err) {
    void vscode.window.showErrorMessage(`Kling: ${errorLine(err)}`);
    return relative;
  }
  void vscode.window.showInformationMessage(
    `Kling: @${element.name} now has ${relative.length} views.`,
  );
  return relative;
}

/** Replaces the element's `images:` value, or adds an `images:` line after its settings. */
async function writeImages(doc: vscode.TextDocument, element: ElementSummary, paths: string[]) {
  const edit = new vscode.WorkspaceEdit();
  const value = paths.join(', ');
  if (element.imagesSetting) {
    const span = element.imagesSetting.valueSpan;
    edit.replace(
      doc.uri,
      new vscode.Range(doc.positionAt(span.offset), doc.positionAt(span.offset + span.length)),
      value,
    );
  } else {
    const eol = doc.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n';
    edit.insert(doc.uri, doc.positionAt(element.settingsEndOffset), `${eol}images: ${value}`);
  }
  if (!(await vscode.workspace.applyEdit(edit))) {
    throw new Error(
      'the storyboard changed while the views were generated; add them by hand: ' + value,
    );
  }
}

async function chooseElement(
  doc: vscode.TextDocument,
  elements: ElementSummary[],
  elementName: unknown,
): Promise<ElementSummary | undefined> {
  if (typeof elementName === 'string') {
    const found = elements.find((e) => e.name === elementName.replace(/^@/, ''));
    if (!found) void vscode.window.showErrorMessage(`Kling: there is no element @${elementName}.`);
    return found;
  }
  const line = cursorLine(doc);
  const atCursor = line === undefined ? undefined : elementAtLine(elements, line);
  if (atCursor) return atCursor;
  const candidates = elements.filter((e) => e.frontal);
  if (!candidates.length) {
    void vscode.window.showWarningMessage('Kling: no element has a “frontal:” image to expand.');
    return undefined;
  }
  if (candidates.length === 1) return candidates[0];
  const pick = await vscode.window.showQuickPick(
    candidates.map((e) => ({ label: `@${e.name}`, description: e.frontal?.value, element: e })),
    { title: 'Kling: expand which element?' },
  );
  return pick?.element;
}

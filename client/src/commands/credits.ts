// Show Credits: the KIE credit balance (Kling's API has no balance endpoint; the engine says so).
import * as vscode from 'vscode';
import { hasKeys, type ProviderId } from '../../../server/src/render/types';
import { readSettings } from '../settings';
import type { TaskCenter } from '../tasks';
import { errorLine } from '../tasks';
import { summarize } from '../storyboardModel';

/** Shows the balance of the active storyboard's provider (or `provider` when given). */
export async function showCredits(
  tasks: TaskCenter,
  provider?: unknown,
): Promise<string | undefined> {
  const chosen: ProviderId =
    provider === 'kie' || provider === 'kling' ? provider : activeProvider();
  const keys = await tasks.keys();
  if (chosen === 'kie' && !hasKeys(keys, 'kie')) {
    const pick = await vscode.window.showErrorMessage(
      'Kling: set a KIE API key to see the credit balance.',
      'Set Key',
    );
    if (pick) await vscode.commands.executeCommand('kling.setKieApiKey');
    return undefined;
  }
  try {
    const text = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Kling: reading the credit balance' },
      async () => (await tasks.engine()).credits(chosen),
    );
    void vscode.window.showInformationMessage(`Kling (${chosen}): ${text}`);
    return text;
  } catch (err) {
    void vscode.window.showErrorMessage(`Kling: could not read the balance: ${errorLine(err)}`);
    return undefined;
  }
}

function activeProvider(): ProviderId {
  const doc = vscode.window.activeTextEditor?.document;
  const fallback = readSettings(doc?.uri).defaultProvider;
  if (doc?.languageId !== 'kling') return fallback;
  return summarize(doc.getText(), fallback).scenes[0]?.provider ?? fallback;
}

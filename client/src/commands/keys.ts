// Set KIE API Key / Set Kling Access/Secret Keys. Keys go to SecretStorage only, typed into password
// input boxes; a value passed as a command argument skips the box (used by the integration tests).
import * as vscode from 'vscode';
import type { KeyStore } from '../keyStore';

/** Asks for the KIE API key (or takes `value`) and stores it; returns true when something was stored. */
export async function setKieApiKey(keyStore: KeyStore, value?: unknown): Promise<boolean> {
  const key =
    typeof value === 'string'
      ? value
      : await vscode.window.showInputBox({
          title: 'Kling: KIE API Key',
          prompt:
            'Paste your KIE API key (from https://kie.ai/api-key). It is kept in VS Code’s secret storage.',
          password: true,
          ignoreFocusOut: true,
          validateInput: validateKey,
        });
  if (key === undefined) return false;
  await keyStore.set('kieApiKey', key);
  void vscode.window.showInformationMessage(
    key.trim() ? 'Kling: KIE API key saved in secret storage.' : 'Kling: KIE API key removed.',
  );
  return true;
}

/** Asks for the Kling access key and secret key (or takes them as arguments) and stores both. */
export async function setKlingKeys(
  keyStore: KeyStore,
  accessArg?: unknown,
  secretArg?: unknown,
): Promise<boolean> {
  const access =
    typeof accessArg === 'string'
      ? accessArg
      : await vscode.window.showInputBox({
          title: 'Kling: Access Key (1/2)',
          prompt: 'Paste your Kling access key (AK). It is kept in VS Code’s secret storage.',
          password: true,
          ignoreFocusOut: true,
          validateInput: validateKey,
        });
  if (access === undefined) return false;
  const secret =
    typeof secretArg === 'string'
      ? secretArg
      : await vscode.window.showInputBox({
          title: 'Kling: Secret Key (2/2)',
          prompt: 'Paste your Kling secret key (SK). It is kept in VS Code’s secret storage.',
          password: true,
          ignoreFocusOut: true,
          validateInput: validateKey,
        });
  if (secret === undefined) return false;
  await keyStore.set('klingAccessKey', access);
  await keyStore.set('klingSecretKey', secret);
  void vscode.window.showInformationMessage(
    'Kling: access and secret keys saved in secret storage.',
  );
  return true;
}

function validateKey(value: string): string | undefined {
  if (/\s/.test(value.trim())) return 'A key has no spaces inside.';
  return undefined;
}

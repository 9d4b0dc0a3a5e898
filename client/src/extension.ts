// Entry point: start the language client, register the commands and views, resume unfinished
// tasks in the background. Everything else lives in the modules imported here.
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  LanguageClient,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { SceneCodeLensProvider } from './codeLens';
import { showCredits } from './commands/credits';
import { expandElementViews } from './commands/elements';
import { exportCutCommand, useTakeCommand } from './commands/film';
import { cancelGenerations, generateAll, generateScene } from './commands/generate';
import { setKieApiKey, setKlingKeys } from './commands/keys';
import { uploadMedia } from './commands/media';
import { openPreview, revealPosition, showResults } from './commands/panels';
import { PREVIEW_SCHEME, RequestPreviewProvider, previewRequest } from './commands/previewRequest';
import { MEDIA_WATCH_GLOB } from '../../server/src/core/media';
import { SERVER_NODE_OPTIONS } from '../../server/src/launch';
import { InlinePreviews } from './inlinePreviews';
import { KeyStore, type KeyName, type KeySource } from './keyStore';
import { Log } from './log';
import { readSettings, serverSettings } from './settings';
import { TaskCenter } from './tasks';
import { PreviewPanel, registerPreviewSerializer } from './webview/previewPanel';
import { ResultsPanel, registerResultsSerializer } from './webview/resultsPanel';

const KLING_FILES = { scheme: 'file', language: 'kling' } satisfies vscode.DocumentFilter;
/** Changes to these files can change media diagnostics, so the server hears about them. */

let client: LanguageClient | undefined;

/** What activate() returns: a small surface for the integration tests (no keys are exposed). */
export interface KlingExtensionApi {
  client: LanguageClient;
  tasks: TaskCenter;
  keySource(name: KeyName): Promise<KeySource>;
  resultsPanel(): ResultsPanel | undefined;
  previewPanels(): PreviewPanel[];
}

/** Starts the language client and registers every command, view and provider. */
export async function activate(context: vscode.ExtensionContext): Promise<KlingExtensionApi> {
  const log = new Log(vscode.window.createOutputChannel('Kling Storyboard', { log: true }));
  const keyStore = new KeyStore(context.secrets);
  const refreshRedactions = async () => {
    const k = await keyStore.keys();
    log.setSecrets([k.kieApiKey, k.klingAccessKey, k.klingSecretKey]);
  };
  await refreshRedactions();
  const tasks = new TaskCenter(keyStore, log);
  const uri = context.extensionUri;
  const requestPreview = new RequestPreviewProvider((p) => tasks.entries(p));

  client = startLanguageClient(context, log);

  context.subscriptions.push(
    tasks,
    requestPreview,
    keyStore.onDidChange(() => void refreshRedactions()),
    vscode.workspace.registerTextDocumentContentProvider(PREVIEW_SCHEME, requestPreview),
    vscode.languages.registerCodeLensProvider(KLING_FILES, new SceneCodeLensProvider(tasks)),
    new InlinePreviews(),
    registerResultsSerializer(uri, tasks),
    registerPreviewSerializer(uri, tasks),
    vscode.workspace.onDidGrantWorkspaceTrust(() => tasks.resumeUnfinished()),
  );

  context.subscriptions.push(
    vscode.commands.registerCommand('kling.setKieApiKey', (value?: unknown) =>
      setKieApiKey(keyStore, value),
    ),
    vscode.commands.registerCommand('kling.setKlingKeys', (a?: unknown, s?: unknown) =>
      setKlingKeys(keyStore, a, s),
    ),
    vscode.commands.registerCommand(
      'kling.generateScene',
      (t?: unknown, i?: unknown, o?: { newTake?: boolean }) => generateScene(tasks, t, i, o),
    ),
    vscode.commands.registerCommand('kling.generateAll', (t?: unknown, o?: { newTake?: boolean }) =>
      generateAll(tasks, t, o),
    ),
    vscode.commands.registerCommand('kling.previewRequest', (t?: unknown, i?: unknown) =>
      previewRequest(t, i),
    ),
    vscode.commands.registerCommand('kling.uploadMedia', (t?: unknown) => uploadMedia(tasks, t)),
    vscode.commands.registerCommand('kling.showResults', (t?: unknown, i?: unknown, n?: unknown) =>
      showResults(uri, tasks, t, i, n),
    ),
    vscode.commands.registerCommand('kling.openPreview', (t?: unknown) =>
      openPreview(uri, tasks, t),
    ),
    vscode.commands.registerCommand('kling.expandElementViews', (t?: unknown, n?: unknown) =>
      expandElementViews(tasks, t, n),
    ),
    vscode.commands.registerCommand('kling.showCredits', (p?: unknown) => showCredits(tasks, p)),
    vscode.commands.registerCommand('kling.cancel', () => cancelGenerations(tasks)),
    vscode.commands.registerCommand('kling.revealPosition', revealPosition),
    vscode.commands.registerCommand('kling.exportCut', (t?: unknown, o?: unknown) =>
      exportCutCommand(tasks, t, o),
    ),
    vscode.commands.registerCommand('kling.useTake', (t?: unknown, i?: unknown, n?: unknown) =>
      useTakeCommand(tasks, t, i, n),
    ),
  );

  await client.start();
  log.info(`Language server started (${path.basename(serverModule(context))}).`);
  tasks.resumeUnfinished();

  return {
    client,
    tasks,
    keySource: (name) => keyStore.source(name),
    resultsPanel: () => ResultsPanel.current,
    previewPanels: () => PreviewPanel.all(),
  };
}

/** Stops the language server; pending ledger work resumes on the next start. */
export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}

function serverModule(context: vscode.ExtensionContext): string {
  return context.asAbsolutePath(path.join('dist', 'server.js'));
}

function startLanguageClient(context: vscode.ExtensionContext, log: Log): LanguageClient {
  const module = serverModule(context);
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc, options: { execArgv: [...SERVER_NODE_OPTIONS] } },
    debug: {
      module,
      transport: TransportKind.ipc,
      options: { execArgv: [...SERVER_NODE_OPTIONS, '--nolazy', '--inspect=6029'] },
    },
  };
  const mediaWatcher = vscode.workspace.createFileSystemWatcher(MEDIA_WATCH_GLOB);
  const klingWatcher = vscode.workspace.createFileSystemWatcher('**/*.kling');
  context.subscriptions.push(mediaWatcher, klingWatcher);
  const clientOptions: LanguageClientOptions = {
    documentSelector: [KLING_FILES],
    // didChangeConfiguration then carries `{ kling: { defaultProvider, diagnostics: { severity } … } }`,
    // the same shape as initializationOptions, so the server reads both the same way.
    synchronize: { fileEvents: [mediaWatcher, klingWatcher], configurationSection: 'kling' },
    // `vscode: true`: this client runs `editor.action.triggerSuggest` and reads `|width=` image sizes.
    initializationOptions: { kling: serverSettings(readSettings()), vscode: true },
    outputChannelName: 'Kling Language Server',
  };
  const languageClient = new LanguageClient(
    'kling',
    'Kling Language Server',
    serverOptions,
    clientOptions,
  );
  log.info('Starting the Kling language server.');
  return languageClient;
}

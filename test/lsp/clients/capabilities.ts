// The capabilities real LSP clients declare, for the multi-client tests (clients.test.ts).
//
// - neovim-0.7.2.json and eglot-1.9.json were captured from the real clients on Debian 12
//   (`nvim --headless` with vim.lsp.start_client, `emacs --batch` with elpa-eglot 1.9): each
//   started a stub server that wrote down the initialize request it received.
// - VS Code's are written from vscode-languageclient 9.0.1 (the version this extension ships),
//   the `fillClientCapabilities` of each feature under lib/common/.
// - Neovim 0.10's are written by hand from what 0.10 is known to declare beyond 0.7 (snippets,
//   pull diagnostics, `workspace/configuration`, no file-watch registration on Linux); 0.10 is
//   not packaged for Debian 12 and its source was not at hand, so this set is not captured.
// - A bare client declares none of the optional capabilities.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ClientCapabilities } from 'vscode-languageserver-protocol';

export interface ClientFixture {
  name: string;
  clientInfo?: { name: string; version?: string };
  capabilities: ClientCapabilities;
  /** What the client's configuration passes as initializationOptions. */
  initializationOptions?: unknown;
  /** What it answers to workspace/configuration (only asked when it declares `configuration`). */
  configuration?: unknown;
  /** What it echoes in codeAction's `context.diagnostics`. */
  echo: 'as-received' | 'byte-columns-no-data' | 'none';
}

function captured(file: string): Pick<ClientFixture, 'clientInfo' | 'capabilities'> {
  return JSON.parse(readFileSync(path.join(__dirname, file), 'utf8'));
}

const SEVERITY = { kling: { diagnostics: { severity: { 'unused-element': 'off' } } } };

const VSCODE_CAPABILITIES: ClientCapabilities = {
  workspace: {
    applyEdit: true,
    workspaceEdit: { documentChanges: true, resourceOperations: ['create', 'rename', 'delete'] },
    didChangeConfiguration: { dynamicRegistration: true },
    didChangeWatchedFiles: { dynamicRegistration: true, relativePatternSupport: true },
    executeCommand: { dynamicRegistration: true },
    configuration: true,
    workspaceFolders: true,
    diagnostics: { refreshSupport: true },
  },
  textDocument: {
    synchronization: { dynamicRegistration: true, didSave: true },
    completion: {
      dynamicRegistration: true,
      contextSupport: true,
      completionItem: {
        snippetSupport: true,
        commitCharactersSupport: true,
        documentationFormat: ['markdown', 'plaintext'],
        deprecatedSupport: true,
        preselectSupport: true,
        tagSupport: { valueSet: [1] },
        insertReplaceSupport: true,
        resolveSupport: { properties: ['documentation', 'detail', 'additionalTextEdits'] },
        insertTextModeSupport: { valueSet: [1, 2] },
        labelDetailsSupport: true,
      },
      insertTextMode: 2,
      completionItemKind: { valueSet: Array.from({ length: 25 }, (_, i) => i + 1) as never },
    },
    hover: { dynamicRegistration: true, contentFormat: ['markdown', 'plaintext'] },
    definition: { dynamicRegistration: true, linkSupport: true },
    references: { dynamicRegistration: true },
    documentHighlight: { dynamicRegistration: true },
    documentSymbol: {
      dynamicRegistration: true,
      symbolKind: { valueSet: Array.from({ length: 26 }, (_, i) => i + 1) as never },
      hierarchicalDocumentSymbolSupport: true,
      tagSupport: { valueSet: [1] },
      labelSupport: true,
    },
    codeAction: {
      dynamicRegistration: true,
      isPreferredSupport: true,
      disabledSupport: true,
      dataSupport: true,
      resolveSupport: { properties: ['edit'] },
      codeActionLiteralSupport: {
        codeActionKind: {
          valueSet: [
            '',
            'quickfix',
            'refactor',
            'refactor.extract',
            'refactor.inline',
            'refactor.rewrite',
            'source',
            'source.organizeImports',
          ],
        },
      },
      honorsChangeAnnotations: true,
    },
    formatting: { dynamicRegistration: true },
    rename: {
      dynamicRegistration: true,
      prepareSupport: true,
      prepareSupportDefaultBehavior: 1,
      honorsChangeAnnotations: true,
    },
    foldingRange: { dynamicRegistration: true, rangeLimit: 5000, lineFoldingOnly: true },
    publishDiagnostics: { relatedInformation: true, versionSupport: false, dataSupport: true },
    diagnostic: { dynamicRegistration: true, relatedDocumentSupport: false },
  },
};

const NEOVIM_010_CAPABILITIES: ClientCapabilities = {
  workspace: {
    applyEdit: true,
    workspaceEdit: { resourceOperations: ['rename', 'create', 'delete'] },
    workspaceFolders: true,
    configuration: true,
    didChangeConfiguration: { dynamicRegistration: false },
    // false on Linux in 0.10 (file watching is slow there)
    didChangeWatchedFiles: { dynamicRegistration: false, relativePatternSupport: true },
    inlayHint: { refreshSupport: true },
    semanticTokens: { refreshSupport: true },
  },
  textDocument: {
    diagnostic: { dynamicRegistration: false },
    synchronization: {
      dynamicRegistration: false,
      willSave: true,
      willSaveWaitUntil: true,
      didSave: true,
    },
    codeAction: {
      dynamicRegistration: true,
      codeActionLiteralSupport: {
        codeActionKind: {
          valueSet: [
            '',
            'quickfix',
            'refactor',
            'refactor.extract',
            'refactor.inline',
            'refactor.rewrite',
            'source',
            'source.organizeImports',
          ],
        },
      },
      isPreferredSupport: true,
      dataSupport: true,
      resolveSupport: { properties: ['edit'] },
    },
    formatting: { dynamicRegistration: true },
    rangeFormatting: { dynamicRegistration: true },
    completion: {
      dynamicRegistration: false,
      completionItem: {
        snippetSupport: true,
        commitCharactersSupport: false,
        preselectSupport: false,
        deprecatedSupport: false,
        documentationFormat: ['markdown', 'plaintext'],
      },
      completionItemKind: { valueSet: Array.from({ length: 25 }, (_, i) => i + 1) as never },
      completionList: { itemDefaults: ['editRange', 'insertTextFormat', 'insertTextMode', 'data'] },
      contextSupport: false,
    },
    declaration: { linkSupport: true },
    definition: { linkSupport: true, dynamicRegistration: true },
    implementation: { linkSupport: true },
    typeDefinition: { linkSupport: true },
    hover: { dynamicRegistration: true, contentFormat: ['markdown', 'plaintext'] },
    signatureHelp: { dynamicRegistration: false },
    references: { dynamicRegistration: false },
    documentHighlight: { dynamicRegistration: false },
    documentSymbol: {
      dynamicRegistration: false,
      symbolKind: { valueSet: Array.from({ length: 26 }, (_, i) => i + 1) as never },
      hierarchicalDocumentSymbolSupport: true,
    },
    rename: { dynamicRegistration: true, prepareSupport: true },
    publishDiagnostics: {
      relatedInformation: true,
      tagSupport: { valueSet: [1, 2] },
      dataSupport: true,
    },
  },
  window: { workDoneProgress: true, showMessage: {}, showDocument: { support: true } },
  general: { positionEncodings: ['utf-16'] },
};

export const CLIENTS: ClientFixture[] = [
  {
    name: 'VS Code (vscode-languageclient 9)',
    clientInfo: { name: 'Visual Studio Code', version: '1.100.3' },
    capabilities: VSCODE_CAPABILITIES,
    // What client/src/extension.ts sends.
    initializationOptions: {
      kling: { defaultProvider: 'kie', diagnostics: { severity: {} }, outputFolder: 'renders' },
      vscode: true,
    },
    configuration: {
      defaultProvider: 'kie',
      diagnostics: { severity: { 'unused-element': 'off' } },
    },
    echo: 'as-received',
  },
  {
    name: 'Neovim 0.7.2 (Debian 12)',
    ...captured('neovim-0.7.2.json'),
    // The README's 0.7 config: settings as init_options (0.7 has no workspace/configuration).
    initializationOptions: SEVERITY,
    echo: 'byte-columns-no-data',
  },
  {
    name: 'Neovim 0.10',
    clientInfo: { name: 'Neovim', version: '0.10.4' },
    capabilities: NEOVIM_010_CAPABILITIES,
    initializationOptions: SEVERITY,
    // A config without `settings`: Neovim answers workspace/configuration with null.
    configuration: null,
    echo: 'byte-columns-no-data',
  },
  {
    name: 'Emacs eglot 1.9 (Debian 12)',
    ...captured('eglot-1.9.json'),
    initializationOptions: SEVERITY,
    // eglot answers from eglot-workspace-configuration; unset, it is null.
    configuration: null,
    echo: 'as-received',
  },
  {
    name: 'a bare client (no optional capabilities)',
    capabilities: {},
    initializationOptions: SEVERITY,
    echo: 'none',
  },
];

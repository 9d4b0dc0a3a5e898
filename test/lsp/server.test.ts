// The language server over stdio, as any editor would use it: `node dist/server.js --stdio`.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fork } from 'node:child_process';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
import { buildServer, codes, LspClient, SERVER, type Loose } from './lsp-client';
import { applyEdits } from '../unit/service-fixture';

/** A PNG of the given size: signature + IHDR is all a size reader needs. */
function png(width: number, height: number): Buffer {
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'ascii');
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  b.writeUInt8(8, 24);
  b.writeUInt8(6, 25);
  return b;
}

const STORY = `provider: kie

[element dog]
images: refs/a.png, refs/b.png
A golden puppy.

[element cat]
images: refs/a.png, refs/b.png
Never used.

[scene Run]
duration: 10
first-frame: frame.png

[shot 4s]
The @dog runs.

[shot 5s]
The @dgo sits.
`;

let dir: string;
before(() => {
  buildServer();
  dir = mkdtempSync(path.join(os.tmpdir(), 'kling-lsp-'));
  writeFileSync(path.join(dir, 'refs-a.png'), png(10, 10));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('push diagnostics and language features over stdio', () => {
  let client: LspClient;
  let uri: string;

  before(async () => {
    const refs = path.join(dir, 'refs');
    mkdirSync(refs, { recursive: true });
    writeFileSync(path.join(refs, 'a.png'), png(800, 800));
    writeFileSync(path.join(refs, 'b.png'), png(800, 600));
    uri = pathToFileURL(path.join(dir, 'story.kling')).href;
    client = new LspClient({
      configuration: {
        defaultProvider: 'kie',
        diagnostics: { severity: { 'unused-element': 'off', 'duration-mismatch': 'warning' } },
      },
    });
    // A VS Code-like client (push diagnostics aside): snippets, markdown, hierarchical
    // symbols, code-action literals, prepareRename; clients/*.test.ts covers the others.
    const init = await client.initialize({
      capabilities: {
        workspace: { configuration: true, didChangeWatchedFiles: { dynamicRegistration: true } },
        textDocument: {
          completion: {
            completionItem: { snippetSupport: true, documentationFormat: ['markdown'] },
          },
          hover: { contentFormat: ['markdown', 'plaintext'] },
          documentSymbol: { hierarchicalDocumentSymbolSupport: true },
          codeAction: {
            codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix'] } },
          },
          rename: { prepareSupport: true },
        },
      },
      initializationOptions: { vscode: true },
    });
    assert.equal(init.capabilities.diagnosticProvider, undefined, 'no pull capability → push only');
    assert.equal(init.capabilities.renameProvider.prepareProvider, true);
  });
  after(async () => {
    assert.equal(await client.shutdown(), 0);
  });

  test('didOpen publishes diagnostics with codes, honouring the configured severities', async () => {
    await client.open(uri, STORY);
    const p = await client.waitForDiagnostics(uri, (p) =>
      codes(p.diagnostics).includes('undefined-element'),
    );
    const list = codes(p.diagnostics);
    assert.ok(list.includes('media-not-found'), list.join());
    assert.ok(list.includes('duration-mismatch'));
    assert.ok(!list.includes('unused-element'), 'unused-element is configured off');
    assert.equal(p.diagnostics.find((d) => d.code === 'duration-mismatch')!.severity, 2);
    const undef = p.diagnostics.find((d) => d.code === 'undefined-element')!;
    assert.deepEqual(undef.range, {
      start: { line: 18, character: 4 },
      end: { line: 18, character: 8 },
    });
    assert.equal((undef.data as { suggestion: string }).suggestion, 'dog');
    assert.ok(client.registrations.length > 0, 'the server registers a media file watcher');
  });

  test('a media file appearing on disk refreshes its diagnostic (didChangeWatchedFiles)', async () => {
    const frame = path.join(dir, 'frame.png');
    writeFileSync(frame, png(100, 100));
    await client.notify('workspace/didChangeWatchedFiles', {
      changes: [{ uri: pathToFileURL(frame).href, type: 1 }],
    });
    const small = await client.waitForDiagnostics(uri, (p) =>
      codes(p.diagnostics).includes('image-too-small'),
    );
    assert.ok(!codes(small.diagnostics).includes('media-not-found'));
    writeFileSync(frame, png(1280, 720));
    await client.notify('workspace/didChangeWatchedFiles', {
      changes: [{ uri: pathToFileURL(frame).href, type: 2 }],
    });
    const fine = await client.waitForDiagnostics(
      uri,
      (p) => !codes(p.diagnostics).includes('image-too-small'),
    );
    assert.ok(!codes(fine.diagnostics).some((c) => c.startsWith('media') || c.startsWith('image')));
  });

  test('an incremental edit republishes for the new version', async () => {
    const line = 11; // duration: 10
    await client.notify('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [
        { range: { start: { line, character: 10 }, end: { line, character: 12 } }, text: '9' },
      ],
    });
    const p = await client.waitForDiagnostics(uri, (p) => p.version === 2);
    assert.ok(!codes(p.diagnostics).includes('duration-mismatch'));
    assert.ok(codes(p.diagnostics).includes('undefined-element'));
  });

  test('completion, hover, definition', async () => {
    const completion = await client.request('textDocument/completion', {
      textDocument: { uri },
      position: { line: 15, character: 5 },
    });
    assert.deepEqual(
      completion.items.map((i: { label: string }) => i.label),
      ['dog', 'cat'],
    );
    const values = await client.request('textDocument/completion', {
      textDocument: { uri },
      position: { line: 0, character: 10 },
    });
    assert.deepEqual(
      values.items.map((i: { label: string }) => i.label),
      ['kie', 'kling'],
    );
    const files = await client.request('textDocument/completion', {
      textDocument: { uri },
      position: { line: 12, character: 13 },
    });
    const labels = files.items.map((i: { label: string }) => i.label);
    assert.ok(labels.includes('refs/a.png') && labels.includes('frame.png'), labels.join());

    const hover = await client.request('textDocument/hover', {
      textDocument: { uri },
      position: { line: 14, character: 2 },
    });
    assert.match(hover.contents.value, /\d+\/500 characters \(1 element reference counts 37\)/);
    const elementHover = await client.request('textDocument/hover', {
      textDocument: { uri },
      position: { line: 15, character: 6 },
    });
    assert.match(elementHover.contents.value, /A golden puppy\./);
    assert.match(
      elementHover.contents.value,
      /!\[refs\/a\.png\]\(file:\/\/.*refs\/a\.png\|width=160\)/,
    );
    const media = await client.request('textDocument/hover', {
      textDocument: { uri },
      position: { line: 3, character: 12 },
    });
    assert.match(media.contents.value, /800×800 px · 33 bytes · PNG/);

    const def = await client.request('textDocument/definition', {
      textDocument: { uri },
      position: { line: 15, character: 6 },
    });
    assert.deepEqual(def, [
      { uri, range: { start: { line: 2, character: 9 }, end: { line: 2, character: 12 } } },
    ]);
    const highlights = await client.request('textDocument/documentHighlight', {
      textDocument: { uri },
      position: { line: 15, character: 6 },
    });
    assert.deepEqual(
      highlights.map((h: { range: { start: { line: number } }; kind: number }) => [
        h.range.start.line,
        h.kind,
      ]),
      [
        [2, 3],
        [15, 2],
      ],
    );
  });

  test('rename with prepareRename, and a refused name', async () => {
    const prep = await client.request('textDocument/prepareRename', {
      textDocument: { uri },
      position: { line: 2, character: 10 },
    });
    assert.equal(prep.placeholder, 'dog');
    const edit = await client.request('textDocument/rename', {
      textDocument: { uri },
      position: { line: 15, character: 6 },
      newName: 'puppy',
    });
    assert.equal(edit.changes[uri].length, 2);
    assert.ok(edit.changes[uri].every((e: { newText: string }) => e.newText === 'puppy'));
    await assert.rejects(
      client.request('textDocument/rename', {
        textDocument: { uri },
        position: { line: 15, character: 6 },
        newName: '1bad',
      }),
      /not a valid element name/,
    );
  });

  test('formatting and quick fixes', async () => {
    const messyUri = pathToFileURL(path.join(dir, 'messy.kling')).href;
    await client.open(messyUri, 'mode:   pro\n[scene A]\nx   \n\n\n');
    const edits = await client.request('textDocument/formatting', {
      textDocument: { uri: messyUri },
      options: { tabSize: 2, insertSpaces: true },
    });
    assert.equal(
      applyEdits('mode:   pro\n[scene A]\nx   \n\n\n', edits),
      'mode: pro\n\n[scene A]\nx\n',
    );

    const p = await client.waitForDiagnostics(uri, (p) => p.version === 2);
    const undef = p.diagnostics.filter((d) => d.code === 'undefined-element');
    const actions = await client.request('textDocument/codeAction', {
      textDocument: { uri },
      range: undef[0].range,
      context: { diagnostics: undef },
    });
    const titles = actions.map((a: { title: string }) => a.title);
    assert.deepEqual(titles, [
      'Change to @dog',
      'Define element dgo',
      'Ignore undefined-element on this line',
    ]);
    assert.deepEqual(actions[0].edit.changes[uri][0].newText, 'dog');
  });

  test('symbols and folding', async () => {
    const symbols = await client.request('textDocument/documentSymbol', { textDocument: { uri } });
    assert.deepEqual(
      symbols.map((s: { name: string }) => s.name),
      ['@dog', '@cat', 'Run'],
    );
    assert.equal(symbols[2].children.length, 2);
    const folds = await client.request('textDocument/foldingRange', { textDocument: { uri } });
    assert.ok(
      folds.some(
        (f: { startLine: number; endLine: number }) => f.startLine === 10 && f.endLine === 18,
      ),
    );
  });

  test('garbage gets capped diagnostics and the server keeps answering', async () => {
    const junkUri = pathToFileURL(path.join(dir, 'junk.kling')).href;
    await client.open(junkUri, '[[[[\n'.repeat(5000) + '\u0000\uffff\ud800@@@\r\n]]]');
    const p = await client.waitForDiagnostics(junkUri, (p) => p.diagnostics.length > 0);
    assert.equal(p.diagnostics.length, 1000);
    const symbols = await client.request('textDocument/documentSymbol', {
      textDocument: { uri: junkUri },
    });
    assert.deepEqual(symbols, []);
    await client.notify('textDocument/didClose', { textDocument: { uri: junkUri } });
    const cleared = await client.waitForDiagnostics(junkUri, (p) => p.diagnostics.length === 0);
    assert.deepEqual(cleared.diagnostics, []);
  });

  test('a configuration change is honoured', async () => {
    client.configuration = {
      defaultProvider: 'kie',
      diagnostics: { severity: { 'undefined-element': 'off' } },
    };
    await client.notify('workspace/didChangeConfiguration', { settings: null });
    const p = await client.waitForDiagnostics(
      uri,
      (p) => !codes(p.diagnostics).includes('undefined-element'),
    );
    assert.ok(!codes(p.diagnostics).includes('undefined-element'));
  });
});

describe('pull diagnostics when the client supports them', () => {
  test('textDocument/diagnostic returns a full report and nothing is pushed', async () => {
    const client = new LspClient();
    const init = await client.initialize({
      capabilities: { textDocument: { diagnostic: { dynamicRegistration: false } } },
      initializationOptions: { kling: { defaultProvider: 'kling' } },
    });
    assert.equal(init.capabilities.diagnosticProvider.interFileDependencies, false);
    const uri = pathToFileURL(path.join(dir, 'pulled.kling')).href;
    await client.open(uri, '[scene A]\nmode: 4K\nA cat.\n');
    const report = await client.request('textDocument/diagnostic', { textDocument: { uri } });
    assert.equal(report.kind, 'full');
    // 4K is kie-only: with the default provider set to kling it is an invalid value.
    assert.deepEqual(codes(report.items), ['invalid-value']);
    assert.equal(client.diagnostics.get(uri), undefined);
    assert.equal(await client.shutdown(), 0);
  });
});

describe('IPC transport', () => {
  test('node dist/server.js --node-ipc answers initialize', async () => {
    const child = fork(SERVER, ['--node-ipc'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const connection = createMessageConnection(
      new IPCMessageReader(child),
      new IPCMessageWriter(child),
    );
    connection.listen();
    const result: Loose = await connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: null,
      capabilities: {},
    });
    assert.equal(result.capabilities.hoverProvider, true);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await connection.sendRequest('shutdown');
    await connection.sendNotification('exit');
    assert.equal(await exited, 0);
    connection.dispose();
  });
});

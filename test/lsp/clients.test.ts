// The server as each real client sees it: VS Code, Neovim 0.7 and 0.10, Emacs eglot and a bare
// client each declare their capabilities (test/lsp/clients/capabilities.ts), open
// examples/mistakes.kling over stdio and check diagnostics, completion, hover, a code action,
// rename, symbols and formatting — each answer in the shape that client declared it can take.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Diagnostic } from 'vscode-languageserver-protocol';
import { buildServer, codes, LspClient, ROOT, SERVER, type Loose } from './lsp-client';
import { CLIENTS, type ClientFixture } from './clients/capabilities';
import { applyEdits } from '../unit/service-fixture';

const EXAMPLES = path.join(ROOT, 'examples');
const MISTAKES = path.join(EXAMPLES, 'mistakes.kling');
const TEXT = readFileSync(MISTAKES, 'utf8');
const LINES = TEXT.split('\n');
const lineOf = (needle: string) => {
  const i = LINES.findIndex((l) => l.startsWith(needle));
  assert.ok(i >= 0, needle);
  return i;
};

before(() => buildServer());

/** The kinds a client accepts: its value set, or Text…Reference (1–18) when it declares none. */
function allowedKinds(f: ClientFixture): Set<number> {
  const set = f.capabilities.textDocument?.completion?.completionItemKind?.valueSet;
  return new Set(set?.length ? set : Array.from({ length: 18 }, (_, i) => i + 1));
}
const declares = (list: string[] | undefined, kind: string) => list?.includes(kind) === true;

/** UTF-16 character → UTF-8 byte column on a line, as Neovim echoes diagnostics back. */
function byteColumn(text: string, line: number, character: number): number {
  return Buffer.byteLength(text.split('\n')[line].slice(0, character), 'utf8');
}

/** What the client sends back in codeAction's `context.diagnostics`. */
function echoed(f: ClientFixture, text: string, list: Diagnostic[]): Diagnostic[] {
  if (f.echo === 'none') return [];
  if (f.echo === 'as-received') return list;
  return list.map((d) => ({
    range: {
      start: {
        line: d.range.start.line,
        character: byteColumn(text, d.range.start.line, d.range.start.character),
      },
      end: {
        line: d.range.end.line,
        character: byteColumn(text, d.range.end.line, d.range.end.character),
      },
    },
    severity: d.severity,
    code: d.code,
    source: d.source,
    message: d.message,
  }));
}

async function currentDiagnostics(
  client: LspClient,
  f: ClientFixture,
  uri: string,
  version: number,
): Promise<Diagnostic[]> {
  if (f.capabilities.textDocument?.diagnostic) {
    const report = await client.request('textDocument/diagnostic', { textDocument: { uri } });
    assert.equal(report.kind, 'full');
    return report.items;
  }
  return (await client.waitForDiagnostics(uri, (p) => p.version === version)).diagnostics;
}

/** Applies a code action the way this client would: a literal's edit, or the command through the server. */
async function applyAction(client: LspClient, f: ClientFixture, action: Loose): Promise<Loose> {
  if (f.capabilities.textDocument?.codeAction?.codeActionLiteralSupport) {
    assert.equal(action.kind, 'quickfix');
    assert.ok(action.edit, 'a literal carries its edit');
    return action.edit;
  }
  assert.equal(action.command, 'kling.applyFix', 'a Command for a client without literals');
  assert.equal(action.kind, undefined);
  const before = client.appliedEdits.length;
  if (f.capabilities.workspace?.applyEdit) {
    await client.request('workspace/executeCommand', {
      command: action.command,
      arguments: action.arguments,
    });
    assert.equal(client.appliedEdits.length, before + 1, 'the server asked the client to apply it');
    return client.appliedEdits[before];
  }
  await assert.rejects(
    client.request('workspace/executeCommand', {
      command: action.command,
      arguments: action.arguments,
    }),
    /cannot apply edits/,
  );
  assert.equal(
    client.appliedEdits.length,
    before,
    'no applyEdit to a client that did not declare it',
  );
  return action.arguments[0];
}

for (const f of CLIENTS) {
  describe(`as ${f.name}`, () => {
    let client: LspClient;
    let init: Loose;
    const uri = pathToFileURL(MISTAKES).href;
    const td = f.capabilities.textDocument;
    const snippets = td?.completion?.completionItem?.snippetSupport === true;
    const vscode = (f.initializationOptions as Loose)?.vscode === true;
    let text = TEXT;
    let version = 1;

    before(async () => {
      client = new LspClient({ configuration: f.configuration });
      init = await client.initialize(
        {
          capabilities: f.capabilities,
          clientInfo: f.clientInfo,
          initializationOptions: f.initializationOptions,
        },
        pathToFileURL(EXAMPLES).href,
      );
      await client.open(uri, text, version);
    });
    after(async () => {
      assert.equal(await client.shutdown(), 0);
    });

    const change = async (edits: { range: Loose; text: string }[]) => {
      version++;
      await client.notify('textDocument/didChange', {
        textDocument: { uri, version },
        contentChanges: edits,
      });
      text = applyEdits(
        text,
        edits.map((e) => ({ range: e.range, newText: e.text })),
      );
    };

    test('initialize: server capabilities fit the client', () => {
      const c = init.capabilities;
      assert.deepEqual(
        c.renameProvider,
        td?.rename?.prepareSupport ? { prepareProvider: true } : true,
        'prepareProvider only with prepareSupport',
      );
      if (td?.codeAction?.codeActionLiteralSupport) {
        assert.deepEqual(c.codeActionProvider, { codeActionKinds: ['quickfix'] });
        assert.equal(c.executeCommandProvider, undefined);
      } else {
        assert.equal(c.codeActionProvider, true, 'code action kinds are only for literal clients');
        assert.deepEqual(c.executeCommandProvider.commands, ['kling.applyFix']);
      }
      assert.equal(c.diagnosticProvider !== undefined, td?.diagnostic !== undefined);
    });

    test('diagnostics, with the settings passed as initializationOptions or configuration', async () => {
      const list = codes(await currentDiagnostics(client, f, uri, version));
      for (const code of [
        'unknown-setting',
        'undefined-element',
        'image-too-small',
        'media-format',
      ])
        assert.ok(list.includes(code), `${code} in ${list.join()}`);
      assert.ok(!list.includes('unused-element'), 'unused-element is configured off');
    });

    test('hover: markdown only where declared, no |width= outside VS Code', async () => {
      const h = await client.request('textDocument/hover', {
        textDocument: { uri },
        position: { line: lineOf('[element dog]'), character: 10 },
      });
      const markdown = declares(td?.hover?.contentFormat, 'markdown');
      assert.equal(h.contents.kind, markdown ? 'markdown' : 'plaintext');
      const value: string = h.contents.value;
      assert.match(value, /The golden retriever puppy from the rehearsal\./);
      const dogFront = pathToFileURL(path.join(EXAMPLES, 'rehearsal/refs/dog-front.png')).href;
      assert.ok(value.includes(dogFront), `the thumbnail's file is linked: ${value}`);
      if (vscode)
        assert.ok(value.includes(`![rehearsal/refs/dog-front.png](${dogFront}|width=160)`));
      else assert.ok(!value.includes('|width='), value);
      if (!markdown) {
        assert.ok(!/\*\*|!\[|`|\\/.test(value), `no markdown in plaintext: ${value}`);
        assert.match(value, /^@dog — element/);
      } else if (!vscode) {
        assert.ok(value.includes(`[rehearsal/refs/dog-front.png](${dogFront})`), value);
        assert.ok(!value.includes('!['), 'images as plain links');
      }
    });

    test('completion of @elements lists a duplicated element once', async () => {
      const line = lineOf('The @dgo');
      const list = await client.request('textDocument/completion', {
        textDocument: { uri },
        position: { line, character: 6 },
      });
      const labels = list.items.map((i: Loose) => i.label);
      assert.equal(labels.filter((l: string) => l === 'dog').length, 1, labels.join());
      assert.ok(labels.includes('cat') && labels.includes('ghost'));
    });

    test('code action on @dgo from the server’s own diagnostics, whatever the client echoes', async () => {
      const diagnostics = await currentDiagnostics(client, f, uri, version);
      const undef = diagnostics.filter((d) => d.code === 'undefined-element');
      const line = lineOf('The @dgo');
      const actions = await client.request('textDocument/codeAction', {
        textDocument: { uri },
        // the cursor inside @dgo (UTF-16, as every client sends the request range)
        range: { start: { line, character: 6 }, end: { line, character: 6 } },
        context: { diagnostics: echoed(f, text, undef) },
      });
      assert.deepEqual(
        actions.map((a: Loose) => a.title),
        ['Change to @dog', 'Define element dgo', 'Ignore undefined-element on this line'],
      );
      const edit = await applyAction(client, f, actions[0]);
      const fixed = applyEdits(text, edit.changes[uri]);
      assert.equal(fixed.split('\n')[line], 'The @dog chases its tail.');
    });

    test('rename an element', async () => {
      const position = { line: lineOf('[element cat]'), character: 10 };
      if (td?.rename?.prepareSupport) {
        const prep = await client.request('textDocument/prepareRename', {
          textDocument: { uri },
          position,
        });
        assert.equal(prep.placeholder, 'cat');
      }
      const edit = await client.request('textDocument/rename', {
        textDocument: { uri },
        position,
        newName: 'tabby',
      });
      const renamed = applyEdits(text, edit.changes[uri]);
      assert.ok(renamed.includes('[element tabby]') && renamed.includes('the @tabby,'));
      assert.ok(!/@cat\b|\[element cat\]/.test(renamed));
    });

    test('symbols: hierarchical only where declared', async () => {
      const symbols = await client.request('textDocument/documentSymbol', {
        textDocument: { uri },
      });
      const mismatch = symbols.find((s: Loose) => s.name === 'Mismatch');
      assert.ok(mismatch);
      if (td?.documentSymbol?.hierarchicalDocumentSymbolSupport) {
        assert.equal(mismatch.children.length, 2);
        assert.ok(mismatch.selectionRange);
      } else {
        assert.equal(mismatch.location.uri, uri);
        assert.equal(mismatch.children, undefined);
        const shots = symbols.filter((s: Loose) => s.containerName === 'Mismatch');
        assert.deepEqual(
          shots.map((s: Loose) => s.name),
          ['Shot 1', 'Shot 2'],
        );
      }
    });

    test('completion: kinds, documentation format, commands and snippets as declared', async () => {
      // A key being typed in the header, and `[` on a new last line.
      const header = lineOf('provider: kie') + 1;
      await change([
        {
          range: { start: { line: header, character: 0 }, end: { line: header, character: 0 } },
          text: 'mo\n',
        },
      ]);
      const last = text.split('\n').length - 1;
      await change([
        {
          range: { start: { line: last, character: 0 }, end: { line: last, character: 0 } },
          text: '[',
        },
      ]);
      const kinds = allowedKinds(f);
      const docMarkdown = declares(td?.completion?.completionItem?.documentationFormat, 'markdown');

      const keys = await client.request('textDocument/completion', {
        textDocument: { uri },
        position: { line: header, character: 2 },
      });
      const mode = keys.items.find((i: Loose) => i.label === 'mode');
      assert.ok(mode, keys.items.map((i: Loose) => i.label).join());
      assert.equal(mode.textEdit.newText, 'mode: ');
      assert.equal(mode.documentation.kind, docMarkdown ? 'markdown' : 'plaintext');
      if (vscode) assert.equal(mode.command.command, 'editor.action.triggerSuggest');
      else assert.equal(mode.command, undefined, 'no VS Code command for other clients');

      const blocks = await client.request('textDocument/completion', {
        textDocument: { uri },
        position: { line: last, character: 1 },
      });
      assert.deepEqual(
        blocks.items.map((i: Loose) => i.label),
        ['[scene]', '[shot]', '[element]'],
      );
      for (const list of [keys, blocks]) {
        for (const item of list.items) {
          if (item.kind !== undefined)
            assert.ok(kinds.has(item.kind), `kind ${item.kind} of ${item.label}`);
          assert.ok(!item.textEdit.newText.includes('\u0000'));
        }
      }
      const scene = blocks.items[0];
      assert.deepEqual(
        scene.textEdit.range.start,
        { line: last, character: 0 },
        'replaces the typed [',
      );
      if (snippets) {
        assert.equal(scene.insertTextFormat, 2);
        assert.match(scene.textEdit.newText, /^\[scene \$\{1:Scene \d+\}\]\nduration: /);
      } else {
        assert.equal(scene.insertTextFormat, undefined);
        assert.equal(
          scene.filterText,
          undefined,
          'Neovim 0.7 drops the range of items with a filterText',
        );
        assert.match(scene.textEdit.newText, /^\[scene Scene \d+\]$/, 'one line of plain text');
        for (const item of blocks.items)
          assert.ok(!/[\n$]/.test(item.textEdit.newText), item.textEdit.newText);
      }
    });

    test('formatting', async () => {
      const line = lineOf('provider: kie');
      await change([
        { range: { start: { line, character: 9 }, end: { line, character: 10 } }, text: '    ' },
      ]);
      assert.equal(text.split('\n')[line], 'provider:    kie');
      const edits = await client.request('textDocument/formatting', {
        textDocument: { uri },
        options: { tabSize: 2, insertSpaces: true },
      });
      assert.equal(applyEdits(text, edits).split('\n')[line], 'provider: kie');
    });
  });
}

describe('code actions never trust echoed ranges', () => {
  test('Neovim echoes byte columns after CJK and emoji; the fix still targets @dgo', async () => {
    const f = CLIENTS.find((c) => c.name.startsWith('Neovim 0.7'))!;
    const client = new LspClient();
    await client.initialize({ capabilities: f.capabilities, clientInfo: f.clientInfo });
    const uri = pathToFileURL(path.join(EXAMPLES, 'cjk.kling')).href;
    const text =
      '[element dog]\nimages: rehearsal/refs/dog-front.png, rehearsal/refs/dog-side.png\nA puppy.\n\n' +
      '[scene 猫]\nfirst-frame: rehearsal/frames/rehearsal-room.png\n猫と🐶が走る、そして @dgo が座る。\n';
    await client.open(uri, text);
    const p = await client.waitForDiagnostics(uri, (p) =>
      codes(p.diagnostics).includes('undefined-element'),
    );
    const undef = p.diagnostics.filter((d) => d.code === 'undefined-element');
    const bytes = echoed(f, text, undef);
    assert.notDeepEqual(bytes[0].range, undef[0].range, 'the echoed columns really are off');
    const at = undef[0].range.start;
    const actions = await client.request('textDocument/codeAction', {
      textDocument: { uri },
      range: { start: at, end: at },
      context: { diagnostics: bytes },
    });
    assert.equal(actions[0].title, 'Change to @dog');
    assert.equal(
      applyEdits(text, actions[0].edit.changes[uri]).split('\n')[6],
      '猫と🐶が走る、そして @dog が座る。',
    );
    // A range away from any diagnostic gets no fix, even if the client echoes one.
    const none = await client.request('textDocument/codeAction', {
      textDocument: { uri },
      range: { start: { line: 2, character: 0 }, end: { line: 2, character: 0 } },
      context: { diagnostics: undef },
    });
    assert.deepEqual(none, []);
    assert.equal(await client.shutdown(), 0);
  });
});

describe('starting the server', () => {
  test('without a transport argument: one usage line, no code dump', () => {
    const r = spawnSync(process.execPath, [SERVER], {
      encoding: 'utf8',
      timeout: 10_000,
      input: '',
    });
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr.slice(0, 500));
    assert.match(r.stderr, /^Usage: node server\.js --stdio/);
    assert.ok(r.stderr.length < 200);
  });

  test('an unknown command is refused with -32601', async () => {
    const client = new LspClient();
    await client.initialize({ capabilities: {} });
    await assert.rejects(
      client.request('workspace/executeCommand', { command: 'editor.action.triggerSuggest' }),
      (e: Loose) => e.code === -32601,
    );
    assert.equal(await client.shutdown(), 0);
  });
});

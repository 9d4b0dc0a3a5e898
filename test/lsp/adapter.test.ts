// The capability adapter's conversions on their own (server/src/clientAdapter.ts); the LSP
// tests (clients.test.ts) check them through the server.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  adaptCompletion,
  adaptSymbols,
  clientProfile,
  markdownToPlain,
  portableMarkdown,
  snippetToPlain,
} from '../../server/src/clientAdapter';

test('markdown the core writes, as plain text: marks and escapes gone, escaped characters kept', () => {
  assert.equal(
    markdownToPlain('**Scene 1: a \\*star\\* \\[x\\]** · *Run* — `first-frame` 5 \\* 3'),
    'Scene 1: a *star* [x] · Run — first-frame 5 * 3',
  );
  assert.equal(
    markdownToPlain('![refs/a\\_b.png](file:///p/refs/a_b.png|width=160) ![c](file:///c.png)'),
    'refs/a_b.png: file:///p/refs/a_b.png c: file:///c.png',
  );
});

test('markdown for clients other than VS Code: images as plain links, no |width=', () => {
  assert.equal(
    portableMarkdown('x ![refs/a.png](file:///p/refs/a.png|width=320)\n\n`refs/a.png`'),
    'x [refs/a.png](file:///p/refs/a.png)\n\n`refs/a.png`',
  );
});

test('snippets as the one line of plain text they would insert first', () => {
  assert.equal(
    snippetToPlain('[scene ${1:Scene 3}]\nduration: ${2:5}\n${0:What.}'),
    '[scene Scene 3]',
  );
  assert.equal(snippetToPlain('pan ${1:5}'), 'pan 5');
  assert.equal(snippetToPlain('a $1 b $0'), 'a  b ');
  assert.equal(snippetToPlain('cost \\$5 ${1:x\\}y}'), 'cost $5 x}y');
});

test('completion kinds outside the declared set fall back or go', () => {
  const list = {
    isIncomplete: false,
    items: [
      { label: 'a', kind: 20 as const },
      { label: 'b', kind: 10 as const },
    ],
  };
  const eglot = adaptCompletion(list, clientProfile({}));
  assert.deepEqual(
    eglot.items.map((i) => i.kind),
    [12, 10],
    'EnumMember → Value when only 1–18 are allowed',
  );
  const narrow = adaptCompletion(
    list,
    clientProfile({ textDocument: { completion: { completionItemKind: { valueSet: [1] } } } }),
  );
  assert.deepEqual(
    narrow.items.map((i) => i.kind),
    [undefined, undefined],
  );
});

test('symbols flattened with their container for clients without hierarchy', () => {
  const range = { start: { line: 0, character: 0 }, end: { line: 1, character: 0 } };
  const flat = adaptSymbols(
    [
      {
        name: 'Run',
        kind: 3,
        range,
        selectionRange: range,
        children: [{ name: 'Shot 1', kind: 24, range, selectionRange: range }],
      },
    ],
    'file:///s.kling',
    clientProfile({}),
  );
  assert.deepEqual(flat, [
    { name: 'Run', kind: 3, location: { uri: 'file:///s.kling', range } },
    { name: 'Shot 1', kind: 24, location: { uri: 'file:///s.kling', range }, containerName: 'Run' },
  ]);
});

test('VS Code is recognised by the extension’s flag or its name, nothing else', () => {
  assert.equal(clientProfile({}, undefined, { vscode: true }).vscode, true);
  assert.equal(clientProfile({}, { name: 'Visual Studio Code' }).vscode, true);
  assert.equal(clientProfile({}, { name: 'Neovim' }).vscode, false);
  assert.equal(clientProfile({}, undefined, { kling: {} }).vscode, false);
});

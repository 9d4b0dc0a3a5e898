import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLanguageService } from '../../server/src/core/service';
import { dirname, pathToUri, resolvePath, uriToPath } from '../../server/src/core/analysis';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { doc, service, EXAMPLE, FOLDER, JPEG_1000, URI } from './service-fixture';

const UNUSED =
  '[element dog]\nimages: a.jpg, b.jpg\n\n[scene]\nduration: 10\n[shot 4s]\nx\n[shot 5s]\ny\n';

test('severity overrides change the severity; off removes the code', async () => {
  const s = service({ 'a.jpg': JPEG_1000, 'b.jpg': JPEG_1000 });
  const before = await s.diagnostics(doc(UNUSED));
  assert.deepEqual(
    before.map((d) => [d.code, d.severity]),
    [
      ['unused-element', 4],
      ['duration-mismatch', 1],
    ],
  );
  assert.deepEqual(before[0].tags, [1]);
  s.configure({ severity: { 'unused-element': 'off', 'duration-mismatch': 'warning' } });
  const after = await s.diagnostics(doc(UNUSED, 2));
  assert.deepEqual(
    after.map((d) => [d.code, d.severity]),
    [['duration-mismatch', 2]],
  );
});

test('the default provider setting changes the limits', async () => {
  const text = '[scene]\nmode: 4K\nA cat.\n';
  const s = service();
  assert.deepEqual(await s.diagnostics(doc(text)), []);
  s.configure({ defaultProvider: 'kling' });
  assert.deepEqual(
    (await s.diagnostics(doc(text, 2))).map((d) => d.code),
    ['invalid-value'],
  );
});

test('diagnostics are capped per document and sorted by position', async () => {
  const s = createLanguageService({ settings: { maxDiagnostics: 50 } });
  const list = await s.diagnostics(doc('[x]\n'.repeat(500)));
  assert.equal(list.length, 50);
  for (let i = 1; i < list.length; i++)
    assert.ok(list[i].range.start.line >= list[i - 1].range.start.line);
});

test('an edit that cancels the token while media lookups run gets no diagnostics', async () => {
  const token = { isCancellationRequested: false };
  const s = createLanguageService({
    media: async () => {
      token.isCancellationRequested = true;
      return { exists: false };
    },
  });
  const d = doc(EXAMPLE, 1, `file://${FOLDER}/b.kling`);
  assert.deepEqual(await s.diagnostics(d, token), []);
  const uncancelled = await s.diagnostics(d, { isCancellationRequested: false });
  assert.ok(uncancelled.some((x) => x.code === 'media-not-found'));
});

test('the parse is cached per version and refreshed on a new version', () => {
  const s = service();
  const a = s.analyze(doc(EXAMPLE, 1));
  assert.equal(s.analyze(doc(EXAMPLE, 1)), a);
  const b = s.analyze(doc(EXAMPLE + '\n[scene X]\ny\n', 2));
  assert.notEqual(b, a);
  assert.equal(b.parsed.storyboard.scenes.length, 3);
});

test('media references resolve against the storyboard folder; URLs and untitled documents have none', () => {
  const s = service();
  const refs = s.mediaReferences(doc(EXAMPLE));
  assert.deepEqual(
    refs.map((r) => [r.ref, r.path, r.kind]),
    [
      ['refs/dog-front.jpg', `${FOLDER}/refs/dog-front.jpg`, 'image'],
      ['refs/dog-side.png', `${FOLDER}/refs/dog-side.png`, 'image'],
      ['refs/cat.mp4', `${FOLDER}/refs/cat.mp4`, 'video'],
      ['frames/start.png', `${FOLDER}/frames/start.png`, 'image'],
      ['frames/sunny-corner.png', `${FOLDER}/frames/sunny-corner.png`, 'image'],
    ],
  );
  assert.deepEqual(s.mediaReferences(doc('[scene]\nfirst-frame: https://x.test/a.png\nx')), []);
  assert.deepEqual(s.mediaReferences(doc(EXAMPLE, 1, 'untitled:Untitled-1')), []);
});

test('media diagnostics come from the injected facts, with the path as written', async () => {
  const s = service({ 'refs/dog-front.jpg': JPEG_1000, 'refs/dog-side.png': JPEG_1000 });
  const list = await s.diagnostics(doc(EXAMPLE));
  const missing = list.filter((d) => d.code === 'media-not-found').map((d) => d.message);
  assert.deepEqual(missing, [
    'File not found: refs/cat.mp4',
    'File not found: frames/start.png',
    'File not found: frames/sunny-corner.png',
  ]);
});

test('paths: file URIs with spaces and drive letters, relative paths with ./ and ../', () => {
  assert.equal(uriToPath('file:///home/me/My%20Film/board.kling'), '/home/me/My Film/board.kling');
  assert.equal(uriToPath('file:///c%3A/Users/me/board.kling'), 'c:/Users/me/board.kling');
  assert.equal(uriToPath('untitled:Untitled-1'), undefined);
  assert.equal(pathToUri('/home/me/My Film/a (1).png'), 'file:///home/me/My%20Film/a%20(1).png');
  assert.equal(pathToUri('c:\\Users\\me\\a.png'), 'file:///c:/Users/me/a.png');
  assert.equal(dirname('/home/me/board.kling'), '/home/me');
  assert.equal(
    resolvePath('/home/me/film', './refs/../frames/a.png'),
    '/home/me/film/frames/a.png',
  );
  assert.equal(resolvePath('/home/me/film', '../shared/a.png'), '/home/me/shared/a.png');
  assert.equal(resolvePath('/home/me/film', '/abs/a.png'), '/abs/a.png');
  assert.equal(resolvePath('c:/film', 'refs\\a.png'), 'c:/film/refs/a.png');
});

test('an edit during the yield between parse and validation cancels the validation', async () => {
  const token = { isCancellationRequested: false };
  const s = createLanguageService({
    yieldToEventLoop: async () => {
      token.isCancellationRequested = true;
    },
  });
  assert.deepEqual(await s.diagnostics(doc('[bogus]\n'), token), []);
  const fresh = { isCancellationRequested: false };
  const plain = createLanguageService();
  assert.deepEqual(
    (await plain.diagnostics(doc('[bogus]\n'), fresh)).map((d) => d.code),
    ['unknown-block'],
  );
});

test('diagnostic positions are right in a file with lone \r line breaks', async () => {
  const text =
    'provider: kie\r[element dog]\rimages: a.jpg, b.jpg\r\r[scene A]\rfirst-frame: a.jpg\rThe @dgo runs.\r';
  const s = service({ 'a.jpg': JPEG_1000, 'b.jpg': JPEG_1000 });
  const list = await s.diagnostics(doc(text));
  const lsp = TextDocument.create('file:///a.kling', 'kling', 1, text);
  const at = text.indexOf('@dgo');
  assert.deepEqual(
    list.map((d) => [d.code, d.range]),
    [['undefined-element', { start: lsp.positionAt(at), end: lsp.positionAt(at + 4) }]],
  );
  assert.deepEqual(list[0].range.start, { line: 6, character: 4 });
});

test('a byte order mark does not hide the first setting: provider kling applies', async () => {
  const text = '\ufeffprovider: kling\n[scene A]\nmode: 4K\nA cat.\n';
  const list = await service().diagnostics(doc(text));
  // 4K exists only on kie: with the provider read, mode 4K is an invalid value.
  assert.deepEqual(
    list.map((d) => [d.code, d.range.start]),
    [['invalid-value', { line: 2, character: 6 }]],
  );
});

test('header-text-ignored can be turned off or raised like any other code', async () => {
  const text = 'A short film about cats.\nprovider: kling\n\n[scene A]\nA cat walks.\n';
  const s = service();
  assert.deepEqual(
    (await s.diagnostics(doc(text))).map((d) => [d.code, d.severity]),
    [['header-text-ignored', 2]],
  );
  s.configure({ severity: { 'header-text-ignored': 'error' } });
  assert.deepEqual(
    (await s.diagnostics(doc(text, 2))).map((d) => [d.code, d.severity]),
    [['header-text-ignored', 1]],
  );
  s.configure({ severity: { 'header-text-ignored': 'off' } });
  assert.deepEqual(await s.diagnostics(doc(text, 3)), []);
});

test('a closed document opened again with the same text is not parsed again, wherever it is', async () => {
  const s = service({ 'a.jpg': JPEG_1000, 'b.jpg': JPEG_1000 });
  const first = doc(UNUSED);
  const tree = s.analyze(first).parsed;
  const before = await s.diagnostics(first);
  s.forget(first.uri);
  // Reopened elsewhere (a rename into another folder): the same tree, the new place's facts.
  const moved = doc(UNUSED, 1, 'file:///elsewhere/board.kling');
  assert.equal(s.analyze(moved).parsed, tree);
  const there = await s.diagnostics(moved);
  assert.deepEqual(
    there.map((d) => d.code).sort(),
    [...before.map((d) => d.code), 'media-not-found', 'media-not-found'].sort(),
    'the images are not in the new folder',
  );
  // The tree was taken, not shared: the next open of the same text parses afresh.
  s.forget(moved.uri);
  s.forget('file:///never/opened.kling');
  const again = doc(UNUSED, 1, 'file:///third/board.kling');
  assert.equal(s.analyze(again).parsed, tree, 'the last closed document is kept');
  const other = doc(UNUSED, 1, 'file:///fourth/board.kling');
  assert.notEqual(s.analyze(other).parsed, tree);
  // Back in its first place, the diagnostics are what they were.
  s.forget(other.uri);
  assert.deepEqual(await s.diagnostics(doc(UNUSED, 7)), before);
  // Different text is parsed.
  s.forget(URI);
  assert.notEqual(s.analyze(doc(UNUSED + '\n# more\n', 1)).parsed, tree);
});

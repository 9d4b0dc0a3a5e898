import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CodeAction } from 'vscode-languageserver-types';
import { applyEdits, doc, service, URI, JPEG_1000 } from './service-fixture';

const MEDIA = { 'a.jpg': JPEG_1000, 'b.jpg': JPEG_1000, 'f.jpg': JPEG_1000 };

/** The quick fixes for every diagnostic of `code` in the text. */
async function fixes(text: string, code: string): Promise<CodeAction[]> {
  const s = service(MEDIA);
  const d = doc(text);
  const diagnostics = (await s.diagnostics(d)).filter((x) => x.code === code);
  assert.ok(diagnostics.length > 0, `no ${code} diagnostic in ${JSON.stringify(text)}`);
  return s.codeActions(d, diagnostics[0].range, diagnostics);
}

/** Applies the fix titled `title` and returns the new text, checking the diagnostic is gone. */
async function check(text: string, code: string, title: RegExp): Promise<string> {
  const actions = await fixes(text, code);
  const action = actions.find((a) => title.test(a.title));
  assert.ok(action, `no fix ${title} among ${actions.map((a) => a.title).join(' | ')}`);
  assert.equal(action.kind, 'quickfix');
  const after = applyEdits(text, action.edit!.changes![URI]);
  const left = (await service(MEDIA).diagnostics(doc(after))).filter((x) => x.code === code);
  assert.deepEqual(left, [], `${code} still there after "${action.title}":\n${after}`);
  return after;
}

const ELEMENT = '[element dog]\nimages: a.jpg, b.jpg\nA dog.\n\n';

test('undefined-element: fix the spelling', async () => {
  const after = await check(
    `${ELEMENT}[scene A]\nfirst-frame: f.jpg\nThe @dgo runs.\n`,
    'undefined-element',
    /Change to @dog/,
  );
  assert.match(after, /The @dog runs\./);
});

test('undefined-element: define the element after the last one', async () => {
  const after = await check(
    `${ELEMENT}[scene A]\nfirst-frame: f.jpg\nThe @dog meets @cat.\n`,
    'undefined-element',
    /Define element cat/,
  );
  assert.match(after, /A dog\.\n\n\[element cat\]\nimages: \n\n\[scene A\]/);
});

test('undefined-element: define the element before the first block when there is none', async () => {
  const after = await check(
    'mode: pro\n\n[scene A]\nfirst-frame: f.jpg\n@cat\n',
    'undefined-element',
    /Define element cat/,
  );
  assert.equal(
    after,
    'mode: pro\n\n[element cat]\nimages: \n\n[scene A]\nfirst-frame: f.jpg\n@cat\n',
  );
});

test('duration-mismatch: set the duration to the sum, or remove the line', async () => {
  const text = '[scene A]\nduration: 10\n\n[shot 4s]\na\n\n[shot 5s]\nb\n';
  assert.match(
    await check(text, 'duration-mismatch', /Set the scene's duration to 9 s/),
    /duration: 9\n/,
  );
  assert.doesNotMatch(
    await check(text, 'duration-mismatch', /Remove the scene's duration/),
    /duration:/,
  );
});

test('last-frame-multi-shot: remove the last-frame line', async () => {
  const text = '[scene A]\nlast-frame: f.jpg\n[shot 4s]\na\n';
  assert.equal(
    await check(text, 'last-frame-multi-shot', /Remove `last-frame`/),
    '[scene A]\n[shot 4s]\na\n',
  );
});

test('element-needs-first-frame: add a first-frame line after the scene header', async () => {
  const text = `${ELEMENT}[scene A]\nThe @dog runs.`;
  const actions = await fixes(text, 'element-needs-first-frame');
  const after = applyEdits(text, actions[0].edit!.changes![URI]);
  assert.match(after, /\[scene A\]\nfirst-frame: \nThe @dog runs\./);
});

test('unknown-setting: rename the key to the suggestion', async () => {
  const after = await check(
    '[scene A]\ndurration: 5\nx\n',
    'unknown-setting',
    /Change to `duration`/,
  );
  assert.match(after, /^\[scene A\]\nduration: 5\n/);
});

test('unknown-setting on a look-alike line: rewrite it as a setting', async () => {
  const after = await check(
    '[scene A]\nDuration : 5\nA dog.\n',
    'unknown-setting',
    /Change to `duration:`/,
  );
  assert.equal(after, '[scene A]\nduration: 5\nA dog.\n');
});

test('duplicate-setting: remove the earlier line', async () => {
  const after = await check(
    '[scene A]\nmode: std\nmode: pro\nx\n',
    'duplicate-setting',
    /Remove the earlier `mode`/,
  );
  assert.equal(after, '[scene A]\nmode: pro\nx\n');
});

test('shot-outside-scene: start a scene before it', async () => {
  const after = await check('[shot 4s]\nx\n', 'shot-outside-scene', /Start a scene/);
  assert.equal(after, '[scene]\n\n[shot 4s]\nx\n');
});

test('unknown-block with a capitalised kind: lowercase it', async () => {
  const after = await check('[Scene A]\nx\n', 'unknown-block', /Change to `\[scene`/);
  assert.equal(after, '[scene A]\nx\n');
});

test('element-media-conflict: remove the video', async () => {
  const text =
    '[element dog]\nimages: a.jpg, b.jpg\nvideo: c.mp4\n\n[scene]\nfirst-frame: f.jpg\n@dog\n';
  assert.doesNotMatch(await check(text, 'element-media-conflict', /Remove `video`/), /video:/);
});

test('invalid-value with a suggestion: replace the value', async () => {
  const after = await check('mode: Pro\n\n[scene]\nx\n', 'invalid-value', /Change to `pro`/);
  assert.match(after, /^mode: pro\n/);
});

test('a stale diagnostic that no longer matches the text yields no fix, not an error', () => {
  const s = service();
  const stale = [
    {
      range: { start: { line: 40, character: 0 }, end: { line: 40, character: 3 } },
      message: 'x',
      code: 'duration-mismatch',
    },
  ];
  assert.deepEqual(s.codeActions(doc('[scene]\nx'), stale[0].range, stale), []);
});

test('element-no-media: add an images line', async () => {
  const text = '[element dog]\nA dog.\n\n[scene]\nfirst-frame: f.jpg\n@dog\n';
  const actions = await fixes(text, 'element-no-media');
  assert.equal(actions[0].isPreferred, true);
  const after = applyEdits(text, actions[0].edit!.changes![URI]);
  assert.match(after, /^\[element dog\]\nimages: \nA dog\./);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CodeAction } from 'vscode-languageserver-types';
import { parseStoryboard } from '../../server/src/core/parse';
import { storyboardProvider } from '../../server/src/core/resolve';
import { applyEdits, doc, service, URI, JPEG_1000 } from './service-fixture';

const MEDIA = { 'a.jpg': JPEG_1000, 'b.jpg': JPEG_1000, 'f.jpg': JPEG_1000 };

/** The quick fixes for every diagnostic of `code` in the text. */
async function fixes(text: string, code: string): Promise<CodeAction[]> {
  const s = service(MEDIA);
  const d = doc(text);
  const diagnostics = (await s.diagnostics(d)).filter((x) => x.code === code);
  assert.ok(diagnostics.length > 0, `no ${code} diagnostic in ${JSON.stringify(text)}`);
  // "Ignore CODE on this line" is offered for every code; test/unit/suppress.test.ts covers it.
  return s
    .codeActions(d, diagnostics[0].range, diagnostics)
    .filter((a) => !/^Ignore \S+ on this line$/.test(a.title));
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

test('header-text-ignored: turn the text into comments, and the settings below it are read', async () => {
  // Six shots: too many on kie, fine on kling, so the provider line visibly takes effect.
  const shots = Array.from({ length: 6 }, (_, i) => `[shot 2s]\nshot ${i}\n`).join('');
  const text = `# My film\nA short film about cats.\nprovider: kling\nmode: pro\n\n[scene A]\n${shots}`;
  const before = await service(MEDIA).diagnostics(doc(text));
  assert.deepEqual(
    before.map((d) => d.code),
    ['header-text-ignored', 'too-many-shots'],
  );
  const after = await check(text, 'header-text-ignored', /^Turn into comments$/);
  assert.equal(
    after,
    `# My film\n# A short film about cats.\nprovider: kling\nmode: pro\n\n[scene A]\n${shots}`,
  );
  assert.deepEqual(await service(MEDIA).diagnostics(doc(after)), []);
  const { storyboard } = parseStoryboard(after);
  assert.equal(storyboardProvider(storyboard, 'kie'), 'kling');
  assert.deepEqual(
    storyboard.headerSettings.map((s) => `${s.key}: ${s.value}`),
    ['provider: kling', 'mode: pro'],
  );
});

test('header-text-ignored: comments go after a BOM and indentation, every text line, CRLF kept', async () => {
  const text =
    '\ufeffA short film.\r\nprovider: kling\r\n  By Ana.\r\n\r\nmode: pro\r\n[scene A]\r\nA cat.\r\n';
  const after = await check(text, 'header-text-ignored', /^Turn into comments$/);
  assert.equal(
    after,
    '\ufeff# A short film.\r\nprovider: kling\r\n  # By Ana.\r\n\r\nmode: pro\r\n[scene A]\r\nA cat.\r\n',
  );
  assert.deepEqual(
    parseStoryboard(after).storyboard.headerSettings.map((s) => s.key),
    ['provider', 'mode'],
  );
});

test('header-text-ignored: move the settings above the text (the text stays, still not sent)', async () => {
  const text = 'A film.\nprovider: kling\nNotes.\nmode: pro\naspect: 9:16\n\n[scene A]\nA cat.\n';
  const actions = await fixes(text, 'header-text-ignored');
  assert.deepEqual(
    actions.map((a) => [a.title, a.isPreferred]),
    [
      ['Turn into comments', true],
      ['Move the settings above the text', false],
    ],
  );
  const after = applyEdits(text, actions[1].edit!.changes![URI]);
  assert.equal(
    after,
    'provider: kling\nmode: pro\naspect: 9:16\nA film.\nNotes.\n\n[scene A]\nA cat.\n',
  );
  const left = await service(MEDIA).diagnostics(doc(after));
  assert.deepEqual(
    left.map((d) => [d.code, d.message]),
    [['header-text-ignored', 'Text before the first block is not sent: make it a # comment']],
  );
  assert.deepEqual(
    parseStoryboard(after).storyboard.headerSettings.map((s) => s.key),
    ['provider', 'mode', 'aspect'],
  );
});

test('header-text-ignored: moving a setting on the last line, with no line break after it', async () => {
  const text = 'A film.\nmode: pro';
  const actions = await fixes(text, 'header-text-ignored');
  const move = actions.find((a) => a.title === 'Move `mode` above the text');
  assert.ok(move, actions.map((a) => a.title).join(' | '));
  assert.equal(applyEdits(text, move.edit!.changes![URI]), 'mode: pro\nA film.');
});

test('header-text-ignored: plain text gets only the comment fix; a look-alike line is left to its own fix', async () => {
  assert.deepEqual(
    (await fixes('A film.\n\n[scene A]\nA cat.\n', 'header-text-ignored')).map((a) => a.title),
    ['Turn into comments'],
  );
  const text = 'Provider: kling\nA film.\nmode: pro\n\n[scene A]\nA cat.\n';
  const after = await check(text, 'header-text-ignored', /^Turn into comments$/);
  assert.equal(after, 'Provider: kling\n# A film.\nmode: pro\n\n[scene A]\nA cat.\n');
  // What is left is the look-alike; its own fix then makes both lines settings.
  const fixed = await check(after, 'unknown-setting', /Change to `provider:`/);
  assert.deepEqual(
    parseStoryboard(fixed).storyboard.headerSettings.map((s) => `${s.key}: ${s.value}`),
    ['provider: kling', 'mode: pro'],
  );
});

// ---- v2 codes ----

test('setting-in-text: move the line up into the scene settings (after the last one)', async () => {
  const after = await check(
    '[scene A]\nmode: pro\n# notes\nA dog runs.\n  duration: 10\nIt stops.\n',
    'setting-in-text',
    /Move `duration` up into the scene's settings/,
  );
  assert.equal(after, '[scene A]\nmode: pro\nduration: 10\n# notes\nA dog runs.\nIt stops.\n');
});

test('setting-in-text: in an element with no settings, on the last line without a break', async () => {
  const text = '[element dog]\nA dog.\nimages: a.jpg, b.jpg';
  const after = applyEdits(text, (await fixes(text, 'setting-in-text'))[0].edit!.changes![URI]);
  assert.equal(after, '[element dog]\nimages: a.jpg, b.jpg\nA dog.');
});

test('setting-in-text in a shot has no move (shots take no settings)', async () => {
  const actions = await fixes('[scene A]\n[shot 4s]\nA dog.\nmode: pro\n', 'setting-in-text');
  assert.deepEqual(actions, []);
});

test('last-frame-needs-first-frame: add a first-frame, or remove the last-frame', async () => {
  const text = '[scene A]\nlast-frame: f.jpg\nA dog.\n';
  const removed = await check(text, 'last-frame-needs-first-frame', /Remove `last-frame`/);
  assert.equal(removed, '[scene A]\nA dog.\n');
  const actions = await fixes(text, 'last-frame-needs-first-frame');
  const added = applyEdits(text, actions[0].edit!.changes![URI]);
  assert.equal(added, '[scene A]\nfirst-frame: \nlast-frame: f.jpg\nA dog.\n');
  assert.equal(actions[0].isPreferred, true);
});

test('shots-ignored: change to customize, or remove the shots', async () => {
  const text =
    'provider: kling\n\n[scene A]\nshot-type: intelligence\nA dog, then a cat.\n[shot 4s]\nA dog.\n[shot 3s]\nA cat.\n\n[scene B]\nx\n';
  const customize = await check(text, 'shots-ignored', /Change to `customize`/);
  assert.match(customize, /shot-type: customize\n/);
  const removed = await check(text, 'shots-ignored', /Remove the \[shot\] blocks/);
  assert.equal(
    removed,
    'provider: kling\n\n[scene A]\nshot-type: intelligence\nA dog, then a cat.\n\n[scene B]\nx\n',
  );
});

test('shot-type-needs-shots and aspect-ignored: remove the line', async () => {
  const k = 'provider: kling\n\n';
  assert.equal(
    await check(`${k}[scene A]\nshot-type: customize\nA dog.\n`, 'shot-type-needs-shots', /Remove/),
    `${k}[scene A]\nA dog.\n`,
  );
  assert.equal(
    await check(
      `${k}[scene A]\naspect: 1:1\nfirst-frame: f.jpg\nA dog.\n`,
      'aspect-ignored',
      /Remove/,
    ),
    `${k}[scene A]\nfirst-frame: f.jpg\nA dog.\n`,
  );
});

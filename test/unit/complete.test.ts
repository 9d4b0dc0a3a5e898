import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CompletionItem } from 'vscode-languageserver-types';
import { cursor, doc, service, JPEG_1000, MP4 } from './service-fixture';

/** Completion labels at the `|` of a fixture. */
async function check(
  marked: string,
  expected: { includes?: string[]; excludes?: string[]; exactly?: string[] },
) {
  const c = cursor(marked);
  const s = service(
    { 'refs/front.jpg': JPEG_1000, 'refs/side.png': JPEG_1000, 'clips/cat.mp4': MP4 },
    ['refs/front.jpg', 'refs/side.png', 'clips/cat.mp4', 'notes.txt'],
  );
  const list = await s.complete(doc(c.text), c.position);
  const labels = list.items.map((i) => i.label);
  if (expected.exactly) assert.deepEqual(labels, expected.exactly);
  for (const l of expected.includes ?? [])
    assert.ok(labels.includes(l), `${l} missing from ${labels.join(', ')}`);
  for (const l of expected.excludes ?? [])
    assert.ok(!labels.includes(l), `${l} should not be offered`);
  return list.items;
}

function edit(item: CompletionItem) {
  assert.ok(item.textEdit && 'range' in item.textEdit);
  return item.textEdit;
}

test('header zone offers header keys only', async () => {
  await check('|\n\n[scene A]\nA dog.', {
    includes: ['provider', 'mode', 'output', 'duration'],
    excludes: ['first-frame', 'images', 'camera'],
  });
});

test('scene zone offers scene keys, not header-only or element keys', async () => {
  await check('[scene A]\n|\nA dog.', {
    includes: ['duration', 'first-frame', 'last-frame', 'camera', 'shot-type'],
    excludes: ['provider', 'output', 'images'],
  });
});

test('element zone offers element keys', async () => {
  await check('[element dog]\n|', { exactly: ['images', 'image', 'video', 'frontal', 'id'] });
});

test('keys already set in the zone are not offered again, except repeatable image', async () => {
  await check('[scene A]\nduration: 5\n|\nA dog.', { excludes: ['duration'], includes: ['mode'] });
  await check('[element dog]\nimage: a.jpg\nvideo: b.mp4\n|', {
    includes: ['image'],
    excludes: ['video'],
  });
});

test('a partly typed key on the line that would end the zone completes, replacing the word', async () => {
  const items = await check('[scene A]\nduration: 5\ndur|\n', { includes: ['mode'] });
  const mode = items.find((i) => i.label === 'mode')!;
  assert.deepEqual(edit(mode).range, {
    start: { line: 2, character: 0 },
    end: { line: 2, character: 3 },
  });
  assert.equal(edit(mode).newText, 'mode: ');
  assert.equal(mode.command?.command, 'editor.action.triggerSuggest');
});

test('no keys once body text has started, nor inside a shot', async () => {
  await check('[scene A]\nA dog runs.\nmo|', { exactly: [] });
  await check('[scene A]\n[shot 4s]\n|', { exactly: [] });
  await check('[scene A]\nA dog| runs', { exactly: [] });
});

test('values after key: — enums, on/off, durations 3–15, providers', async () => {
  await check('mode: |', { exactly: ['std', 'pro', '4K'] });
  await check('provider: kling\nmode: |', { exactly: ['std', 'pro'] });
  await check('provider: |', { exactly: ['kie', 'kling'] });
  await check('[scene A]\nsound: |\nx', { exactly: ['on', 'off'] });
  await check('[scene A]\naspect: |\nx', { exactly: ['16:9', '9:16', '1:1'] });
  const durations = await check('[scene A]\nduration: |\nx', {});
  assert.deepEqual(
    durations.map((i) => i.label),
    Array.from({ length: 13 }, (_, i) => String(i + 3)),
  );
});

test('a value typed right after the colon gets its space', async () => {
  const items = await check('mode:|', { includes: ['pro'] });
  assert.equal(edit(items.find((i) => i.label === 'pro')!).newText, ' pro');
});

test('a partly typed value is replaced whole', async () => {
  const items = await check('[scene A]\nmode: p|ro\nx', { includes: ['pro'] });
  assert.deepEqual(edit(items[1]).range, {
    start: { line: 1, character: 6 },
    end: { line: 1, character: 9 },
  });
});

test('camera offers presets and AXIS N snippets', async () => {
  const items = await check('[scene A]\ncamera: |\nx', {
    includes: ['down_back', 'left_turn_forward', 'zoom N', 'pan N'],
  });
  const zoom = items.find((i) => i.label === 'zoom N')!;
  assert.equal(zoom.insertTextFormat, 2);
  assert.equal(edit(zoom).newText, 'zoom ${1:5}');
});

test('media keys complete workspace files of the right kind, relative to the storyboard', async () => {
  await check('[scene A]\nfirst-frame: |\nx', { exactly: ['refs/front.jpg', 'refs/side.png'] });
  await check('[element cat]\nvideo: |', { exactly: ['clips/cat.mp4'] });
  const items = await check('[element dog]\nimages: refs/front.jpg, re|', {
    includes: ['refs/side.png'],
  });
  assert.deepEqual(edit(items[0]).range, {
    start: { line: 1, character: 24 },
    end: { line: 1, character: 26 },
  });
});

test('an item typed right after a comma gets its space', async () => {
  const items = await check('[element dog]\nimages: refs/front.jpg,|', {
    includes: ['refs/side.png'],
  });
  assert.equal(edit(items.find((i) => i.label === 'refs/side.png')!).newText, ' refs/side.png');
});

test('element names after @ with their description', async () => {
  const items = await check(
    '[element dog]\nimages: a.jpg, b.jpg\nA golden puppy.\n\n[scene A]\nThe @d|',
    {
      exactly: ['dog'],
    },
  );
  assert.deepEqual(items[0].documentation, { kind: 'markdown', value: 'A golden puppy.' });
  assert.deepEqual(edit(items[0]).range, {
    start: { line: 5, character: 5 },
    end: { line: 5, character: 6 },
  });
});

test('an escaped \\@ offers no elements', async () => {
  await check('[element dog]\n\n[scene A]\nmail me\\@|', { exactly: [] });
});

test('block snippets after [ at the start of a line, consuming an auto-closed ]', async () => {
  const items = await check('[scene A]\nx\n\n[sh|]', {
    includes: ['[scene]', '[shot]', '[element]'],
  });
  const shot = items.find((i) => i.label === '[shot]')!;
  assert.equal(shot.insertTextFormat, 2);
  assert.deepEqual(edit(shot).range, {
    start: { line: 3, character: 0 },
    end: { line: 3, character: 4 },
  });
  assert.match(edit(shot).newText, /^\[shot \$\{1:4\}s\]\n/);
});

test('comments get no completion', async () => {
  await check('# mo|', { exactly: [] });
});

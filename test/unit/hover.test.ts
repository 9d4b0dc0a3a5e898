import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cursor, doc, service, EXAMPLE, JPEG_1000, MP4, PNG_SMALL } from './service-fixture';

const MEDIA = {
  'refs/dog-front.jpg': JPEG_1000,
  'refs/dog-side.png': PNG_SMALL,
  'refs/cat.mp4': MP4,
  'frames/start.png': JPEG_1000,
};

/** The hover markdown at the `|` of a fixture (undefined when there is no hover). */
async function check(marked: string): Promise<string | undefined> {
  const c = cursor(marked);
  const h = await service(MEDIA).hover(doc(c.text), c.position);
  if (!h) return undefined;
  assert.ok(typeof h.contents === 'object' && 'kind' in h.contents);
  return h.contents.value;
}

/** EXAMPLE with the cursor put after the first occurrence of `needle`. */
function at(needle: string, shift = 0): string {
  const i = EXAMPLE.indexOf(needle) + needle.length + shift;
  return EXAMPLE.slice(0, i) + '|' + EXAMPLE.slice(i);
}

test('@ref: description, thumbnails of existing images with a width, usage', async () => {
  const md = (await check(at('A happy @d')))!;
  assert.match(md, /\*\*@dog\*\* — element/);
  assert.match(md, /A golden retriever puppy with a red collar\./);
  assert.match(
    md,
    /!\[refs\/dog-front\.jpg\]\(file:\/\/\/work\/story\/refs\/dog-front\.jpg\|width=160\)/,
  );
  assert.match(
    md,
    /!\[refs\/dog-side\.png\]\(file:\/\/\/work\/story\/refs\/dog-side\.png\|width=160\)/,
  );
  assert.match(md, /used in 2 scenes/);
});

test('element header name hovers like a reference', async () => {
  const md = (await check(at('[element c')))!;
  assert.match(md, /\*\*@cat\*\*/);
  assert.match(md, /video `refs\/cat\.mp4`/);
});

test('undefined reference says so', async () => {
  assert.match((await check('[scene]\nThe @ghost| walks'))!, /no `\[element ghost\]` is defined/);
});

test('shot header: counted length against the provider limit, durations, settings, elements', async () => {
  const md = (await check(at('[shot 4', -2)))!;
  assert.match(md, /Shot 1 of 2/);
  // 74 code points + 37 for @dog − 4 for the text "@dog" = 107.
  assert.match(md, /107\/500 characters \(1 element reference counts 37\)/);
  assert.match(md, /shots 4 \+ 6 = 10 s/);
  assert.match(md, /kie · pro · 16:9 · sound on/);
  assert.match(md, /@dog/);
});

test('shot limit follows the provider (512 on kling)', async () => {
  const md = (await check('provider: kling\n[scene]\n[sh|ot 4s]\nA cat.'))!;
  assert.match(md, /6\/512 characters/);
});

test('scene header with a mismatching duration states both numbers', async () => {
  const md = (await check('[sc|ene A]\nduration: 12\n\n[shot 4s]\nx\n\n[shot 5s]\ny'))!;
  assert.match(md, /shots sum to 9 s, scene is 12 s/);
  assert.match(md, /Shot 1: 4 s, 1\/500 characters/);
});

test('single-shot scene header: prompt length against 2500 and elements', async () => {
  const md = (await check(at('[scene Fin')))!;
  assert.match(md, /Prompt: \d+\/2500 characters \(1 element reference counts 37\)/);
  assert.match(md, /Duration: \*\*5 s\*\* \(set in the scene\)/);
  assert.match(md, /Elements: @dog/);
});

test('media path: preview, pixel size, bytes, format', async () => {
  const md = (await check(at('first-frame: frames/st')))!;
  assert.match(
    md,
    /!\[frames\/start\.png\]\(file:\/\/\/work\/story\/frames\/start\.png\|width=320\)/,
  );
  assert.match(md, /1000×800 px · 234\.4 KB · JPEG/);
});

test('one item of an images list, and a missing file', async () => {
  const md = (await check(at('images: refs/dog-front.jpg, refs/d')))!;
  assert.match(md, /100×100 px · 2\.0 KB · PNG/);
  const missing = (await check(at('first-frame: frames/sun')))!;
  assert.match(missing, /file not found/);
});

test('setting key: its description and default', async () => {
  const md = (await check('mo|de: pro'))!;
  assert.match(md, /\*\*mode\*\* — Quality/);
  assert.match(md, /Default: std/);
});

test('prose has no hover', async () => {
  assert.equal(await check(at('sunlit re')), undefined);
});

test('hover says what is sent: an intelligence scene, its unsent shots, kie multi-shot sound, a kling frame ratio', async () => {
  const kling = 'provider: kling\n\n';
  const scene = (await check(
    `${kling}[sc|ene A]\nshot-type: intelligence\nA dog, then a cat.\n[shot 4s]\nA dog.\n[shot 3s]\nA cat.\n`,
  ))!;
  assert.match(scene, /Prompt \(shot-type: intelligence\): 18\/2500 characters · 2 shots not sent/);
  assert.match(scene, /Duration: \*\*5 s\*\* \(default\)/);
  assert.doesNotMatch(scene, /shots 4 \+ 3/);
  const shot = (await check(
    `${kling}[scene A]\nshot-type: intelligence\nA dog, then a cat.\n[sh|ot 4s]\nA dog.\n`,
  ))!;
  assert.match(shot, /not sent: with `shot-type: intelligence`/);
  const sound = (await check('[sc|ene A]\nsound: off\n[shot 4s]\nA dog.\n[shot 3s]\nA cat.\n'))!;
  assert.match(sound, /sound on \(kie multi-shot\)/);
  const frame = (await check(
    `${kling}[sc|ene A]\naspect: 9:16\nfirst-frame: frames/start.png\nA dog.\n`,
  ))!;
  assert.match(frame, /aspect of the frame image/);
});

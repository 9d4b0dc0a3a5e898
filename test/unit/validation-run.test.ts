// Validation in two steps (server/src/core/validate.ts, beginValidation): the checks run first
// and name the media files the rest depends on; finish() judges those files by the facts known
// then. The language service reads the files between the two, and a file whose facts change
// re-checks no scene (validate/sceneCache.ts). The scenes a run checked are kept for the next run
// once its result is out.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStoryboard } from '../../server/src/core/parse';
import type { MediaFacts } from '../../server/src/core/media';
import {
  beginValidation,
  createSceneCache,
  validateStoryboard,
} from '../../server/src/core/validate';
import { sceneCacheStats } from '../../server/src/core/validate/sceneCache';
import { createLanguageService } from '../../server/src/core/service';

const OK: MediaFacts = { exists: true, bytes: 2000, format: 'jpeg', width: 800, height: 800 };
const GIF: MediaFacts = { exists: true, bytes: 2000, format: 'gif', width: 800, height: 800 };

const TEXT = [
  'provider: kie',
  '',
  '[element dog]',
  'images: refs/dog-1.jpg, https://example.com/dog-2.jpg',
  'A dog.',
  '',
  '[scene Arrival]',
  'first-frame: frames/a.jpg',
  'The @dog arrives.',
  '',
  '[scene Departure]',
  'continue-from: Arrival',
  'The @dog leaves.',
  '',
  '[scene Again]',
  'first-frame: frames/a.jpg',
  'The @dog is back.',
  '',
].join('\n');

const FRAME = 'renders/board/arrival/last-frame.png';

test('the run names each local file once (no URLs), continue-from frames included', () => {
  const run = beginValidation(parseStoryboard(TEXT), { storyboardName: 'board' });
  assert.deepEqual(run.mediaRefs, ['refs/dog-1.jpg', 'frames/a.jpg', FRAME]);
  // Without the storyboard's name the frame's place is unknown: it is not named.
  assert.deepEqual(beginValidation(parseStoryboard(TEXT), {}).mediaRefs, [
    'refs/dog-1.jpg',
    'frames/a.jpg',
  ]);
});

test('finish judges by the facts known then, again with more, and equals one full validation', () => {
  const parsed = parseStoryboard(TEXT);
  const run = beginValidation(parsed, { storyboardName: 'board' });
  const known = new Map<string, MediaFacts | undefined>();
  const media = (ref: string) => known.get(ref);
  // Nothing known yet: no media diagnostic, no continuity-pending.
  assert.deepEqual(
    run.finish(media).map((d) => d.code),
    [],
  );
  known.set('frames/a.jpg', GIF);
  known.set(FRAME, { exists: false });
  const codes = run.finish(media).map((d) => d.code);
  assert.deepEqual(codes, ['media-format', 'media-format', 'continuity-pending']);
  known.set('refs/dog-1.jpg', { exists: false });
  const all = run.finish(media);
  assert.deepEqual(
    all.map((d) => d.code),
    ['media-not-found', 'media-format', 'media-format', 'continuity-pending'],
  );
  // Each where the file is written.
  assert.deepEqual(
    all.slice(0, 3).map((d) => TEXT.slice(d.span.offset, d.span.offset + d.span.length)),
    ['refs/dog-1.jpg', 'frames/a.jpg', 'frames/a.jpg'],
  );
  assert.equal(
    JSON.stringify(all),
    JSON.stringify(validateStoryboard(parseStoryboard(TEXT), { media, storyboardName: 'board' })),
  );
});

test('a media file that changes re-checks no scene, and its diagnostics follow it', () => {
  const parsed = parseStoryboard(TEXT);
  const sceneCache = createSceneCache();
  const facts = new Map<string, MediaFacts>([
    ['refs/dog-1.jpg', OK],
    ['frames/a.jpg', OK],
    [FRAME, OK],
  ]);
  const options = { media: (ref: string) => facts.get(ref), storyboardName: 'board', sceneCache };
  assert.deepEqual(validateStoryboard(parsed, options), []);
  for (const [frame, expected] of [
    [GIF, ['media-format', 'media-format']],
    [{ exists: false }, ['media-not-found', 'media-not-found']],
    [OK, []],
  ] as const) {
    facts.set('frames/a.jpg', frame);
    const checked = sceneCacheStats.checked;
    const reused = sceneCacheStats.reused;
    const list = validateStoryboard(parsed, options);
    assert.deepEqual(
      list.map((d) => d.code),
      expected,
    );
    assert.equal(sceneCacheStats.checked, checked, 'no scene checked again');
    assert.equal(sceneCacheStats.reused - reused, 3, 'all three scenes reused');
    assert.equal(
      JSON.stringify(list),
      JSON.stringify(
        validateStoryboard(parseStoryboard(TEXT), { ...options, sceneCache: undefined }),
      ),
    );
  }
});

test('the language service keeps the checked scenes only once the result is out (afterward)', async () => {
  const later: (() => void)[] = [];
  const s = createLanguageService({ media: () => OK, afterward: (work) => later.push(work) });
  const uri = 'file:///work/story/board.kling';
  const doc = (text: string, version: number) => ({ uri, version, getText: () => text });
  // Large enough for the incremental reparse (incremental.ts): an edit in the last scene keeps
  // the other scene objects, which is what the cache is keyed on.
  const filler = Array.from(
    { length: 600 },
    (_, i) => `[scene Filler ${i}]\nfirst-frame: frames/a.jpg\nThe @dog waits, take ${i}.\n`,
  ).join('\n');
  const text = `${TEXT}\n${filler}\n[scene Last]\nfirst-frame: frames/a.jpg\nThe @dog is done.\n`;
  const scenes = 604;
  assert.deepEqual(await s.diagnostics(doc(text, 1)), []);
  assert.equal(later.length, 1, 'keeping the scenes waits for the result');

  let checked = sceneCacheStats.checked;
  await s.diagnostics(doc(text.replace('is done', 'is done now'), 2));
  assert.equal(sceneCacheStats.checked - checked, scenes, 'nothing kept yet: every scene checked');

  for (const work of later.splice(0)) work();
  const again = text.replace('is done', 'is done for today');
  checked = sceneCacheStats.checked;
  const reused = sceneCacheStats.reused;
  const list = await s.diagnostics(doc(again, 3));
  assert.equal(sceneCacheStats.checked - checked, 1, 'only the edited scene is checked');
  assert.equal(sceneCacheStats.reused - reused, scenes - 1);
  const fresh = await createLanguageService({ media: () => OK }).diagnostics(doc(again, 1));
  assert.equal(JSON.stringify(list), JSON.stringify(fresh));
});

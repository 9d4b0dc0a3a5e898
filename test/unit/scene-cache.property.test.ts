// The scene cache (server/src/core/validate/sceneCache.ts) never changes a result: over random
// edit sequences, each reparsed incrementally as the language service does (so untouched scenes
// keep their objects), with media files changing between edits, validating with the cache equals
// validating a fresh full parse (new objects, nothing to reuse).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseStoryboard } from '../../server/src/core/parse';
import { reparse } from '../../server/src/core/incremental';
import { LineIndex } from '../../server/src/core/text';
import type { MediaFacts } from '../../server/src/core/media';
import { createSceneCache, validateStoryboard } from '../../server/src/core/validate';
import { sceneCacheStats } from '../../server/src/core/validate/sceneCache';

/** Scenes of every shape the scene checks tell apart, with diagnostics and without. */
function storyboard(scenes: number): string {
  const out = [
    '# Cache property',
    'provider: kie',
    'sound: off',
    '',
    '[element dog]',
    'images: a.jpg, b.jpg',
    'A dog.',
    '',
    '[element cat]',
    'images: a.jpg, b.jpg',
    'A cat.',
    '',
    '[element owl]',
    'images: a.jpg, b.jpg',
    'An owl, only ever in a shot.',
    '',
    '[element cow]',
    'images: a.jpg, b.jpg',
    'A cow, only ever misspelt.',
    '',
  ];
  for (let i = 1; i <= scenes; i++) {
    switch (i % 6) {
      case 0:
        out.push('[scene]', `first-frame: f${i % 4}.png`, 'duration: 5', `The @dog runs ${i}.`, '');
        break;
      case 1:
        out.push(
          `[scene Shots ${i}]`,
          `first-frame: f${i % 4}.png`,
          'duration: 10',
          'sound: off',
          'Ignored text with @cat.',
          'Duration : 3',
          '[shot 4s]',
          '@owl flies.',
          `@dog sits ${i}.`,
          '[shot 3s]',
          'It rains.',
          '',
        );
        break;
      case 2:
        out.push(
          `[scene Bad ${i}]`,
          'duration: 5',
          'duration: 6',
          'mode: pro',
          `@ghost waits ${i}.`,
          'camera: zoom 5',
          '',
        );
        break;
      case 3:
        out.push(
          `[scene Kling ${i}]`,
          'shot-type: intelligence',
          `last-frame: f${(i + 1) % 4}.png`,
          'aspect: 16:9',
          `The @cat and the @dog ${i}.`,
          '[shot 2s]',
          'Not sent.',
          '',
        );
        break;
      case 4:
        out.push(`[scene Empty ${i}]`, `first-frame: f${i % 4}.png`, '');
        break;
      default:
        out.push(
          i % 12 === 5 ? `[scene Plain ${i}]` : '[scene]',
          'duration: 15',
          `Text, @dog and @cwo without a first frame ${i}.`,
          'Duration : 3',
          '',
          // Clean on kie while the header's sound is on; sound-forced-on while it is off.
          `[scene Multi ${i}]`,
          `first-frame: f${i % 4}.png`,
          '[shot 3s]',
          `The @dog ${i}.`,
          '[shot 2s]',
          'Rain.',
          '',
        );
    }
  }
  return out.join('\n');
}

const TOKENS = [
  '\n',
  '\n\n',
  'x',
  ' @dog',
  ' @ghost',
  ' @cat',
  '[scene New]\n',
  '[scene]\n',
  '[shot 5s]\n',
  '[element owl]\nimages: a.jpg, b.jpg\n',
  'provider: kling\n',
  'sound: on\n',
  'sound: off\n',
  'duration: 7\n',
  'first-frame: f1.png\n',
  'last-frame: f2.png\n',
  'shot-type: customize\n',
  'mode: std\n',
  '# kling-ignore duration-range\n',
];

const HEADER_SWITCHES: [string, string][] = [
  ['provider: kie', 'provider: kling'],
  ['provider: kling', 'provider: kie'],
  ['sound: off', 'sound: on'],
  ['sound: on', 'sound: off'],
  // The sound line moves, the scenes do not.
  ['provider: kie\nsound: off', 'sound: off\nprovider: kie'],
  ['sound: off\nprovider: kie', 'provider: kie\nsound: off'],
  ['provider: kling\nsound: off', 'sound: off\nprovider: kling'],
  ['sound: off\nprovider: kling', 'provider: kling\nsound: off'],
];

const FACTS: MediaFacts[] = [
  { exists: true, bytes: 2000, format: 'png', width: 1280, height: 720 },
  { exists: true, bytes: 2000, format: 'png', width: 100, height: 100 },
  { exists: true, bytes: 2000, format: 'jpeg', width: 2000, height: 300 },
  { exists: false },
];

test('validation with the scene cache equals a fresh validation after any edits', () => {
  const base = storyboard(30);
  const step = fc.oneof(
    fc.record({
      at: fc.nat({ max: base.length }),
      remove: fc.nat({ max: 30 }),
      insert: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 6 })),
    }),
    // A media file changes on disk (its facts are looked up again).
    fc.record({ file: fc.nat({ max: 3 }), facts: fc.nat({ max: FACTS.length - 1 }) }),
    // The header's provider or sound line switches (the scenes below keep their objects).
    fc.record({ header: fc.constantFrom(...HEADER_SWITCHES) }),
    // A scene header becomes text: the scenes below keep their lines but not their numbers.
    fc.record({ unscene: fc.nat({ max: 40 }) }),
  );
  let reused = 0;
  let checked = 0;
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 8 }), (steps) => {
      const files = new Map<string, MediaFacts>();
      for (let i = 0; i < 4; i++) files.set(`f${i}.png`, { ...FACTS[0] });
      const options = {
        media: (ref: string) => {
          const f = files.get(ref);
          // A new object each time, as a server re-reading a file would give.
          return f && { ...f };
        },
        defaultProvider: 'kie' as const,
        storyboardName: 'board',
      };
      const sceneCache = createSceneCache();
      let text = base;
      let parsed = parseStoryboard(text);
      validateStoryboard(parsed, { ...options, sceneCache });
      for (const s of steps) {
        if ('file' in s) {
          files.set(`f${s.file}.png`, { ...FACTS[s.facts] });
        } else {
          let next = text;
          if ('header' in s) {
            // The first occurrence is the header's (the header zone comes first).
            const [from, to] = s.header;
            const i = text.indexOf(`\n${from}\n`);
            if (i >= 0) next = text.slice(0, i + 1) + to + text.slice(i + 1 + from.length);
          } else if ('unscene' in s) {
            let i = -1;
            for (let n = 0; n <= s.unscene; n++) {
              const j = text.indexOf('\n[scene', i + 1);
              if (j < 0) break;
              i = j;
            }
            if (i >= 0) next = text.slice(0, i + 1) + '(' + text.slice(i + 2);
          } else {
            const at = Math.min(s.at, text.length);
            next = text.slice(0, at) + s.insert + text.slice(Math.min(text.length, at + s.remove));
          }
          parsed =
            reparse(parsed, text, new LineIndex(text).lineStarts, next, 0) ?? parseStoryboard(next);
          text = next;
        }
        const r0 = sceneCacheStats.reused;
        const c0 = sceneCacheStats.checked;
        const cached = validateStoryboard(parsed, { ...options, sceneCache });
        reused += sceneCacheStats.reused - r0;
        checked += sceneCacheStats.checked - c0;
        const fresh = validateStoryboard(parseStoryboard(text), options);
        assert.equal(JSON.stringify(cached), JSON.stringify(fresh));
      }
    }),
    { numRuns: 300 },
  );
  // Most scenes come back unchanged after most edits: the cache must have been used.
  assert.ok(reused > checked / 2, `${reused} scenes reused, ${checked} checked again`);
});

test('a header switch reaches the scenes it keeps (sound, provider, the sound line moving)', () => {
  const scenes =
    '\n[scene A]\nfirst-frame: f.png\n[shot 3s]\nX.\n[shot 2s]\nY.\n\n[scene B]\nshot-type: intelligence\nZ.\n';
  const texts = [
    'provider: kie\nsound: on\n',
    'provider: kie\nsound: off\n',
    'sound: off\nprovider: kie\n',
    'sound: off\nprovider: kling\n',
    'sound: on\nprovider: kling\n',
    'provider: kie\nsound: on\n',
  ].map((h) => h + scenes);
  let text = texts[0];
  let parsed = parseStoryboard(text);
  const sceneCache = createSceneCache();
  validateStoryboard(parsed, { sceneCache });
  const first = parsed.storyboard.scenes[0];
  const seen = new Set<string>();
  for (const next of texts.slice(1)) {
    parsed = reparse(parsed, text, new LineIndex(text).lineStarts, next, 0)!;
    text = next;
    assert.equal(parsed.storyboard.scenes[0], first, 'the header-zone reparse keeps the scene');
    const cached = validateStoryboard(parsed, { sceneCache });
    for (const d of cached) seen.add(d.code);
    assert.equal(JSON.stringify(cached), JSON.stringify(validateStoryboard(parseStoryboard(text))));
  }
  assert.ok(seen.has('sound-forced-on') && seen.has('unsupported-setting'), [...seen].join());
});

// Every diagnostic code of server/docs/language.md: a document that triggers it (exactly one
// diagnostic, nothing cascading, on the expected text, with the numbers in the message) and
// a close variant that is clean.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import type { Provider } from '../../server/src/core/ast';
import {
  DIAGNOSTIC_CODES,
  type DiagnosticCode,
  type Severity,
  type StoryboardDiagnostic,
} from '../../server/src/core/diagnostics';
import { MEDIA_HEAD_BYTES, type MediaFacts, sniffMedia } from '../../server/src/core/media';
import { parseStoryboard } from '../../server/src/core/parse';
import { validateStoryboard } from '../../server/src/core/validate';

const MEDIA_DIR = path.join(__dirname, '..', 'fixtures', 'media');

/** Sniffs fixture files (as the server would after resolving a path); extra facts by name override. */
function fixtureLookup(extra: Record<string, MediaFacts> = {}) {
  return (ref: string): MediaFacts | undefined => {
    if (ref in extra) return extra[ref];
    const file = path.join(MEDIA_DIR, ref);
    if (!existsSync(file)) return { exists: false };
    const bytes = readFileSync(file);
    return sniffMedia(bytes.subarray(0, MEDIA_HEAD_BYTES), bytes.length);
  };
}

const png = readFileSync(path.join(MEDIA_DIR, 'ok-400x300.png'));
const MB = 1024 * 1024;
const EXTRA: Record<string, MediaFacts> = {
  // Real PNG headers with a claimed file size, as a caller reports for a large file.
  'huge.png': sniffMedia(png, 11 * MB),
  'limit.png': sniffMedia(png, 10 * MB),
  'exact-2.5.png': { exists: true, bytes: 5000, format: 'png', width: 750, height: 300 },
  // A `continue-from` frame that was extracted (output `done`, storyboard `board`).
  'done/board/arrival/last-frame.png': sniffMedia(png, png.length),
};

function check(text: string, defaultProvider?: Provider): StoryboardDiagnostic[] {
  return validateStoryboard(parseStoryboard(text), {
    media: fixtureLookup(EXTRA),
    defaultProvider,
    storyboardName: 'board',
  });
}

const DOG =
  '[element dog]\nimages: ok-320x320.jpg, jpeg-content.png\nA golden retriever puppy.\n\n';
const FRAME = 'first-frame: ok-400x300.png\n';
const x = (n: number) => 'x'.repeat(n);

interface Case {
  code: DiagnosticCode;
  severity: Severity;
  /** Triggers the code exactly once, and nothing else. */
  doc: string;
  /** The text the diagnostic sits on. */
  on: string;
  /** Which occurrence of `on` (default: the first). */
  occurrence?: number | 'last';
  /** Substrings the message must contain (the numbers). */
  says: string[];
  data?: Record<string, unknown>;
  /** A close variant with no diagnostics at all. */
  variant: string;
  provider?: Provider;
  /** Other codes the document also (rightly) gets, e.g. the `unconfirmed-setting` note of a sent `camera`. */
  also?: DiagnosticCode[];
}

const ARRIVAL = 'output: done\n[scene Arrival]\nA car arrives.\n\n';
const CASES: Case[] = [
  {
    code: 'undefined-scene',
    severity: 'error',
    doc: ARRIVAL + '[scene B]\ncontinue-from: Arival\nIt leaves.\n',
    on: 'Arival',
    says: ['“Arrival”'],
    data: { suggestion: 'Arrival' },
    variant: ARRIVAL + '[scene B]\ncontinue-from: Arrival\nIt leaves.\n',
  },
  {
    code: 'continuity-order',
    severity: 'error',
    doc: 'output: done\n[scene B]\ncontinue-from: Arrival\nIt leaves.\n\n[scene Arrival]\nA car arrives.\n',
    on: 'Arrival',
    says: ['comes after', 'scene 2'],
    variant: ARRIVAL + '[scene B]\ncontinue-from: Arrival\nIt leaves.\n',
  },
  {
    code: 'continuity-conflict',
    severity: 'error',
    doc: ARRIVAL + '[scene B]\ncontinue-from: Arrival\n' + FRAME + 'It leaves.\n',
    on: 'continue-from',
    says: ['first-frame', 'line 7'],
    variant: ARRIVAL + '[scene B]\n' + FRAME + 'It leaves.\n',
  },
  {
    code: 'continuity-pending',
    severity: 'information',
    doc: 'output: out\n[scene Arrival]\nA car arrives.\n\n[scene B]\ncontinue-from: Arrival\nIt leaves.\n',
    on: 'Arrival',
    occurrence: 'last',
    says: ['no take yet'],
    data: { source: 0 },
    variant: ARRIVAL + '[scene B]\ncontinue-from: Arrival\nIt leaves.\n',
  },
  {
    code: 'syntax',
    severity: 'error',
    doc: '[scene A]\nA dog runs.\n\n[scene B\nA cat sleeps.\n',
    on: '[scene B',
    says: ['`]`'],
    variant: '[scene A]\nA dog runs.\n\n[scene B]\nA cat sleeps.\n',
  },
  {
    code: 'unknown-block',
    severity: 'error',
    doc: '[Scene A]\nA dog runs.\n',
    on: '[Scene A]',
    says: ['`scene`'],
    variant: '[scene A]\nA dog runs.\n',
  },
  {
    code: 'unknown-setting',
    severity: 'warning',
    doc: '[scene A]\ndurration: 5\nA dog runs.\n',
    on: 'durration',
    says: ['`duration`'],
    data: { key: 'durration', suggestion: 'duration' },
    variant: '[scene A]\nduration: 5\nA dog runs.\n',
  },
  {
    code: 'invalid-value',
    severity: 'error',
    doc: '[scene A]\nmode: ultra\nA dog runs.\n',
    on: 'ultra',
    says: ['std', 'pro', '4K'],
    variant: '[scene A]\nmode: pro\nA dog runs.\n',
  },
  {
    code: 'duplicate-setting',
    severity: 'warning',
    doc: '[scene A]\nmode: pro\nmode: std\nA dog runs.\n',
    on: 'mode',
    occurrence: 'last',
    says: ['line 2'],
    variant: '[scene A]\nmode: pro\nsound: on\nA dog runs.\n',
  },
  {
    code: 'unsupported-setting',
    severity: 'warning',
    doc: '[scene A]\nwatermark: on\nA dog runs.\n',
    on: 'watermark',
    says: ['kling', 'kie'],
    variant: 'provider: kling\n\n[scene A]\nwatermark: on\nA dog runs.\n',
  },
  {
    code: 'shot-outside-scene',
    severity: 'error',
    doc: '[shot 4s]\nA dog runs.\n\n[scene A]\nA cat sleeps.\n',
    on: '[shot 4s]',
    says: ['[scene]'],
    variant: '[scene A]\n[shot 4s]\nA dog runs.\n',
  },
  {
    code: 'empty-scene',
    severity: 'error',
    doc: '[scene A]\nduration: 5\n# to do\n\n[scene B]\nA cat sleeps.\n',
    on: '[scene A]',
    says: ['`A`'],
    variant: '[scene A]\nduration: 5\nA dog runs.\n\n[scene B]\nA cat sleeps.\n',
  },
  {
    code: 'empty-shot',
    severity: 'error',
    doc: '[scene A]\n[shot 4s]\n# to do\n[shot 3s]\nA cat sleeps.\n',
    on: '[shot 4s]',
    says: ['no prompt'],
    variant: '[scene A]\n[shot 4s]\nA dog runs.\n[shot 3s]\nA cat sleeps.\n',
  },
  {
    code: 'scene-text-ignored',
    severity: 'warning',
    doc: '[scene A]\nA dog runs.\n[shot 4s]\nA cat sleeps.\n',
    on: 'A dog runs.',
    says: ['not sent'],
    variant: '[scene A]\n# A dog runs.\n[shot 4s]\nA cat sleeps.\n',
  },
  {
    code: 'header-text-ignored',
    severity: 'warning',
    doc: '# My film\nA short film about cats.\nprovider: kling\nmode: pro\n\n[scene A]\nA cat walks.\n',
    on: 'A short film about cats.\nprovider: kling\nmode: pro',
    says: ['not sent', '`provider: kling`, `mode: pro` below it are read as text, not settings'],
    data: { settings: ['provider', 'mode'] },
    variant:
      '# My film\n# A short film about cats.\nprovider: kling\nmode: pro\n\n[scene A]\nA cat walks.\n',
  },
  {
    code: 'shot-too-long',
    severity: 'error',
    // 37 (the reference) + 1 (space) + 469 = 507 counted characters.
    doc: `${DOG}[scene A]\n${FRAME}[shot 4s]\n@dog ${x(469)}\n`,
    on: '[shot 4s]',
    says: ['507/500 characters (1 element reference counts 37)', 'kie'],
    variant: `${DOG}[scene A]\n${FRAME}[shot 4s]\n@dog ${x(462)}\n`,
  },
  {
    code: 'prompt-too-long',
    severity: 'error',
    doc: `[scene A]\n${x(2501)}\n`,
    on: '[scene A]',
    says: ['2501/2500 characters'],
    variant: `[scene A]\n${x(2500)}\n`,
  },
  {
    code: 'negative-too-long',
    severity: 'error',
    doc: `provider: kling\nnegative: ${'n'.repeat(2501)}\n\n[scene A]\nA dog runs.\n`,
    on: 'n'.repeat(2501),
    says: ['2501/2500'],
    variant: `provider: kling\nnegative: ${'n'.repeat(2500)}\n\n[scene A]\nA dog runs.\n`,
  },
  {
    code: 'too-many-shots',
    severity: 'error',
    doc: '[scene A]\n[shot 1s]\na\n[shot 1s]\nb\n[shot 1s]\nc\n[shot 1s]\nd\n[shot 1s]\ne\n[shot 2s]\nf\n',
    on: '[shot 2s]',
    says: ['6 shots, at most 5 on kie'],
    data: { max: 5 },
    variant:
      'provider: kling\n\n[scene A]\n[shot 1s]\na\n[shot 1s]\nb\n[shot 1s]\nc\n[shot 1s]\nd\n[shot 1s]\ne\n[shot 2s]\nf\n',
  },
  {
    code: 'shot-duration-range',
    severity: 'error',
    doc: '[scene A]\n[shot 13s]\nA dog runs.\n',
    on: '13s',
    says: ['13 s', '1–12 s'],
    variant: '[scene A]\n[shot 12s]\nA dog runs.\n',
  },
  {
    code: 'duration-range',
    severity: 'error',
    doc: '[scene A]\nduration: 20\nA dog runs.\n',
    on: '20',
    says: ['20 s', '3–15 s'],
    variant: '[scene A]\nduration: 15\nA dog runs.\n',
  },
  {
    code: 'duration-mismatch',
    severity: 'error',
    doc: '[scene A]\nduration: 10\n[shot 4s]\nA dog runs.\n[shot 5s]\nA cat sleeps.\n',
    on: '10',
    says: ['shots sum to 9 s, scene is 10 s'],
    data: { sum: 9 },
    variant: '[scene A]\nduration: 9\n[shot 4s]\nA dog runs.\n[shot 5s]\nA cat sleeps.\n',
  },
  {
    code: 'undefined-element',
    severity: 'error',
    doc: `${DOG}[scene A]\n${FRAME}The @dgo runs.\n`,
    on: '@dgo',
    says: ['`dgo`', '@dog'],
    data: { name: 'dgo', suggestion: 'dog' },
    variant: `${DOG}[scene A]\n${FRAME}The @dog runs.\n`,
  },
  {
    code: 'unused-element',
    severity: 'hint',
    doc: `${DOG}[scene A]\nA cat sleeps.\n`,
    on: '[element dog]',
    says: ['`dog`', '@dog'],
    variant: `${DOG}[scene A]\n${FRAME}A @dog sleeps.\n`,
  },
  {
    code: 'duplicate-element',
    severity: 'error',
    doc: `${DOG}${DOG}[scene A]\n${FRAME}The @dog runs.\n`,
    on: '[element dog]',
    occurrence: 'last',
    says: ['line 1'],
    variant: `${DOG}${DOG.replace('[element dog]', '[element pup]')}[scene A]\n${FRAME}The @dog meets @pup.\n`,
  },
  {
    code: 'too-many-elements',
    severity: 'error',
    doc:
      ['a', 'b', 'c', 'd'].map((n) => DOG.replace('dog', n)).join('') +
      `[scene A]\n${FRAME}@a @b @c @d @a\n`,
    on: '@d',
    says: ['4 elements referenced, at most 3'],
    variant:
      ['a', 'b', 'c', 'd'].map((n) => DOG.replace('dog', n)).join('') +
      `[scene A]\n${FRAME}@a @b @c @a\n\n[scene B]\n${FRAME}@d\n`,
  },
  {
    code: 'element-needs-first-frame',
    severity: 'error',
    doc: `${DOG}[scene A]\nThe @dog runs.\n`,
    on: '[scene A]',
    says: ['@dog', '`first-frame`'],
    data: { sceneIndex: 0 },
    variant: `${DOG}[scene A]\n${FRAME}The @dog runs.\n`,
  },
  {
    code: 'element-no-media',
    severity: 'error',
    doc: `[element dog]\nfrontal: ok-320x320.jpg\nA puppy.\n\n[scene A]\n${FRAME}The @dog runs.\n`,
    on: '[element dog]',
    says: ['frontal', 'Expand Element Views'],
    variant: `[element dog]\nfrontal: ok-320x320.jpg\nimages: ok-320x320.jpg, jpeg-content.png\nA puppy.\n\n[scene A]\n${FRAME}The @dog runs.\n`,
  },
  {
    code: 'element-media-conflict',
    severity: 'error',
    doc: `[element dog]\nimages: ok-320x320.jpg, jpeg-content.png\nvideo: clip.mp4\nA puppy.\n\n[scene A]\n${FRAME}The @dog runs.\n`,
    on: 'video',
    says: ['images', 'video'],
    variant: `[element dog]\nvideo: clip.mp4\nA puppy.\n\n[scene A]\n${FRAME}The @dog runs.\n`,
  },
  {
    code: 'element-image-count',
    severity: 'error',
    doc: `[element dog]\nimages: ok-320x320.jpg\nA puppy.\n\n[scene A]\n${FRAME}The @dog runs.\n`,
    on: 'ok-320x320.jpg',
    says: ['1 image', '2–4'],
    data: { count: 1 },
    variant: `[element dog]\nimages: ok-320x320.jpg, jpeg-content.png\nA puppy.\n\n[scene A]\n${FRAME}The @dog runs.\n`,
  },
  {
    code: 'element-needs-id',
    severity: 'error',
    doc: `provider: kling\n\n${DOG}[scene A]\n${FRAME}The @dog runs.\n`,
    on: '[element dog]',
    says: ['`id:`', 'kling'],
    variant: `provider: kling\n\n${DOG.replace('\nA golden', '\nid: 321922438904313\nA golden')}[scene A]\n${FRAME}The @dog runs.\n`,
  },
  {
    code: 'media-not-found',
    severity: 'error',
    doc: '[scene A]\nfirst-frame: frames/missing.png\nA dog runs.\n',
    on: 'frames/missing.png',
    says: ['frames/missing.png'],
    variant: '[scene A]\nfirst-frame: ok-400x300.png\nA dog runs.\n',
  },
  {
    code: 'media-format',
    severity: 'error',
    doc: '[scene A]\nfirst-frame: webp-content.jpg\nA dog runs.\n',
    on: 'webp-content.jpg',
    says: ['WEBP', 'JPG or PNG'],
    // A JPEG named .png is fine: judged by content.
    variant: '[scene A]\nfirst-frame: jpeg-content.png\nA dog runs.\n',
  },
  {
    code: 'media-too-large',
    severity: 'error',
    doc: '[scene A]\nfirst-frame: huge.png\nA dog runs.\n',
    on: 'huge.png',
    says: ['11.0 MB', '10.0 MB'],
    variant: '[scene A]\nfirst-frame: limit.png\nA dog runs.\n',
  },
  {
    code: 'image-too-small',
    severity: 'error',
    doc: '[scene A]\nfirst-frame: small-200x200.png\nA dog runs.\n',
    on: 'small-200x200.png',
    says: ['200×200', '300 px'],
    variant: '[scene A]\nfirst-frame: ok-400x300.png\nA dog runs.\n',
  },
  {
    code: 'image-aspect',
    severity: 'error',
    doc: '[scene A]\nfirst-frame: wide-1000x300.png\nA dog runs.\n',
    on: 'wide-1000x300.png',
    says: ['1000×300', '3.33:1', '1:2.5', '2.5:1'],
    variant: '[scene A]\nfirst-frame: exact-2.5.png\nA dog runs.\n',
  },
  {
    code: 'last-frame-multi-shot',
    severity: 'error',
    doc: `[scene A]\n${FRAME}last-frame: ok-320x320.jpg\n[shot 4s]\nA dog runs.\n`,
    on: 'last-frame',
    says: ['single-shot'],
    variant: `[scene A]\n${FRAME}last-frame: ok-320x320.jpg\nA dog runs.\n`,
  },
  {
    code: 'camera-conflict',
    severity: 'error',
    doc: 'provider: kling\n\n[scene A]\ncamera: zoom 5\nlast-frame: ok-320x320.jpg\nA dog runs.\n',
    on: 'last-frame',
    says: ['`camera`', '`last-frame`'],
    also: ['unconfirmed-setting'],
    variant: 'provider: kling\n\n[scene A]\nlast-frame: ok-320x320.jpg\nA dog runs.\n',
  },
  // v2: what you write is what is sent.
  {
    code: 'setting-in-text',
    severity: 'warning',
    doc: '[scene A]\nA dog runs.\nduration: 10\n',
    on: 'duration',
    says: ['`duration: 10`', 'sent as words', 'line 2'],
    data: { key: 'duration', move: true },
    variant: '[scene A]\nduration: 10\nA dog runs.\n',
  },
  {
    code: 'last-frame-needs-first-frame',
    severity: 'error',
    doc: '[scene A]\nlast-frame: ok-320x320.jpg\nA dog runs.\n',
    on: 'last-frame',
    says: ['`first-frame`', 'image_urls'],
    data: { sceneIndex: 0 },
    variant: `[scene A]\n${FRAME}last-frame: ok-320x320.jpg\nA dog runs.\n`,
  },
  {
    code: 'sound-forced-on',
    severity: 'warning',
    doc: '[scene A]\nsound: off\n[shot 4s]\nA dog runs.\n[shot 3s]\nA cat sleeps.\n',
    on: 'off',
    says: ['kie', '2 shots', 'will have sound'],
    variant:
      'provider: kling\n\n[scene A]\nsound: off\n[shot 4s]\nA dog runs.\n[shot 3s]\nA cat sleeps.\n',
  },
  {
    code: 'shots-ignored',
    severity: 'warning',
    doc: 'provider: kling\n\n[scene A]\nshot-type: intelligence\nA dog runs, then a cat sleeps.\n[shot 4s]\nA dog runs.\n[shot 3s]\nA cat sleeps.\n',
    on: 'intelligence',
    says: ['2 [shot] blocks are not sent'],
    data: { shots: 2 },
    variant:
      'provider: kling\n\n[scene A]\nshot-type: intelligence\nA dog runs, then a cat sleeps.\n',
  },
  {
    code: 'shot-type-needs-shots',
    severity: 'warning',
    doc: 'provider: kling\n\n[scene A]\nshot-type: customize\nA dog runs.\n',
    on: 'customize',
    says: ['no', 'single shot'],
    variant: 'provider: kling\n\n[scene A]\nshot-type: customize\n[shot 4s]\nA dog runs.\n',
  },
  {
    code: 'aspect-ignored',
    severity: 'warning',
    doc: `provider: kling\n\n[scene A]\naspect: 9:16\n${FRAME}A dog runs.\n`,
    on: 'aspect',
    says: ['`aspect: 9:16`', 'first frame', 'ratio'],
    data: { key: 'aspect' },
    variant: 'provider: kling\n\n[scene A]\naspect: 9:16\nA dog runs.\n',
  },
  {
    code: 'unconfirmed-setting',
    severity: 'information',
    doc: '[scene A]\ncfg-scale: 0.5\nA dog runs.\n',
    on: 'cfg-scale',
    says: ['`cfg_scale`', 'KIE'],
    data: { key: 'cfg-scale' },
    variant: '[scene A]\nmode: pro\nA dog runs.\n',
  },
  {
    code: 'output-outside',
    severity: 'warning',
    doc: 'output: ../renders\n\n[scene A]\nA dog runs.\n',
    on: '../renders',
    says: ['outside'],
    variant: 'output: takes/../renders\n\n[scene A]\nA dog runs.\n',
  },
  {
    code: 'unused-suppression',
    severity: 'hint',
    doc: '[scene A]\n# kling-ignore: unknown-setting\nA dog runs.\n',
    on: 'unknown-setting',
    says: ['unknown-setting', 'silences nothing'],
    variant: '[scene A]\n# kling-ignore: unknown-setting\nDuration: 10\nA dog runs.\n',
  },
];

/** Renders diagnostics compactly for assertion messages. */
function show(ds: StoryboardDiagnostic[]): string {
  return ds.map((d) => `${d.code}: ${d.message}`).join('\n') || '(none)';
}

describe('every diagnostic code: a trigger and a close variant', () => {
  test('the table covers every code exactly once', () => {
    assert.deepEqual([...CASES.map((c) => c.code)].sort(), [...DIAGNOSTIC_CODES].sort());
  });

  for (const c of CASES) {
    test(`${c.code} (${c.severity})`, () => {
      const all = check(c.doc, c.provider);
      assert.deepEqual(
        all.map((d) => d.code).sort(),
        [c.code, ...(c.also ?? [])].sort(),
        `expected only ${c.code}, got:\n${show(all)}`,
      );
      const found = all.filter((d) => d.code === c.code);
      const [d] = found;
      assert.equal(d.code, c.code);
      assert.equal(d.severity, c.severity);
      const at = c.occurrence === 'last' ? c.doc.lastIndexOf(c.on) : c.doc.indexOf(c.on);
      assert.ok(at >= 0, 'the expected text is in the document');
      assert.deepEqual(
        { text: c.doc.slice(d.span.offset, d.span.offset + d.span.length), offset: d.span.offset },
        { text: c.on, offset: at },
      );
      for (const s of c.says) {
        assert.ok(
          d.message.toLowerCase().includes(s.toLowerCase()),
          `"${d.message}" should say "${s}"`,
        );
      }
      if (c.data) assert.deepEqual(d.data, c.data);
      if (c.code === 'unused-element' || c.code === 'unused-suppression')
        assert.equal(d.unnecessary, true);
      else assert.equal(d.unnecessary, undefined);

      const clean = check(c.variant, c.provider);
      assert.deepEqual(clean, [], `the variant should be clean, got:\n${show(clean)}`);
    });
  }
});

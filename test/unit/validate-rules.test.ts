// The validator's rules beyond "each code fires": one mistake → one diagnostic, provider
// dependence, look-alike settings, media lookups, cancellation, and garbage input.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { Provider } from '../../server/src/core/ast';
import type { StoryboardDiagnostic } from '../../server/src/core/diagnostics';
import type { MediaFacts } from '../../server/src/core/media';
import { parseStoryboard } from '../../server/src/core/parse';
import { type ValidateOptions, validateStoryboard } from '../../server/src/core/validate';

const OK_IMAGE: MediaFacts = { exists: true, bytes: 1000, format: 'jpeg', width: 640, height: 480 };

function check(text: string, options: ValidateOptions = {}): StoryboardDiagnostic[] {
  return validateStoryboard(parseStoryboard(text), options);
}

/** `code@text` for each diagnostic: what it is and what it sits on. */
function summary(text: string, options: ValidateOptions = {}): string[] {
  return check(text, options).map(
    (d) => `${d.code}@${text.slice(d.span.offset, d.span.offset + d.span.length)}`,
  );
}

const DOG = '[element dog]\nimages: a.jpg, b.jpg\nA puppy.\n\n';

describe('one mistake, one diagnostic', () => {
  test('a malformed duration is only invalid-value (no range, no mismatch)', () => {
    for (const bad of ['ten', '4.5', '10 s', '-5']) {
      const doc = `[scene A]\nduration: ${bad}\n[shot 4s]\na\n[shot 5s]\nb\n`;
      assert.deepEqual(summary(doc), [`invalid-value@${bad}`], bad);
    }
  });

  test('an out-of-range duration is only duration-range, even with shots that differ', () => {
    const doc = '[scene A]\nduration: 20\n[shot 4s]\na\n[shot 5s]\nb\n';
    assert.deepEqual(summary(doc), ['duration-range@20']);
  });

  test('`10s` is a duration; a sum outside 3–15 without a duration sits on the scene header', () => {
    assert.deepEqual(summary('[scene A]\nduration: 10s\nA dog.\n'), []);
    assert.deepEqual(summary('[scene A]\n[shot 1s]\na\n[shot 1s]\nb\n'), [
      'duration-range@[scene A]',
    ]);
    const msg = check('[scene A]\n[shot 1s]\na\n[shot 1s]\nb\n')[0].message;
    assert.match(msg, /sum to 2 s/);
  });

  test('a shot out of 1–12 s does not also make the scene sum wrong', () => {
    assert.deepEqual(summary('[scene A]\n[shot 20s]\na\n'), ['shot-duration-range@20s']);
    assert.deepEqual(summary('[scene A]\nduration: 10\n[shot 0]\na\n[shot 3]\nb\n'), [
      'shot-duration-range@0',
    ]);
  });

  test('a header duration is a default for single-shot scenes only', () => {
    const doc = 'duration: 10\n\n[scene A]\n[shot 4s]\na\n[shot 5s]\nb\n\n[scene B]\nc\n';
    assert.deepEqual(summary(doc), []);
    assert.deepEqual(summary('duration: 30\n\n[scene A]\nc\n[scene B]\nd\n'), [
      'duration-range@30',
    ]);
  });

  test('an invalid block swallows its lines', () => {
    const doc = '[shot four]\nmode: ultra\nThe @nobody runs.\n\n[Element cat]\nimagez: x\n';
    assert.deepEqual(summary(doc), ['syntax@[shot four]', 'unknown-block@[Element cat]']);
  });

  test('a duplicate element block carries only duplicate-element; references use the first', () => {
    const doc = `${DOG}[element dog]\nimagez: x.jpg\nDuration: 4\nThe @ghost.\n\n[scene A]\nfirst-frame: f.png\n@dog\n`;
    assert.deepEqual(summary(doc), ['duplicate-element@[element dog]']);
    assert.equal(check(doc)[0].span.offset, doc.lastIndexOf('[element dog]'));
  });

  test('an undefined element counts toward neither too-many-elements nor the first-frame rule', () => {
    const four = ['a', 'b', 'c'].map((n) => DOG.replace('dog', n)).join('');
    const doc = `${four}[scene A]\nfirst-frame: f.png\n@a @b @c @zzz\n`;
    assert.deepEqual(summary(doc), ['undefined-element@@zzz']);
    assert.deepEqual(summary('[scene A]\nThe @ghost runs.\n'), ['undefined-element@@ghost']);
  });

  test('every occurrence of an undefined name is reported, the suggestion computed once', () => {
    const doc = `${DOG}[scene A]\nfirst-frame: f.png\n@dgo and @dgo\n`;
    const ds = check(doc);
    assert.deepEqual(
      ds.map((d) => [d.code, d.span.offset, d.data]),
      [
        ['undefined-element', doc.indexOf('@dgo'), { name: 'dgo', suggestion: 'dog' }],
        ['undefined-element', doc.lastIndexOf('@dgo'), { name: 'dgo', suggestion: 'dog' }],
      ],
    );
  });

  test('an element with images and a video is not also a wrong image count', () => {
    const doc = `[element dog]\nimages: a.jpg\nvideo: d.mp4\nA puppy.\n\n[scene A]\nfirst-frame: f.png\n@dog\n`;
    assert.deepEqual(summary(doc), ['element-media-conflict@video']);
  });

  test('repeated image: lines add up and are not duplicates; a fifth image carries the count', () => {
    const two =
      '[element dog]\nimage: a.jpg\nimage: b.jpg\nA puppy.\n\n[scene A]\nfirst-frame: f.png\n@dog\n';
    assert.deepEqual(summary(two), []);
    const five = two.replace('image: b.jpg', 'images: b.jpg, c.jpg, d.jpg\nimage: e.jpg');
    assert.deepEqual(summary(five), ['element-image-count@e.jpg']);
    assert.match(check(five)[0].message, /5 images, an element needs 2–4/);
    const empty = '[element dog]\nimages:\nA puppy.\n\n[scene A]\nfirst-frame: f.png\n@dog\n';
    assert.deepEqual(summary(empty), ['element-image-count@images:']);
  });

  test('last-frame in a multi-shot scene is not also checked as media or against camera', () => {
    const doc =
      'provider: kling\n\n[scene A]\ncamera: zoom 5\nlast-frame: missing.png\n[shot 4s]\na\n';
    const media = (ref: string): MediaFacts | undefined =>
      ref === 'missing.png' ? { exists: false } : undefined;
    // (`camera` itself is sent: its unconfirmed-setting note stays.)
    assert.deepEqual(summary(doc, { media }), [
      'unconfirmed-setting@camera',
      'last-frame-multi-shot@last-frame',
    ]);
  });

  test('a first-frame line with no value is invalid-value, not element-needs-first-frame', () => {
    const doc = `${DOG}[scene A]\nfirst-frame:\n@dog runs\n`;
    assert.deepEqual(summary(doc), ['invalid-value@first-frame:']);
  });

  test('a misspelt reference does not also make its element unused', () => {
    const doc = `${DOG}[scene A]\nfirst-frame: f.png\n@Dog runs\n`;
    assert.deepEqual(summary(doc), ['undefined-element@@Dog']);
    assert.deepEqual(check(doc)[0].data, { name: 'Dog', suggestion: 'dog' });
  });
});

describe('settings', () => {
  test('keys outside their zone say where they belong', () => {
    const ds = check('[scene A]\nprovider: kling\nimages: a.jpg\nA dog.\n');
    assert.deepEqual(
      ds.map((d) => d.code),
      ['unknown-setting', 'unknown-setting'],
    );
    assert.match(ds[0].message, /belongs in the header/);
    assert.match(ds[1].message, /belongs in an \[element\]/);
  });

  test('an unknown key with no near key lists the valid keys', () => {
    const [d] = check('[scene A]\nfoo-bar: 1\nA dog.\n');
    assert.equal(d.code, 'unknown-setting');
    assert.match(d.message, /valid here: model, mode, aspect, duration, sound, first-frame/);
    assert.deepEqual(d.data, { key: 'foo-bar' });
  });

  test('mode: 4K is fine on kie and invalid on kling', () => {
    assert.deepEqual(summary('mode: 4K\n\n[scene A]\nA dog.\n'), []);
    const ds = check('provider: kling\nmode: 4K\n\n[scene A]\nA dog.\n');
    assert.deepEqual(
      ds.map((d) => d.code),
      ['invalid-value'],
    );
    assert.match(ds[0].message, /not available with provider kling/);
  });

  test('enum values: aliases, near misses with a suggestion', () => {
    assert.deepEqual(summary('sound: true\n\n[scene A]\nsound: false\nA dog.\n'), []);
    const [d] = check('[scene A]\nmode: Pro\nA dog.\n');
    assert.equal(d.code, 'invalid-value');
    assert.deepEqual(d.data, { key: 'mode', suggestion: 'pro' });
    assert.deepEqual(summary('[scene A]\naspect: 4:3\nA dog.\n'), ['invalid-value@4:3']);
    assert.deepEqual(summary('[scene A]\nmodel: kling-2.6\nA dog.\n'), ['invalid-value@kling-2.6']);
  });

  test('cfg-scale is a number 0–1', () => {
    // Valid values are sent; that kling-3.0 takes them is unconfirmed (a note on each line).
    assert.deepEqual(summary('cfg-scale: 0.5\n\n[scene A]\ncfg-scale: 1\nA dog.\n'), [
      'unconfirmed-setting@cfg-scale',
      'unconfirmed-setting@cfg-scale',
    ]);
    for (const bad of ['1.5', '-0.1', 'high']) {
      assert.deepEqual(summary(`[scene A]\ncfg-scale: ${bad}\nA dog.\n`), [`invalid-value@${bad}`]);
    }
  });

  test('camera: presets and AXIS N with N in -10..10, not 0 (kling)', () => {
    const k = (v: string) => summary(`provider: kling\n\n[scene A]\ncamera: ${v}\nA dog.\n`);
    for (const good of ['down_back', 'zoom 5', 'pan -10', 'tilt 2.5'])
      assert.deepEqual(k(good), ['unconfirmed-setting@camera'], good);
    for (const bad of ['zoom 11', 'zoom 0', 'spin 3', 'zoom', 'zoom five']) {
      assert.deepEqual(k(bad), [`invalid-value@${bad}`], bad);
    }
    assert.match(
      check('provider: kling\n\n[scene A]\ncamera: zoom 11\nA dog.\n')[0].message,
      /-10 to 10/,
    );
  });

  test('kling-only keys are unsupported on kie and get no value check there', () => {
    const doc =
      'negative: blurry\nwatermark: maybe\n\n[scene A]\nshot-type: whatever\ncamera: zoom 11\nA dog.\n';
    assert.deepEqual(summary(doc), [
      'unsupported-setting@negative',
      'unsupported-setting@watermark',
      'unsupported-setting@shot-type',
      'unsupported-setting@camera',
    ]);
    assert.deepEqual(summary(doc, { defaultProvider: 'kling' }), [
      'invalid-value@maybe',
      'invalid-value@whatever',
      'invalid-value@zoom 11',
    ]);
  });

  test('an unknown provider is invalid-value and the default provider applies', () => {
    const shots = Array.from({ length: 6 }, (_, i) => `[shot 2s]\nshot ${i}\n`).join('');
    const doc = `provider: openai\n\n[scene A]\n${shots}`;
    assert.deepEqual(summary(doc), ['invalid-value@openai', 'too-many-shots@[shot 2s]']);
    assert.deepEqual(summary(doc, { defaultProvider: 'kling' }), ['invalid-value@openai']);
  });

  test('an empty value marks `key:`', () => {
    assert.deepEqual(summary('[scene A]\nmode:\nA dog.\n'), ['invalid-value@mode:']);
  });

  test('element ids are whole numbers', () => {
    const doc = (id: string) =>
      `provider: kling\n\n[element dog]\nid: ${id}\nA puppy.\n\n[scene A]\nfirst-frame: f.png\n@dog\n`;
    assert.deepEqual(summary(doc('160')), []);
    assert.deepEqual(summary(doc('dog-1')), ['invalid-value@dog-1']);
  });

  test('on kling: no id and no media is element-no-media only', () => {
    const doc =
      'provider: kling\n\n[element dog]\nA puppy.\n\n[scene A]\nfirst-frame: f.png\n@dog\n';
    assert.deepEqual(summary(doc), ['element-no-media@[element dog]']);
  });
});

describe('look-alike settings', () => {
  test('a capitalised key in a scene is sent as prompt text: warn with the real key', () => {
    const doc = '[scene A]\nmode: pro\nDuration: 10\nA dog runs.\n';
    const ds = check(doc);
    assert.deepEqual(
      ds.map((d) => [d.code, d.severity, doc.slice(d.span.offset, d.span.offset + d.span.length)]),
      [['unknown-setting', 'warning', 'Duration']],
    );
    assert.match(ds[0].message, /sent as prompt text; did you mean `duration:`\?/);
    assert.equal(ds[0].data?.suggestion, 'duration');
  });

  test('spaced keys normalise too; prose with a colon does not warn', () => {
    assert.deepEqual(summary('[scene A]\nFirst Frame: a.png\nA dog.\n'), [
      'unknown-setting@First Frame',
    ]);
    assert.deepEqual(summary('[scene A]\nmode : pro\nA dog.\n'), ['unknown-setting@mode']);
    assert.deepEqual(summary('[scene A]\nNote: the dog is brown.\n'), []);
    assert.deepEqual(summary('[scene A]\nA dog.\nDuration: 10\n'), []);
  });

  test('in an element the line becomes the description; in the header it is ignored', () => {
    const el = check(
      `[element dog]\nImages: a.jpg, b.jpg\nA puppy.\n\n[scene A]\nfirst-frame: f.png\n@dog\n`,
    );
    assert.ok(el.some((d) => d.code === 'unknown-setting' && /description/.test(d.message)));
    const head = check('Provider: kling\n\n[scene A]\nA dog.\n');
    assert.deepEqual(
      head.map((d) => [d.code, d.data?.suggestion]),
      [['unknown-setting', 'provider']],
    );
  });
});

describe('provider-dependent limits', () => {
  const shot = (n: number) => `@dog ${'x'.repeat(n)}`; // counted: 37 + 1 + n
  const doc = (provider: Provider, n: number) =>
    `provider: ${provider}\n\n[element dog]\nid: 1\nimages: a.jpg, b.jpg\nA puppy.\n\n[scene A]\nfirst-frame: f.png\n[shot 4s]\n${shot(n)}\n`;

  test('507 counted characters: too long on kie, fine on kling (512)', () => {
    assert.deepEqual(summary(doc('kie', 469)), ['shot-too-long@[shot 4s]']);
    assert.deepEqual(summary(doc('kling', 469)), []);
    assert.deepEqual(summary(doc('kling', 475)), ['shot-too-long@[shot 4s]']);
    assert.match(
      check(doc('kling', 475))[0].message,
      /513\/512 characters \(1 element reference counts 37\) on kling/,
    );
  });

  test('lengths count code points: 300 emoji are 300 characters, not 600', () => {
    const emoji = '🐶'.repeat(300);
    assert.deepEqual(summary(`[scene A]\n[shot 4s]\n${emoji}\n`), []);
    const long = '🐶'.repeat(501);
    const [d] = check(`[scene A]\n[shot 4s]\n${long}\n`);
    assert.equal(d.code, 'shot-too-long');
    assert.match(d.message, /^Shot prompt is 501\/500 characters on kie$/);
  });

  test('escapes are counted as sent: `\\@` is one character and no reference', () => {
    const text = `\\@dog ${'x'.repeat(495)}`; // sent: "@dog " + 495 = 500
    assert.deepEqual(summary(`[scene A]\n[shot 4s]\n${text}\n`), []);
  });

  test('two references: the message counts them', () => {
    const doc2 = `${DOG}${DOG.replace('dog', 'cat')}[scene A]\nfirst-frame: f.png\n[shot 4s]\n@dog @cat ${'x'.repeat(425)}\n`;
    const [d] = check(doc2);
    assert.equal(d.code, 'shot-too-long');
    assert.match(d.message, /501\/500 characters \(2 element references count 37 each\)/);
  });
});

describe('media lookups', () => {
  test('URLs are never looked up; unknown paths give no diagnostic', () => {
    const asked: string[] = [];
    const media = (ref: string) => {
      asked.push(ref);
      return undefined;
    };
    const doc =
      '[element dog]\nimages: https://cdn.example/a.jpg, HTTP://cdn.example/b.png\nvideo: http://x/v.mp4\nA puppy.\n\n' +
      '[scene A]\nfirst-frame: frames/f.png\nlast-frame: https://cdn.example/l.png\n@dog\n';
    const ds = check(doc, { media });
    assert.deepEqual(asked, ['frames/f.png']);
    assert.deepEqual(
      ds.map((d) => d.code),
      ['element-media-conflict'],
    );
  });

  test('each image of a list is checked and marked where it is written', () => {
    const facts: Record<string, MediaFacts> = {
      'a.jpg': OK_IMAGE,
      'b.gif': { exists: true, bytes: 10, format: 'gif', width: 400, height: 400 },
      'c.png': { exists: false },
      'v.mov': { exists: true, bytes: 60 * 1024 * 1024, format: 'mov' },
    };
    const media = (ref: string) => facts[ref];
    const doc =
      '[element dog]\nimages: a.jpg,  b.gif , c.png\nA puppy.\n\n[element cat]\nvideo: v.mov\nA cat.\n\n[scene A]\nfirst-frame: a.jpg\n@dog @cat\n';
    assert.deepEqual(summary(doc, { media }), [
      'media-format@b.gif',
      'media-not-found@c.png',
      'media-too-large@v.mov',
    ]);
    assert.match(check(doc, { media })[2].message, /60\.0 MB, a video may be at most 50\.0 MB/);
  });

  test('an image can be both too small and out of aspect; a video is judged as a video', () => {
    const media = (ref: string): MediaFacts | undefined =>
      ref === 'strip.png'
        ? { exists: true, bytes: 10, format: 'png', width: 100, height: 400 }
        : ref === 'pic.jpg'
          ? OK_IMAGE
          : undefined;
    const doc =
      '[scene A]\nfirst-frame: strip.png\nA dog.\n\n[element dog]\nvideo: pic.jpg\nA puppy.\n';
    // The checks come first (an unused element is reported after the scenes), then the media
    // files they named, in the order they were checked (elements before scenes).
    assert.deepEqual(
      check(doc, { media }).map((d) => d.code),
      ['unused-element', 'media-format', 'image-too-small', 'image-aspect'],
    );
  });
});

describe('robustness', () => {
  test('parser errors are part of the output with their codes and severities', () => {
    const ds = check('[shot 4s]\na\n[scene]\n[what]\n');
    assert.deepEqual(
      ds.map((d) => [d.code, d.severity]),
      [
        ['shot-outside-scene', 'error'],
        ['unknown-block', 'error'],
        ['empty-scene', 'error'],
      ],
    );
    assert.match(ds[2].message, /Scene 1/);
  });

  test('an already cancelled token stops before any block; a later one stops early', () => {
    const doc = Array.from({ length: 50 }, (_, i) => `[scene S${i}]\n`).join('');
    assert.equal(check(doc).length, 50);
    assert.deepEqual(check(doc, { token: { isCancellationRequested: true } }), []);
    let polls = 0;
    const token = {
      get isCancellationRequested() {
        return ++polls > 10;
      },
    };
    const partial = check(doc, { token });
    assert.ok(partial.length > 0 && partial.length < 50, `got ${partial.length}`);
  });

  test('empty and blank documents are clean', () => {
    assert.deepEqual(check(''), []);
    assert.deepEqual(check('\n\r\n  \n'), []);
    assert.deepEqual(check('# only a comment'), []);
  });

  test('1 MB of `[[[[` lines, random bytes and long blank runs complete with diagnostics inside the text', () => {
    const brackets = '[[[[\n'.repeat(200_000);
    let seed = 0x9e3779b9;
    const random = () => {
      // mulberry32: a deterministic byte stream
      seed = (seed + 0x6d2b79f5) | 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) & 0xff;
    };
    const bytes = Buffer.from(Array.from({ length: 1 << 20 }, random));
    const garbage = bytes.toString('latin1');
    const blanks = `[scene A]\nmode: ${' '.repeat(500_000)}x${' '.repeat(500_000)}y\n`;
    const refs = `[scene A]\n${'@a'.repeat(300_000)}\n`;
    for (const text of [brackets, garbage, blanks, refs, bytes.toString('utf8')]) {
      const ds = check(text, { media: () => ({ exists: false }) });
      assert.ok(ds.length > 0);
      for (const d of ds) {
        assert.ok(d.span.offset >= 0 && d.span.offset + d.span.length <= text.length);
      }
    }
    assert.equal(check(brackets).filter((d) => d.code === 'syntax').length, 200_000);
  });
});

describe('text in the header zone (header-text-ignored)', () => {
  const SCENE = '[scene A]\nA cat walks.\n';

  test('no warning without header text: empty file, comments, settings, a block first', () => {
    for (const doc of [
      '',
      '\n\n   \n',
      '# My film\n# about cats\n\n' + SCENE,
      'provider: kling\nmode: pro\n\n' + SCENE,
      '# My film\nprovider: kling\n# the look\nmode: pro\n' + SCENE,
      SCENE,
      '[scene]\nA cat walks.\n',
      '\ufeffprovider: kling\r\nmode: pro\r\n\r\n[scene A]\r\nA cat walks.\r\n',
      '\ufeff# My film\r\n' + SCENE,
    ]) {
      assert.deepEqual(
        check(doc).filter((d) => d.code === 'header-text-ignored'),
        [],
        JSON.stringify(doc),
      );
    }
  });

  test('the example: settings after the text are named, and provider kling is not read', () => {
    const doc =
      '# My film\nA short film about cats.\nprovider: kling\nmode: pro\n\n[scene A]\nA cat walks.\n';
    const ds = check(doc);
    assert.deepEqual(summary(doc), [
      'header-text-ignored@A short film about cats.\nprovider: kling\nmode: pro',
    ]);
    assert.equal(ds[0].severity, 'warning');
    assert.equal(
      ds[0].message,
      'Text before the first block is not sent; `provider: kling`, `mode: pro` below it are read as text, not settings — move them above the text or make the text a # comment',
    );
    // Had `provider: kling` been read, the scene would be checked for kling.
    assert.equal(parseStoryboard(doc).storyboard.headerSettings.length, 0);
  });

  test('plain text only: the warning says it is not sent and names no settings', () => {
    const doc = 'A short film about cats.\n\nBy Ana.\n\n' + SCENE;
    const ds = check(doc);
    assert.deepEqual(summary(doc), ['header-text-ignored@A short film about cats.\n\nBy Ana.']);
    assert.equal(ds[0].message, 'Text before the first block is not sent: make it a # comment');
    assert.equal(ds[0].data, undefined);
  });

  test('one swallowed setting reads in the singular; a file without blocks warns too', () => {
    const [d] = check('A film.\nmode: pro');
    assert.equal(d.code, 'header-text-ignored');
    assert.match(d.message, /`mode: pro` below it is read as text, not a setting — move it above/);
    assert.deepEqual(d.data, { settings: ['mode'] });
  });

  test('settings before the text stay settings; only those after it are named', () => {
    const doc = 'provider: kling\nA film.\nmode: pro\n\n' + SCENE;
    const [d] = check(doc);
    assert.match(d.message, /; `mode: pro` below it is read as text/);
    assert.doesNotMatch(d.message, /provider/);
  });

  test('only header keys count as swallowed settings; many are cut short with "and N more"', () => {
    const doc =
      'Notes.\nfirst-frame: a.png\nnote: later\nprovider: kling\nmode: pro\naspect: 9:16\n' +
      'sound: on\n' +
      `negative: ${'blurry, '.repeat(10)}\n\n${SCENE}`;
    const [d] = check(doc);
    assert.equal(
      d.message,
      'Text before the first block is not sent; `provider: kling`, `mode: pro`, `aspect: 9:16` and 2 more below it are read as text, not settings — move them above the text or make the text a # comment',
    );
    assert.deepEqual(d.data, { settings: ['provider', 'mode', 'aspect', 'sound', 'negative'] });
    const [long] = check(`Notes.\nnegative: ${'blurry, '.repeat(10)}\n`);
    assert.match(long.message, /`negative: blurry, blurry, blurry, blurr…`/);
    // Cut short by whole characters: no half of an emoji.
    const [emoji] = check(`Notes.\nnegative: ${'x'.repeat(28)}🐶🐶🐶\n`);
    assert.match(emoji.message, new RegExp(`\`negative: ${'x'.repeat(28)}…\``));
  });

  test('CRLF and a byte order mark: the range starts at the text, not the BOM', () => {
    const doc = '\ufeffA film\r\nprovider: kling\r\n\r\n[scene A]\r\nA cat walks.\r\n';
    assert.deepEqual(summary(doc), ['header-text-ignored@A film\r\nprovider: kling']);
    assert.equal(check(doc)[0].span.offset, 1);
  });

  test('a look-alike that ends the zone is one unknown-setting that names what it swallows', () => {
    const doc = 'Provider: kling\nmode: pro\n\n' + SCENE;
    const ds = check(doc);
    assert.deepEqual(summary(doc), ['unknown-setting@Provider']);
    assert.match(ds[0].message, /ignored, and `mode: pro` below it is read as text; did you mean/);
  });

  test('a look-alike followed by text: both are reported, the text from its own line', () => {
    const doc = 'Provider: kling\nA film.\nmode: pro\n\n' + SCENE;
    assert.deepEqual(summary(doc).sort(), [
      'header-text-ignored@A film.\nmode: pro',
      'unknown-setting@Provider',
    ]);
    // A `Title:` line is no known key: it is plain text, not a look-alike.
    assert.deepEqual(summary('Title: Cats\nprovider: kling\n\n' + SCENE), [
      'header-text-ignored@Title: Cats\nprovider: kling',
    ]);
  });

  test('body text of scenes and elements is their prompt or description: setting-in-text, not unknown-setting', () => {
    const doc = `${DOG}[scene A]\nfirst-frame: f.png\nThe @dog runs.\nmode: pro\n`;
    assert.deepEqual(summary(doc), ['setting-in-text@mode']);
  });

  test('an escaped line is text, and `\\#` does not make it a comment', () => {
    assert.deepEqual(summary('\\# not a comment\nmode: pro\n\n' + SCENE), [
      'header-text-ignored@\\# not a comment\nmode: pro',
    ]);
  });
});

// Effective scene settings (resolve.ts): header defaults, scene overrides, and the defaults
// of §3 that the validator, hover and the request builder share.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import fc from 'fast-check';

import { parseStoryboard } from '../../server/src/core/parse';
import {
  resolveElement,
  resolveScene,
  sentRefs,
  storyboardProvider,
} from '../../server/src/core/resolve';
import { countedLength } from '../../server/src/core/limits';
import {
  SETTINGS,
  keysForZone,
  normaliseLookalikeKey,
  readCamera,
  readDuration,
  settingSpec,
  splitMediaList,
} from '../../server/src/core/settings';
import { editDistance, nearestName } from '../../server/src/core/suggest';

function scenes(text: string, defaultProvider?: 'kie' | 'kling') {
  const { storyboard } = parseStoryboard(text);
  return storyboard.scenes.map((s) => resolveScene(storyboard, s, { defaultProvider }));
}

describe('resolveScene', () => {
  test('defaults with nothing set', () => {
    const [r] = scenes('[scene A]\nA dog.\n');
    assert.deepEqual(
      {
        provider: r.provider,
        model: r.model,
        mode: r.mode,
        aspect: r.aspect,
        aspectGiven: r.aspectGiven,
        duration: r.duration,
        durationSource: r.durationSource,
        sound: r.sound,
        watermark: r.watermark,
        output: r.output,
        multiShot: r.multiShot,
        shotType: r.shotType,
      },
      {
        provider: 'kie',
        model: 'kling-3.0',
        mode: 'std',
        aspect: '16:9',
        aspectGiven: false,
        duration: 5,
        durationSource: 'default',
        sound: false,
        watermark: false,
        output: 'renders',
        multiShot: false,
        shotType: undefined,
      },
    );
  });

  test('header defaults, scene overrides, invalid values skipped', () => {
    const text =
      'provider: kling\nmode: pro\naspect: 9:16\nsound: on\nduration: 8\noutput: out/videos\n\n' +
      '[scene A]\nmode: ultra\naspect: 1:1\nsound: false\ncfg-scale: 0.3\ncamera: pan -2.5\nnegative: blur\nA dog.\n\n' +
      '[scene B]\nduration: 12s\nA cat.\n';
    const [a, b] = scenes(text);
    assert.equal(a.provider, 'kling');
    assert.equal(a.mode, 'pro');
    assert.equal(a.aspect, '1:1');
    assert.equal(a.sound, false);
    assert.equal(a.soundSource, 'scene');
    assert.equal(a.duration, 8);
    assert.equal(a.durationSource, 'header');
    assert.equal(a.cfgScale, 0.3);
    assert.deepEqual(a.camera, { type: 'simple', axis: 'pan', amount: -2.5 });
    assert.equal(a.negative, 'blur');
    assert.equal(a.output, 'out/videos');
    assert.equal(b.duration, 12);
    assert.equal(b.durationSource, 'scene');
    assert.equal(b.sound, true);
    assert.equal(b.soundSource, 'header');
  });

  test('multi-shot: duration is the sum, the header duration does not apply, sound on', () => {
    const [r] = scenes('duration: 8\n\n[scene A]\n[shot 4s]\na\n[shot 6s]\nb\n');
    assert.equal(r.duration, 10);
    assert.equal(r.durationSource, 'shots');
    assert.equal(r.shotSum, 10);
    assert.equal(r.sound, true);
    assert.equal(r.shotType, 'customize');
    const [own] = scenes('[scene A]\nduration: 9\n[shot 4s]\na\n[shot 6s]\nb\n');
    assert.equal(own.duration, 9);
    assert.equal(own.durationSource, 'scene');
  });

  test('4K only on kie; kling-only values still resolve for the builder', () => {
    assert.equal(scenes('mode: 4K\n\n[scene A]\nx\n')[0].mode, '4K');
    assert.equal(scenes('provider: kling\nmode: 4K\n\n[scene A]\nx\n')[0].mode, 'std');
    assert.equal(scenes('[scene A]\nx\n', 'kling')[0].provider, 'kling');
  });

  test('sent references and elements: shots when there are shots, first definition wins', () => {
    const text =
      '[element dog]\nimages: a.jpg, b.jpg\nFirst.\n\n[element dog]\nvideo: v.mp4\nSecond.\n\n' +
      '[scene A]\nIgnored @cat text.\n[shot 4s]\n@dog and @ghost and @dog\n';
    const { storyboard } = parseStoryboard(text);
    const [scene] = storyboard.scenes;
    const r = resolveScene(storyboard, scene);
    assert.deepEqual(
      sentRefs(scene).map((x) => x.name),
      ['dog', 'ghost', 'dog'],
    );
    assert.deepEqual(
      r.elements.map((e) => e.body.text),
      ['First.'],
    );
    assert.deepEqual(r.undefinedNames, ['ghost']);
  });

  test('frames, storyboard provider', () => {
    const text =
      'provider: bogus\n\n[scene A]\nfirst-frame: f.png\nlast-frame: https://x/l.png\nx\n';
    const { storyboard } = parseStoryboard(text);
    assert.equal(storyboardProvider(storyboard), 'kie');
    assert.equal(storyboardProvider(storyboard, 'kling'), 'kling');
    const r = resolveScene(storyboard, storyboard.scenes[0]);
    assert.equal(r.firstFrame, 'f.png');
    assert.equal(r.lastFrame, 'https://x/l.png');
  });
});

describe('resolveElement', () => {
  test('the last images: line plus every image: line, in document order, with offsets', () => {
    const text =
      '[element dog]\nimage: one.png\nimages: old.png\nimages:  a.jpg , b.jpg,\nimage: two.png\nid: 42\nfrontal: f.jpg\nA puppy.\n';
    const { storyboard } = parseStoryboard(text);
    const r = resolveElement(storyboard.elements[0]);
    assert.deepEqual(
      r.images.map((i) => [i.ref, text.slice(i.offset, i.offset + i.length)]),
      [
        ['one.png', 'one.png'],
        ['a.jpg', 'a.jpg'],
        ['b.jpg', 'b.jpg'],
        ['two.png', 'two.png'],
      ],
    );
    assert.equal(r.id, '42');
    assert.equal(r.frontal?.ref, 'f.jpg');
    assert.equal(r.description, 'A puppy.');
  });
});

describe('settings table and helpers', () => {
  test('zones match §3', () => {
    assert.deepEqual(
      keysForZone('header').map((s) => s.key),
      [
        'provider',
        'model',
        'mode',
        'aspect',
        'duration',
        'sound',
        'negative',
        'cfg-scale',
        'watermark',
        'output',
      ],
    );
    assert.deepEqual(
      keysForZone('scene').map((s) => s.key),
      [
        'model',
        'mode',
        'aspect',
        'duration',
        'sound',
        'first-frame',
        'continue-from',
        'last-frame',
        'negative',
        'cfg-scale',
        'camera',
        'shot-type',
        'watermark',
      ],
    );
    assert.deepEqual(
      keysForZone('element').map((s) => s.key),
      ['images', 'image', 'video', 'frontal', 'id'],
    );
    assert.deepEqual(
      SETTINGS.filter((s) => s.klingOnly).map((s) => s.key),
      ['negative', 'camera', 'shot-type', 'watermark'],
    );
    assert.deepEqual(settingSpec('mode')?.providerValues, {
      kie: ['std', 'pro', '4K'],
      kling: ['std', 'pro'],
    });
    assert.equal(settingSpec('nope'), undefined);
    assert.ok(SETTINGS.every((s) => s.description.length > 0 && !s.description.includes('\n')));
  });

  test('readDuration reads exactly 1-6 ASCII digits and an optional s (any string)', () => {
    // The form §3 gives a duration, as a regular expression: the hand-written reader must agree.
    const form = /^(\d{1,6})s?$/;
    const digitsAndS = fc
      .array(fc.constantFrom('0', '1', '5', '9', 's', 'S', ' ', '.', '-', '\u0660', 'x'), {
        maxLength: 9,
      })
      .map((chars) => chars.join(''));
    fc.assert(
      fc.property(fc.oneof(digitsAndS, fc.string({ maxLength: 9 })), (value) => {
        const m = form.exec(value);
        assert.equal(readDuration(value), m ? Number(m[1]) : undefined);
      }),
      { numRuns: 2000 },
    );
  });

  test('value readers', () => {
    assert.equal(readDuration('10'), 10);
    assert.equal(readDuration('10s'), 10);
    assert.equal(readDuration('4.5'), undefined);
    assert.equal(readDuration('ten'), undefined);
    assert.equal(readDuration('007s'), 7);
    for (const no of ['', 's', '1234567', '10ss', ' 10', '10 ', '+5', '\u0665', '1e3', '0x1']) {
      assert.equal(readDuration(no), undefined, JSON.stringify(no));
    }
    assert.deepEqual(readCamera('forward_up'), { type: 'forward_up' });
    assert.deepEqual(readCamera('roll   -10'), { type: 'simple', axis: 'roll', amount: -10 });
    assert.equal(readCamera('roll -10.5'), undefined);
    assert.deepEqual(
      splitMediaList(' a.jpg,b.png , ', 100).map((i) => [i.ref, i.offset, i.length]),
      [
        ['a.jpg', 101, 5],
        ['b.png', 107, 5],
        ['', 115, 0],
      ],
    );
    assert.equal(normaliseLookalikeKey(' First Frame '), 'first-frame');
    assert.equal(normaliseLookalikeKey('CFG_scale'), 'cfg-scale');
  });

  test('suggestions: nearest within about a third of the length', () => {
    assert.equal(editDistance('dgo', 'dog'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(nearestName('durration', ['mode', 'duration']), 'duration');
    assert.equal(nearestName('Dog', ['cat', 'dog']), 'dog');
    assert.equal(nearestName('xyz', ['dog', 'cat']), undefined);
    assert.equal(nearestName('dog', ['dog']), undefined);
  });

  test('counted length: code points, each reference 37', () => {
    const { storyboard } = parseStoryboard('[scene A]\n🐶 @dog \\@cat\n');
    assert.deepEqual(countedLength(storyboard.scenes[0].body), {
      length: 1 + 1 + 37 + 1 + 4,
      refs: 1,
    });
  });
});

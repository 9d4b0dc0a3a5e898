// v2 rules of server/docs/language.md ("What you write is what is sent") beyond "each code
// fires": where each new code does and does not apply, and the `shot-type: intelligence` request.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { StoryboardDiagnostic } from '../../server/src/core/diagnostics';
import { parseStoryboard } from '../../server/src/core/parse';
import { buildRequests } from '../../server/src/core/request';
import { folderLeaves, validateStoryboard } from '../../server/src/core/validate';

function check(text: string): StoryboardDiagnostic[] {
  return validateStoryboard(parseStoryboard(text));
}

/** `code@text` for each diagnostic: what it is and what it sits on. */
function summary(text: string): string[] {
  return check(text).map(
    (d) => `${d.code}@${text.slice(d.span.offset, d.span.offset + d.span.length)}`,
  );
}

const KLING = 'provider: kling\n\n';

describe('setting-in-text', () => {
  test('a setting below the first prompt line: scene, element and shot', () => {
    assert.deepEqual(summary('[scene A]\nA dog runs.\nmode: pro\n'), ['setting-in-text@mode']);
    const element = '[element dog]\nimages: a.jpg, b.jpg\nA puppy.\nvideo: dog.mp4\n\n';
    assert.deepEqual(summary(`${element}[scene A]\nfirst-frame: f.png\n@dog runs.\n`), [
      'setting-in-text@video',
    ]);
    const shot = '[scene A]\n[shot 4s]\nA dog runs.\n  duration: 4\n[shot 3s]\nA cat.\n';
    assert.deepEqual(summary(shot), ['setting-in-text@duration']);
    const [d] = check(shot);
    assert.match(d.message, /shots take no settings/);
    assert.deepEqual(d.data, { key: 'duration', move: false });
  });

  test('an out-of-range duration and a kling-only key under kie still count (their form is allowed)', () => {
    assert.deepEqual(summary('[scene A]\nA dog runs.\nduration: 40\n'), [
      'setting-in-text@duration',
    ]);
    assert.deepEqual(summary('[scene A]\nA dog runs.\ncamera: zoom 5\n'), [
      'setting-in-text@camera',
    ]);
  });

  test('prose that only looks like a setting gets nothing', () => {
    for (const line of [
      'mode: of transport',
      'duration: ten seconds',
      'Camera: slow pan to the left.',
      'aspect:16:9',
      'provider: kling',
      'see https://example.com',
      'images: a.jpg, b.jpg',
    ]) {
      assert.deepEqual(summary(`[scene A]\nA dog runs.\n${line}\n`), [], line);
    }
  });

  test('text that is not sent gets no setting-in-text (header text, scene text under shots, shots of an intelligence scene)', () => {
    assert.deepEqual(summary('Notes.\nmode: pro\n\n[scene A]\nA dog.\n'), [
      'header-text-ignored@Notes.\nmode: pro',
    ]);
    assert.deepEqual(summary('[scene A]\nA dog.\nmode: pro\n[shot 4s]\nA cat.\n'), [
      'scene-text-ignored@A dog.\nmode: pro',
    ]);
    const intelligent = `${KLING}[scene A]\nshot-type: intelligence\nA dog runs.\n[shot 4s]\nx\nmode: pro\n`;
    assert.deepEqual(summary(intelligent), ['shots-ignored@intelligence']);
  });
});

describe('unknown-setting, narrowed to look-alikes with a value the key allows', () => {
  test('`Duration: 10` yes; `Camera: slow pan to the left.` no', () => {
    assert.deepEqual(summary('[scene A]\nDuration: 10\nA dog.\n'), ['unknown-setting@Duration']);
    assert.deepEqual(summary('[scene A]\nmode : pro\nA dog.\n'), ['unknown-setting@mode']);
    assert.deepEqual(summary('[scene A]\nCamera: slow pan to the left.\nA dog.\n'), []);
    assert.deepEqual(summary('[scene A]\nMode: of transport\nA dog.\n'), []);
  });

  test('in the header, a look-alike with a prose value is header text', () => {
    assert.deepEqual(summary('Camera: slow pan.\n\n[scene A]\nA dog.\n'), [
      'header-text-ignored@Camera: slow pan.',
    ]);
    assert.deepEqual(summary('Provider: kling\n\n[scene A]\nA dog.\n'), [
      'unknown-setting@Provider',
    ]);
  });

  test('a lowercase unknown key inside a zone is unknown-setting whatever its value', () => {
    assert.deepEqual(summary('[scene A]\ndurration: soon\nA dog.\n'), [
      'unknown-setting@durration',
    ]);
  });
});

describe('frames, sound, aspect, shot-type', () => {
  test('last-frame-needs-first-frame: kie single-shot only; with shots only last-frame-multi-shot; kling nothing', () => {
    assert.deepEqual(summary('[scene A]\nlast-frame: l.png\nA dog.\n'), [
      'last-frame-needs-first-frame@last-frame',
    ]);
    assert.deepEqual(summary('[scene A]\nlast-frame: l.png\n[shot 4s]\nA dog.\n'), [
      'last-frame-multi-shot@last-frame',
    ]);
    assert.deepEqual(summary(`${KLING}[scene A]\nlast-frame: l.png\nA dog.\n`), []);
  });

  test('sound-forced-on: inherited from the header sits on the scene header; `false` counts; on/single-shot nothing', () => {
    const shots = '[shot 4s]\nA dog.\n[shot 3s]\nA cat.\n';
    assert.deepEqual(summary(`sound: false\n\n[scene A]\n${shots}`), ['sound-forced-on@[scene A]']);
    assert.match(check(`sound: off\n\n[scene A]\n${shots}`)[0].message, /header \(line 1\)/);
    assert.deepEqual(summary(`sound: off\n\n[scene A]\nsound: on\n${shots}`), []);
    assert.deepEqual(summary('sound: off\n\n[scene A]\nA dog.\n'), []);
  });

  test("aspect-ignored: only a scene's own aspect, only on kling, with a first or last frame", () => {
    assert.deepEqual(
      summary(`${KLING}aspect: 9:16\n\n[scene A]\nfirst-frame: f.png\nA dog.\n`),
      [],
    );
    assert.deepEqual(summary('[scene A]\naspect: 9:16\nfirst-frame: f.png\nA dog.\n'), []);
    assert.deepEqual(summary(`${KLING}[scene A]\naspect: 1:1\nlast-frame: l.png\nA dog.\n`), [
      'aspect-ignored@aspect',
    ]);
  });

  test('shot-type: kling only (unsupported on kie, nothing more); intelligence without shots is clean', () => {
    assert.deepEqual(summary('[scene A]\nshot-type: customize\nA dog.\n'), [
      'unsupported-setting@shot-type',
    ]);
    assert.deepEqual(summary(`${KLING}[scene A]\nshot-type: intelligence\nA dog.\n`), []);
  });

  test('intelligence: the scene text is the prompt (empty → empty-scene, long → prompt-too-long); shots get nothing of their own', () => {
    const shots = '[shot 40s]\n\n[shot 4s]\n' + 'x'.repeat(600) + '\n';
    assert.deepEqual(summary(`${KLING}[scene A]\nshot-type: intelligence\n${shots}`), [
      'empty-scene@[scene A]',
      'shots-ignored@intelligence',
    ]);
    const long = `${KLING}[scene A]\nshot-type: intelligence\n${'y'.repeat(2501)}\n[shot 4s]\nA dog.\n`;
    assert.deepEqual(summary(long), ['prompt-too-long@[scene A]', 'shots-ignored@intelligence']);
    assert.match(check(long)[0].message, /2501\/2500/);
  });

  test('unconfirmed-setting: once, on the line whose value is sent; camera only on kling', () => {
    assert.deepEqual(summary('cfg-scale: 0.3\ncfg-scale: 0.5\n\n[scene A]\nA dog.\n'), [
      'duplicate-setting@cfg-scale',
      'unconfirmed-setting@cfg-scale',
    ]);
    const d = check('cfg-scale: 0.3\ncfg-scale: 0.5\n\n[scene A]\nA dog.\n')[1];
    assert.equal(d.span.offset, 'cfg-scale: 0.3\n'.length);
    assert.deepEqual(summary(`${KLING}[scene A]\ncamera: pan 3\nA dog.\n`), [
      'unconfirmed-setting@camera',
    ]);
  });

  test('output-outside: absolute paths and climbing `..`', () => {
    for (const out of ['/tmp/x', '../x', 'a/../../x', 'C:\\videos', '..'])
      assert.ok(folderLeaves(out), out);
    for (const out of ['renders', './renders', 'a/../b', 'takes/2026', 'a\\b'])
      assert.ok(!folderLeaves(out), out);
  });
});

describe('request: shot-type intelligence (kling)', () => {
  test('multi_shot true, shot_type intelligence, prompt = scene text, duration = own else 5; shots not sent', () => {
    const text = `${KLING}[scene A]\nshot-type: intelligence\nA dog runs, then a cat sleeps.\n[shot 4s]\nA dog runs.\n[shot 3s]\nA cat sleeps.\n\n[scene B]\nshot-type: intelligence\nduration: 12\nA long walk.\n`;
    const [a, b] = buildRequests(parseStoryboard(text).storyboard);
    assert.equal(a.endpoint, 'kling.text2video');
    assert.deepEqual(
      {
        multi_shot: a.body.multi_shot,
        shot_type: a.body.shot_type,
        prompt: a.body.prompt,
        duration: a.body.duration,
      },
      {
        multi_shot: true,
        shot_type: 'intelligence',
        prompt: 'A dog runs, then a cat sleeps.',
        duration: '5',
      },
    );
    assert.equal(a.body.multi_prompt, undefined);
    assert.deepEqual(a.notes, [
      "shot-type: intelligence: the scene's 2 [shot] blocks are not sent; Kling plans the cuts from the scene text.",
    ]);
    assert.equal(JSON.stringify(a.body).includes('A cat sleeps.'), false);
    assert.deepEqual(
      [b.body.multi_shot, b.body.shot_type, b.body.duration],
      [true, 'intelligence', '12'],
    );
  });

  test('customize (the default with shots) sends the shots and their sum', () => {
    const text = `${KLING}[scene A]\n[shot 4s]\nA dog runs.\n[shot 3s]\nA cat sleeps.\n`;
    const [a] = buildRequests(parseStoryboard(text).storyboard);
    assert.deepEqual(
      [a.body.shot_type, a.body.duration, a.body.prompt],
      ['customize', '7', undefined],
    );
  });
});

describe('continue-from counts as a first frame', () => {
  const arrival = '[scene Arrival]\nA car arrives.\n\n';
  test('kie: a last-frame with continue-from needs no first-frame', () => {
    assert.deepEqual(
      summary(
        `${arrival}[scene Departure]\ncontinue-from: Arrival\nlast-frame: l.png\nIt leaves.\n`,
      ),
      [],
    );
  });
  test('kling: a scene aspect with continue-from is not sent', () => {
    assert.deepEqual(
      summary(
        `${KLING}${arrival}[scene Departure]\ncontinue-from: Arrival\naspect: 1:1\nIt leaves.\n`,
      ),
      ['aspect-ignored@aspect'],
    );
  });
});

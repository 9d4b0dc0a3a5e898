import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStoryboard } from '../../server/src/core/parse';
import {
  buildRequests,
  externalTaskIdFor,
  sceneSlugs,
  slugify,
  type SceneRequest,
} from '../../server/src/core/request';

function build(text: string, options: Parameters<typeof buildRequests>[1] = {}): SceneRequest[] {
  return buildRequests(parseStoryboard(text).storyboard, options);
}

function check(text: string, expected: { endpoint: string; body: unknown }[]): void {
  const built = build(text);
  assert.deepEqual(
    built.map((r) => ({ endpoint: r.endpoint, body: r.body })),
    expected,
  );
}

const ELEMENTS = `[element dog]
images: refs/dog-front.jpg, refs/dog-side.png
id: 321922438904313
A golden retriever puppy.

[element cat]
video: https://cdn.example.com/cat.mp4
id: 42
A tabby cat.

[element bird]
images: refs/b1.png, refs/b2.png
A bird nobody uses.
`;

describe('request builder: KIE (kling-3.0/video)', () => {
  it('single-shot: string duration, boolean sound, aspect without frames', () => {
    check('provider: kie\nmode: pro\n[scene A]\nduration: 7s\nsound: on\nA cat sleeps.\n', [
      {
        endpoint: 'kie.createTask',
        body: {
          model: 'kling-3.0/video',
          input: {
            multi_shots: false,
            prompt: 'A cat sleeps.',
            sound: true,
            duration: '7',
            mode: 'pro',
            aspect_ratio: '16:9',
          },
        },
      },
    ]);
  });

  it('multi-shot: duration = shot sum as a string, shots {prompt, duration:int}, only referenced elements, frames as uploads', () => {
    const [r] = build(
      `provider: kie\n${ELEMENTS}\n[scene Run]\nfirst-frame: frames/start.png\n[shot 4s]\nA @dog runs.\n[shot 6s wide]\nThe @dog meets the @cat.\n`,
    );
    assert.equal(r!.endpoint, 'kie.createTask');
    assert.deepEqual(r!.body, {
      model: 'kling-3.0/video',
      input: {
        multi_shots: true,
        multi_prompt: [
          { prompt: 'A @dog runs.', duration: 4 },
          { prompt: 'The @dog meets the @cat.', duration: 6 },
        ],
        duration: '10',
        sound: true,
        mode: 'std',
        image_urls: ['<to upload: frames/start.png>'],
        kling_elements: [
          {
            name: 'dog',
            description: 'A golden retriever puppy.',
            element_input_urls: [
              '<to upload: refs/dog-front.jpg>',
              '<to upload: refs/dog-side.png>',
            ],
          },
          {
            name: 'cat',
            description: 'A tabby cat.',
            element_input_video_urls: ['https://cdn.example.com/cat.mp4'],
          },
        ],
      },
    });
    assert.deepEqual(
      r!.media.map((m) => [m.path.join('.'), m.ref, m.kind]),
      [
        ['input.image_urls.0', 'frames/start.png', 'image'],
        ['input.kling_elements.0.element_input_urls.0', 'refs/dog-front.jpg', 'image'],
        ['input.kling_elements.0.element_input_urls.1', 'refs/dog-side.png', 'image'],
      ],
    );
    assert.deepEqual(r!.problems, []);
  });

  it('first and last frame → image_urls [first, last]; an explicit aspect is still sent', () => {
    const [r] = build(
      'provider: kie\n[scene A]\naspect: 9:16\nfirst-frame: a.png\nlast-frame: https://x.test/b.jpg\nGo.\n',
    );
    const input = (r!.body as { input: Record<string, unknown> }).input;
    assert.deepEqual(input.image_urls, ['<to upload: a.png>', 'https://x.test/b.jpg']);
    assert.equal(input.aspect_ratio, '9:16');
  });

  it('a frame without an explicit aspect omits aspect_ratio (it follows the image)', () => {
    const [r] = build('provider: kie\n[scene A]\nfirst-frame: a.png\nGo.\n');
    assert.equal('aspect_ratio' in (r!.body as { input: object }).input, false);
  });

  it('multi-shot with sound off does not send sound:false (KIE default is on) and says so', () => {
    const [r] = build('provider: kie\nsound: off\n[scene A]\n[shot 3]\nOne.\n[shot 2]\nTwo.\n');
    assert.equal('sound' in (r!.body as { input: object }).input, false);
    assert.match(r!.notes[0]!, /always have sound/);
  });

  it('kling-only settings are not sent to KIE', () => {
    const [r] = build(
      'provider: kie\nnegative: blur\nwatermark: on\n[scene A]\ncamera: zoom 5\nGo.\n',
    );
    const input = (r!.body as { input: Record<string, unknown> }).input;
    for (const key of ['negative_prompt', 'camera_control', 'watermark_info'])
      assert.equal(key in input, false);
  });
});

describe('request builder: Kling official (kling-v3)', () => {
  it('text2video without a frame: aspect, negative, cfg, camera, watermark, string duration', () => {
    check(
      'provider: kling\nmode: pro\nnegative: blurry\ncfg-scale: 0.7\nwatermark: on\n[scene A]\nduration: 5\ncamera: zoom -3\nsound: on\nA city at night.\n',
      [
        {
          endpoint: 'kling.text2video',
          body: {
            model_name: 'kling-v3',
            multi_shot: false,
            prompt: 'A city at night.',
            negative_prompt: 'blurry',
            sound: 'on',
            cfg_scale: 0.7,
            mode: 'pro',
            aspect_ratio: '16:9',
            duration: '5',
            camera_control: {
              type: 'simple',
              config: { horizontal: 0, vertical: 0, pan: 0, tilt: 0, roll: 0, zoom: -3 },
            },
            watermark_info: { enabled: true },
          },
        },
      ],
    );
  });

  it('image2video with a first frame: image as base64 placeholder, no aspect_ratio, element_list from id', () => {
    const [r] = build(
      `provider: kling\n${ELEMENTS}\n[scene A]\nfirst-frame: f.png\nduration: 5\nThe @dog and the @cat.\n`,
    );
    assert.equal(r!.endpoint, 'kling.image2video');
    const body = r!.body as Record<string, unknown>;
    assert.equal(body.image, '<base64 of f.png>');
    assert.equal('aspect_ratio' in body, false);
    assert.deepEqual(body.element_list, [{ element_id: 321922438904313 }, { element_id: 42 }]);
    assert.equal(body.prompt, 'The <<<element_1>>> and the <<<element_2>>>.');
    assert.deepEqual(r!.media, [{ path: ['image'], ref: 'f.png', kind: 'image' }]);
  });

  it('an aspect written for an image2video scene is not sent, and the preview says so', () => {
    const [withAspect, without] = build(
      'provider: kling\n[scene A]\naspect: 9:16\nfirst-frame: f.png\nGo.\n[scene B]\nfirst-frame: f.png\nGo.\n',
    );
    assert.equal('aspect_ratio' in withAspect!.body, false);
    assert.deepEqual(withAspect!.notes, [
      "aspect 9:16 is not sent: Kling's image-to-video takes the ratio of the frame image.",
    ]);
    assert.deepEqual(without!.notes, []);
  });

  it('@name can be kept as written (unconfirmed reference syntax is configurable)', () => {
    const [r] = build(`provider: kling\n${ELEMENTS}\n[scene A]\nfirst-frame: f.png\nThe @dog.\n`, {
      klingRefStyle: 'as-written',
    });
    assert.equal((r!.body as { prompt: string }).prompt, 'The @dog.');
  });

  it('multi-shot: multi_shot + shot_type customize + {index, prompt, duration:string}, sum as duration', () => {
    const [r] = build(
      'provider: kling\n[scene A]\n[shot 2]\nOne.\n[shot 3]\nTwo.\n[shot 4]\nThree.\n',
    );
    const body = r!.body as Record<string, unknown>;
    assert.equal(r!.endpoint, 'kling.text2video');
    assert.equal(body.multi_shot, true);
    assert.equal(body.shot_type, 'customize');
    assert.deepEqual(body.multi_prompt, [
      { index: 1, prompt: 'One.', duration: '2' },
      { index: 2, prompt: 'Two.', duration: '3' },
      { index: 3, prompt: 'Three.', duration: '4' },
    ]);
    assert.equal(body.duration, '9');
    assert.equal(body.sound, 'on');
    assert.equal('prompt' in body, false);
  });

  it('a last frame alone is image2video with image_tail', () => {
    const [r] = build('provider: kling\n[scene A]\nlast-frame: end.jpg\nGo.\n');
    assert.equal(r!.endpoint, 'kling.image2video');
    assert.equal((r!.body as Record<string, unknown>).image_tail, '<base64 of end.jpg>');
  });

  it('elements without a first frame or without an id are problems, not silent drops', () => {
    const [noFrame] = build(`provider: kling\n${ELEMENTS}\n[scene A]\nThe @dog.\n`);
    assert.match(noFrame!.problems.join(), /only with a first-frame/);
    const [noId] = build(
      `provider: kling\n${ELEMENTS}\n[scene A]\nfirst-frame: f.png\nThe @bird.\n`,
    );
    assert.match(noId!.problems.join(), /@bird has no element id/);
  });
});

describe('request builder: determinism and naming', () => {
  it('the same text gives byte-identical bodies', () => {
    const text = `provider: kie\n${ELEMENTS}\n[scene A]\nfirst-frame: f.png\n[shot 3]\nA @dog.\n[shot 3]\nA @cat.\n`;
    assert.equal(JSON.stringify(build(text)), JSON.stringify(build(text)));
  });

  it('comments and formatting that do not change what is sent do not change the body', () => {
    const a = build('provider: kie\n[scene A]\nduration: 5\nA cat.\n');
    const b = build(
      '# note\nprovider:   kie\n\n[scene A]\n# a comment\nduration: 5\n\nA cat.   \n\n',
    );
    assert.deepEqual(a[0]!.body, b[0]!.body);
  });

  it('undefined elements and empty scenes are reported as problems', () => {
    const [r] = build('provider: kie\n[scene A]\nA @ghost.\n');
    assert.deepEqual(r!.problems, ['@ghost is not defined']);
  });

  it('slugs are folder-safe, unique and stable', () => {
    assert.equal(slugify('Café — Morning Run!'), 'cafe-morning-run');
    const sb = parseStoryboard('[scene Intro]\nA.\n[scene Intro]\nB.\n[scene]\nC.\n').storyboard;
    assert.deepEqual(sceneSlugs(sb), ['intro', 'intro-2', 'scene-3']);
  });

  it('external_task_id is deterministic per request hash and take', () => {
    const h = 'a'.repeat(64);
    assert.equal(externalTaskIdFor(h, 1), externalTaskIdFor(h, 1));
    assert.notEqual(externalTaskIdFor(h, 1), externalTaskIdFor(h, 2));
  });

  it('selects scenes by index', () => {
    const built = build('[scene A]\nA.\n[scene B]\nB.\n[scene C]\nC.\n', { scenes: [2, 0] });
    assert.deepEqual(
      built.map((r) => r.sceneTitle),
      ['A', 'C'],
    );
  });
});

// Take choice and the cut plan (server/src/core/film.ts): pure, no ffmpeg.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseTake, copySignature, planCut, type MediaProbe } from '../../server/src/core/film';

const done = (take: number, finishedAt: number) => ({
  take,
  state: 'done',
  videoPath: `/r/take-${take}.mp4`,
  finishedAt,
});

function probe(over: Partial<MediaProbe['video']> = {}, audio = true, duration = 5): MediaProbe {
  return {
    duration,
    video: {
      type: 'video',
      codec: 'h264',
      profile: 'High',
      width: 1280,
      height: 720,
      pixFmt: 'yuv420p',
      frameRate: '24/1',
      timeBase: '1/12288',
      ...over,
    },
    audio: audio
      ? { type: 'audio', codec: 'aac', profile: 'LC', sampleRate: 48000, channels: 2 }
      : undefined,
    videoStreams: 1,
    audioStreams: audio ? 1 : 0,
  };
}

describe('chooseTake', () => {
  it('defaults to the latest finished take, skipping failed, running and deleted ones', () => {
    const takes = [
      done(1, 100),
      done(2, 300),
      { take: 3, state: 'failed', finishedAt: 400 },
      { take: 4, state: 'running' },
      { take: 5, state: 'done', finishedAt: 500 }, // video deleted: no videoPath
    ];
    const c = chooseTake(takes);
    assert.equal(c.take?.take, 2);
    assert.equal(c.by, 'latest');
  });

  it('latest means most recently finished, the higher take number on a tie', () => {
    assert.equal(chooseTake([done(1, 900), done(2, 300)]).take?.take, 1);
    assert.equal(chooseTake([done(2, 300), done(3, 300)]).take?.take, 3);
  });

  it('a usable choice wins; an unusable one falls back to the default and is reported', () => {
    const takes = [done(1, 100), done(2, 300), { take: 3, state: 'failed' }];
    assert.deepEqual(chooseTake(takes, 1), { take: takes[0], by: 'choice' });
    const fallback = chooseTake(takes, 3);
    assert.equal(fallback.take?.take, 2);
    assert.equal(fallback.by, 'latest');
    assert.equal(fallback.unusableChoice, 3);
    assert.deepEqual(chooseTake([], 2), { by: 'none', unusableChoice: 2 });
    assert.deepEqual(chooseTake([{ take: 1, state: 'running' }]), { by: 'none' });
  });
});

describe('planCut', () => {
  const take = (n: number, p: MediaProbe) => ({ take: n, videoPath: `/r/${n}.mp4`, probe: p });

  it('stream copy when every scene has a take with the same codec parameters', () => {
    const plan = planCut([
      { sceneIndex: 0, sceneTitle: 'A', seconds: 5, take: take(1, probe({}, true, 5.02)) },
      { sceneIndex: 1, sceneTitle: 'B', seconds: 10, take: take(2, probe({}, true, 10)) },
    ]);
    assert.equal(plan.mode, 'copy');
    assert.deepEqual(plan.reasons, []);
    assert.deepEqual(plan.warnings, []);
    assert.equal(plan.totalSeconds, 15.02);
    assert.deepEqual(
      plan.segments.map((s) => [s.kind, s.sceneTitle, s.seconds]),
      [
        ['take', 'A', 5.02],
        ['take', 'B', 10],
      ],
    );
  });

  for (const [what, other] of [
    ['frame size', { width: 1920, height: 1080 }],
    ['frame rate', { frameRate: '30/1' }],
    ['codec', { codec: 'hevc' }],
    ['pixel format', { pixFmt: 'yuv444p' }],
  ] as const) {
    it(`re-encodes when the takes differ in ${what}`, () => {
      const plan = planCut([
        { sceneIndex: 0, sceneTitle: 'A', seconds: 5, take: take(1, probe()) },
        { sceneIndex: 1, sceneTitle: 'B', seconds: 5, take: take(1, probe(other)) },
      ]);
      assert.equal(plan.mode, 're-encode');
      assert.deepEqual(plan.reasons, ['the takes differ in codec parameters']);
      // The first take decides the size and rate of the cut.
      assert.deepEqual([plan.width, plan.height, plan.frameRate], [1280, 720, '24/1']);
    });
  }

  it('a scene without a take is a still (first frame or black) with a warning, and forces a re-encode', () => {
    const plan = planCut([
      { sceneIndex: 0, sceneTitle: 'A', seconds: 5, take: take(1, probe()) },
      { sceneIndex: 1, sceneTitle: 'B', seconds: 4, still: '/f/first.png' },
      { sceneIndex: 2, sceneTitle: 'C', seconds: 3 },
    ]);
    assert.equal(plan.mode, 're-encode');
    assert.deepEqual(plan.segments.slice(1), [
      { kind: 'still', sceneIndex: 1, sceneTitle: 'B', image: '/f/first.png', seconds: 4 },
      { kind: 'still', sceneIndex: 2, sceneTitle: 'C', image: undefined, seconds: 3 },
    ]);
    assert.equal(plan.totalSeconds, 12);
    assert.deepEqual(plan.warnings, [
      'B: no take yet; its first frame is held for 4 s.',
      'C: no take yet; black is held for 3 s.',
    ]);
  });

  it('a take without audio gets silence (re-encode) and a warning', () => {
    const plan = planCut([
      { sceneIndex: 0, sceneTitle: 'A', seconds: 5, take: take(1, probe()) },
      { sceneIndex: 1, sceneTitle: 'B', seconds: 5, take: take(3, probe({}, false)) },
    ]);
    assert.equal(plan.mode, 're-encode');
    assert.equal(plan.segments[1]!.kind === 'take' && plan.segments[1]!.hasAudio, false);
    assert.match(plan.warnings[0]!, /B: take 3 has no audio; silence fills its 5 s/);
  });

  it('only stills: 1280×720 at 24 fps; odd sizes are rounded to even', () => {
    const stills = planCut([{ sceneIndex: 0, sceneTitle: 'A', seconds: 5 }]);
    assert.deepEqual([stills.width, stills.height, stills.frameRate], [1280, 720, '24']);
    const odd = planCut([
      {
        sceneIndex: 0,
        sceneTitle: 'A',
        seconds: 5,
        take: take(1, probe({ width: 641, height: 359 })),
      },
    ]);
    assert.deepEqual([odd.width, odd.height], [642, 360]);
  });

  it('copySignature needs exactly one video and one audio stream', () => {
    assert.equal(copySignature(probe({}, false)), undefined);
    assert.equal(copySignature({ ...probe(), videoStreams: 2 }), undefined);
    assert.equal(copySignature(probe()), copySignature(probe({}, true, 9)));
  });
});

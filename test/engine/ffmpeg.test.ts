// Finding ffmpeg/ffprobe (server/src/render/ffmpeg.ts): an explicit path, FFMPEG_PATH, PATH,
// ffprobe beside ffmpeg; when missing, a message that says how to install it.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  extractLastFrame,
  findFfmpeg,
  FfmpegMissingError,
  onPath,
  probeMedia,
} from '../../server/src/render/ffmpeg';
import { makeVideo } from '../fake-server/videos';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ksb-ffmpeg-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A folder with ffmpeg and ffprobe (symlinks to the real ones) under the given names. */
function toolFolder(name: string, names: string[]): string {
  const folder = path.join(dir, name);
  mkdirSync(folder);
  const real = { ffmpeg: onPath('ffmpeg')!, ffprobe: onPath('ffprobe')! };
  for (const n of names)
    symlinkSync(n.includes('probe') ? real.ffprobe : real.ffmpeg, path.join(folder, n));
  return folder;
}

describe('findFfmpeg', () => {
  it('uses PATH when nothing is configured', () => {
    const t = findFfmpeg({ env: { PATH: process.env.PATH } });
    assert.match(t.ffmpeg, /ffmpeg$/);
    assert.match(t.ffprobe, /ffprobe$/);
  });

  it('the configured path wins over FFMPEG_PATH, which wins over PATH; ffprobe is looked up beside it', () => {
    const a = toolFolder('a', ['ffmpeg-7', 'ffprobe-7']);
    const b = toolFolder('b', ['ffmpeg', 'ffprobe']);
    const env = { PATH: '', FFMPEG_PATH: path.join(b, 'ffmpeg') };
    assert.deepEqual(findFfmpeg({ env }), {
      ffmpeg: path.join(b, 'ffmpeg'),
      ffprobe: path.join(b, 'ffprobe'),
    });
    assert.deepEqual(findFfmpeg({ env, configured: path.join(a, 'ffmpeg-7') }), {
      ffmpeg: path.join(a, 'ffmpeg-7'),
      ffprobe: path.join(a, 'ffprobe-7'),
    });
  });

  it('missing: says where it looked and how to install it on each platform', () => {
    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    const notExe = path.join(empty, 'ffmpeg');
    writeFileSync(notExe, '');
    chmodSync(notExe, 0o644);
    for (const [opts, where] of [
      [{ env: { PATH: empty } }, /not found on PATH/],
      [{ env: { PATH: '', FFMPEG_PATH: notExe } }, /not found at .*\(FFMPEG_PATH\)/],
      [
        { env: { PATH: '' }, configured: '/nowhere/ffmpeg' },
        /\/nowhere\/ffmpeg \(kling\.ffmpegPath\)/,
      ],
    ] as const) {
      assert.throws(
        () => findFfmpeg(opts),
        (e: unknown) =>
          e instanceof FfmpegMissingError &&
          where.test(e.message) &&
          /apt-get install ffmpeg/.test(e.message) &&
          /brew install ffmpeg/.test(e.message) &&
          /winget install Gyan\.FFmpeg/.test(e.message),
      );
    }
    // ffmpeg alone, without ffprobe beside it or on PATH, is not enough.
    const lone = toolFolder('lone', ['ffmpeg']);
    assert.throws(() => findFfmpeg({ env: { PATH: lone } }), /ffprobe was not found beside/);
  });
});

describe('probeMedia and extractLastFrame', () => {
  it('reads streams and duration, and saves the last frame as a PNG', async () => {
    const tools = findFfmpeg();
    const video = path.join(dir, 'v.mp4');
    writeFileSync(video, makeVideo({ rgb: [10, 200, 30], seconds: 2, width: 320, height: 320 }));
    const p = await probeMedia(tools, video);
    assert.equal(p.videoStreams, 1);
    assert.equal(p.audioStreams, 1);
    assert.equal(p.video?.width, 320);
    assert.equal(p.audio?.codec, 'aac');
    assert.ok(Math.abs(p.duration - 2) < 0.1, String(p.duration));
    const png = path.join(dir, 'last.png');
    await extractLastFrame(tools, video, png);
    const still = await probeMedia(tools, png);
    assert.equal(still.video?.codec, 'png');
    assert.equal(still.video?.width, 320);
  });
});

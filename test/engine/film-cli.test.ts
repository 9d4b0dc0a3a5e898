// The film commands as a user runs them: `takes` and `cut` of the bundled CLI in a child process,
// against the fake server serving real MP4s made with ffmpeg (a solid colour per task, with sound).
// The cut is checked with ffprobe: one video and one audio stream, the scenes' durations summed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startFakeServer, type FakeServer } from '../fake-server/server';
import { taskColour, taskVideos } from '../fake-server/videos';
import { bundleCli } from './cli-bundle';
import { makeProject, type Project, startCli } from './helpers';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** ffprobe's view of a file: duration and the number of streams per kind. */
function probe(file: string): { duration: number; video: number; audio: number; codec: string } {
  const out = execFileSync('ffprobe', [
    ...['-v', 'error', '-show_entries', 'format=duration:stream=codec_type,codec_name'],
    ...['-of', 'json', file],
  ]).toString();
  const json = JSON.parse(out) as {
    format: { duration: string };
    streams: { codec_type: string; codec_name: string }[];
  };
  return {
    duration: Number(json.format.duration),
    video: json.streams.filter((s) => s.codec_type === 'video').length,
    audio: json.streams.filter((s) => s.codec_type === 'audio').length,
    codec: json.streams.find((s) => s.codec_type === 'video')?.codec_name ?? '',
  };
}

/** The mean RGB of a video's frame at `seconds` (scaled to one pixel by ffmpeg). */
function colourAt(file: string, seconds: number): number[] {
  const raw = execFileSync('ffmpeg', [
    ...['-v', 'error', '-ss', String(seconds), '-i', file, '-frames:v', '1'],
    ...['-vf', 'crop=16:16,scale=1:1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
  ]);
  return [...raw.subarray(0, 3)];
}

function near(actual: number[], expected: readonly number[], tolerance = 24): boolean {
  return actual.every((c, i) => Math.abs(c - expected[i]!) <= tolerance);
}

const BOARD = `provider: kie

[scene Opening]
duration: 3
A red dawn over the sea.

[scene Middle]
duration: 4
first-frame: frames/f1.png
A green field.

[scene Closing]
duration: 5
A blue night.
`;

describe('kling-storyboard takes and cut (real MP4s, ffmpeg)', () => {
  let server: FakeServer;
  let project: Project;
  let bundle: string;
  let bundleDir: string;
  /** Task index → another frame size, to force the re-encode path. */
  let sizeOverride: (index: number) => { width: number; height: number } | undefined;

  before(async () => {
    // Own bundle in a temp folder: parallel suites rebuild dist/cli.js.
    bundle = await bundleCli();
    bundleDir = path.dirname(bundle);
    server = await startFakeServer({
      pollsToFinish: 1,
      video: taskVideos({ override: (i) => sizeOverride(i) }),
    });
  });
  after(async () => {
    await server.close();
    rmSync(bundleDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    server.reset();
    sizeOverride = () => undefined;
    project = makeProject();
  });

  async function run(args: string[], extra: Record<string, string> = {}): Promise<Run> {
    const cli = startCli(bundle, server, project, args, extra);
    const code = await cli.closed;
    return { code, stdout: cli.stdout(), stderr: cli.stderr() };
  }

  async function render(...scenes: string[]): Promise<void> {
    const args = ['render', 'board.kling', '--concurrency', '1'];
    for (const s of scenes) {
      const r = await run([...args, '--scene', s]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    if (scenes.length === 0) {
      const r = await run(args);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
  }

  it('takes lists each scene, marks the latest finished take, and --use changes the choice (kept on disk)', async () => {
    project.file('board.kling', BOARD);
    await render('Opening');
    const again = await run(['render', 'board.kling', '--scene', 'Opening', '--new-take']);
    assert.equal(again.code, 0, again.stderr);
    const listed = await run(['takes', 'board.kling']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^Opening \(3 s\): take 2, latest finished$/m);
    assert.match(listed.stdout, /^ {2}\* take 2: done /m);
    assert.match(listed.stdout, /^ {4}take 1: done /m);
    assert.match(listed.stdout, /^Middle \(4 s\): no finished take$/m);

    const used = await run(['takes', 'board.kling', '--scene', 'Opening', '--use', '1']);
    assert.equal(used.code, 0, used.stderr);
    assert.match(used.stdout, /^Opening \(3 s\): take 1, chosen$/m);
    const file = path.join(project.dir, 'renders', '.chosen-takes.json');
    const stored = JSON.parse(readFileSync(file, 'utf8')) as {
      storyboards: Record<string, Record<string, { take: number }>>;
    };
    assert.equal(stored.storyboards.board!.opening!.take, 1);
    // A new process reads the same choice.
    const reread = await run(['takes', 'board.kling', '--scene', 'Opening']);
    assert.match(reread.stdout, /^ {2}\* take 1: done /m);

    const bad = await run(['takes', 'board.kling', '--scene', 'Opening', '--use', '7']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Opening has no take 7 \(takes: 1, 2\)/);
    const noScene = await run(['takes', 'board.kling', '--use', '1']);
    assert.equal(noScene.code, 2);
  });

  it('cut joins the chosen takes by stream copy when they share codec parameters', async () => {
    project.file('board.kling', BOARD);
    await render();
    const r = await run(['cut', 'board.kling']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /stream copy/);
    const out = path.join(project.dir, 'renders', 'board', 'cut.mp4');
    const p = probe(out);
    assert.equal(p.video, 1);
    assert.equal(p.audio, 1);
    assert.ok(Math.abs(p.duration - 12) <= 0.25, `duration ${p.duration}, expected 12 ± 0.25`);
    // Storyboard order: task 0 (red) first, task 2 (blue) last.
    assert.ok(near(colourAt(out, 1), taskColour(0)), `first scene colour ${colourAt(out, 1)}`);
    assert.ok(near(colourAt(out, 10), taskColour(2)), `last scene colour ${colourAt(out, 10)}`);
    const sidecar = JSON.parse(
      readFileSync(path.join(project.dir, 'renders', 'board', 'cut.json'), 'utf8'),
    ) as { mode: string; scenes: { scene: string; take: number | null }[] };
    assert.equal(sidecar.mode, 'copy');
    assert.deepEqual(
      sidecar.scenes.map((s) => [s.scene, s.take]),
      [
        ['Opening', 1],
        ['Middle', 1],
        ['Closing', 1],
      ],
    );
    // No temp file is left beside it.
    assert.deepEqual(
      readdirSync(path.join(project.dir, 'renders', 'board')).filter((n) => n.includes('.tmp')),
      [],
    );
  });

  it('a scene renamed after its render keeps its take: takes lists it, the cut plays it', async () => {
    project.file('board.kling', BOARD);
    await render();
    // Its take is in renders/board/middle/ and its ledger entry says "middle": found by request.
    project.file('board.kling', BOARD.replace('[scene Middle]', '[scene Meadow]'));
    const listed = await run(['takes', 'board.kling']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^Meadow \(4 s\): take 1, latest finished$/m);
    const r = await run(['cut', 'board.kling']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = path.join(project.dir, 'renders', 'board', 'cut.mp4');
    // Opening is 0-3 s, Meadow 3-7 s: its own take (task 1), not a black still.
    assert.ok(near(colourAt(out, 5), taskColour(1)), `renamed scene colour ${colourAt(out, 5)}`);
    const sidecar = JSON.parse(
      readFileSync(path.join(project.dir, 'renders', 'board', 'cut.json'), 'utf8'),
    ) as { scenes: { scene: string; take: number | null }[] };
    assert.deepEqual(
      sidecar.scenes.map((s) => [s.scene, s.take]),
      [
        ['Opening', 1],
        ['Meadow', 1],
        ['Closing', 1],
      ],
    );
    // And a render reuses it: nothing is paid for again.
    const again = await run(['render', 'board.kling']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.equal(server.state.createdCount(), 3);
  });

  it('a storyboard file renamed after its render keeps its takes, before any new render', async () => {
    project.file('board.kling', BOARD);
    await render();
    renameSync(path.join(project.dir, 'board.kling'), path.join(project.dir, 'film.kling'));
    const listed = await run(['takes', 'film.kling']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^Opening \(3 s\): take 1, latest finished$/m);
    assert.match(listed.stdout, /^Middle \(4 s\): take 1, latest finished$/m);
    assert.match(listed.stdout, /^Closing \(5 s\): take 1, latest finished$/m);
    const r = await run(['cut', 'film.kling']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = path.join(project.dir, 'renders', 'film', 'cut.mp4');
    assert.ok(near(colourAt(out, 5), taskColour(1)), `middle scene colour ${colourAt(out, 5)}`);
    assert.equal(server.state.createdCount(), 3);
  });

  it('cut re-encodes to H.264/AAC when the takes differ, into the file given with -o', async () => {
    sizeOverride = (i) => (i === 1 ? { width: 480, height: 480 } : undefined);
    project.file('board.kling', BOARD);
    await render();
    const r = await run(['cut', 'board.kling', '-o', 'film/final.mp4']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /re-encoded to H\.264\/AAC \(the takes differ in codec parameters\)/);
    const out = path.join(project.dir, 'film', 'final.mp4');
    const p = probe(out);
    assert.equal(p.codec, 'h264');
    assert.equal(p.video, 1);
    assert.equal(p.audio, 1);
    assert.ok(Math.abs(p.duration - 12) <= 0.25, `duration ${p.duration}, expected 12 ± 0.25`);
    assert.ok(near(colourAt(out, 5), taskColour(1)), `middle colour ${colourAt(out, 5)}`);
    assert.ok(existsSync(path.join(project.dir, 'film', 'final.json')));
  });

  it('cut holds the first frame of a scene without a take for its duration, with a warning', async () => {
    project.file('board.kling', BOARD);
    await render('Opening', 'Closing');
    const r = await run(['cut', 'board.kling']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /warning: Middle: no take yet; its first frame is held for 4 s/);
    assert.match(r.stdout, /Middle: first frame \(still\) · 4 s/);
    const out = path.join(project.dir, 'renders', 'board', 'cut.mp4');
    const p = probe(out);
    assert.equal(p.video, 1);
    assert.equal(p.audio, 1);
    assert.ok(Math.abs(p.duration - 12) <= 0.25, `duration ${p.duration}, expected 12 ± 0.25`);
    // The still is frames/f1.png (makePng), not black and not a take's colour.
    const still = colourAt(out, 5);
    assert.ok(!near(still, [0, 0, 0], 8), `still is black: ${still}`);
    assert.ok(!near(still, taskColour(0)) && !near(still, taskColour(1)), `still ${still}`);
    // Without a first frame the scene is black.
    project.file('board.kling', BOARD.replace('first-frame: frames/f1.png\n', ''));
    const black = await run(['cut', 'board.kling', '-o', 'black.mp4']);
    assert.equal(black.code, 0, black.stderr);
    assert.match(black.stderr, /Middle: no take yet; black is held for 4 s/);
    assert.ok(near(colourAt(path.join(project.dir, 'black.mp4'), 5), [0, 0, 0], 8));
  });

  it('without ffmpeg, cut says how to install it and takes still works', async () => {
    project.file('board.kling', BOARD);
    const empty = mkdtempSync(path.join(os.tmpdir(), 'ksb-nopath-'));
    writeFileSync(path.join(empty, 'README'), 'no ffmpeg here');
    try {
      const r = await run(['cut', 'board.kling'], { PATH: empty });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /ffmpeg was not found on PATH/);
      assert.match(r.stderr, /apt-get install ffmpeg/);
      assert.match(r.stderr, /brew install ffmpeg/);
      assert.match(r.stderr, /winget install/);
      const wrong = await run(['cut', 'board.kling'], { FFMPEG_PATH: path.join(empty, 'ffmpeg') });
      assert.match(wrong.stderr, /ffmpeg was not found at .*\(FFMPEG_PATH\)/);
      const takes = await run(['takes', 'board.kling'], { PATH: empty });
      assert.equal(takes.code, 0, takes.stderr);
      const check = await run(['check', 'board.kling'], { PATH: empty });
      assert.equal(check.code, 0, check.stdout + check.stderr);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

// continue-from against the fake server with real MP4s: the dependent scene's first frame is the
// last frame of the source's chosen take (checked by its colour, as uploaded), its createTask is
// sent only after the source finished, and choosing another source take makes it out of date.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { planRender } from '../../server/src/render';
import { renderInOrder, syncContinuityFrames } from '../../server/src/render/continuity';
import { findFfmpeg } from '../../server/src/render/ffmpeg';
import { useTake } from '../../server/src/render/takes';
import { type FakeServer } from '../fake-server/server';
import { taskColour, taskVideos } from '../fake-server/videos';
import { engineFor, type Project, useFakeServer } from './helpers';

/** Mean RGB of the centre of an image or of a video's first frame. */
function colourOf(file: string): number[] {
  const raw = execFileSync('ffmpeg', [
    ...['-v', 'error', '-i', file, '-frames:v', '1'],
    ...['-vf', 'crop=16:16,scale=1:1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
  ]);
  return [...raw.subarray(0, 3)];
}

function near(actual: number[], expected: readonly number[], tolerance = 24): boolean {
  return actual.every((c, i) => Math.abs(c - expected[i]!) <= tolerance);
}

const BOARD = `provider: kie

[scene Arrival]
duration: 3
A red car arrives.

[scene Departure]
duration: 4
continue-from: Arrival
The car drives away.
`;

describe('continue-from (real MP4s, ffmpeg)', () => {
  let server: FakeServer;
  let project: Project;
  const tools = () => findFfmpeg();

  useFakeServer({ pollsToFinish: 2, video: taskVideos() }, (s, p) => {
    server = s;
    project = p;
  });

  it('sends the source’s last frame as the first frame, after the source task finished', async () => {
    const file = project.file('board.kling', BOARD);
    const { engine } = engineFor(server, project);
    const entries = await renderInOrder(engine, { storyboardPath: file, text: BOARD }, { tools });
    assert.deepEqual(
      entries.map((e) => [e.sceneTitle, e.state]),
      [
        ['Arrival', 'done'],
        ['Departure', 'done'],
      ],
    );
    const tasks = [...server.state.kieTasks.values()];
    assert.equal(tasks.length, 2);
    const [source, dependent] = tasks;
    // Order: the dependent's createTask comes after the source's last poll and its download.
    const log = server.state.log;
    const sourceVideo = log.findIndex(
      (l) => l.route === 'video' && l.path.includes(source!.taskId),
    );
    const creates = log.flatMap((l, i) => (l.route === 'kie.createTask' ? [i] : []));
    assert.equal(creates.length, 2);
    assert.ok(sourceVideo > creates[0]! && creates[1]! > sourceVideo, JSON.stringify(log));
    assert.equal(source!.state, 'success');
    // The uploaded first frame has the colour of the source video's last frame (task 0's).
    const url = (dependent!.body.input as { image_urls: string[] }).image_urls[0]!;
    const bytes = Buffer.from(await (await fetch(url)).arrayBuffer());
    const uploaded = path.join(project.dir, 'uploaded.png');
    writeFileSync(uploaded, bytes);
    assert.ok(near(colourOf(uploaded), taskColour(0)), `first frame ${colourOf(uploaded)}`);
    // Saved next to the source's takes.
    const frame = path.join(project.dir, 'renders', 'board', 'arrival', 'last-frame.png');
    assert.ok(existsSync(frame));
    assert.ok(near(colourOf(frame), taskColour(0)));
  });

  it('a dependent alone whose source has no take is refused, saying what is pending; nothing is sent', async () => {
    const file = project.file('board.kling', BOARD);
    const { engine, events } = engineFor(server, project);
    const entries = await renderInOrder(
      engine,
      { storyboardPath: file, text: BOARD, scenes: [1], onEvent: (e) => events.push(e) },
      { tools },
    );
    assert.equal(entries[0]!.state, 'failed');
    assert.match(
      entries[0]!.error ?? '',
      /continues from “Arrival”, which has no finished take yet — generate “Arrival” first/,
    );
    assert.equal(server.state.createdCount(), 0);
    assert.equal(server.state.uploadCount(), 0);
  });

  it('choosing another take of the source changes the frame, so the dependent’s take is out of date', async () => {
    const file = project.file('board.kling', BOARD);
    const { engine } = engineFor(server, project);
    await renderInOrder(engine, { storyboardPath: file, text: BOARD }, { tools });
    const plan = () =>
      planRender(
        { keys: { kieApiKey: server.keys.kieApiKey } },
        { storyboardPath: file, text: BOARD, scenes: [1] },
      );
    assert.equal((await plan())[0]!.action, 'reuse');
    // A second take of the source (task 2: another colour) becomes the latest finished one.
    const second = await engine.render({
      storyboardPath: file,
      text: BOARD,
      scenes: [0],
      newTake: true,
    });
    assert.equal(second[0]!.take, 2);
    await syncContinuityFrames(engine, file, BOARD, { tools });
    const frame = path.join(project.dir, 'renders', 'board', 'arrival', 'last-frame.png');
    assert.ok(near(colourOf(frame), taskColour(2)), `frame ${colourOf(frame)}`);
    assert.equal((await plan())[0]!.action, 'submit');
    // Choosing take 1 again brings the frame — and the dependent's take — back.
    assert.equal(await useTake(engine, file, BOARD, 'arrival', 1), undefined);
    await syncContinuityFrames(engine, file, BOARD, { tools });
    assert.ok(near(colourOf(frame), taskColour(0)));
    assert.equal((await plan())[0]!.action, 'reuse');
  });
});

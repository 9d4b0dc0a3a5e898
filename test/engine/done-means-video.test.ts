// Done means a video (issue 9, item 6): a success without a result URL yet is asked again, not
// failed; only MP4/MOV bytes (an `ftyp` box) become a take; the temp file of a killed download is
// removed by the next run; `watermark: on` saves the watermarked copy beside the take.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { WATERMARK_BOX, type FakeServer } from '../fake-server/server';
import { bundleCli } from './cli-bundle';
import {
  engineFor,
  KIE_BOARD,
  KLING_BOARD,
  type Project,
  startCli,
  useFakeServer,
} from './helpers';

const tinyMp4 = readFileSync(path.join(__dirname, '..', 'fixtures', 'tiny.mp4'));

describe('done means a video', () => {
  let server: FakeServer;
  let project: Project;

  useFakeServer({ pollsToFinish: 2 }, (s, p) => {
    server = s;
    project = p;
  });

  const plainDir = () => path.join(project.dir, 'renders', 'board', 'plain');

  for (const [provider, board, scene, file] of [
    ['KIE', KIE_BOARD, 2, 'board.kling'],
    ['Kling', KLING_BOARD, 1, 'kboard.kling'],
  ] as const) {
    it(`${provider}: a success whose result list is still empty is asked again, never failed; one task`, async () => {
      server.faults.emptyResultsFor(3);
      const storyboard = project.file(file, board);
      const { engine } = engineFor(server, project);
      const states: string[] = [];
      const messages: string[] = [];
      const [entry] = await engine.render({
        storyboardPath: storyboard,
        text: board,
        scenes: [scene],
        onEvent: (e) => {
          states.push(e.entry.state);
          messages.push(e.message);
        },
      });
      assert.equal(entry!.state, 'done', entry!.error);
      assert.ok(!states.includes('failed'), `states: ${states.join(', ')}`);
      assert.ok(
        messages.some((m) => /no result URL yet; asking again \(task \S+\)/.test(m)),
        messages.join('\n'),
      );
      assert.equal(server.state.createdCount(), 1);
      assert.ok(readFileSync(entry!.videoPath!).equals(tinyMp4));
    });
  }

  it('a result URL that never comes within the run: the take stays resumable with its task id, and the next run downloads it', async () => {
    server.faults.emptyResultsFor(1000);
    const storyboard = project.file('board.kling', KIE_BOARD);
    const { engine } = engineFor(server, project, { timeoutMs: 300 });
    const [first] = await engine.render({
      storyboardPath: storyboard,
      text: KIE_BOARD,
      scenes: [2],
    });
    assert.notEqual(first!.state, 'failed');
    assert.ok(['submitted', 'running'].includes(first!.state), first!.state);
    assert.ok(first!.taskId);
    server.faults.clear();
    const [second] = await engineFor(server, project).engine.render({
      storyboardPath: storyboard,
      text: KIE_BOARD,
      scenes: [2],
    });
    assert.equal(second!.state, 'done');
    assert.equal(second!.taskId, first!.taskId);
    assert.equal(server.state.createdCount(), 1);
  });

  it('an HTML page served as the result is a failed download retried later, never a done take', async () => {
    server.faults.add(
      'video',
      { type: 'status', status: 200, rawBody: '<html><body>Access denied</body></html>' },
      50,
    );
    const storyboard = project.file('board.kling', KIE_BOARD);
    const { engine } = engineFor(server, project);
    const [first] = await engine.render({
      storyboardPath: storyboard,
      text: KIE_BOARD,
      scenes: [2],
    });
    assert.equal(first!.state, 'failed');
    assert.match(first!.error!, /not a video \(text\/html, starts "<html><body>…"\)/);
    assert.match(first!.error!, /downloads it again without generating/);
    assert.equal(first!.videoPath, undefined);
    assert.deepEqual(
      readdirSync(plainDir()).filter((n) => n.startsWith('take-')),
      [],
      'no take file, no sidecar',
    );
    server.faults.clear();
    const [second] = await engine.render({
      storyboardPath: storyboard,
      text: KIE_BOARD,
      scenes: [2],
    });
    assert.equal(second!.state, 'done');
    assert.ok(readFileSync(second!.videoPath!).equals(tinyMp4));
    assert.equal(server.state.createdCount(), 1);
  });

  it('watermark: on (Kling) saves the watermarked copy beside the take', async () => {
    const board = KLING_BOARD.replace('mode: pro', 'mode: pro\nwatermark: on');
    const storyboard = project.file('kboard.kling', board);
    const { engine } = engineFor(server, project);
    const [entry] = await engine.render({ storyboardPath: storyboard, text: board, scenes: [1] });
    assert.equal(entry!.state, 'done', entry!.error);
    const [task] = [...server.state.klingTasks.values()];
    assert.deepEqual(task!.body.watermark_info, { enabled: true });
    assert.ok(readFileSync(entry!.videoPath!).equals(tinyMp4));
    const watermarked = entry!.videoPath!.replace(/\.mp4$/, '.watermarked.mp4');
    assert.ok(
      readFileSync(watermarked).equals(Buffer.concat([tinyMp4, WATERMARK_BOX])),
      'the watermarked copy is the watermark_url download',
    );
    const sidecar = JSON.parse(readFileSync(entry!.videoPath!.replace(/\.mp4$/, '.json'), 'utf8'));
    assert.equal(sidecar.watermarkedVideo, watermarked);
  });

  it('without watermark, no watermarked copy is fetched', async () => {
    const storyboard = project.file('kboard.kling', KLING_BOARD);
    const { engine } = engineFor(server, project);
    const [entry] = await engine.render({
      storyboardPath: storyboard,
      text: KLING_BOARD,
      scenes: [1],
    });
    assert.equal(entry!.state, 'done');
    assert.ok(!existsSync(entry!.videoPath!.replace(/\.mp4$/, '.watermarked.mp4')));
    assert.ok(!server.state.log.some((l) => l.route === 'video' && l.path.includes('wm')));
  });

  describe('a download killed half-way (CLI)', () => {
    let cli: string;
    before(async () => {
      cli = await bundleCli();
    });

    function start(args: string[]) {
      const run = startCli(cli, server, project, args);
      return { ...run, out: () => run.stdout() + run.stderr() };
    }

    const parts = () =>
      existsSync(plainDir()) ? readdirSync(plainDir()).filter((n) => n.endsWith('.part')) : [];

    it('leaves a .part file that the next run removes, and the take is downloaded whole', async () => {
      project.file('board.kling', KIE_BOARD);
      server.faults.add('video', { type: 'partial' });
      const first = start(['render', 'board.kling', '--scene', 'Plain']);
      const started = Date.now();
      // The half-sent body reaches the temp file; then the process is killed outright.
      while (!parts().some((n) => readFileSync(path.join(plainDir(), n)).length > 0)) {
        assert.ok(Date.now() - started < 30_000, `no partial download appeared: ${first.out()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      first.child.kill('SIGKILL');
      await first.closed;
      assert.equal(parts().length, 1, 'the killed download left its temp file');

      const second = start(['render', 'board.kling', '--scene', 'Plain']);
      assert.equal(await second.closed, 0, second.out());
      assert.deepEqual(parts(), [], 'leftover temp file removed');
      assert.ok(readFileSync(path.join(plainDir(), 'take-1.mp4')).equals(tinyMp4));
      assert.equal(server.state.createdCount(), 1);
    });
  });
});

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { previewRequests } from '../../server/src/render';
import { startFakeServer, type FakeServer } from '../fake-server/server';
import {
  engineFor,
  KIE_BOARD,
  KLING_BOARD,
  recordingSleep,
  type Project,
  useFakeServer,
} from './helpers';

const tinyMp4 = readFileSync(path.join(__dirname, '..', 'fixtures', 'tiny.mp4'));

describe('render engine against the fake server', () => {
  let server: FakeServer;
  let project: Project;

  useFakeServer({ pollsToFinish: 3 }, (s, p) => {
    server = s;
    project = p;
  });

  it('uses the configured default provider and output folder when the storyboard names none', async () => {
    const text = '[scene Plain]\nduration: 5\nA quiet empty stage.\n';
    const file = project.file('defaults.kling', text);
    const { engine } = engineFor(server, project, {
      defaultProvider: 'kling',
      defaultOutput: 'takes',
    });
    const [entry] = await engine.render({ storyboardPath: file, text });
    assert.equal(entry.state, 'done');
    assert.equal(entry.provider, 'kling');
    assert.equal(server.state.klingTasks.size, 1);
    assert.equal(server.state.kieTasks.size, 0);
    assert.equal(
      entry.videoPath,
      path.join(project.dir, 'takes', 'defaults', 'plain', 'take-1.mp4'),
    );
    assert.ok(existsSync(entry.videoPath!));
    const [preview] = previewRequests(file, text, undefined, { defaultProvider: 'kling' }) as {
      provider: string;
    }[];
    assert.equal(preview.provider, 'kling');
  });

  it('uploads a local file under its detected format: a PNG saved as frame.webp arrives as .png, image/png', async () => {
    writeFileSync(
      path.join(project.dir, 'frames', 'frame.webp'),
      readFileSync(path.join(project.dir, 'frames', 'f1.png')),
    );
    const text = '[scene Named]\nfirst-frame: frames/frame.webp\nA quiet empty stage.\n';
    const file = project.file('named.kling', text);
    const { engine } = engineFor(server, project);
    const [entry] = await engine.render({ storyboardPath: file, text });
    assert.equal(entry.state, 'done');
    assert.equal(server.state.uploads.length, 1);
    const [upload] = server.state.uploads;
    assert.match(upload.fileName, /^[0-9a-f]{32}\.png$/);
    assert.equal(upload.mimeType, 'image/png');
  });

  it('renders a whole KIE storyboard with concurrency, uploading each distinct file once', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    const { engine, events } = engineFor(server, project);
    const entries = await engine.render({
      storyboardPath: file,
      text: KIE_BOARD,
      onEvent: (e) => events.push(e),
    });

    assert.deepEqual(
      entries.map((e) => [e.sceneTitle, e.state]),
      [
        ['Morning run', 'done'],
        ['Finale', 'done'],
        ['Plain', 'done'],
      ],
    );
    assert.equal(server.state.createdCount(), 3);
    // a.png and b.png (shared element) + f1 + f2 = 4 distinct files, each uploaded once.
    assert.equal(server.state.uploadCount(), 4);
    assert.equal(new Set(server.state.uploads.map((u) => u.sha256)).size, 4);
    for (const e of entries) {
      const expected = path.join(project.dir, 'renders', 'board', e.sceneSlug, 'take-1.mp4');
      assert.equal(e.videoPath, expected);
      assert.deepEqual(readFileSync(expected), tinyMp4);
      const sidecar = JSON.parse(readFileSync(expected.replace(/\.mp4$/, '.json'), 'utf8'));
      assert.equal(sidecar.provider, 'kie');
      assert.equal(sidecar.taskId, e.taskId);
      assert.equal(sidecar.sourceUrl, e.sourceUrl);
      assert.ok(sidecar.timings.submittedAt);
      // Scenes with media show the uploaded URLs in place of local paths.
      assert.equal(JSON.stringify(sidecar.request).includes(server.url), e.sceneTitle !== 'Plain');
    }
    // The body KIE received: uploaded URLs in place of local files, duration as the shot sum.
    const morning = [...server.state.kieTasks.values()].find((t) =>
      JSON.stringify(t.body).includes('multi_prompt'),
    );
    const input = morning!.body.input as Record<string, unknown>;
    assert.equal(input.duration, '5');
    assert.match((input.image_urls as string[])[0]!, /^http:\/\/127\.0\.0\.1:\d+\/files\//);
    assert.ok(events.some((e) => /running|queued/.test(e.message)));
  });

  it('reuses a done take instead of paying again, and makes take 2 only when asked', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    const { engine } = engineFor(server, project);
    await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [2] });
    assert.equal(server.state.createdCount(), 1);
    const again = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [2] });
    assert.equal(server.state.createdCount(), 1);
    assert.equal(again[0]!.take, 1);
    const second = await engine.render({
      storyboardPath: file,
      text: KIE_BOARD,
      scenes: [2],
      newTake: true,
    });
    assert.equal(server.state.createdCount(), 2);
    assert.equal(second[0]!.take, 2);
    assert.ok(existsSync(path.join(project.dir, 'renders', 'board', 'plain', 'take-2.mp4')));
    // A changed prompt is a different request: a new take, not a reuse.
    const edited = KIE_BOARD.replace('A sunset over the sea.', 'A sunrise over the sea.');
    const third = await engine.render({ storyboardPath: file, text: edited, scenes: [2] });
    assert.equal(third[0]!.take, 3);
    assert.equal(server.state.createdCount(), 3);
  });

  it('reuses uploads across engines through the cache (24 h freshness)', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    await engineFor(server, project).engine.render({
      storyboardPath: file,
      text: KIE_BOARD,
      scenes: [1],
    });
    const uploads = server.state.uploadCount();
    const edited = KIE_BOARD.replace('sleeps in the sun', 'dozes in the sun');
    await engineFor(server, project).engine.render({
      storyboardPath: file,
      text: edited,
      scenes: [1],
    });
    assert.equal(server.state.uploadCount(), uploads);
    assert.equal(server.state.createdCount(), 2);
  });

  it('renders a Kling storyboard: image2video with raw base64 + element_list, text2video with external ids', async () => {
    const file = project.file('kboard.kling', KLING_BOARD);
    const { engine } = engineFor(server, project);
    const entries = await engine.render({ storyboardPath: file, text: KLING_BOARD });
    assert.deepEqual(
      entries.map((e) => [e.endpoint, e.state]),
      [
        ['kling.image2video', 'done'],
        ['kling.text2video', 'done'],
      ],
    );
    const tasks = [...server.state.klingTasks.values()];
    assert.equal(tasks.length, 2);
    const i2v = tasks.find((t) => t.kind === 'image2video')!;
    assert.equal(
      i2v.body.image,
      readFileSync(path.join(project.dir, 'frames', 'f1.png')).toString('base64'),
    );
    assert.deepEqual(i2v.body.element_list, [{ element_id: 12345 }]);
    assert.equal(i2v.body.prompt, 'The <<<element_1>>> runs.');
    for (const t of tasks) assert.match(String(t.body.external_task_id), /^ksb-[0-9a-f]{32}-t1$/);
    // The ledger shows the request without the base64 payload.
    assert.match(JSON.stringify(entries[0]!.request), /<base64 of f1\.png/);
  });

  it('previewRequests needs no keys or network and shows local media as "to upload"', () => {
    const preview = previewRequests('/x/board.kling', KIE_BOARD) as {
      body: unknown;
      path: string;
    }[];
    assert.equal(preview.length, 3);
    assert.equal(preview[0]!.path, '/api/v1/jobs/createTask');
    assert.match(JSON.stringify(preview[0]!.body), /<to upload: frames\/f1\.png>/);
  });

  it('reports a scene that cannot be sent without touching the network', async () => {
    const bad = 'provider: kie\n[scene Broken]\nduration: 5\nA @ghost walks.\n';
    const file = project.file('bad.kling', bad);
    const { engine } = engineFor(server, project);
    const [entry] = await engine.render({ storyboardPath: file, text: bad });
    assert.equal(entry!.state, 'failed');
    assert.match(entry!.error!, /@ghost is not defined/);
    assert.equal(server.state.createdCount(), 0);
  });

  it('a missing media file is one clear error and nothing is submitted', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    rmSync(path.join(project.dir, 'frames', 'f2.png'));
    const { engine } = engineFor(server, project);
    const [entry] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [1] });
    assert.equal(entry!.state, 'failed');
    assert.match(entry!.error!, /cannot read frames\/f2\.png \(ENOENT\)/);
    assert.equal(server.state.createdCount(), 0);
  });

  it('a task that fails remotely is reported with its message and not downloaded', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    server.faults.failNextTask('content policy: prohibited content', '422');
    const { engine } = engineFor(server, project);
    const [entry] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [2] });
    assert.equal(entry!.state, 'failed');
    assert.match(entry!.error!, /prohibited content/);
    assert.equal(entry!.videoPath, undefined);
    assert.equal(server.state.videoHits.size, 0);
  });

  it('a result URL that 404s once is downloaded on retry', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    server.faults.videoNotFoundOnce();
    const { engine } = engineFor(server, project);
    const [entry] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [2] });
    assert.equal(entry!.state, 'done');
    assert.equal([...server.state.videoHits.values()][0], 2);
  });

  it('a download that keeps failing is retried on the next run without generating again', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    server.faults.add('video', { type: 'status', status: 500, rawBody: 'oops' }, 4);
    const { engine } = engineFor(server, project);
    const [first] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [2] });
    assert.equal(first!.state, 'failed');
    assert.match(first!.error!, /downloads it again without generating/);
    assert.ok(!existsSync(path.join(project.dir, 'renders', 'board', 'plain', 'take-1.mp4')));
    const [second] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [2] });
    assert.equal(second!.state, 'done');
    assert.equal(second!.take, 1);
    assert.equal(server.state.createdCount(), 1);
  });

  it('polling survives 500s, malformed JSON, 455 and a hung request', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    server.faults.add('kie.recordInfo', { type: 'kieCode', code: 500 });
    server.faults.add('kie.recordInfo', { type: 'malformed' });
    server.faults.add('kie.recordInfo', { type: 'kieCode', code: 455 });
    server.faults.add('kie.recordInfo', { type: 'hang' });
    const { engine } = engineFor(server, project, { requestTimeoutMs: 300 });
    const [entry] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [2] });
    assert.equal(entry!.state, 'done');
    assert.equal(server.faults.pending(), 0);
    assert.equal(server.state.createdCount(), 1);
  });

  it('the polling cadence follows api-facts A4 (quick, then slower) and stays within the jitter bands', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    const slow = await startFakeServer({ pollsToFinish: 60 });
    try {
      const rec = recordingSleep(1);
      const { engine } = engineFor(slow, project, { sleep: rec.sleep, pollIntervalMs: 2500 });
      const [entry] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [2] });
      assert.equal(entry!.state, 'done');
      const first = rec.requested[0]!;
      assert.ok(first >= 2000 && first <= 3000, `first poll after ${first} ms`);
      assert.ok(rec.requested.every((ms) => ms >= 2000 && ms <= 30_000));
    } finally {
      await slow.close();
    }
  });

  it('leaves no partial files next to the videos', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    const { engine } = engineFor(server, project);
    await engine.render({ storyboardPath: file, text: KIE_BOARD });
    for (const slug of ['morning-run', 'finale', 'plain']) {
      const names = readdirSync(path.join(project.dir, 'renders', 'board', slug)).sort();
      assert.deepEqual(names, ['take-1.json', 'take-1.mp4']);
    }
  });

  it('gives up waiting after the overall timeout, keeps the take resumable, and says the task keeps running', async () => {
    const slow = await startFakeServer({ pollsToFinish: 1_000_000 });
    try {
      const file = project.file('board.kling', KIE_BOARD);
      const { engine } = engineFor(slow, project, { timeoutMs: 200 });
      const [entry] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [2] });
      assert.ok(['submitted', 'running'].includes(entry!.state));
      assert.match(entry!.error!, /stopped waiting\. The remote task keeps running/);
      assert.equal(slow.state.createdCount(), 1);
      // Still listed as unfinished work for a later resume.
      const known = await engineFor(slow, project).engine.entries();
      assert.equal(known.length, 1);
    } finally {
      await slow.close();
    }
  });

  it('Expand Element Views saves the three AI Multi-Shot views next to the frontal image', async () => {
    const { engine } = engineFor(server, project);
    const frontal = path.join(project.dir, 'refs', 'a.png');
    const views = await engine.expandElementViews(frontal);
    assert.deepEqual(
      views.map((v) => path.relative(project.dir, v)),
      ['refs/a-view-1.png', 'refs/a-view-2.png', 'refs/a-view-3.png'],
    );
    for (const v of views)
      assert.deepEqual([...readFileSync(v).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    const task = [...server.state.klingTasks.values()].find((t) => t.kind === 'ai-multi-shot')!;
    assert.equal(task.body.element_frontal_image, readFileSync(frontal).toString('base64'));
  });

  it('asks before sending a file outside the storyboard folder, and sends nothing when refused', async () => {
    const inner = path.join(project.dir, 'story');
    mkdirSync(inner);
    const board = 'provider: kie\n[scene Out]\nduration: 5\nfirst-frame: ../frames/f1.png\nGo.\n';
    const file = path.join(inner, 'out.kling');
    writeFileSync(file, board);
    const asked: string[] = [];
    const refuse = engineFor(server, project, {
      confirmOutsideUpload: async (p) => (asked.push(p), false),
    });
    const [refused] = await refuse.engine.render({ storyboardPath: file, text: board });
    assert.equal(refused!.state, 'failed');
    assert.match(refused!.error!, /outside the storyboard's folder/);
    assert.deepEqual(asked, [path.join(project.dir, 'frames', 'f1.png')]);
    assert.equal(server.state.uploadCount() + server.state.createdCount(), 0);
    const allow = engineFor(server, project, { confirmOutsideUpload: async () => true });
    const [sent] = await allow.engine.render({ storyboardPath: file, text: board });
    assert.equal(sent!.state, 'done');
  });
});

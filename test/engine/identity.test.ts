// A take is what was paid for: the ledger finds it by the request's identity, so renaming a
// scene, moving or renaming the project folder, reaching it through a symlink, or deleting an
// earlier scene with the same title reuses the take — done or still running — and never pays
// again.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { LedgerEntry } from '../../server/src/render';
import { type FakeServer } from '../fake-server/server';
import {
  engineFor,
  KIE_BOARD,
  KLING_BOARD,
  leaveRunning,
  type Project,
  useFakeServer,
} from './helpers';

const PLAIN = 2; // KIE_BOARD's text-only scene
const MORNING = 0; // KIE_BOARD's scene with a first frame and element images

describe('a take is found by what was paid for', () => {
  let server: FakeServer;
  let project: Project;

  useFakeServer({ pollsToFinish: 2 }, (s, p) => {
    server = s;
    project = p;
  });

  /** Renders `scenes` of `text` at `file` and returns the entries. */
  async function render(
    file: string,
    text: string,
    scenes?: number[],
    stateDir = project.stateDir,
    signal?: AbortSignal,
    onEvent?: (e: { entry: LedgerEntry }) => void,
  ): Promise<LedgerEntry[]> {
    const { engine } = engineFor(server, project, { stateDir });
    return engine.render({ storyboardPath: file, text, scenes, signal, onEvent });
  }

  /** Submits `scene`, stops waiting as soon as it is submitted (the remote task keeps running). */
  async function leftRunning(file: string, text: string, scene: number): Promise<void> {
    const { engine } = engineFor(server, project);
    const entry = await leaveRunning(engine, file, text, scene);
    assert.equal(entry.state, 'cancelled', entry.error);
    assert.ok(entry.taskId);
  }

  it('renaming a scene reuses its done take', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    const [first] = await render(file, KIE_BOARD, [PLAIN]);
    assert.equal(first!.state, 'done', first!.error);
    const renamed = KIE_BOARD.replace('[scene Plain]', '[scene Sunset over the sea]');
    project.file('board.kling', renamed);
    const [again] = await render(file, renamed, [PLAIN]);
    assert.equal(again!.state, 'done', again!.error);
    assert.equal(again!.videoPath, first!.videoPath);
    assert.equal(again!.sceneTitle, 'Sunset over the sea');
    assert.equal(server.state.createdCount(), 1);
  });

  it('renaming a scene while its take runs follows the running task, never orphaning it', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    await leftRunning(file, KIE_BOARD, PLAIN);
    const renamed = KIE_BOARD.replace('[scene Plain]', '[scene Renamed]');
    project.file('board.kling', renamed);
    const [again] = await render(file, renamed, [PLAIN]);
    assert.equal(again!.state, 'done', again!.error);
    assert.equal(server.state.createdCount(), 1);
    assert.equal(server.state.hits('kie.createTask'), 1);
  });

  it('moving the project folder reuses a running take and writes nothing at the old place', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'ksb-state-'));
    const file = project.file('board.kling', KIE_BOARD);
    const controller = new AbortController();
    const [left] = await render(file, KIE_BOARD, [MORNING], stateDir, controller.signal, (e) => {
      if (e.entry.state === 'submitted' || e.entry.state === 'running') controller.abort();
    });
    assert.equal(left!.state, 'cancelled');
    const moved = `${project.dir}-moved`;
    renameSync(project.dir, moved);
    const movedFile = path.join(moved, 'board.kling');
    const [again] = await render(movedFile, KIE_BOARD, [MORNING], stateDir);
    assert.equal(again!.state, 'done', again!.error);
    assert.equal(server.state.createdCount(), 1);
    assert.equal(again!.storyboardPath, movedFile);
    assert.ok(again!.videoPath!.startsWith(moved + path.sep), again!.videoPath);
    assert.ok(existsSync(again!.videoPath!));
    assert.ok(!existsSync(project.dir), 'nothing is recreated at the old location');
    // The ledger file moved with the project and now names the new paths.
    const ledgerDir = path.join(moved, 'renders', '.ledger');
    const [name] = readdirSync(ledgerDir).filter((n) => n.endsWith('.json'));
    const stored = JSON.parse(readFileSync(path.join(ledgerDir, name!), 'utf8')) as {
      outputDir: string;
      state: string;
    };
    assert.equal(stored.state, 'done');
    assert.equal(stored.outputDir, path.join(moved, 'renders'));
  });

  it('renaming the project folder reuses a done take (Kling too)', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'ksb-state-'));
    const file = project.file('board.kling', KLING_BOARD);
    const first = await render(file, KLING_BOARD, undefined, stateDir);
    assert.deepEqual(
      first.map((e) => e.state),
      ['done', 'done'],
    );
    const renamedDir = path.join(path.dirname(project.dir), `${path.basename(project.dir)}-b`);
    renameSync(project.dir, renamedDir);
    const again = await render(
      path.join(renamedDir, 'board.kling'),
      KLING_BOARD,
      undefined,
      stateDir,
    );
    assert.deepEqual(
      again.map((e) => e.state),
      ['done', 'done'],
    );
    assert.equal(server.state.klingTasks.size, 2);
  });

  it('reaching the project through a symlink reuses the take', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    const [first] = await render(file, KIE_BOARD, [MORNING]);
    assert.equal(first!.state, 'done', first!.error);
    const link = `${project.dir}-link`;
    symlinkSync(project.dir, link);
    const [again] = await render(path.join(link, 'board.kling'), KIE_BOARD, [MORNING]);
    assert.equal(again!.state, 'done', again!.error);
    assert.equal(server.state.createdCount(), 1);
  });

  it('reaching a running take through a symlink follows it', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    const link = `${project.dir}-link`;
    symlinkSync(project.dir, link);
    await leftRunning(path.join(link, 'board.kling'), KIE_BOARD, PLAIN);
    const [again] = await render(file, KIE_BOARD, [PLAIN]);
    assert.equal(again!.state, 'done', again!.error);
    assert.equal(server.state.createdCount(), 1);
  });

  it('deleting an earlier scene with the same title reuses the later scene’s take', async () => {
    const twoIntros = `provider: kie
mode: std

[scene Intro]
duration: 5
A red door opens.

[scene Intro]
duration: 5
A blue window closes.
`;
    const file = project.file('board.kling', twoIntros);
    const [second] = await render(file, twoIntros, [1]);
    assert.equal(second!.state, 'done', second!.error);
    const oneIntro = `provider: kie
mode: std

[scene Intro]
duration: 5
A blue window closes.
`;
    project.file('board.kling', oneIntro);
    const [again] = await render(file, oneIntro);
    assert.equal(again!.state, 'done', again!.error);
    assert.equal(again!.videoPath, second!.videoPath);
    assert.equal(server.state.createdCount(), 1);
  });

  it('a changed request is a new take (identity is the request, not the title)', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    await render(file, KIE_BOARD, [PLAIN]);
    const changed = KIE_BOARD.replace('A sunset over the sea.', 'A sunrise over the sea.');
    const [again] = await render(file, changed, [PLAIN]);
    assert.equal(again!.state, 'done', again!.error);
    assert.equal(again!.take, 2);
    assert.equal(server.state.createdCount(), 2);
  });
});

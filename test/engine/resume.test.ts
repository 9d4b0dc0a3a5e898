// Resuming takes after a restart: long after the submit, and after a crash that left an owner
// pid behind which the system has since given to another process.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { procInfo } from '../../server/src/render/owner';
import { startFakeServer, type FakeServer } from '../fake-server/server';
import { engineFor, KIE_BOARD, KLING_BOARD, makeProject, type Project } from './helpers';

const PLAIN = 2; // KIE_BOARD's text-only scene

describe('resuming unfinished takes', () => {
  let server: FakeServer;
  let project: Project;
  let file: string;

  before(async () => {
    server = await startFakeServer({ pollsToFinish: 1_000_000 });
  });
  after(() => server.close());
  beforeEach(() => {
    server.reset();
    project = makeProject();
    file = project.file('board.kling', KIE_BOARD);
  });

  /** Submits the Plain scene, stops waiting once it runs, and returns its ledger file. */
  async function submittedTake(): Promise<string> {
    const controller = new AbortController();
    const { engine } = engineFor(server, project);
    const [entry] = await engine.render({
      storyboardPath: file,
      text: KIE_BOARD,
      scenes: [PLAIN],
      signal: controller.signal,
      onEvent: (e) => {
        if (e.entry.state === 'submitted' || e.entry.state === 'running') controller.abort();
      },
    });
    assert.equal(entry!.state, 'cancelled');
    const dir = path.join(project.dir, 'renders', '.ledger');
    const [name] = readdirSync(dir).filter((n) => n.endsWith('.json'));
    return path.join(dir, name!);
  }

  function edit(ledgerFile: string, change: (entry: Record<string, unknown>) => void): void {
    const entry = JSON.parse(readFileSync(ledgerFile, 'utf8')) as Record<string, unknown>;
    change(entry);
    writeFileSync(ledgerFile, JSON.stringify(entry));
  }

  function finishRemoteTasks(): void {
    for (const t of server.state.kieTasks.values()) t.polls = 999_999;
  }

  it('a take submitted hours ago is polled and downloaded, not given up on at once', async () => {
    const ledgerFile = await submittedTake();
    edit(ledgerFile, (e) => {
      e.submittedAt = Date.now() - 3 * 3_600_000;
    });
    finishRemoteTasks();
    const { engine } = engineFor(server, project, { timeoutMs: 60_000 });
    const [resumed] = await engine.resume([file]);
    assert.equal(resumed!.state, 'done', resumed!.error);
    assert.equal(server.state.createdCount(), 1);
  });

  describe(
    'a crashed owner whose pid now belongs to another process',
    { skip: !procInfo(process.pid) },
    () => {
      let other: ChildProcess;
      before(async () => {
        other = spawn('sleep', ['60'], { stdio: 'ignore' });
        await new Promise((r) => other.once('spawn', r));
      });
      after(() => {
        other.kill();
      });

      it('is recognised by its start time, and the take resumes', async () => {
        const ledgerFile = await submittedTake();
        edit(ledgerFile, (e) => {
          e.owner = { pid: other.pid, host: os.hostname(), start: 'an-earlier-boot:12345' };
        });
        finishRemoteTasks();
        const { engine } = engineFor(server, project);
        const [resumed] = await engine.resume([file]);
        assert.equal(resumed!.state, 'done', resumed!.error);
        assert.equal(server.state.createdCount(), 1);
      });

      /** A take that looks about to be submitted, whose create attempt 1 was claimed by `owner`. */
      async function claimedCreate(owner: object): Promise<string> {
        const ledgerFile = await submittedTake();
        edit(ledgerFile, (e) => {
          e.state = 'pending-submit';
          delete e.taskId;
          delete e.submittedAt;
          delete e.createSentAt;
          e.createAttempts = 0;
        });
        writeFileSync(`${ledgerFile}.create-1`, JSON.stringify({ owner, at: Date.now() }));
        return ledgerFile;
      }

      it('a create attempt claimed by another live process is never sent again, nor its ledger touched', async () => {
        const owner = { pid: other.pid, host: os.hostname(), start: procInfo(other.pid!)!.start };
        const ledgerFile = await claimedCreate(owner);
        const before = readFileSync(ledgerFile, 'utf8');
        // The other process is followed (read only) until this run's timeout.
        const { engine } = engineFor(server, project, { timeoutMs: 300 });
        const [left] = await engine.resume([file]);
        assert.match(left!.error!, /being handled by another running process \(pid \d+\)/);
        assert.equal(server.state.createdCount(), 1);
        assert.equal(server.state.hits('kie.createTask'), 1);
        assert.equal(readFileSync(ledgerFile, 'utf8'), before);
      });

      it('a create attempt claimed by a process that is gone is treated as possibly sent', async () => {
        const ledgerFile = await claimedCreate({
          pid: other.pid,
          host: os.hostname(),
          start: 'an-earlier-boot:12345',
        });
        const { engine } = engineFor(server, project);
        const [unknown] = await engine.resume([file]);
        assert.equal(unknown!.state, 'unknown-submit');
        assert.match(unknown!.error!, /NOT re-sent/);
        assert.equal(server.state.hits('kie.createTask'), 1);
        const stored = JSON.parse(readFileSync(ledgerFile, 'utf8')) as { state: string };
        assert.equal(stored.state, 'unknown-submit');
      });

      it('while the recorded process itself is alive, the take is left to it', async () => {
        const ledgerFile = await submittedTake();
        edit(ledgerFile, (e) => {
          e.owner = { pid: other.pid, host: os.hostname(), start: procInfo(other.pid!)!.start };
        });
        finishRemoteTasks();
        const { engine } = engineFor(server, project, { timeoutMs: 300 });
        const [left] = await engine.resume([file]);
        assert.notEqual(left!.state, 'done');
        assert.match(left!.error!, /being handled by another running process \(pid \d+\)/);
      });
    },
  );
});

describe('a Kling take whose ledger was deleted', () => {
  let server: FakeServer;
  before(async () => {
    server = await startFakeServer({ pollsToFinish: 2 });
  });
  after(() => server.close());

  it('is found by its external_task_id when Kling refuses the duplicate id: no second task, video back', async () => {
    const project = makeProject();
    const file = project.file('board.kling', KLING_BOARD);
    const first = await engineFor(server, project).engine.render({
      storyboardPath: file,
      text: KLING_BOARD,
      scenes: [1],
    });
    assert.equal(first[0]!.state, 'done', first[0]!.error);
    // The user cleans up: the whole renders folder, ledger included, is gone.
    rmSync(path.join(project.dir, 'renders'), { recursive: true, force: true });
    const [again] = await engineFor(server, project).engine.render({
      storyboardPath: file,
      text: KLING_BOARD,
      scenes: [1],
    });
    assert.equal(again!.state, 'done', again!.error);
    assert.equal(again!.taskId, first[0]!.taskId);
    assert.equal(server.state.createdCount(), 1);
    assert.ok(existsSync(path.join(project.dir, 'renders', 'board', 'text-scene', 'take-1.mp4')));
  });
});

describe('a KIE take whose ledger was deleted', () => {
  let server: FakeServer;
  before(async () => {
    server = await startFakeServer({ pollsToFinish: 2 });
  });
  after(() => server.close());

  it('gets the next free take number: the video already on disk is never overwritten', async () => {
    const project = makeProject();
    const file = project.file('board.kling', KIE_BOARD);
    const [first] = await engineFor(server, project).engine.render({
      storyboardPath: file,
      text: KIE_BOARD,
      scenes: [PLAIN],
    });
    assert.equal(first!.state, 'done', first!.error);
    rmSync(path.join(project.dir, 'renders', '.ledger'), { recursive: true, force: true });
    const [second] = await engineFor(server, project).engine.render({
      storyboardPath: file,
      text: KIE_BOARD,
      scenes: [PLAIN],
    });
    assert.equal(second!.state, 'done', second!.error);
    assert.equal(second!.take, 2);
    const sceneDir = path.join(project.dir, 'renders', 'board', 'plain');
    const sidecar1 = JSON.parse(readFileSync(path.join(sceneDir, 'take-1.json'), 'utf8'));
    assert.equal(sidecar1.taskId, first!.taskId);
    assert.deepEqual(readdirSync(sceneDir).sort(), [
      'take-1.json',
      'take-1.mp4',
      'take-2.json',
      'take-2.mp4',
    ]);
  });
});

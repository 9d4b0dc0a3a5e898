// Small things seen (issue 9, item 11), as a user meets them with the bundled CLI and the engine:
// a FIFO as storyboard or media never hangs, a directory as media says so, SIGTERM exits 143,
// two processes sharing the work both exit 0, a task id answered for two different requests is
// refused, and a read-only ledger gives one clear line with the take kept resumable.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startFakeServer, type FakeServer } from '../fake-server/server';
import { engineFor, KIE_BOARD, makeProject, untilCreated, type Project } from './helpers';
import { bundleCli } from './cli-bundle';

const NOBODY = 65534;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

describe('small things seen', () => {
  let server: FakeServer;
  let project: Project;
  let cli: string;

  before(async () => {
    // Enough polls that two processes started together overlap on every scene.
    server = await startFakeServer({ pollsToFinish: 12 });
    cli = await bundleCli();
  });
  after(() => server.close());
  beforeEach(() => {
    server.reset();
    project = makeProject();
  });

  function start(args: string[], options: { uid?: number; stateDir?: string } = {}): ChildProcess {
    return spawn(process.execPath, [cli, ...args], {
      cwd: project.dir,
      uid: options.uid,
      gid: options.uid,
      env: {
        PATH: process.env.PATH,
        HOME: project.dir,
        KIE_API_KEY: server.keys.kieApiKey,
        KIE_API_BASE: server.url,
        KIE_UPLOAD_BASE: server.url,
        KLING_STORYBOARD_STATE_DIR: options.stateDir ?? project.stateDir,
        KLING_STORYBOARD_POLL_MS: '20',
      },
    });
  }

  function finished(child: ChildProcess, timeoutMs = 60_000): Promise<Run> {
    return new Promise((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d) => (stdout += d));
      child.stderr!.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the CLI did not finish within ${timeoutMs} ms: ${stdout}${stderr}`));
      }, timeoutMs);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });
  }

  const run = (args: string[], timeoutMs?: number) => finished(start(args), timeoutMs);

  it('a FIFO as storyboard: check and render refuse it at once, never hang', async () => {
    execFileSync('mkfifo', [path.join(project.dir, 'pipe.kling')]);
    for (const command of ['check', 'render', 'preview']) {
      const r = await run([command, 'pipe.kling'], 15_000);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /not a regular file/, `${command}: ${r.stderr}`);
    }
  });

  it('a FIFO or a directory as media: the scene is refused with the reason, nothing hangs', async () => {
    execFileSync('mkfifo', [path.join(project.dir, 'frames', 'pipe.png')]);
    mkdirSync(path.join(project.dir, 'frames', 'folder.png'));
    const board = `provider: kie
mode: std

[scene Piped]
duration: 5
first-frame: frames/pipe.png
A quiet stage.

[scene Folder]
duration: 5
first-frame: frames/folder.png
An empty stage.
`;
    const file = project.file('media.kling', board);
    const check = await run(['check', 'media.kling'], 15_000);
    assert.equal(check.signal, null, 'check finished by itself');
    const { engine } = engineFor(server, project);
    const entries = await engine.render({ storyboardPath: file, text: board });
    assert.match(entries[0]!.error!, /cannot read frames\/pipe\.png \(not a regular file/);
    assert.match(entries[1]!.error!, /cannot read frames\/folder\.png \(it is a directory/);
    assert.equal(server.state.hits('kie.createTask'), 0);
  });

  it('SIGTERM stops waiting with exit 143; the next run resumes without paying again', async () => {
    project.file('board.kling', KIE_BOARD);
    const child = start(['render', 'board.kling', '--scene', 'Plain']);
    const result = finished(child);
    await untilCreated(server);
    child.kill('SIGTERM');
    const r = await result;
    assert.equal(r.code, 143, r.stdout + r.stderr);
    const again = await run(['render', 'board.kling', '--scene', 'Plain']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.equal(server.state.createdCount(), 1);
  });

  it('two processes sharing the work both exit 0 when every scene finished', async () => {
    project.file('board.kling', KIE_BOARD);
    const [a, b] = await Promise.all([
      run(['render', 'board.kling']),
      run(['render', 'board.kling']),
    ]);
    assert.equal(a.code, 0, a.stdout + a.stderr);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    assert.match(a.stdout + b.stdout, /3\/3 scenes done/);
    assert.equal(server.state.createdCount(), 3, 'each scene paid once');
  });

  it('a task id answered for two different requests is refused, not followed', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    const [first] = await engineFor(server, project).engine.render({
      storyboardPath: file,
      text: KIE_BOARD,
      scenes: [2],
    });
    assert.equal(first!.state, 'done');
    // A server that answers every create with that same task id.
    const sameId: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).endsWith('/api/v1/jobs/createTask')) return res;
      return new Response(
        JSON.stringify({ code: 200, msg: 'success', data: { taskId: first!.taskId } }),
        {
          status: 200,
          headers: { 'Content-Type': 'application/json' },
        },
      );
    };
    const [other] = await engineFor(server, project, { fetch: sameId }).engine.render({
      storyboardPath: file,
      text: KIE_BOARD,
      scenes: [1],
    });
    assert.equal(other!.state, 'unknown-submit');
    assert.match(
      other!.error!,
      new RegExp(`task ${first!.taskId}, which is already take 1 of "Plain"`),
    );
    assert.equal(other!.videoPath, undefined);
    assert.equal(other!.taskId, undefined);
  });

  it(
    'a read-only ledger: one clear line, the take stays resumable (not failed)',
    { skip: process.getuid?.() !== 0 && 'needs root to run the CLI as another user' },
    async () => {
      project.file('board.kling', KIE_BOARD);
      // A take left running by a first run (Ctrl+C after the create).
      const child = start(['render', 'board.kling', '--scene', 'Plain']);
      const result = finished(child);
      await untilCreated(server);
      child.kill('SIGINT');
      await result;
      const ledgerDir = path.join(project.dir, 'renders', '.ledger');
      const [name] = readdirSync(ledgerDir).filter((n) => n.endsWith('.json'));
      const before = readFileSync(path.join(ledgerDir, name!), 'utf8');
      // Another user, for whom the ledger is read-only (root would write through any mode).
      const state = mkdtempSync(path.join(os.tmpdir(), 'ksb-nobody-state-'));
      chownSync(state, NOBODY, NOBODY);
      for (let d = project.dir; d !== path.dirname(d); d = path.dirname(d)) {
        if (d.startsWith(os.tmpdir()) && d !== os.tmpdir()) chmodSync(d, 0o755);
      }
      chmodSync(ledgerDir, 0o555);
      const r = await finished(
        start(['render', 'board.kling', '--scene', 'Plain'], { uid: NOBODY, stateDir: state }),
      );
      const lines = (r.stdout + r.stderr)
        .split('\n')
        .filter((l) => /cannot write the ledger/.test(l));
      assert.ok(lines.length >= 1, r.stdout + r.stderr);
      assert.match(lines[0]!, /\(EACCES\).*resumes once the folder is writable/);
      assert.doesNotMatch(r.stdout, /Plain: take 1 failed/);
      assert.doesNotMatch(r.stdout + r.stderr, /at .*\.js:\d+/, 'no stack trace');
      assert.equal(readFileSync(path.join(ledgerDir, name!), 'utf8'), before);
      assert.equal(server.state.createdCount(), 1);
      // Writable again: the same take resumes and finishes, still one task.
      chmodSync(ledgerDir, 0o755);
      const again = await run(['render', 'board.kling', '--scene', 'Plain']);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.equal(server.state.createdCount(), 1);
    },
  );
});

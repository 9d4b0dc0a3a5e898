// No silent skip: a ledger file that cannot be read as a take (truncated, garbled, an unknown
// state, unreadable) may record a paid task, so its scene is refused with a message naming the
// file and what to do; `status` shows it; `--new-take` is the explicit way to pay again.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { LedgerEntry } from '../../server/src/render';
import { startFakeServer, type FakeServer } from '../fake-server/server';
import { engineFor, KIE_BOARD, leaveRunning, makeProject, type Project } from './helpers';
import { bundleCli } from './cli-bundle';

const PLAIN = 2; // KIE_BOARD's text-only scene
const FINALE = 1;

describe('damaged ledger entries', () => {
  let server: FakeServer;
  let project: Project;
  let file: string;
  let cli: string;

  before(async () => {
    server = await startFakeServer({ pollsToFinish: 2 });
    cli = await bundleCli();
  });
  after(() => server.close());
  beforeEach(() => {
    server.reset();
    project = makeProject();
    file = project.file('board.kling', KIE_BOARD);
  });

  async function render(scenes: number[], newTake = false): Promise<LedgerEntry[]> {
    const { engine } = engineFor(server, project, { newTakeHint: 'run again with --new-take' });
    return engine.render({ storyboardPath: file, text: KIE_BOARD, scenes, newTake });
  }

  /** Renders the Plain scene to done and returns its ledger file. */
  async function doneTake(): Promise<string> {
    const [entry] = await render([PLAIN]);
    assert.equal(entry!.state, 'done', entry!.error);
    const dir = path.join(project.dir, 'renders', '.ledger');
    const [name] = readdirSync(dir).filter((n) => n.endsWith('.json'));
    return path.join(dir, name!);
  }

  function assertRefused(entry: LedgerEntry | undefined, ledgerFile: string, why: RegExp): void {
    assert.equal(entry!.state, 'failed');
    assert.ok(entry!.error!.includes(ledgerFile), entry!.error);
    assert.match(entry!.error!, why);
    assert.match(entry!.error!, /repair or delete the file, or run again with --new-take/);
    assert.equal(entry!.take, 0, 'nothing new is claimed');
  }

  it('a truncated entry refuses its scene (matched by the identity still in the text), nothing sent', async () => {
    const ledgerFile = await doneTake();
    const text = readFileSync(ledgerFile, 'utf8');
    writeFileSync(ledgerFile, text.slice(0, Math.floor(text.length / 2)));
    const [entry] = await render([PLAIN]);
    assertRefused(entry, ledgerFile, /is not valid JSON \(truncated or garbled\)/);
    assert.equal(server.state.createdCount(), 1);
    // Another scene of the same storyboard is not held back by it.
    const [finale] = await render([FINALE]);
    assert.equal(finale!.state, 'done', finale!.error);
    assert.equal(server.state.createdCount(), 2);
  });

  it('an entry cut after its key is still matched by the identity the key starts with', async () => {
    const ledgerFile = await doneTake();
    const text = readFileSync(ledgerFile, 'utf8');
    writeFileSync(ledgerFile, text.slice(0, text.indexOf('"requestHash"')));
    const [entry] = await render([PLAIN]);
    assertRefused(entry, ledgerFile, /is not valid JSON/);
    assert.doesNotMatch(entry!.error!, /of this scene or another/);
    const [finale] = await render([FINALE]);
    assert.equal(finale!.state, 'done', finale!.error);
    assert.equal(server.state.createdCount(), 2);
  });

  it('a garbled entry of a scene renamed since still guards it: every new take of the folder waits', async () => {
    // Plain's take 1 is paid for; then its entry is garbled (no identity left in it) and the
    // scene renamed, so the entry's file name (board--plain--take-1) names no scene any more.
    const ledgerFile = await doneTake();
    writeFileSync(ledgerFile, '{broken');
    const renamed = KIE_BOARD.replace('[scene Plain]', '[scene Sunset]');
    writeFileSync(file, renamed);
    const { engine } = engineFor(server, project, { newTakeHint: 'run again with --new-take' });
    const entries = await engine.render({
      storyboardPath: file,
      text: renamed,
      scenes: [PLAIN, FINALE],
    });
    assert.deepEqual(entries.map((e) => e.sceneTitle).sort(), ['Finale', 'Sunset']);
    for (const entry of entries) {
      assertRefused(entry, ledgerFile, /is not valid JSON/);
      assert.match(entry.error!, /of this scene or another/);
    }
    assert.equal(server.state.createdCount(), 1, 'the renamed scene is not paid for twice');
    assert.deepEqual(
      (await engine.damaged(file)).map((d) => d.file),
      [ledgerFile],
    );
    // Deleting the file is the user's word that it recorded nothing worth keeping.
    rmSync(ledgerFile);
    const [finale] = await engine.render({ storyboardPath: file, text: renamed, scenes: [FINALE] });
    assert.equal(finale!.state, 'done', finale!.error);
  });

  it('a named pipe in place of an entry refuses its scene at once, never waits on it', async () => {
    const ledgerFile = await doneTake();
    rmSync(ledgerFile);
    // Nobody ever writes to the pipe: reading it plainly would wait for ever.
    execFileSync('mkfifo', [ledgerFile]);
    const [entry] = await render([PLAIN]);
    assertRefused(entry, ledgerFile, /is not a regular file \(a named pipe, socket or device\)/);
    assert.equal(server.state.createdCount(), 1);
  });

  it('a garbled entry refuses the scene named by its file; --new-take pays again on purpose', async () => {
    const ledgerFile = await doneTake();
    writeFileSync(ledgerFile, Buffer.from([0xff, 0x00, 0x7b, 0x13, 0x88]));
    const [entry] = await render([PLAIN]);
    assertRefused(entry, ledgerFile, /not valid JSON/);
    assert.equal(server.state.createdCount(), 1);
    const [paid] = await render([PLAIN], true);
    assert.equal(paid!.state, 'done', paid!.error);
    assert.equal(paid!.take, 2, 'the damaged take number is not reused');
    assert.equal(server.state.createdCount(), 2);
  });

  it('an unknown state refuses the scene and says which state', async () => {
    const ledgerFile = await doneTake();
    const stored = JSON.parse(readFileSync(ledgerFile, 'utf8')) as Record<string, unknown>;
    stored.state = 'paused';
    writeFileSync(ledgerFile, JSON.stringify(stored));
    const [entry] = await render([PLAIN]);
    assertRefused(entry, ledgerFile, /has an unknown state "paused"/);
    assert.equal(server.state.createdCount(), 1);
  });

  it('an unreadable entry (a folder in its place) refuses the scene', async () => {
    const ledgerFile = await doneTake();
    rmSync(ledgerFile);
    mkdirSync(ledgerFile);
    const [entry] = await render([PLAIN]);
    assertRefused(entry, ledgerFile, /is a folder, not a file/);
    assert.equal(server.state.createdCount(), 1);
  });

  it('a running take whose entry was truncated is not paid for again', async () => {
    const left = await leaveRunning(engineFor(server, project).engine, file, KIE_BOARD, PLAIN);
    assert.equal(left.state, 'cancelled');
    const dir = path.join(project.dir, 'renders', '.ledger');
    const [name] = readdirSync(dir).filter((n) => n.endsWith('.json'));
    const ledgerFile = path.join(dir, name!);
    writeFileSync(ledgerFile, readFileSync(ledgerFile, 'utf8').slice(0, 40));
    const [entry] = await render([PLAIN]);
    assertRefused(entry, ledgerFile, /not valid JSON/);
    assert.equal(server.state.hits('kie.createTask'), 1);
  });

  it('status lists the damaged file (engine and CLI), and render names it too', async () => {
    const ledgerFile = await doneTake();
    writeFileSync(ledgerFile, '{"key": "abc", "requ');
    const { engine } = engineFor(server, project);
    const damaged = await engine.damaged(file);
    assert.deepEqual(
      damaged.map((d) => [d.file, d.sceneSlug, d.take]),
      [[ledgerFile, 'plain', 1]],
    );
    const env = {
      PATH: process.env.PATH,
      HOME: project.dir,
      KIE_API_KEY: server.keys.kieApiKey,
      KIE_API_BASE: server.url,
      KIE_UPLOAD_BASE: server.url,
      KLING_STORYBOARD_STATE_DIR: project.stateDir,
      KLING_STORYBOARD_POLL_MS: '20',
    };
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [cli, ...args], { cwd: project.dir, env });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const status = await run(['status', 'board.kling']);
    assert.equal(status.code, 1);
    assert.ok(status.stdout.includes(`damaged ledger entry: ${ledgerFile}`), status.stdout);
    const rendered = await run(['render', 'board.kling', '--scene', 'Plain']);
    assert.equal(rendered.code, 1);
    assert.ok(rendered.stdout.includes(ledgerFile), rendered.stdout);
    assert.match(rendered.stdout, /--new-take/);
    assert.equal(server.state.createdCount(), 1);
  });
});

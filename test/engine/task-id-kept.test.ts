// The task id is never lost (issue 9, item 5): it is reported the moment the create answers; a
// ledger write that fails after the create (disk full) keeps the id in memory, says so, and is
// retried; Ctrl+C while a create is in flight waits for its answer, a second one says what
// quitting would lose, a third quits.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  promises as fsp,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { type FakeServer } from '../fake-server/server';
import { bundleCli } from './cli-bundle';
import { engineFor, KIE_BOARD, type Project, startCli, useFakeServer } from './helpers';

/** Resolves once `condition` holds (checked every 10 ms), or fails after `ms`. */
async function until(condition: () => boolean, what: string, ms = 30_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A full disk under `dir`: a small tmpfs when this process may mount one, else injected ENOSPC. */
interface FullDisk {
  how: string;
  fill(): void;
  free(): void;
  dispose(): void;
}

function fullDiskAt(dir: string): FullDisk {
  mkdirSync(dir, { recursive: true });
  const mounted =
    !process.env.KSB_TEST_NO_TMPFS &&
    process.getuid?.() === 0 &&
    spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir]).status === 0;
  if (mounted) {
    const filler = path.join(dir, 'filler.bin');
    return {
      how: 'a 256 KB tmpfs filled to the last byte',
      fill() {
        try {
          writeFileSync(filler, Buffer.alloc(1 << 20));
        } catch (err) {
          assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
        }
      },
      free: () => rmSync(filler, { force: true }),
      dispose: () => void spawnSync('umount', ['-l', dir]),
    };
  }
  // No mount here (CI without root): every write under `dir` fails as a full disk would.
  const realWriteFile = fsp.writeFile;
  let full = false;
  fsp.writeFile = ((file: Parameters<typeof realWriteFile>[0], ...rest: unknown[]) => {
    if (full && String(file).startsWith(dir)) {
      const err = new Error(`ENOSPC: no space left on device, open '${String(file)}'`);
      return Promise.reject(Object.assign(err, { code: 'ENOSPC' }));
    }
    return (realWriteFile as (...a: unknown[]) => Promise<void>)(file, ...rest);
  }) as typeof realWriteFile;
  return {
    how: 'injected ENOSPC on every write',
    fill: () => void (full = true),
    free: () => void (full = false),
    dispose: () => void (fsp.writeFile = realWriteFile),
  };
}

describe('the task id is never lost', () => {
  let server: FakeServer;
  let project: Project;

  useFakeServer({ pollsToFinish: 4 }, (s, p) => {
    server = s;
    project = p;
  });

  it('disk full right after the create: the id is reported, kept in memory, polled, and written once space is back', async () => {
    const renders = path.join(project.dir, 'renders');
    const disk = fullDiskAt(renders);
    try {
      const storyboard = project.file('board.kling', KIE_BOARD);
      // The disk fills while KIE is handling the create.
      server.hooks.beforeCreate = () => disk.fill();
      const messages: string[] = [];
      const { engine } = engineFor(server, project);
      const [entry] = await engine.render({
        storyboardPath: storyboard,
        text: KIE_BOARD,
        scenes: [2],
        onEvent: (e) => {
          messages.push(e.message);
          // Space comes back once the user has been told.
          if (/could not write the ledger/.test(e.message)) disk.free();
        },
      });
      const [task] = [...server.state.kieTasks.values()];
      assert.ok(task, `no task was created (${disk.how})`);
      const submitted = messages.findIndex((m) => m.includes(`submitted (task ${task.taskId})`));
      const failedWrite = messages.findIndex((m) =>
        new RegExp(
          `could not write the ledger .*ENOSPC.*task ${task.taskId} is kept in memory and still followed, and the write is retried`,
        ).test(m),
      );
      assert.ok(submitted >= 0, messages.join('\n'));
      assert.ok(failedWrite > submitted, `the id came first:\n${messages.join('\n')}`);
      assert.ok(
        messages.some((m) => m.includes(`the ledger is written again (task ${task.taskId})`)),
        messages.join('\n'),
      );
      assert.equal(entry!.state, 'done', `${disk.how}: ${entry!.error}`);
      assert.equal(entry!.taskId, task.taskId);
      assert.equal(server.state.createdCount(), 1);
      const ledgerFiles = readdirSync(path.join(renders, '.ledger'), { recursive: true })
        .map(String)
        .filter((n) => n.endsWith('.json'));
      const onDisk = ledgerFiles.map((n) =>
        JSON.parse(readFileSync(path.join(renders, '.ledger', n), 'utf8')),
      ) as { taskId?: string; state: string }[];
      assert.ok(
        onDisk.some((e) => e.taskId === task.taskId && e.state === 'done'),
        JSON.stringify(onDisk),
      );
    } finally {
      disk.dispose();
    }
  });

  it('disk still full when the run ends: the last word names the task id to note', async () => {
    const renders = path.join(project.dir, 'renders');
    const disk = fullDiskAt(renders);
    try {
      const storyboard = project.file('board.kling', KIE_BOARD);
      server.hooks.beforeCreate = () => disk.fill();
      const messages: string[] = [];
      const { engine } = engineFor(server, project);
      const [entry] = await engine.render({
        storyboardPath: storyboard,
        text: KIE_BOARD,
        scenes: [2],
        onEvent: (e) => messages.push(e.message),
      });
      const [task] = [...server.state.kieTasks.values()];
      assert.ok(task);
      assert.equal(entry!.taskId, task.taskId);
      assert.match(
        messages.at(-1)!,
        new RegExp(`the ledger still could not be written — note kie task ${task.taskId}`),
        messages.join('\n'),
      );
      assert.equal(server.state.createdCount(), 1);
    } finally {
      disk.dispose();
    }
  });

  describe('Ctrl+C on the CLI while a create is in flight', () => {
    let cli: string;
    before(async () => {
      cli = await bundleCli();
    });

    function start(args: string[]) {
      return startCli(cli, server, project, args);
    }

    /** Holds every create until `release()`; `arrived` counts the ones held. */
    function holdCreates() {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const held = { arrived: 0, release };
      server.hooks.beforeCreate = async () => {
        held.arrived++;
        await gate;
      };
      return held;
    }

    it('first Ctrl+C waits for the answer, second says what quitting would lose; the answer is recorded', async () => {
      project.file('board.kling', KIE_BOARD);
      const held = holdCreates();
      const cliRun = start(['render', 'board.kling', '--scene', 'Plain']);
      await until(() => held.arrived === 1, 'the create to arrive');
      cliRun.child.kill('SIGINT');
      await until(() => /Stopping: waiting for the answer/.test(cliRun.stderr()), 'first notice');
      cliRun.child.kill('SIGINT');
      await until(() => /A create is in flight for Plain/.test(cliRun.stderr()), 'second notice');
      assert.match(cliRun.stderr(), /press Ctrl\+C once more to quit anyway/);
      assert.equal(cliRun.child.exitCode, null, 'still running after the second Ctrl+C');
      held.release();
      assert.equal(await cliRun.closed, 130, cliRun.stdout() + cliRun.stderr());
      const [task] = [...server.state.kieTasks.values()];
      assert.ok(task);
      assert.match(cliRun.stdout(), new RegExp(`submitted \\(task ${task.taskId}\\)`));
      // Recorded: the next run follows that task instead of paying again.
      server.hooks.beforeCreate = undefined;
      const again = start(['render', 'board.kling', '--scene', 'Plain']);
      assert.equal(await again.closed, 0, again.stdout() + again.stderr());
      assert.equal(server.state.hits('kie.createTask'), 1);
      assert.match(again.stdout(), /1\/1 scenes done/);
    });

    it('a third Ctrl+C quits at once', async () => {
      project.file('board.kling', KIE_BOARD);
      const held = holdCreates();
      try {
        const cliRun = start(['render', 'board.kling', '--scene', 'Plain']);
        await until(() => held.arrived === 1, 'the create to arrive');
        cliRun.child.kill('SIGINT');
        await until(() => /Stopping/.test(cliRun.stderr()), 'first notice');
        cliRun.child.kill('SIGINT');
        await until(() => /A create is in flight/.test(cliRun.stderr()), 'second notice');
        cliRun.child.kill('SIGINT');
        assert.equal(await cliRun.closed, 130);
      } finally {
        held.release();
      }
    });

    it('with no create in flight, a second Ctrl+C quits at once', async () => {
      project.file('board.kling', KIE_BOARD);
      // The task keeps the CLI polling (a success without a URL, asked again and again).
      server.faults.emptyResultsFor(1_000_000);
      const slow = start(['render', 'board.kling', '--scene', 'Plain']);
      await until(() => /submitted \(task/.test(slow.stdout()), 'polling');
      slow.child.kill('SIGINT');
      await until(() => /Stopping: remote tasks keep running/.test(slow.stderr()), 'notice');
      slow.child.kill('SIGINT');
      const code = await slow.closed;
      // 130 from our handler, or (if the run had already ended and removed it) Node's own
      // SIGINT exit: either way it quit without waiting.
      assert.ok(
        code === 130 || slow.child.signalCode === 'SIGINT',
        `exit ${code} ${slow.child.signalCode}`,
      );
      assert.doesNotMatch(slow.stderr(), /in flight/);
    });
  });
});

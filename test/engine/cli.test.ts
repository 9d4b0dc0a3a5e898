// The CLI as a user runs it: the bundled dist/cli.js in a child process, against the fake server.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as esbuild from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startFakeServer, type FakeServer } from '../fake-server/server';
import { KIE_BOARD, KLING_BOARD, makeProject, type Project } from './helpers';

const root = path.join(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'cli.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('kling-storyboard CLI', () => {
  let server: FakeServer;
  let project: Project;

  before(async () => {
    // Rebuild only the CLI bundle (same settings as esbuild.mjs), so parallel suites that use
    // the other bundles never see them half-written.
    await esbuild.build({
      entryPoints: [path.join(root, 'server', 'src', 'cli.ts')],
      outfile: cli,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      sourcemap: 'linked',
      logLevel: 'warning',
      banner: { js: '#!/usr/bin/env node' },
    });
    server = await startFakeServer({ pollsToFinish: 2 });
  });
  after(() => server.close());
  beforeEach(() => {
    server.reset();
    project = makeProject();
  });

  function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: project.dir,
      KIE_API_KEY: server.keys.kieApiKey,
      KLING_ACCESS_KEY: server.keys.klingAccessKey,
      KLING_SECRET_KEY: server.keys.klingSecretKey,
      KIE_API_BASE: server.url,
      KIE_UPLOAD_BASE: server.url,
      KLING_API_BASE: server.url,
      KLING_STORYBOARD_STATE_DIR: project.stateDir,
      KLING_STORYBOARD_POLL_MS: '20',
      ...extra,
    };
  }

  function start(args: string[], extra: Record<string, string> = {}): ChildProcess {
    return spawn(process.execPath, [cli, ...args], { cwd: project.dir, env: env(extra) });
  }

  function run(args: string[], extra: Record<string, string> = {}): Promise<Run> {
    return new Promise((resolve) => {
      const child = start(args, extra);
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d) => (stdout += d));
      child.stderr!.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  /** Resolves once `condition` holds, checking whenever the fake server handles a request. */
  async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const started = Date.now();
    while (!condition()) {
      if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  it('check prints compiler-style diagnostics with codes and exits 1 on errors', async () => {
    project.file('bad.kling', 'provider: kie\n[scene One]\nduration: 20\nA @ghost.\n');
    const r = await run(['check', 'bad.kling']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^bad\.kling:3:11: error duration-range: .*20 s/m);
    assert.match(r.stdout, /^bad\.kling:4:3: error undefined-element: /m);
    const json = await run(['check', 'bad.kling', '--format', 'json']);
    const parsed = JSON.parse(json.stdout) as { code: string; line: number }[];
    assert.deepEqual(parsed.map((d) => d.code).sort(), ['duration-range', 'undefined-element']);
    project.file('good.kling', KIE_BOARD);
    const good = await run(['check', 'good.kling']);
    assert.equal(good.code, 0, good.stdout + good.stderr);
  });

  it('preview prints the exact request without keys or network', async () => {
    project.file('board.kling', KIE_BOARD);
    const r = await run(['preview', 'board.kling', '--scene', 'Finale'], {
      KIE_API_KEY: '',
      KIE_API_BASE: 'http://127.0.0.1:9',
    });
    assert.equal(r.code, 0, r.stderr);
    const req = JSON.parse(r.stdout) as { body: { input: { image_urls: string[] } } };
    assert.deepEqual(req.body.input.image_urls, ['<to upload: frames/f2.png>']);
    assert.equal(server.state.log.length, 0);
  });

  it('render prints a progress line per scene, downloads every scene, and a rerun reuses the takes', async () => {
    project.file('board.kling', KIE_BOARD);
    const r = await run(['render', 'board.kling', '--concurrency', '3']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const title of ['Morning run', 'Finale', 'Plain'])
      assert.match(r.stdout, new RegExp(`^\\[${title}\\] `, 'm'));
    assert.match(r.stdout, /3\/3 scenes done/);
    assert.equal(server.state.createdCount(), 3);
    assert.equal(server.state.uploadCount(), 4);
    const again = await run(['render', 'board.kling']);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /already rendered as take 1/);
    assert.equal(server.state.createdCount(), 3);
    const status = await run(['status', 'board.kling']);
    assert.match(status.stdout, /Plain: take 1 done/);
  });

  for (const [provider, board, route] of [
    ['kie', KIE_BOARD, 'kie.recordInfo'],
    ['kling', KLING_BOARD, 'kling.query'],
  ] as const) {
    it(`resumes after the CLI is killed mid-poll (${provider}): one createTask in total, video downloaded`, async () => {
      const slow = await startFakeServer({ pollsToFinish: 1_000_000 });
      try {
        project.file('board.kling', board);
        const bases = {
          KIE_API_BASE: slow.url,
          KIE_UPLOAD_BASE: slow.url,
          KLING_API_BASE: slow.url,
        };
        const child = start(['render', 'board.kling', '--scene', '1'], bases);
        await until(
          () => slow.state.createdCount() === 1 && slow.state.hits(route) >= 2,
          'the CLI to poll',
        );
        child.kill('SIGKILL');
        await new Promise((r) => child.once('close', r));
        const slug = provider === 'kie' ? 'morning-run' : 'image-scene';
        const video = path.join(project.dir, 'renders', 'board', slug, 'take-1.mp4');
        assert.ok(!existsSync(video));
        // The remote task finishes while no client is running.
        for (const t of slow.state.kieTasks.values()) t.polls = 999_999;
        for (const t of slow.state.klingTasks.values()) t.polls = 999_999;
        const second = await run(['render', 'board.kling', '--scene', '1'], bases);
        assert.equal(second.code, 0, second.stdout + second.stderr);
        assert.equal(slow.state.createdCount(), 1);
        assert.ok(existsSync(video));
        assert.deepEqual(readdirSync(path.dirname(video)).sort(), ['take-1.json', 'take-1.mp4']);
      } finally {
        await slow.close();
      }
    });
  }

  it('killed while a Kling create hangs (task created remotely): the next run finds it by external_task_id, one task', async () => {
    project.file('board.kling', KLING_BOARD);
    server.faults.add('kling.create', { type: 'hang', process: true });
    const child = start(['render', 'board.kling', '--scene', 'Text scene']);
    await until(() => server.state.createdCount() === 1, 'the create to reach the server');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    const second = await run(['render', 'board.kling', '--scene', 'Text scene']);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.equal(server.state.createdCount(), 1);
    assert.equal(server.state.hits('kling.create'), 1);
    assert.ok(existsSync(path.join(project.dir, 'renders', 'board', 'text-scene', 'take-1.mp4')));
  });

  it('killed while a KIE create hangs: the next run does not re-send and tells the user; --new-take submits once more', async () => {
    project.file('board.kling', KIE_BOARD);
    server.faults.add('kie.createTask', { type: 'hang', process: true });
    const child = start(['render', 'board.kling', '--scene', 'Plain']);
    await until(() => server.state.createdCount() === 1, 'the create to reach the server');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    const second = await run(['render', 'board.kling', '--scene', 'Plain']);
    assert.equal(second.code, 1);
    assert.match(second.stdout, /unknown-submit/);
    assert.match(second.stdout, /NOT re-sent/);
    assert.equal(server.state.hits('kie.createTask'), 1);
    const third = await run(['render', 'board.kling', '--scene', 'Plain', '--new-take']);
    assert.equal(third.code, 0, third.stdout + third.stderr);
    assert.equal(server.state.hits('kie.createTask'), 2);
    assert.ok(existsSync(path.join(project.dir, 'renders', 'board', 'plain', 'take-2.mp4')));
  });

  it('two CLIs rendering the same storyboard at once never submit a scene twice', async () => {
    project.file('board.kling', KIE_BOARD);
    const [a, b] = await Promise.all([
      run(['render', 'board.kling']),
      run(['render', 'board.kling']),
    ]);
    assert.equal(server.state.createdCount(), 3, a.stdout + b.stdout);
    // Each scene was handled by exactly one of them; the other says so instead of racing.
    assert.doesNotMatch(a.stdout + b.stdout, /unknown-submit|failed/);
    const third = await run(['render', 'board.kling']);
    assert.equal(third.code, 0, third.stdout + third.stderr);
    assert.equal(server.state.createdCount(), 3);
  });

  it('a malformed JSON answer is one clear line, no stack trace', async () => {
    server.faults.add('kie.credit', { type: 'malformed' }, 3);
    const r = await run(['credits']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr.trim(),
      /^kling-storyboard: KIE credit balance: the server answered HTTP 200 with malformed JSON/,
    );
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('credits prints the balance; a wrong key is reported without the key', async () => {
    const ok = await run(['credits'], { KLING_ACCESS_KEY: '', KLING_SECRET_KEY: '' });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /KIE credits: 1234\.5/);
    const secret = 'sk-live-0123456789abcdef';
    const bad = await run(['credits'], {
      KIE_API_KEY: secret,
      KLING_ACCESS_KEY: '',
      KLING_SECRET_KEY: '',
    });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /key is missing or invalid/);
    assert.ok(!bad.stderr.includes(secret) && !bad.stdout.includes(secret));
  });

  it('--help and -h as the only argument print the usage and exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await run([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Usage:$/m);
      assert.match(r.stdout, /kling-storyboard render FILE/);
      assert.equal(r.stderr, '');
    }
    const none = await run([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^Usage:$/m);
  });

  it('check reports an unreadable file as one error and still checks the others', async () => {
    project.file('good.kling', KIE_BOARD);
    const r = await run(['check', 'missing.kling', 'good.kling']);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.split('\n')[0],
      'kling-storyboard: cannot read missing.kling: no such file',
    );
    assert.match(r.stderr, /2 files checked: 1 error, 0 warnings\./);
    const json = await run(['check', 'missing.kling', 'good.kling', '--format', 'json']);
    const parsed = JSON.parse(json.stdout) as { file: string; code: string }[];
    assert.deepEqual(parsed, [
      {
        file: 'missing.kling',
        severity: 'error',
        code: 'unreadable',
        message: 'cannot read missing.kling: no such file',
      },
    ]);
  });

  it('check shows hints (an unused element) without failing', async () => {
    project.file(
      'hint.kling',
      'provider: kie\n[element cat]\nimages: refs/a.png, refs/b.png\nA cat.\n[scene One]\nA sunset.\n',
    );
    const r = await run(['check', 'hint.kling']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^hint\.kling:2:1: hint unused-element: /m);
    assert.match(r.stderr, /1 file checked: 0 errors, 0 warnings, 1 hint\./);
  });

  it('check columns on CRLF and emoji lines are the editor columns (UTF-16)', async () => {
    project.file('emoji.kling', 'provider: kie\r\n\r\n[scene 🐶]\r\n🐶🐶 The @dgo runs.\r\n');
    const r = await run(['check', 'emoji.kling']);
    // "🐶🐶 The " is 9 UTF-16 units, so @dgo starts in column 10 of line 4.
    assert.match(r.stdout, /^emoji\.kling:4:10: error undefined-element: /m);
  });

  it('an unreachable base URL is one line naming the host, without "will be retried" or a key', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const secret = 'sk-live-unreachable-0123456789';
    const r = await run(['credits'], {
      KIE_API_KEY: secret,
      KIE_API_BASE: `http://127.0.0.1:${port}`,
      KLING_ACCESS_KEY: '',
      KLING_SECRET_KEY: '',
    });
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim(),
      `kling-storyboard: KIE credit balance: connection to http://127.0.0.1:${port} failed (ECONNREFUSED); gave up after retrying.`,
    );
    assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret));
    project.file('board.kling', KIE_BOARD);
    const render = await run(['render', 'board.kling', '--scene', 'Finale'], {
      KIE_UPLOAD_BASE: `http://127.0.0.1:${port}`,
    });
    assert.equal(render.code, 1);
    assert.match(
      render.stdout,
      /Finale: take 1 failed — could not prepare the media: KIE upload: connection to http:\/\/127\.0\.0\.1:\d+ failed \(ECONNREFUSED\); gave up after retrying\. Nothing was submitted\./,
    );
    assert.doesNotMatch(render.stdout + render.stderr, /will be retried|\n\s+at /);
    assert.equal(server.state.createdCount(), 0);
  });

  it('a reused take tells the CLI user about --new-take', async () => {
    project.file('board.kling', KIE_BOARD);
    const first = await run(['render', 'board.kling', '--scene', 'Plain']);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const again = await run(['render', 'board.kling', '--scene', 'Plain']);
    assert.match(
      again.stdout,
      /already rendered as take 1 .*; run again with --new-take to generate again\./,
    );
  });

  it('a reader that stops early (render | head -1) neither crashes the render nor prints a stack', async () => {
    project.file('board.kling', KIE_BOARD);
    const child = start(['render', 'board.kling', '--scene', 'Plain']);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    // Like `head -1`: read the first chunk, then close the pipe.
    child.stdout!.once('data', () => child.stdout!.destroy());
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE|\n\s+at /);
    assert.ok(existsSync(path.join(project.dir, 'renders', 'board', 'plain', 'take-1.mp4')));
  });

  it('render without keys fails fast with one line', async () => {
    project.file('board.kling', KIE_BOARD);
    const r = await run(['render', 'board.kling'], { KIE_API_KEY: '' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^kling-storyboard: KIE_API_KEY is not set/m);
    assert.equal(server.state.log.length, 0);
  });
});

// Secrets never reach disk or output (issue 9, item 8): a key echoed by the server (inside KIE's
// failMsg, Kling's task_status_msg, an error body, a message long enough to be cut) is redacted
// before anything is cut or written; a base URL with `user:password@` or a typo is refused at
// start-up, before anything is recorded as sent.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { BaseUrlError } from '../../server/src/providers/http';
import { KieClient } from '../../server/src/providers/kie';
import { KlingClient } from '../../server/src/providers/kling';
import { RenderEngine } from '../../server/src/render';
import { startFakeServer, type FakeServer } from '../fake-server/server';
import { bundleCli } from './cli-bundle';
import { engineFor, KIE_BOARD, KLING_BOARD, makeProject, type Project } from './helpers';

/** Every file under `dir` as text (ledger, sidecars, caches): what reached disk. */
function everythingOnDisk(dir: string): string {
  let text = '';
  for (const name of readdirSync(dir, { recursive: true }).map(String)) {
    const file = path.join(dir, name);
    try {
      text += `\n--- ${name}\n` + readFileSync(file, 'latin1');
    } catch {
      // a folder
    }
  }
  return text;
}

/** Fails when `text` holds `secret` or any 6-character piece of it (a key cut in half). */
function assertNoPieceOf(secret: string, text: string, where: string): void {
  for (let i = 0; i + 6 <= secret.length; i++) {
    const piece = secret.slice(i, i + 6);
    assert.ok(!text.includes(piece), `${where} holds "${piece}" of a secret:\n${text}`);
  }
}

describe('secrets never reach disk or output', () => {
  let server: FakeServer;
  let project: Project;
  // Keys that do not occur by accident in any other text.
  const kieKey = 'kie-LIVE-7f3a9c2e51d8b4';
  const klingAk = 'AKqz81mvXw27LpTr';
  const klingSk = 'SKpo93nbVc45MzYe01';

  before(async () => {
    server = await startFakeServer({
      pollsToFinish: 2,
      kieApiKey: kieKey,
      klingAccessKey: klingAk,
      klingSecretKey: klingSk,
    });
  });
  after(() => server.close());
  beforeEach(() => {
    server.reset();
    project = makeProject();
  });

  it('a key inside KIE failMsg is not in the ledger, the events or the log', async () => {
    server.faults.failNextTask(`upstream rejected the request signed with ${kieKey}`, '422');
    const file = project.file('board.kling', KIE_BOARD);
    const { engine, logs } = engineFor(server, project);
    const events: string[] = [];
    const [entry] = await engine.render({
      storyboardPath: file,
      text: KIE_BOARD,
      scenes: [2],
      onEvent: (e) => events.push(e.message, JSON.stringify(e.entry)),
    });
    assert.equal(entry!.state, 'failed');
    assert.match(entry!.error!, /upstream rejected the request signed with \*\*\*/);
    assertNoPieceOf(kieKey, everythingOnDisk(project.dir), 'the project folder');
    assertNoPieceOf(kieKey, [...events, ...logs].join('\n'), 'events and log');
  });

  it('a key at the 200-character cut of a long error message is redacted before the cut', async () => {
    const long = `${'x'.repeat(190)} ${kieKey} and more text after the key`;
    server.faults.add('kie.createTask', { type: 'kieCode', code: 422, msg: long });
    const file = project.file('board.kling', KIE_BOARD);
    const { engine, logs } = engineFor(server, project);
    const [entry] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [2] });
    assert.equal(entry!.state, 'failed');
    assert.match(entry!.error!, /failed validation: x+ \*\*\*/);
    assertNoPieceOf(kieKey, everythingOnDisk(project.dir), 'the project folder');
    assertNoPieceOf(kieKey, logs.join('\n'), 'the log');
  });

  it('Kling keys and the token echoed in task_status_msg and in an error body never reach disk', async () => {
    server.faults.failNextTask(`signature mismatch: ak=${klingAk} sk=${klingSk}`);
    server.faults.add('kling.query', {
      type: 'klingCode',
      status: 500,
      code: 5000,
      message: `internal error for ${klingAk}/${klingSk}`,
    });
    const file = project.file('kboard.kling', KLING_BOARD);
    const { engine, logs } = engineFor(server, project);
    const [entry] = await engine.render({ storyboardPath: file, text: KLING_BOARD, scenes: [1] });
    assert.equal(entry!.state, 'failed');
    assert.match(entry!.error!, /signature mismatch: ak=\*\*\* sk=\*\*\*/);
    const disk = everythingOnDisk(project.dir);
    assertNoPieceOf(klingAk, disk, 'the project folder');
    assertNoPieceOf(klingSk, disk, 'the project folder');
    assertNoPieceOf(klingSk, logs.join('\n'), 'the log');
  });

  it('a missing key is one line saying where to set it, naming no key that is set', async () => {
    const engine = new RenderEngine({
      keys: { klingAccessKey: klingAk, klingSecretKey: klingSk },
      bases: { kieApi: server.url, kieUpload: server.url, klingApi: server.url },
      concurrency: 1,
      stateDir: project.stateDir,
    });
    await assert.rejects(engine.credits('kie'), (err: Error) => {
      assert.match(err.message, /^No KIE API key is set \(KIE_API_KEY, or .+\)\.$/);
      assertNoPieceOf(klingAk, err.message, 'the message');
      assertNoPieceOf(klingSk, err.message, 'the message');
      return true;
    });
    assert.equal(server.state.log.length, 0);
  });

  it('a base URL with user:password@ is refused by the clients and the engine, without repeating the password', () => {
    const withCreds = server.url.replace('http://', 'http://admin:hunter2pass@');
    for (const make of [
      () => new KieClient({ apiKey: kieKey, apiBase: withCreds, uploadBase: server.url }),
      () => new KieClient({ apiKey: kieKey, apiBase: server.url, uploadBase: withCreds }),
      () => new KlingClient({ accessKey: klingAk, secretKey: klingSk, apiBase: withCreds }),
      () =>
        new RenderEngine({
          keys: { kieApiKey: kieKey },
          bases: { kieApi: server.url, kieUpload: server.url, klingApi: withCreds },
          concurrency: 1,
          stateDir: project.stateDir,
        }),
    ]) {
      assert.throws(make, (err: unknown) => {
        assert.ok(err instanceof BaseUrlError, String(err));
        assert.match(err.message, /user name or password/);
        assert.ok(!err.message.includes('hunter2pass') && !err.message.includes('admin'));
        return true;
      });
    }
  });

  describe('the CLI', () => {
    let cli: string;
    before(async () => {
      cli = await bundleCli();
    });

    function run(args: string[], env: Record<string, string>) {
      return new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [cli, ...args], {
          cwd: project.dir,
          env: {
            PATH: process.env.PATH,
            HOME: project.dir,
            KIE_API_KEY: kieKey,
            KIE_API_BASE: server.url,
            KIE_UPLOAD_BASE: server.url,
            KLING_API_BASE: server.url,
            KLING_STORYBOARD_STATE_DIR: project.stateDir,
            KLING_STORYBOARD_POLL_MS: '20',
            ...env,
          },
        });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        child.on('close', (code) => resolve({ code, out }));
      });
    }

    for (const [name, value, expected] of [
      [
        'credentials (user:password@)',
        () => server.url.replace('http://', 'http://admin:hunter2pass@'),
        /KIE_API_BASE contains a user name or password .*refused/,
      ],
      [
        'a scheme typo (htp://)',
        () => server.url.replace('http://', 'htp://'),
        /KIE_API_BASE must start with https:\/\/ or http:\/\//,
      ],
      [
        'a missing colon (http//)',
        () => server.url.replace('http://', 'http//'),
        /KIE_API_BASE is not a URL/,
      ],
    ] as const) {
      it(`a base URL with ${name} fails at start-up: one line, nothing sent, nothing recorded`, async () => {
        project.file('board.kling', KIE_BOARD);
        const r = await run(['render', 'board.kling', '--scene', 'Plain'], {
          KIE_API_BASE: value(),
        });
        assert.equal(r.code, 1, r.out);
        assert.match(r.out, expected);
        assert.ok(!r.out.includes('hunter2pass'), r.out);
        assert.equal(r.out.trim().split('\n').length, 1, r.out);
        assert.equal(server.state.log.length, 0);
        assert.ok(!existsSync(path.join(project.dir, 'renders')), 'nothing recorded');
        assert.ok(!everythingOnDisk(project.dir).includes('hunter2pass'));
      });
    }
  });
});

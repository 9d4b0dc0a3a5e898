// Tests that catch realistic planted bugs (issue 9, item 13): each one pins a fact the code relies
// on (server/docs/providers.md) so that breaking it fails here, not in front of a paying user.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { KlingClient } from '../../server/src/providers/kling';
import { KieClient } from '../../server/src/providers/kie';
import { ProviderError } from '../../server/src/providers/http';
import { type FakeServer } from '../fake-server/server';
import { makePng } from '../fake-server/png';
import {
  engineFor,
  KIE_BOARD,
  KLING_BOARD,
  recordingSleep,
  type Project,
  useFakeServer,
} from '../engine/helpers';

/** Every `.json` file under a folder (the ledger), parsed. */
function jsonFilesUnder(dir: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true }).map(String);
  } catch {
    return out;
  }
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    try {
      out.push(JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as Record<string, unknown>);
    } catch {
      // a folder named *.json or a file being replaced: not an entry
    }
  }
  return out;
}

describe('planted bugs the suite must catch', () => {
  let server: FakeServer;
  let project: Project;

  useFakeServer({ pollsToFinish: 2 }, (s, p) => {
    server = s;
    project = p;
  });

  it('the Kling JWT: HS256 signed with the secret key, iss = access key, exp ≈ now + 1800 s, nbf ≈ now − 5 s', async () => {
    const jose = await import('jose');
    const seen: string[] = [];
    const recordingFetch: typeof fetch = (input, init) => {
      const h = new Headers(init?.headers);
      seen.push(h.get('authorization') ?? '');
      return fetch(input, init);
    };
    const kling = new KlingClient({
      accessKey: server.keys.klingAccessKey,
      secretKey: server.keys.klingSecretKey,
      apiBase: server.url,
      fetch: recordingFetch,
      timeoutMs: 2000,
    });
    const before = Math.floor(Date.now() / 1000);
    await kling.createVideo('text2video', {
      model_name: 'kling-v3',
      prompt: 'A dog runs.',
      duration: '5',
      external_task_id: 'jwt-check',
    });
    const after = Math.ceil(Date.now() / 1000);
    assert.equal(seen.length, 1);
    const m = /^Bearer (\S+)$/.exec(seen[0]!);
    assert.ok(m, `Authorization header: ${seen[0]}`);
    const jwt = m[1]!;
    const header = jose.decodeProtectedHeader(jwt);
    assert.deepEqual({ alg: header.alg, typ: header.typ }, { alg: 'HS256', typ: 'JWT' });
    // Verified with the secret key: a token signed with anything else throws here.
    const { payload } = await jose.jwtVerify(
      jwt,
      new TextEncoder().encode(server.keys.klingSecretKey),
      { algorithms: ['HS256'] },
    );
    assert.equal(payload.iss, server.keys.klingAccessKey);
    assert.ok(
      payload.exp! >= before + 1800 && payload.exp! <= after + 1800,
      `exp ${payload.exp} not within now + 1800 s (${before + 1800}..${after + 1800})`,
    );
    assert.ok(payload.nbf! >= before - 5 && payload.nbf! <= after - 5, `nbf ${payload.nbf}`);
    await assert.rejects(
      jose.jwtVerify(jwt, new TextEncoder().encode('another-secret'), { algorithms: ['HS256'] }),
    );
  });

  it('KIE 501 on createTask is final: one request, no task, no retry (client and engine)', async () => {
    const kie = new KieClient({
      apiKey: server.keys.kieApiKey,
      apiBase: server.url,
      uploadBase: server.url,
      timeoutMs: 2000,
    });
    server.faults.add('kie.createTask', { type: 'kieCode', code: 501, msg: 'generation failed' });
    const err = await kie.createTask({ model: 'kling-3.0/video', input: {} }).catch((e) => e);
    assert.ok(err instanceof ProviderError);
    assert.equal(err.retryable, false);
    assert.equal(err.mayHaveReachedServer, false);
    server.reset();

    server.faults.add(
      'kie.createTask',
      { type: 'kieCode', code: 501, msg: 'generation failed' },
      10,
    );
    const file = project.file('board.kling', KIE_BOARD);
    const rec = recordingSleep();
    const { engine } = engineFor(server, project, { sleep: rec.sleep });
    const [entry] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [2] });
    assert.equal(entry!.state, 'failed');
    assert.match(entry!.error!, /generation failed/);
    assert.equal(server.state.hits('kie.createTask'), 1);
    assert.equal(server.state.createdCount(), 0);
  });

  it('Retry-After is honoured exactly, and capped: never shorter, never longer than the bound', async () => {
    server.faults.add('kie.createTask', {
      type: 'status',
      status: 429,
      body: { code: 429, msg: 'Rate limit exceeded' },
      headers: { 'Retry-After': '1' },
    });
    server.faults.add('kie.recordInfo', {
      type: 'status',
      status: 429,
      body: { code: 429, msg: 'Rate limit exceeded' },
      headers: { 'Retry-After': '3600' },
    });
    const file = project.file('board.kling', KIE_BOARD);
    const rec = recordingSleep();
    const { engine } = engineFor(server, project, { sleep: rec.sleep, maxWaitMs: 4000 });
    const [entry] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [2] });
    assert.equal(entry!.state, 'done');
    // The create's Retry-After: 1 s is waited for as a real delay (the gate pauses on it) …
    const creates = server.state.log.filter((l) => l.route === 'kie.createTask');
    assert.equal(creates.length, 2);
    const gap = creates[1]!.at - creates[0]!.at;
    assert.ok(gap >= 1000, `second create after ${gap} ms (Retry-After said 1000)`);
    // (The fallback without Retry-After would be a whole 10 s window, capped at 4 s here.)
    assert.ok(gap < 1000 + 1500, `second create after ${gap} ms: waited far beyond Retry-After`);
    // … and the poll's Retry-After of an hour is cut to the configured bound, not obeyed blindly.
    assert.ok(rec.requested.includes(4000), `waits asked: ${rec.requested.join(', ')}`);
    assert.ok(
      rec.requested.every((ms) => ms <= 4000),
      `a wait above the bound: ${rec.requested.join(', ')}`,
    );
  });

  it('the upload cache is keyed by content: new bytes at the same path are uploaded again and the new URL sent', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    // Generous request timeouts: a slow machine must not turn one upload into two.
    const opts = { requestTimeoutMs: 20_000 };
    await engineFor(server, project, opts).engine.render({
      storyboardPath: file,
      text: KIE_BOARD,
      scenes: [1],
    });
    const uploaded = () => new Set(server.state.uploads.map((u) => u.sha256));
    const before = uploaded();
    const [firstTask] = [...server.state.kieTasks.values()];
    const firstFrameUrl = (firstTask!.body.input as { image_urls: string[] }).image_urls[0]!;

    // Same path, other pixels.
    const newBytes = makePng(400, 300, 9);
    writeFileSync(path.join(project.dir, 'frames', 'f2.png'), newBytes);
    const [entry] = await engineFor(server, project, opts).engine.render({
      storyboardPath: file,
      text: KIE_BOARD,
      scenes: [1],
    });
    assert.equal(entry!.state, 'done');
    const newSha = createHash('sha256').update(newBytes).digest('hex');
    assert.deepEqual(
      [...uploaded()].filter((h) => !before.has(h)),
      [newSha],
      'exactly the changed file was uploaded again',
    );
    const tasks = [...server.state.kieTasks.values()];
    assert.equal(tasks.length, 2);
    const sentUrl = (tasks[1]!.body.input as { image_urls: string[] }).image_urls[0]!;
    assert.notEqual(sentUrl, firstFrameUrl);
    const served = Buffer.from(await (await fetch(sentUrl)).arrayBuffer());
    assert.ok(served.equals(newBytes), 'the URL sent serves the new bytes');
  });

  it('Kling element_list holds only the elements the scene references', async () => {
    const board = KLING_BOARD.replace(
      '[scene Image scene]',
      '[element cat]\nid: 67890\nA grey cat.\n\n[element bird]\nid: 555\nA bird.\n\n[scene Image scene]',
    ).replace('The @dog runs.', 'The @cat watches.');
    const file = project.file('kboard.kling', board);
    const { engine } = engineFor(server, project);
    const [entry] = await engine.render({ storyboardPath: file, text: board, scenes: [0] });
    assert.equal(entry!.state, 'done');
    const [task] = [...server.state.klingTasks.values()];
    assert.deepEqual(task!.body.element_list, [{ element_id: 67890 }]);
  });

  it('the ledger entry is on disk before createTask is answered', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    const ledgerDir = path.join(project.dir, 'renders', '.ledger');
    const seenAtCreate: Record<string, unknown>[][] = [];
    server.hooks.beforeCreate = () => {
      seenAtCreate.push(jsonFilesUnder(ledgerDir));
    };
    const { engine } = engineFor(server, project);
    const [entry] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [2] });
    assert.equal(entry!.state, 'done');
    assert.equal(seenAtCreate.length, 1);
    const pending = seenAtCreate[0]!.filter(
      (e) => e.sceneTitle === 'Plain' && e.state === 'pending-submit',
    );
    assert.equal(pending.length, 1, `ledger at create time: ${JSON.stringify(seenAtCreate[0])}`);
    assert.ok(pending[0]!.createSentAt, 'the entry says a create may be in flight');
  });

  it('a key echoed in a poll error is never logged, emitted or stored', async () => {
    const key = server.keys.kieApiKey;
    server.faults.add(
      'kie.recordInfo',
      {
        type: 'status',
        status: 500,
        body: { code: 500, msg: `upstream refused token ${key} (apiKey=${key})` },
      },
      2,
    );
    const file = project.file('board.kling', KIE_BOARD);
    const { engine, logs } = engineFor(server, project);
    const messages: string[] = [];
    const [entry] = await engine.render({
      storyboardPath: file,
      text: KIE_BOARD,
      scenes: [2],
      onEvent: (e) => messages.push(e.message, JSON.stringify(e.entry)),
    });
    assert.equal(entry!.state, 'done');
    assert.ok(
      logs.some((l) => l.includes('upstream refused token')),
      `the poll error was logged: ${logs.join('\n')}`,
    );
    for (const line of [...logs, ...messages]) assert.ok(!line.includes(key), line);
    const ledger = JSON.stringify(jsonFilesUnder(path.join(project.dir, 'renders')));
    assert.ok(!ledger.includes(key));
  });
});

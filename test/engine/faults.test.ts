// No duplicate createTask under any fault: every scripted failure around the create call ends
// with exactly one remote task (or, where that cannot be known for KIE, zero re-sends and an
// 'unknown-submit' the user decides on).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startFakeServer, type FakeServer, type Fault, type Route } from '../fake-server/server';
import {
  engineFor,
  KIE_BOARD,
  KLING_BOARD,
  recordingSleep,
  type Project,
  useFakeServer,
} from './helpers';

describe('no duplicate createTask under any fault', () => {
  let server: FakeServer;
  let project: Project;

  useFakeServer({ pollsToFinish: 2 }, (s, p) => {
    server = s;
    project = p;
  });

  /** Milliseconds between the first and second create requests the server saw. */
  function createGap(): number {
    const creates = server.state.log.filter(
      (l) => l.route === 'kie.createTask' || l.route === 'kling.create',
    );
    return creates[1]!.at - creates[0]!.at;
  }

  const kieScene = 2; // 'Plain': no media
  const klingT2v = 1; // 'Text scene'
  const klingI2v = 0; // 'Image scene'

  async function renderKie(faults: [Route, Fault, number?][], opts = {}) {
    for (const [route, fault, times] of faults) server.faults.add(route, fault, times);
    const file = project.file('board.kling', KIE_BOARD);
    const rec = recordingSleep();
    const { engine } = engineFor(server, project, { sleep: rec.sleep, ...opts });
    const [entry] = await engine.render({
      storyboardPath: file,
      text: KIE_BOARD,
      scenes: [kieScene],
    });
    return { entry: entry!, rec, engine, file };
  }

  async function renderKling(scene: number, faults: [Route, Fault, number?][], opts = {}) {
    for (const [route, fault, times] of faults) server.faults.add(route, fault, times);
    const file = project.file('kboard.kling', KLING_BOARD);
    const rec = recordingSleep();
    const { engine } = engineFor(server, project, { sleep: rec.sleep, ...opts });
    const [entry] = await engine.render({
      storyboardPath: file,
      text: KLING_BOARD,
      scenes: [scene],
    });
    return { entry: entry!, rec, engine, file };
  }

  it('KIE 429 with Retry-After: waits as told, then one task', async () => {
    const { entry, rec } = await renderKie([
      [
        'kie.createTask',
        {
          type: 'status',
          status: 429,
          body: { code: 429, msg: 'Rate limit exceeded' },
          headers: { 'Retry-After': '1' },
        },
      ],
    ]);
    assert.equal(entry.state, 'done');
    assert.equal(server.state.createdCount(), 1);
    assert.ok(rec.requested.length > 0);
    // The next create reached the server no earlier than Retry-After allowed.
    assert.ok(createGap() >= 1000, `gap ${createGap()} ms`);
  });

  it('KIE 429 inside an HTTP 200 body without Retry-After: waits a full window, then one task', async () => {
    const { entry, rec } = await renderKie(
      [['kie.createTask', { type: 'kieCode', code: 429, msg: 'Rate limit exceeded' }]],
      {
        kieCreateWindow: { max: 18, windowMs: 700 },
      },
    );
    assert.equal(entry.state, 'done');
    assert.equal(server.state.createdCount(), 1);
    assert.ok(createGap() >= 700, `waited ${rec.requested.join(',')}`);
  });

  it('KIE 455 (maintenance, a documented refusal) is retried: one task', async () => {
    const { entry } = await renderKie([
      ['kie.createTask', { type: 'kieCode', code: 455, msg: 'maintenance' }, 2],
    ]);
    assert.equal(entry.state, 'done');
    assert.equal(server.state.createdCount(), 1);
    assert.equal(server.state.hits('kie.createTask'), 3);
  });

  it('KIE 402 is final: no task, a clear message', async () => {
    const { entry } = await renderKie([
      ['kie.createTask', { type: 'kieCode', code: 402, msg: 'Credits insufficient' }],
    ]);
    assert.equal(entry.state, 'failed');
    assert.match(entry.error!, /insufficient credits.*will not be retried/);
    assert.equal(server.state.createdCount(), 0);
    assert.equal(server.state.hits('kie.createTask'), 1);
  });

  for (const [name, fault] of [
    ['a connection reset after the task was created', { type: 'reset', process: true }],
    ['malformed JSON after the task was created', { type: 'malformed', process: true }],
    ['a hung connection after the task was created', { type: 'hang', process: true }],
  ] as [string, Fault][]) {
    it(`KIE ${name}: not re-sent, 'unknown-submit', a new take only when asked`, async () => {
      const { entry, engine, file } = await renderKie([['kie.createTask', fault]], {
        requestTimeoutMs: 300,
      });
      assert.equal(entry.state, 'unknown-submit');
      assert.match(entry.error!, /NOT re-sent/);
      assert.equal(server.state.createdCount(), 1);
      assert.equal(server.state.hits('kie.createTask'), 1);
      // Rendering again does not re-send either.
      const [again] = await engine.render({
        storyboardPath: file,
        text: KIE_BOARD,
        scenes: [kieScene],
      });
      assert.equal(again!.state, 'unknown-submit');
      assert.equal(server.state.hits('kie.createTask'), 1);
      // The user forces a new take: exactly one more task.
      const [forced] = await engine.render({
        storyboardPath: file,
        text: KIE_BOARD,
        scenes: [kieScene],
        newTake: true,
      });
      assert.equal(forced!.state, 'done');
      assert.equal(forced!.take, 2);
      assert.equal(server.state.createdCount(), 2);
    });
  }

  it('KIE connection reset before anything was processed is still not re-sent (it cannot be known)', async () => {
    const { entry } = await renderKie([['kie.createTask', { type: 'reset' }]]);
    assert.equal(entry.state, 'unknown-submit');
    assert.equal(server.state.hits('kie.createTask'), 1);
  });

  it('Kling reset after the task was created: found by external_task_id, one task, video downloaded', async () => {
    const { entry } = await renderKling(klingT2v, [
      ['kling.create', { type: 'reset', process: true }],
    ]);
    assert.equal(entry.state, 'done');
    assert.equal(server.state.createdCount(), 1);
    assert.equal(server.state.hits('kling.create'), 1);
    assert.ok(server.state.hits('kling.list') >= 1);
  });

  it('Kling malformed JSON after the create: found by external_task_id, one task', async () => {
    const { entry } = await renderKling(klingI2v, [
      ['kling.create', { type: 'malformed', process: true }],
    ]);
    assert.equal(entry.state, 'done');
    assert.equal(server.state.createdCount(), 1);
  });

  it('Kling hung create that never arrived: lookup finds nothing, re-sent with the same external id, one task', async () => {
    const { entry } = await renderKling(klingT2v, [['kling.create', { type: 'hang' }]], {
      requestTimeoutMs: 300,
    });
    assert.equal(entry.state, 'done');
    assert.equal(server.state.createdCount(), 1);
    assert.equal(server.state.hits('kling.create'), 2);
    const [task] = [...server.state.klingTasks.values()];
    assert.equal(
      task!.externalTaskId,
      entry.request && (entry.request as { external_task_id: string }).external_task_id,
    );
  });

  it('Kling 5001 on create: looked up first, then re-sent once; one task', async () => {
    const { entry } = await renderKling(klingT2v, [
      ['kling.create', { type: 'klingCode', status: 503, code: 5001 }],
    ]);
    assert.equal(entry.state, 'done');
    assert.equal(server.state.createdCount(), 1);
  });

  it('Kling 1303 concurrency limit: queued with backoff (≥ 1 s scaled), then one task', async () => {
    const { entry, rec } = await renderKling(klingT2v, [
      [
        'kling.create',
        {
          type: 'klingCode',
          status: 429,
          code: 1303,
          message: 'parallel task over resource pack limit',
        },
        2,
      ],
    ]);
    assert.equal(entry.state, 'done');
    assert.equal(server.state.createdCount(), 1);
    assert.equal(server.state.hits('kling.create'), 3);
    assert.ok(rec.requested.length >= 2);
  });

  it('Kling concurrency limit of 1 with three scenes in flight: every scene done, one task each', async () => {
    const limited = await startFakeServer({ pollsToFinish: 2, klingConcurrency: 1 });
    try {
      const board = KLING_BOARD + '\n[scene Third]\nduration: 3\nRain on a window.\n';
      const file = project.file('kboard.kling', board);
      const { engine } = engineFor(limited, project, { concurrency: 3 });
      const entries = await engine.render({ storyboardPath: file, text: board });
      assert.deepEqual(
        entries.map((e) => e.state),
        ['done', 'done', 'done'],
      );
      assert.equal(limited.state.createdCount(), 3);
      assert.ok(limited.state.log.some((l) => l.route === 'kling.create' && l.outcome === 429));
    } finally {
      await limited.close();
    }
  });

  it('Kling expired token (1004): re-signed once, one task', async () => {
    const { entry } = await renderKling(klingT2v, [
      ['kling.create', { type: 'klingCode', status: 401, code: 1004, message: 'token expired' }],
    ]);
    assert.equal(entry.state, 'done');
    assert.equal(server.state.createdCount(), 1);
    assert.equal(server.state.hits('kling.create'), 2);
  });

  it('Kling content-safety refusal (1301) is final with a clear message', async () => {
    const { entry } = await renderKling(klingT2v, [
      ['kling.create', { type: 'klingCode', status: 400, code: 1301, message: 'risk control' }],
    ]);
    assert.equal(entry.state, 'failed');
    assert.match(entry.error!, /content-safety.*risk control/);
    assert.equal(server.state.createdCount(), 0);
  });

  it('polling with Retry-After on a 429 waits as told', async () => {
    const { entry, rec } = await renderKie([
      [
        'kie.recordInfo',
        {
          type: 'status',
          status: 429,
          body: { code: 429, msg: 'Rate limit exceeded' },
          headers: { 'Retry-After': '2' },
        },
      ],
    ]);
    assert.equal(entry.state, 'done');
    assert.ok(rec.requested.includes(2000), `waited ${rec.requested.join(',')}`);
  });

  it('cancel while polling: stops waiting, says the task keeps running, and a later resume finishes it', async () => {
    const slow = await startFakeServer({ pollsToFinish: 1000 });
    try {
      const file = project.file('board.kling', KIE_BOARD);
      const controller = new AbortController();
      const { engine } = engineFor(slow, project);
      const pending = engine.render({
        storyboardPath: file,
        text: KIE_BOARD,
        scenes: [kieScene],
        signal: controller.signal,
        onEvent: (e) => {
          if (e.entry.state === 'submitted' || e.entry.state === 'running') controller.abort();
        },
      });
      const [entry] = await pending;
      assert.equal(entry!.state, 'cancelled');
      assert.match(entry!.error!, /keeps running/);
      const stored = await engine.entries(file);
      assert.ok(['submitted', 'running'].includes(stored[0]!.state));
      // Make the task finish, then resume from a fresh engine (as after a restart).
      for (const t of slow.state.kieTasks.values()) t.polls = 999;
      const { engine: fresh } = engineFor(slow, project);
      const resumed = await fresh.resume('known');
      assert.equal(resumed.length, 1);
      assert.equal(resumed[0]!.state, 'done');
      assert.equal(slow.state.createdCount(), 1);
    } finally {
      await slow.close();
    }
  });

  it('KIE create window: the client-side queue (with a margin, like 18 of 20 in production) keeps KIE from answering 429', async () => {
    const strict = await startFakeServer({
      pollsToFinish: 2,
      kieCreatesPerWindow: 2,
      kieWindowMs: 400,
    });
    try {
      const board =
        KIE_BOARD + '\n[scene Four]\nduration: 3\nRain.\n[scene Five]\nduration: 3\nSnow.\n';
      const file = project.file('board.kling', board);
      const { engine } = engineFor(strict, project, {
        concurrency: 5,
        kieCreateWindow: { max: 2, windowMs: 600 },
      });
      const entries = await engine.render({ storyboardPath: file, text: board, scenes: [2, 3, 4] });
      assert.deepEqual(
        entries.map((e) => e.state),
        ['done', 'done', 'done'],
      );
      assert.equal(strict.state.createdCount(), 3);
      assert.equal(strict.state.hits('kie.createTask'), 3);
    } finally {
      await strict.close();
    }
  });

  it('Kling lookup itself failing: unknown-submit now, found and finished by the next run; still one task', async () => {
    const { entry, engine, file } = await renderKling(klingT2v, [
      ['kling.create', { type: 'reset', process: true }],
      ['kling.query', { type: 'klingCode', status: 500, code: 5000 }, 20],
      ['kling.list', { type: 'klingCode', status: 500, code: 5000 }, 20],
    ]);
    assert.equal(entry.state, 'unknown-submit');
    assert.match(entry.error!, /NOT re-sent/);
    assert.equal(server.state.createdCount(), 1);
    server.faults.clear();
    const [again] = await engine.render({
      storyboardPath: file,
      text: KLING_BOARD,
      scenes: [klingT2v],
    });
    assert.equal(again!.state, 'done');
    assert.equal(server.state.createdCount(), 1);
    assert.equal(server.state.hits('kling.create'), 1);
  });
});

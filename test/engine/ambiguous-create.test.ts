// Never re-send an ambiguous create (issue 9, item 4). KIE has no idempotency key and no lookup,
// so a create is retried only when the answer proves no task was made; every other failure is
// "may have been created" and the createTask count on the fake server stays at one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startFakeServer, type FakeServer, type Fault } from '../fake-server/server';
import {
  engineFor,
  KIE_BOARD,
  KLING_BOARD,
  recordingSleep,
  type Project,
  useFakeServer,
} from './helpers';

const plain = 2; // KIE_BOARD's 'Plain' scene: no media, so createTask is the first request

describe('ambiguous creates are never re-sent', () => {
  let server: FakeServer;
  let project: Project;

  useFakeServer({ pollsToFinish: 2 }, (s, p) => {
    server = s;
    project = p;
  });

  async function renderKie(fault: Fault, times = 1, opts = {}) {
    server.faults.add('kie.createTask', fault, times);
    const file = project.file('board.kling', KIE_BOARD);
    const rec = recordingSleep();
    const { engine } = engineFor(server, project, { sleep: rec.sleep, ...opts });
    const [entry] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [plain] });
    return { entry: entry!, engine, file };
  }

  const ambiguous: [string, Fault, RegExp][] = [
    [
      'code 500 inside an HTTP 200',
      { type: 'kieCode', code: 500, msg: 'Server error' },
      /code 500/,
    ],
    [
      'HTTP 500 with a JSON body',
      { type: 'status', status: 500, body: { code: 500, msg: 'Internal error' } },
      /code 500/,
    ],
    ['HTTP 503 without a body', { type: 'status', status: 503 }, /503/],
    [
      'HTTP 502 with an HTML page',
      { type: 'status', status: 502, rawBody: '<html>Bad gateway</html>' },
      /HTTP 502/,
    ],
    [
      'an undocumented code (999) in an HTTP 200',
      { type: 'kieCode', code: 999, msg: 'odd' },
      /code 999/,
    ],
    ['a connection reset', { type: 'reset' }, /connection .* failed/],
    ['no answer (timeout)', { type: 'hang' }, /no answer within/],
    ['malformed JSON', { type: 'malformed' }, /malformed JSON/],
  ];

  for (const [name, fault, known] of ambiguous) {
    it(`KIE ${name}: one createTask, "may have been created", not sent again without a new take`, async () => {
      // Scripted for several requests: a re-send would meet the same answer, not a success.
      const { entry, engine, file } = await renderKie(fault, 6, { requestTimeoutMs: 400 });
      assert.equal(server.state.hits('kie.createTask'), 1);
      assert.equal(entry.state, 'unknown-submit');
      assert.match(
        entry.error!,
        /may have created a task at KIE: its answer does not prove otherwise/,
      );
      assert.match(entry.error!, /NOT re-sent/);
      assert.match(entry.error!, known, 'the message says what is known');
      server.faults.clear();
      const [again] = await engine.render({
        storyboardPath: file,
        text: KIE_BOARD,
        scenes: [plain],
      });
      assert.equal(again!.state, 'unknown-submit');
      assert.equal(server.state.hits('kie.createTask'), 1);
      const [forced] = await engine.render({
        storyboardPath: file,
        text: KIE_BOARD,
        scenes: [plain],
        newTake: true,
      });
      assert.equal(forced!.state, 'done');
      assert.equal(server.state.hits('kie.createTask'), 2);
    });
  }

  for (const code of [501, 505]) {
    it(`KIE ${code} is final: failed at once, one request, nothing "may have been created"`, async () => {
      const { entry } = await renderKie({ type: 'kieCode', code, msg: `error ${code}` }, 6);
      assert.equal(entry.state, 'failed');
      assert.match(entry.error!, /will not be retried/);
      assert.doesNotMatch(entry.error!, /may have (been )?created/);
      assert.equal(server.state.hits('kie.createTask'), 1);
      assert.equal(server.state.createdCount(), 0);
    });
  }

  it('KIE connection refused (nothing sent) is retried: the next try creates one task', async () => {
    // A closed port: the connection never opens, so nothing can have been created.
    const closed = await startFakeServer();
    const closedUrl = closed.url;
    await closed.close();
    const file = project.file('board.kling', KIE_BOARD);
    const { engine } = engineFor(server, project, {
      bases: { kieApi: closedUrl, kieUpload: server.url, klingApi: server.url },
      sleep: recordingSleep().sleep,
    });
    const [entry] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [plain] });
    assert.equal(entry!.state, 'failed');
    assert.match(entry!.error!, /ECONNREFUSED/);
    assert.doesNotMatch(entry!.error!, /may have (been )?created/);
  });

  it('KIE 429 and 455 (refused before the work) are retried: one task in the end', async () => {
    server.faults.add('kie.createTask', { type: 'kieCode', code: 429, msg: 'Rate limit exceeded' });
    const { entry } = await renderKie({ type: 'kieCode', code: 455, msg: 'maintenance' }, 1, {
      kieCreateWindow: { max: 18, windowMs: 50 },
    });
    assert.equal(entry.state, 'done');
    assert.equal(server.state.hits('kie.createTask'), 3);
    assert.equal(server.state.createdCount(), 1);
  });

  it('Kling 5000 on a create: looked up by external_task_id before anything is re-sent; one task', async () => {
    server.faults.add('kling.create', { type: 'klingCode', status: 500, code: 5000 });
    const file = project.file('kboard.kling', KLING_BOARD);
    const { engine } = engineFor(server, project, { sleep: recordingSleep().sleep });
    const [entry] = await engine.render({ storyboardPath: file, text: KLING_BOARD, scenes: [1] });
    assert.equal(entry!.state, 'done');
    assert.equal(server.state.createdCount(), 1);
    const routes = server.state.log.map((l) => l.route);
    const firstCreate = routes.indexOf('kling.create');
    const secondCreate = routes.indexOf('kling.create', firstCreate + 1);
    assert.ok(secondCreate > firstCreate);
    assert.ok(
      routes
        .slice(firstCreate + 1, secondCreate)
        .some((r) => r === 'kling.list' || r === 'kling.query'),
      `a lookup between the two creates: ${routes.join(', ')}`,
    );
  });
});

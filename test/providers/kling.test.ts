import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { KlingClient, klingPhase } from '../../server/src/providers/kling';
import { ProviderError } from '../../server/src/providers/http';
import { startFakeServer, type FakeServer } from '../fake-server/server';

const t2v = {
  model_name: 'kling-v3',
  prompt: 'A dog runs.',
  duration: '5',
  mode: 'std',
  sound: 'off',
};

describe('Kling client against the fake server', () => {
  let server: FakeServer;
  let kling: KlingClient;
  let ext = 0;

  before(async () => {
    server = await startFakeServer({ pollsToFinish: 2 });
  });
  after(() => server.close());
  beforeEach(() => {
    server.faults.clear();
    server.state.clockOffsetMs = 0;
    kling = new KlingClient({
      accessKey: server.keys.klingAccessKey,
      secretKey: server.keys.klingSecretKey,
      apiBase: server.url,
      timeoutMs: 2000,
    });
  });

  it('signs a JWT the server accepts and walks a text2video task to succeed', async () => {
    const created = await kling.createVideo('text2video', {
      ...t2v,
      external_task_id: `e-${++ext}`,
    });
    assert.equal(created.status, 'submitted');
    let task = await kling.queryVideo('text2video', created.taskId);
    while (klingPhase(task.status) !== 'succeeded')
      task = await kling.queryVideo('text2video', created.taskId);
    assert.equal(task.videos.length, 1);
    assert.match(task.videos[0]!.url, /\/videos\/\d+\.mp4$/);
  });

  it('re-signs once and retries when the server says the token expired (1004), creating one task', async () => {
    const createdBefore = server.state.createdCount();
    server.faults.add('kling.create', {
      type: 'klingCode',
      status: 401,
      code: 1004,
      message: 'token expired',
    });
    const created = await kling.createVideo('text2video', {
      ...t2v,
      external_task_id: `e-${++ext}`,
    });
    assert.ok(created.taskId);
    assert.equal(server.state.createdCount() - createdBefore, 1);
    assert.equal(
      server.state.log
        .filter((l) => l.route === 'kling.create')
        .slice(-2)
        .map((l) => l.outcome)
        .join(','),
      '401,200',
    );
  });

  it('re-signs before expiry when its clock passes the margin', async () => {
    let now = Date.now();
    const client = new KlingClient({
      accessKey: server.keys.klingAccessKey,
      secretKey: server.keys.klingSecretKey,
      apiBase: server.url,
      now: () => now,
    });
    const first = await client.bearer();
    now += 26 * 60 * 1000; // 26 min later: < 5 min left on a 30 min token
    server.state.clockOffsetMs = 26 * 60 * 1000;
    const second = await client.bearer();
    assert.notEqual(first, second);
    // The server, whose clock moved too, accepts the new token.
    const created = await client.createVideo('text2video', {
      ...t2v,
      external_task_id: `e-${++ext}`,
    });
    assert.ok(created.taskId);
  });

  it('a wrong secret key is rejected with 1002 and the message names no key', async () => {
    const bad = new KlingClient({
      accessKey: server.keys.klingAccessKey,
      secretKey: 'wrong-secret-value',
      apiBase: server.url,
    });
    await assert.rejects(bad.createVideo('text2video', t2v), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.code, 1002);
      assert.ok(!err.message.includes('wrong-secret-value'));
      // Shown after the one re-signed retry: it must not promise another.
      assert.match(
        err.message,
        /still refused with a freshly signed token; will not be retried\.$/,
      );
      return true;
    });
  });

  it('1303 is rate limited and retryable; 1301 is final', async () => {
    server.faults.add('kling.create', {
      type: 'klingCode',
      status: 429,
      code: 1303,
      message: 'parallel task over resource pack limit',
    });
    await assert.rejects(kling.createVideo('text2video', t2v), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.rateLimited, true);
      assert.equal(err.retryable, true);
      assert.equal(err.mayHaveReachedServer, false);
      return true;
    });
    server.faults.add('kling.create', {
      type: 'klingCode',
      status: 400,
      code: 1301,
      message: 'risk control',
    });
    await assert.rejects(kling.createVideo('text2video', t2v), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.retryable, false);
      assert.match(err.message, /content-safety.*will not be retried/);
      return true;
    });
  });

  it('5001 on a create may have created a task (the engine looks it up first)', async () => {
    server.faults.add('kling.create', { type: 'klingCode', status: 503, code: 5001 });
    await assert.rejects(kling.createVideo('text2video', t2v), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.retryable, true);
      assert.equal(err.mayHaveReachedServer, true);
      return true;
    });
  });

  it('finds a task by external_task_id through the list query', async () => {
    const id = `lookup-${++ext}`;
    server.faults.add('kling.create', { type: 'reset', process: true });
    await assert.rejects(
      kling.createVideo('image2video', {
        model_name: 'kling-v3',
        prompt: 'p',
        duration: '5',
        image: 'aGVsbG8=',
        external_task_id: id,
      }),
    );
    const found = await kling.findByExternalId('image2video', id);
    assert.ok(found);
    assert.equal(found.externalTaskId, id);
    assert.equal(await kling.findByExternalId('image2video', 'never-created'), undefined);
  });

  it('the fake server rejects a boolean sent as a string and a data: URL image', async () => {
    await assert.rejects(
      kling.createVideo('text2video', { ...t2v, multi_shot: 'true' }),
      /multi_shot must be a boolean/,
    );
    await assert.rejects(
      kling.createVideo('image2video', {
        model_name: 'kling-v3',
        prompt: 'p',
        duration: '5',
        image: 'data:image/png;base64,AAAA',
      }),
      /raw base64/,
    );
  });

  it('AI Multi-Shot returns three view URLs', async () => {
    const created = await kling.createMultiShot('aGVsbG8=');
    let task = await kling.queryMultiShot(created.taskId);
    while (klingPhase(task.status) !== 'succeeded')
      task = await kling.queryMultiShot(created.taskId);
    assert.equal(task.imageUrls.length, 3);
  });
});

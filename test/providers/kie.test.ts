import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { KieClient, kieFailureMessage, kiePhase } from '../../server/src/providers/kie';
import { ProviderError } from '../../server/src/providers/http';
import { startFakeServer, type FakeServer } from '../fake-server/server';
import { makePng } from '../fake-server/png';

const singleShot = {
  model: 'kling-3.0/video',
  input: {
    prompt: 'A dog runs.',
    sound: false,
    duration: '5',
    aspect_ratio: '16:9',
    mode: 'std',
    multi_shots: false,
  },
};

describe('KIE client against the fake server', () => {
  let server: FakeServer;
  let kie: KieClient;

  before(async () => {
    server = await startFakeServer({ pollsToFinish: 3 });
  });
  after(() => server.close());
  beforeEach(() => {
    server.faults.clear();
    kie = new KieClient({
      apiKey: server.keys.kieApiKey,
      apiBase: server.url,
      uploadBase: server.url,
      timeoutMs: 2000,
    });
  });

  it('creates a task and polls it through waiting/queuing/generating to success', async () => {
    const { taskId } = await kie.createTask(singleShot);
    const seen: string[] = [];
    for (;;) {
      const info = await kie.recordInfo(taskId);
      seen.push(info.state);
      if (kiePhase(info.state) === 'succeeded') {
        assert.equal(info.resultUrls.length, 1);
        assert.match(info.resultUrls[0]!, new RegExp(`/videos/${taskId}\\.mp4$`));
        break;
      }
    }
    assert.deepEqual(seen, ['queuing', 'generating', 'success']);
  });

  it('reports a failed task with its failCode and failMsg', async () => {
    server.faults.failNextTask('prohibited content detected', '422');
    const { taskId } = await kie.createTask(singleShot);
    let info = await kie.recordInfo(taskId);
    while (kiePhase(info.state) !== 'failed') info = await kie.recordInfo(taskId);
    assert.equal(info.failCode, '422');
    assert.match(kieFailureMessage(info), /prohibited content detected.*failCode 422/);
  });

  it('turns an error code inside an HTTP 200 body into a non-retryable error that did not create anything', async () => {
    const createdBefore = server.state.createdCount();
    server.faults.add('kie.createTask', {
      type: 'kieCode',
      code: 402,
      msg: 'Credits insufficient',
    });
    await assert.rejects(kie.createTask(singleShot), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.code, 402);
      assert.equal(err.retryable, false);
      assert.equal(err.mayHaveReachedServer, false);
      assert.match(err.message, /insufficient credits.*will not be retried/);
      return true;
    });
    assert.equal(server.state.createdCount(), createdBefore);
  });

  it('marks 429 as rate limited and keeps Retry-After', async () => {
    server.faults.add('kie.createTask', {
      type: 'status',
      status: 429,
      body: { code: 429, msg: 'Rate limit exceeded' },
      headers: { 'Retry-After': '7' },
    });
    await assert.rejects(kie.createTask(singleShot), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.rateLimited, true);
      assert.equal(err.retryAfterMs, 7000);
      assert.match(err.message, /rate limited.*will be retried after waiting/);
      return true;
    });
  });

  it('marks 455 maintenance as retryable', async () => {
    server.faults.add('kie.recordInfo', { type: 'kieCode', code: 455, msg: 'maintenance' });
    await assert.rejects(kie.recordInfo('x'), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.retryable, true);
      assert.match(err.message, /maintenance/);
      return true;
    });
  });

  it('rejects a wrong key with a message that never contains the key', async () => {
    const bad = new KieClient({
      apiKey: 'sk-secret-wrong-key',
      apiBase: server.url,
      uploadBase: server.url,
    });
    await assert.rejects(bad.createTask(singleShot), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.code, 401);
      assert.ok(!err.message.includes('sk-secret-wrong-key'));
      return true;
    });
  });

  it('gives a clear error for malformed JSON and flags that a create may have happened', async () => {
    const createdBefore = server.state.createdCount();
    server.faults.add('kie.createTask', { type: 'malformed', process: true });
    await assert.rejects(kie.createTask(singleShot), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.kind, 'parse');
      assert.equal(err.mayHaveReachedServer, true);
      assert.match(err.message, /malformed JSON/);
      return true;
    });
    assert.equal(server.state.createdCount(), createdBefore + 1);
  });

  it('flags a connection reset after the create as possibly delivered', async () => {
    server.faults.add('kie.createTask', { type: 'reset', process: true });
    await assert.rejects(kie.createTask(singleShot), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.kind, 'network');
      assert.equal(err.mayHaveReachedServer, true);
      return true;
    });
  });

  it('times out a hung connection', async () => {
    const quick = new KieClient({
      apiKey: server.keys.kieApiKey,
      apiBase: server.url,
      uploadBase: server.url,
      timeoutMs: 200,
    });
    server.faults.add('kie.recordInfo', { type: 'hang' });
    await assert.rejects(quick.recordInfo('x'), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.kind, 'timeout');
      assert.equal(err.retryable, true);
      return true;
    });
  });

  it('uploads a file as multipart with uploadPath and returns a downloadUrl that serves it', async () => {
    const png = makePng(320, 320, 1);
    const { downloadUrl } = await kie.uploadFile(png, 'abc.png', 'kling-storyboard', 'image/png');
    assert.ok(downloadUrl.startsWith(server.url));
    const got = Buffer.from(await (await fetch(downloadUrl)).arrayBuffer());
    assert.deepEqual(got, png);
    assert.equal(
      server.state.uploads[server.state.uploads.length - 1]!.uploadPath,
      'kling-storyboard',
    );
  });

  it('reads a resultJson of "null", a number or an array as no URLs, not a crash', async () => {
    for (const resultJson of ['null', '42', '[]', '{}']) {
      server.faults.add('kie.recordInfo', {
        type: 'status',
        status: 200,
        body: {
          code: 200,
          msg: 'success',
          data: { taskId: 'odd', state: 'success', resultJson, failCode: '', failMsg: '' },
        },
      });
      const info = await kie.recordInfo('odd');
      assert.deepEqual(info.resultUrls, [], `resultJson ${resultJson}`);
    }
  });

  it('reads the credit balance', async () => {
    assert.equal(await kie.credits(), server.state.credits);
  });

  it('the wrong [S002] query path answers 404', async () => {
    const res = await fetch(`${server.url}/api/v1/jobs/task_123`, {
      headers: { Authorization: `Bearer ${server.keys.kieApiKey}` },
    });
    assert.equal(res.status, 404);
  });

  it('the fake server rejects a numeric duration with 422', async () => {
    const wrong = { ...singleShot, input: { ...singleShot.input, duration: 5 } };
    await assert.rejects(kie.createTask(wrong), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.code, 422);
      assert.match(err.message, /duration must be a string/);
      return true;
    });
  });
});

// The engine's parts on their own: cadence, admission gate, ledger claims, atomic downloads.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { downloadTo, DownloadError } from '../../server/src/render/download';
import { canonicalJson, setAtPath } from '../../server/src/render/hash';
import { Ledger, type StoredEntry } from '../../server/src/render/ledger';
import { backoffDelay, CreateGate, pollDelay } from '../../server/src/render/limits';
import { knownLedgers, updateLedgerIndex } from '../../server/src/render/state';

describe('polling cadence (api-facts A4)', () => {
  it('is 2–3 s for the first 30 s, 5–10 s until 2 min, then 15–30 s', () => {
    for (const r of [0, 0.5, 0.999]) {
      const first = pollDelay(10_000, 2500, () => r);
      const middle = pollDelay(60_000, 2500, () => r);
      const late = pollDelay(300_000, 2500, () => r);
      assert.ok(first >= 2000 && first <= 3000, `first ${first}`);
      assert.ok(middle >= 5000 && middle <= 10_000, `middle ${middle}`);
      assert.ok(late >= 15_000 && late <= 30_000, `late ${late}`);
    }
  });

  it('scales with the base interval so tests can run it fast', () => {
    assert.equal(
      pollDelay(0, 25, () => 0),
      20,
    );
    assert.equal(
      pollDelay(2000, 25, () => 0),
      150,
    );
  });

  it('backoff grows, is capped and jittered within [top/2, top]', () => {
    assert.equal(
      backoffDelay(0, 1000, 60_000, () => 0),
      500,
    );
    assert.equal(
      backoffDelay(3, 1000, 60_000, () => 1),
      8000,
    );
    assert.equal(
      backoffDelay(20, 1000, 60_000, () => 1),
      60_000,
    );
  });
});

describe('create admission gate', () => {
  it('admits at most `max` per sliding window and asks to wait for the oldest to leave it', async () => {
    let now = 0;
    const waits: number[] = [];
    const gate = new CreateGate({
      window: { max: 2, windowMs: 10_000 },
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
        now += ms;
      },
    });
    await gate.admit();
    await gate.admit();
    await gate.admit();
    assert.deepEqual(waits, [10_001]);
  });

  it('a pause holds every queued create', async () => {
    let now = 0;
    const waits: number[] = [];
    const gate = new CreateGate({
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
        now += ms;
      },
    });
    gate.pause(3000);
    await Promise.all([gate.admit(), gate.admit()]);
    assert.deepEqual(waits, [3000]);
  });
});

describe('hash helpers', () => {
  it('canonical JSON ignores key order; setAtPath copies', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 1, e: 2 }] } }),
      canonicalJson({ a: { c: [3, { e: 2, f: 1 }], d: 2 }, b: 1 }),
    );
    const body = { input: { image_urls: ['x'] } };
    const next = setAtPath(body, ['input', 'image_urls', 0], 'y');
    assert.deepEqual(next, { input: { image_urls: ['y'] } });
    assert.deepEqual(body, { input: { image_urls: ['x'] } });
  });
});

describe('ledger', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ksb-ledger-'));
  const entry = (take: number): StoredEntry => ({
    key: `h-t${take}`,
    requestHash: 'h',
    take,
    storyboardPath: '/x/board.kling',
    storyboardName: 'board',
    outputDir: '/x/renders',
    targetPath: `/x/renders/board/a/take-${take}.mp4`,
    sceneIndex: 0,
    sceneTitle: 'A',
    sceneSlug: 'a',
    provider: 'kie',
    endpoint: 'kie.createTask',
    state: 'pending-submit',
    request: {},
    body: {},
    media: [],
    createdAt: 1,
    updatedAt: 1,
  });

  it('a take can be claimed once, even by two claimers at the same time', async () => {
    const a = new Ledger(path.join(dir, 'l1'));
    const b = new Ledger(path.join(dir, 'l1'));
    const results = await Promise.all([a.claim(entry(1)), b.claim(entry(1))]);
    assert.deepEqual(results.sort(), [false, true]);
    assert.equal((await a.list()).length, 1);
  });

  it('saves atomically and reads back only valid entries', async () => {
    const ledger = new Ledger(path.join(dir, 'l2'));
    const e = entry(1);
    await ledger.claim(e);
    e.state = 'running';
    e.taskId = 't-1';
    await ledger.save(e);
    const [back] = await ledger.list();
    assert.equal(back!.state, 'running');
    assert.equal(back!.taskId, 't-1');
    assert.deepEqual(readdirSync(ledger.dir), ['board--a--take-1.json']);
  });

  it('the global index lists ledger folders with unfinished work', async () => {
    const state = path.join(dir, 'state');
    await updateLedgerIndex(state, '/a/.ledger', true);
    await updateLedgerIndex(state, '/b/.ledger', true);
    await updateLedgerIndex(state, '/a/.ledger', false);
    assert.deepEqual(await knownLedgers(state), ['/b/.ledger']);
  });
});

describe('atomic downloads', () => {
  let server: Server;
  let base = '';
  const body = Buffer.alloc(64 * 1024, 7);

  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/ok') {
        res.writeHead(200, { 'Content-Length': String(body.length) });
        res.end(body);
      } else if (req.url === '/truncated') {
        // Promise the whole file, send half, then cut the connection.
        res.writeHead(200, { 'Content-Length': String(body.length) });
        res.write(body.subarray(0, body.length / 2), () => res.socket?.destroy());
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('writes the whole file at the final path and nothing else', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ksb-dl-'));
    const target = path.join(dir, 'take-1.mp4');
    assert.equal(await downloadTo(`${base}/ok`, target, { timeoutMs: 5000 }), body.length);
    assert.deepEqual(readFileSync(target), body);
    assert.deepEqual(readdirSync(dir), ['take-1.mp4']);
  });

  it('a connection cut mid-body leaves no file at the final path and no temp file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ksb-dl-'));
    const target = path.join(dir, 'take-1.mp4');
    await assert.rejects(
      downloadTo(`${base}/truncated`, target, { timeoutMs: 5000 }),
      (err: unknown) => {
        assert.ok(err instanceof DownloadError);
        assert.equal(err.retryable, true);
        return true;
      },
    );
    assert.equal(existsSync(target), false);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('a 404 is a retryable download error (result URLs can lag)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ksb-dl-'));
    await assert.rejects(
      downloadTo(`${base}/missing`, path.join(dir, 'x.mp4'), { timeoutMs: 5000 }),
      /HTTP 404/,
    );
    assert.deepEqual(readdirSync(dir), []);
  });
});

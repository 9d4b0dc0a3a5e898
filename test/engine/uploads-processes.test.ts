// The upload cache shared by real processes (the extension and the CLI at once): several node
// processes, each with its own Uploader, upload different files through the fake KIE server at
// the same moment into one `uploads.json`. Every upload of every process must be in the file
// afterwards — a lost entry means a later render pays to upload those bytes again.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeServer, type FakeServer } from '../fake-server/server';
import { testUploader } from './helpers';

const ROOT = path.join(__dirname, '..', '..');
const PROCESSES = 4;
const PER_PROCESS = 24;

let server: FakeServer;
let dir: string;
let worker: string;
before(async () => {
  server = await startFakeServer();
  dir = mkdtempSync(path.join(os.tmpdir(), 'ksb-uploads-procs-'));
  worker = path.join(dir, 'worker.mts');
  // Each worker: waits for the go file, then uploads PER_PROCESS files of its own (sizes tell the
  // workers apart, seeds the files), several at a time and starting at different moments, and
  // prints the URL it got for each key.
  writeFileSync(
    worker,
    `import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { KieClient } from ${JSON.stringify(path.join(ROOT, 'server/src/providers/kie.ts'))};
import { Uploader } from ${JSON.stringify(path.join(ROOT, 'server/src/render/uploads.ts'))};
import { makePng } from ${JSON.stringify(path.join(ROOT, 'test/fake-server/png.ts'))};
const [cacheFile, id, go, base] = process.argv.slice(2);
const client = new KieClient({ apiKey: process.env.FAKE_KIE_KEY!, apiBase: base, uploadBase: base });
const logged: string[] = [];
const uploader = new Uploader({
  client: () => client, uploadBase: base, cacheFile, freshMs: 24 * 3_600_000, concurrency: 6,
  uploadPath: 'kling-storyboard', retries: 0, retryBaseMs: 1, log: (l) => logged.push(l),
});
process.stdout.write('ready\\n');
const started = Date.now();
while (!existsSync(go)) {
  if (Date.now() - started > 60_000) process.exit(3);
  await new Promise((r) => setTimeout(r, 2));
}
const urls: Record<string, string> = {};
await Promise.all(
  Array.from({ length: ${PER_PROCESS} }, async (_, i) => {
    const bytes = makePng(16 + Number(id), 16, i);
    const sha = createHash('sha256').update(bytes).digest('hex');
    for (let k = 0; k < i % 5; k++) await new Promise((r) => setImmediate(r));
    urls[base + '|' + sha] = await uploader.urlFor(bytes, sha, '/p' + id + '/f' + i + '.png');
  }),
);
if (logged.length) process.exit(4);
process.stdout.write(JSON.stringify(urls) + '\\n');
`,
  );
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the workers against one cache file; the URL each key got, over all workers. */
async function racingUploads(cacheFile: string, round: string): Promise<Map<string, string>> {
  const go = path.join(dir, `go-${round}`);
  const children = Array.from({ length: PROCESSES }, (_, id) =>
    spawn(process.execPath, ['--import', 'tsx', worker, cacheFile, String(id), go, server.url], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, FAKE_KIE_KEY: server.keys.kieApiKey },
    }),
  );
  const outputs = children.map((c) => {
    let text = '';
    c.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    return { ready: new Promise<void>((r) => c.stdout!.once('data', () => r())), text: () => text };
  });
  await Promise.all(outputs.map((o) => o.ready));
  writeFileSync(go, '');
  const codes = await Promise.all(
    children.map((c) => new Promise<number | null>((resolve) => c.on('close', resolve))),
  );
  assert.deepEqual(codes, Array(PROCESSES).fill(0), 'every worker uploaded and logged no warning');
  const all = new Map<string, string>();
  for (const o of outputs) {
    const lines = o.text().trim().split('\n');
    for (const [k, v] of Object.entries(JSON.parse(lines.at(-1)!) as Record<string, string>))
      all.set(k, v);
  }
  assert.equal(all.size, PROCESSES * PER_PROCESS);
  return all;
}

/** Asserts the cache file holds every upload, and a new uploader reuses them all. */
async function assertAllKept(cacheFile: string, urls: Map<string, string>, round: string) {
  const onDisk = JSON.parse(readFileSync(cacheFile, 'utf8')) as Record<string, { url: string }>;
  const missing = [...urls.keys()].filter((k) => onDisk[k]?.url !== urls.get(k));
  assert.deepEqual(missing, [], `${round}: the cache file lost ${missing.length} uploads`);
  const later = testUploader(server, cacheFile, { concurrency: 4 });
  // Bytes never read: a cached URL is returned before anything is uploaded.
  for (const [key, url] of urls)
    assert.equal(await later.urlFor(new Uint8Array(), key.split('|')[1]!, '/x.png'), url);
  assert.equal(later.sent, 0, `${round}: nothing uploaded twice`);
}

describe('processes sharing the upload cache', () => {
  it(`${PROCESSES} processes uploading at once lose none of each other's entries`, async () => {
    for (let round = 0; round < 2; round++) {
      const cacheFile = path.join(dir, `state-${round}`, 'uploads.json');
      server.reset();
      const urls = await racingUploads(cacheFile, `round-${round}`);
      assert.equal(server.state.uploadCount(), PROCESSES * PER_PROCESS, 'each file sent once');
      await assertAllKept(cacheFile, urls, `round ${round}`);
    }
  });

  it('a lock left by a process that died is broken, once, by the workers racing for it', async () => {
    // A real pid that is gone: a child that has exited.
    const dead = spawn(process.execPath, ['-e', '']);
    const pid = dead.pid!;
    await new Promise((r) => dead.on('close', r));
    const cacheFile = path.join(dir, 'state-dead', 'uploads.json');
    const lock = `${cacheFile}.lock`;
    mkdirSync(path.dirname(cacheFile), { recursive: true });
    writeFileSync(
      lock,
      JSON.stringify({ token: 'dead0', at: Date.now(), owner: { pid, host: os.hostname() } }),
    );
    server.reset();
    const urls = await racingUploads(cacheFile, 'dead');
    await assertAllKept(cacheFile, urls, 'after a dead holder');
    assert.throws(() => readFileSync(lock), /ENOENT/, 'the lock is gone when all are done');
  });
});

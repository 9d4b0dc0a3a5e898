// The upload cache (render/uploads.ts) against the fake server: every upload that finished is in
// the cache file, however the cache writes of parallel uploads overlap, so a later run (another
// engine, the CLI) reuses them all instead of paying to upload the same bytes again.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { startFakeServer, type FakeServer } from '../fake-server/server';
import { makePng } from '../fake-server/png';
import { testUploader } from './helpers';

let server: FakeServer;
let dir: string;
before(async () => {
  server = await startFakeServer();
  dir = mkdtempSync(path.join(os.tmpdir(), 'ksb-uploads-'));
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const uploader = (cacheFile: string, concurrency: number) =>
  testUploader(server, cacheFile, { concurrency });

it('parallel uploads all reach the cache file, and a new uploader reuses every one', async () => {
  const files = Array.from({ length: 8 }, (_, i) => {
    const bytes = makePng(64, 64, 100 + i);
    return { bytes, sha: createHash('sha256').update(bytes).digest('hex'), name: `f${i}.png` };
  });
  // Many rounds: the overlap of the cache writes differs from round to round.
  for (let round = 0; round < 25; round++) {
    const cacheFile = path.join(dir, `uploads-${round}.json`);
    server.reset();
    const first = uploader(cacheFile, 8);
    // Requests that start at different moments: one asks while another's write is under way.
    const urls = await Promise.all(
      files.map(async (f, i) => {
        for (let k = 0; k < i; k++) await new Promise((r) => setImmediate(r));
        return first.urlFor(f.bytes, f.sha, path.join(dir, f.name));
      }),
    );
    assert.equal(server.state.uploadCount(), files.length);
    const onDisk = JSON.parse(readFileSync(cacheFile, 'utf8')) as Record<string, { url: string }>;
    assert.deepEqual(
      files.map((f) => onDisk[`${server.url}|${f.sha}`]?.url),
      urls,
      `round ${round}: the cache file holds every upload`,
    );
    const second = uploader(cacheFile, 8);
    for (const [i, f] of files.entries())
      assert.equal(await second.urlFor(f.bytes, f.sha, path.join(dir, f.name)), urls[i]);
    assert.equal(second.sent, 0);
    assert.equal(server.state.uploadCount(), files.length, `round ${round}: nothing paid twice`);
  }
});

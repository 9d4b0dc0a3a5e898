// The upload cache is an optimisation: an upload that succeeded is used even when its cache file
// cannot be written (the folder cannot be created, the path is taken by a folder, the lock stays
// held), with one warning in the log; a damaged cache file counts as empty (its good entries kept)
// and is rewritten. Real files, real uploads to the fake KIE server on 127.0.0.1.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { withFileLock } from '../../server/src/render/fsutil';
import { currentOwner } from '../../server/src/render/owner';
import { startFakeServer, type FakeServer } from '../fake-server/server';
import { makePng } from '../fake-server/png';
import { bundleCli } from './cli-bundle';
import { engineFor, KIE_BOARD, makeProject, startCli, testUploader } from './helpers';

let server: FakeServer;
let dir: string;
before(async () => {
  server = await startFakeServer({ pollsToFinish: 2 });
  dir = mkdtempSync(path.join(os.tmpdir(), 'ksb-upload-cache-'));
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => server.reset());

const file = (seed: number) => {
  const bytes = makePng(24, 24, seed);
  const sha = createHash('sha256').update(bytes).digest('hex');
  return { bytes, sha, key: `${server.url}|${sha}`, abs: path.join(dir, `f${seed}.png`) };
};

/** An uploader on `cacheFile` whose log lines are collected. */
const uploader = (cacheFile: string, lockWaitMs?: number) => {
  const logs: string[] = [];
  const up = testUploader(server, cacheFile, { log: (l) => logs.push(l), lockWaitMs });
  return { up, logs };
};

const fresh = (name: string) => mkdtempSync(path.join(dir, `${name}-`));
const cacheOnDisk = (cacheFile: string) =>
  JSON.parse(readFileSync(cacheFile, 'utf8')) as Record<string, { url: string }>;

describe('a cache file that cannot be written', () => {
  it('is a folder: the uploads go on with their URLs, one warning, each file sent once', async () => {
    const cacheFile = path.join(fresh('dir'), 'uploads.json');
    mkdirSync(cacheFile);
    const { up, logs } = uploader(cacheFile);
    const [a, b] = [file(1), file(2)];
    const urlA = await up.urlFor(a.bytes, a.sha, a.abs);
    const urlB = await up.urlFor(b.bytes, b.sha, b.abs);
    assert.match(urlA, /^http:\/\/127\.0\.0\.1:\d+\//);
    assert.notEqual(urlA, urlB);
    assert.equal(server.state.uploadCount(), 2);
    assert.equal(logs.length, 1, 'one warning, not one per upload');
    assert.match(logs[0]!, /upload cache .*uploads\.json could not be written/);
    assert.match(logs[0]!, /f1\.png was uploaded and is used/);
    // Known in memory: asked again, nothing is sent again.
    assert.equal(await up.urlFor(a.bytes, a.sha, a.abs), urlA);
    assert.equal(server.state.uploadCount(), 2);
    assert.ok(statSync(cacheFile).isDirectory(), 'the folder is left as it was');
  });

  it('lies below a file (its folder cannot be created): the URL still comes back', async () => {
    const blocker = path.join(fresh('notdir'), 'state');
    writeFileSync(blocker, 'a file where the state folder should be');
    const { up, logs } = uploader(path.join(blocker, 'uploads.json'));
    const a = file(3);
    assert.match(await up.urlFor(a.bytes, a.sha, a.abs), /^http:\/\/127\.0\.0\.1/);
    assert.equal(server.state.uploadCount(), 1);
    assert.match(logs.join('\n'), /could not be written \(.*(ENOTDIR|EEXIST)/);
  });

  it('is in a folder without write permission: the URL still comes back', async (t) => {
    if (process.getuid?.() === 0 || process.platform === 'win32') {
      t.skip('root (or Windows) may write to a read-only folder');
      return;
    }
    const folder = fresh('readonly');
    chmodSync(folder, 0o555);
    try {
      const { up, logs } = uploader(path.join(folder, 'uploads.json'));
      const a = file(4);
      assert.match(await up.urlFor(a.bytes, a.sha, a.abs), /^http:\/\/127\.0\.0\.1/);
      assert.match(logs.join('\n'), /could not be written \(.*EACCES/);
    } finally {
      chmodSync(folder, 0o755);
    }
  });

  it('stays locked by a live process: the bounded wait ends, the URL comes back', async () => {
    const cacheFile = path.join(fresh('held'), 'uploads.json');
    // Held by this very process (alive), and young: not stale.
    const lock = JSON.stringify({ token: 'held', at: Date.now(), owner: currentOwner() });
    writeFileSync(`${cacheFile}.lock`, lock);
    const { up, logs } = uploader(cacheFile, 150);
    const a = file(5);
    assert.match(await up.urlFor(a.bytes, a.sha, a.abs), /^http:\/\/127\.0\.0\.1/);
    assert.match(logs.join('\n'), /uploads\.json\.lock stayed locked by pid \d+ .*150 ms/);
    assert.equal(readFileSync(`${cacheFile}.lock`, 'utf8'), lock, "another's lock is not removed");
  });

  it('a render whose state folder holds a folder named uploads.json finishes its scene', async () => {
    const project = makeProject();
    mkdirSync(path.join(project.stateDir, 'uploads.json'), { recursive: true });
    const { engine, logs } = engineFor(server, project);
    const storyboard = project.file('board.kling', KIE_BOARD);
    const [entry] = await engine.render({
      storyboardPath: storyboard,
      text: KIE_BOARD,
      scenes: [0],
    });
    assert.equal(entry!.state, 'done', entry!.error);
    // The element's two images and the first frame.
    assert.equal(server.state.uploadCount(), 3);
    assert.equal(logs.filter((l) => /upload cache .* could not be written/.test(l)).length, 1);
  });

  it('the CLI renders the scene too, and prints the warning on stderr', async () => {
    const cli = await bundleCli();
    const project = makeProject();
    mkdirSync(path.join(project.stateDir, 'uploads.json'), { recursive: true });
    project.file('board.kling', KIE_BOARD);
    const run = startCli(cli, server, project, ['render', 'board.kling', '--scene', '1']);
    const code = await run.closed;
    assert.equal(code, 0, run.stderr());
    assert.match(run.stderr(), /Warning: the upload cache .*uploads\.json could not be written/);
    assert.doesNotMatch(run.stderr(), new RegExp(server.keys.kieApiKey));
    const video = path.join(project.dir, 'renders', 'board', 'morning-run', 'take-1.mp4');
    assert.ok(statSync(video).size > 0);
  });
});

describe('a damaged cache file', () => {
  it('that is not JSON counts as empty and is rewritten with the new upload', async () => {
    const cacheFile = path.join(fresh('garbage'), 'uploads.json');
    writeFileSync(cacheFile, '{"truncated": {"url": "http://127.0.0.1/x", "uploa');
    const { up, logs } = uploader(cacheFile);
    const a = file(6);
    const url = await up.urlFor(a.bytes, a.sha, a.abs);
    assert.equal(server.state.uploadCount(), 1);
    assert.deepEqual(Object.keys(cacheOnDisk(cacheFile)), [a.key]);
    assert.equal(cacheOnDisk(cacheFile)[a.key]!.url, url);
    assert.deepEqual(logs, []);
  });

  for (const [name, text] of [
    ['an array', '[1, 2, 3]'],
    ['null', 'null'],
    ['a string', '"uploads"'],
  ] as const) {
    it(`that is ${name} counts as empty and is rewritten`, async () => {
      const cacheFile = path.join(fresh('shape'), 'uploads.json');
      writeFileSync(cacheFile, text);
      const { up } = uploader(cacheFile);
      const a = file(7);
      const url = await up.urlFor(a.bytes, a.sha, a.abs);
      const onDisk = cacheOnDisk(cacheFile);
      assert.deepEqual(Object.keys(onDisk), [a.key]);
      assert.equal(onDisk[a.key]!.url, url);
    });
  }

  it('with some malformed entries keeps the good ones (reused, not uploaded again)', async () => {
    const cacheFile = path.join(fresh('mixed'), 'uploads.json');
    const [good, bad] = [file(8), file(9)];
    const goodUrl = `${server.url}/files/already-there.png`;
    writeFileSync(
      cacheFile,
      JSON.stringify({
        [good.key]: { url: goodUrl, uploadedAt: Date.now() },
        [bad.key]: { url: 42 },
        other: 'not an entry',
      }),
    );
    const { up } = uploader(cacheFile);
    assert.equal(await up.urlFor(good.bytes, good.sha, good.abs), goodUrl);
    assert.equal(server.state.uploadCount(), 0, 'the good entry is reused');
    const badUrl = await up.urlFor(bad.bytes, bad.sha, bad.abs);
    assert.equal(server.state.uploadCount(), 1, 'the malformed one is uploaded again');
    const onDisk = cacheOnDisk(cacheFile);
    assert.deepEqual(Object.keys(onDisk).sort(), [bad.key, good.key].sort());
    assert.equal(onDisk[good.key]!.url, goodUrl);
    assert.equal(onDisk[bad.key]!.url, badUrl);
  });
});

describe('the lock file next to the cache', () => {
  it('lets one holder in at a time, also within one process', async () => {
    const lockFile = path.join(fresh('turns'), 'x.lock');
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        withFileLock(
          lockFile,
          async () => {
            most = Math.max(most, ++inside);
            await new Promise((r) => setTimeout(r, 5));
            order.push(i);
            inside--;
          },
          { waitMs: 10_000, staleMs: 10_000 },
        ),
      ),
    );
    assert.equal(most, 1);
    assert.equal(order.length, 6);
    assert.throws(() => statSync(lockFile), /ENOENT/, 'released at the end');
  });

  it('is broken when its holder is alive but it is older than 10 s (a stalled holder)', async () => {
    const cacheFile = path.join(fresh('old'), 'uploads.json');
    const lockFile = `${cacheFile}.lock`;
    writeFileSync(
      lockFile,
      JSON.stringify({ token: 'old', at: Date.now(), owner: currentOwner() }),
    );
    const minuteAgo = new Date(Date.now() - 60_000);
    utimesSync(lockFile, minuteAgo, minuteAgo);
    const { up, logs } = uploader(cacheFile, 2_000);
    const a = file(10);
    const url = await up.urlFor(a.bytes, a.sha, a.abs);
    assert.deepEqual(logs, []);
    assert.equal(cacheOnDisk(cacheFile)[a.key]!.url, url);
    assert.throws(() => statSync(lockFile), /ENOENT/);
  });

  it('that is empty (its creator died before writing it) waits while young, is broken when old', async () => {
    const cacheFile = path.join(fresh('empty'), 'uploads.json');
    const lockFile = `${cacheFile}.lock`;
    writeFileSync(lockFile, '');
    const first = uploader(cacheFile, 150);
    const a = file(11);
    await first.up.urlFor(a.bytes, a.sha, a.abs);
    assert.match(first.logs.join('\n'), /stayed locked by another process/);
    const minuteAgo = new Date(Date.now() - 60_000);
    utimesSync(lockFile, minuteAgo, minuteAgo);
    const second = uploader(cacheFile, 2_000);
    const b = file(12);
    const url = await second.up.urlFor(b.bytes, b.sha, b.abs);
    assert.deepEqual(second.logs, []);
    assert.equal(cacheOnDisk(cacheFile)[b.key]!.url, url);
  });

  it('of another host is waited for while young', async () => {
    const cacheFile = path.join(fresh('host'), 'uploads.json');
    writeFileSync(
      `${cacheFile}.lock`,
      JSON.stringify({ token: 'h', at: Date.now(), owner: { pid: 1, host: 'elsewhere.invalid' } }),
    );
    const { up, logs } = uploader(cacheFile, 150);
    const a = file(13);
    await up.urlFor(a.bytes, a.sha, a.abs);
    assert.match(logs.join('\n'), /stayed locked by pid 1 on elsewhere\.invalid/);
  });
});

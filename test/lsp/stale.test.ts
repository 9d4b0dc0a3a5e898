// No diagnostics of an older version are published after a newer version's; a media file slow
// to read, or a named pipe named as media, holds nothing.
//
// When the files a document names take longer than a moment to read, the server publishes what
// it knows, and again once they have been read (server.ts schedule, service.ts diagnostics). The older version's second publish is
// held inside its media lookup: a preload (hold.mjs) makes the server's asynchronous `stat` and
// `open` of a file named `held.*` wait for SIGUSR2, and (HOLD_REMOTE_DIR) puts the test's folder
// on a network share in the mount table, where the server reads asynchronously (localfs.ts).
// While it is held, a newer version (without that frame) is
// published; then the hold is released, the older analysis finishes, and the server must drop
// its result (the cancellation and version check before publishing). A third version proves the
// server went on. On a local disk the files are read synchronously: nothing waits there, unless
// a read was slow, which sends the next reads the asynchronous way.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildServer, codes, LspClient } from './lsp-client';

let dir: string;
before(() => {
  buildServer();
  dir = mkdtempSync(path.join(os.tmpdir(), 'kling-stale-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const HOLD = path.join(__dirname, 'hold.mjs');
const held = (remote = true) => ({
  env: {
    NODE_OPTIONS: `--import ${pathToFileURL(HOLD).href}`,
    ...(remote ? { HOLD_REMOTE_DIR: dir } : {}),
  },
});

const scene = (frame: string | undefined, text: string) =>
  `[scene A]\n${frame ? `first-frame: ${frame}\n` : ''}duration: 5\n${text}\n`;

test('an older version’s diagnostics never follow a newer version’s', async () => {
  const client = new LspClient(held());
  await client.initialize({ capabilities: {} });
  const uri = pathToFileURL(path.join(dir, 'story.kling')).href;
  const published = () => client.published.filter((p) => p.uri === uri);

  // v1 names the held frame: what is known is published, its media facts wait in the hold.
  await client.open(uri, scene('held.png', 'The @ghost waits.'), 1);
  const v1 = await client.waitForDiagnostics(uri, (p) => p.version === 1);
  assert.ok(codes(v1.diagnostics).includes('undefined-element'), codes(v1.diagnostics).join());
  assert.ok(!codes(v1.diagnostics).includes('media-not-found'), 'the frame is not read yet');
  // A round trip: the server handles messages in order, and v1 is still held.
  await client.request('textDocument/documentSymbol', { textDocument: { uri } });
  assert.deepEqual(
    published().map((p) => p.version),
    [1],
  );

  const replace = async (version: number, text: string) =>
    client.notify('textDocument/didChange', {
      textDocument: { uri, version },
      contentChanges: [{ text }],
    });
  await replace(2, scene(undefined, 'The @ghost2 runs.'));
  const v2 = await client.waitForDiagnostics(uri, (p) => p.version === 2);
  assert.ok(codes(v2.diagnostics).includes('undefined-element'));

  // Release the hold: v1's lookup completes (no such file), then v3 names the same frame and is
  // published with it.
  client.process.kill('SIGUSR2');
  await replace(3, scene('held.png', 'The @ghost3 sits.'));
  const v3 = await client.waitForDiagnostics(
    uri,
    (p) => p.version === 3 && codes(p.diagnostics).includes('media-not-found'),
  );
  assert.ok(codes(v3.diagnostics).includes('undefined-element'), codes(v3.diagnostics).join());

  // v3 may be published twice (before and after its frame was read); never 1 after 2.
  const versions = published().map((p) => p.version);
  assert.deepEqual(
    [...new Set(versions)],
    [1, 2, 3],
    `published versions in order: ${versions.join(', ')}`,
  );
  assert.deepEqual(versions, [...versions].sort(), `published in order: ${versions.join(', ')}`);
  assert.equal(await client.shutdown(), 0);
});

test('a media file slow to read holds nothing: what is known first, then all of it', async () => {
  const client = new LspClient(held());
  await client.initialize({ capabilities: {} });
  const uri = pathToFileURL(path.join(dir, 'slow.kling')).href;
  await client.open(uri, scene('held.jpg', 'The @ghost waits.'), 1);
  const first = await client.waitForDiagnostics(uri, (p) => p.version === 1);
  assert.deepEqual(codes(first.diagnostics), ['undefined-element']);
  client.process.kill('SIGUSR2');
  const all = await client.nextDiagnostics(uri, (p) => p.version === 1);
  assert.deepEqual(codes(all.diagnostics).sort(), ['media-not-found', 'undefined-element']);
  assert.equal(await client.shutdown(), 0);
});

test('on a local disk the files are read at once: the first publish has their diagnostics', async () => {
  // The same hold, but the folder is on a local disk: the synchronous read does not wait for it.
  const client = new LspClient(held(false));
  try {
    await client.initialize({ capabilities: {} });
    const uri = pathToFileURL(path.join(dir, 'local.kling')).href;
    await client.open(uri, scene('held.jpg', 'The @ghost waits.'), 1);
    const first = await client.waitForDiagnostics(uri, (p) => p.version === 1);
    assert.deepEqual(codes(first.diagnostics).sort(), ['media-not-found', 'undefined-element']);
    assert.equal(await client.shutdown(), 0);
  } finally {
    client.process.kill();
  }
});

test('a slow read on a local disk sends the next reads the asynchronous way', async () => {
  const client = new LspClient(held(false));
  try {
    await client.initialize({ capabilities: {} });
    const uri = pathToFileURL(path.join(dir, 'waking.kling')).href;
    // slow.jpg takes 30 ms to open (a disk waking up): read at once, but it pauses synchronous reads.
    await client.open(uri, scene('slow.jpg', 'A quiet room.'), 1);
    const v1 = await client.waitForDiagnostics(uri, (p) => p.version === 1);
    assert.deepEqual(codes(v1.diagnostics), ['media-not-found']);
    // Now a held file on the same local disk waits in the hold: what is known comes first.
    await client.notify('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [{ text: scene('held.jpg', 'The @ghost waits.') }],
    });
    const first = await client.waitForDiagnostics(uri, (p) => p.version === 2);
    assert.deepEqual(codes(first.diagnostics), ['undefined-element']);
    client.process.kill('SIGUSR2');
    const all = await client.nextDiagnostics(uri, (p) => p.version === 2);
    assert.deepEqual(codes(all.diagnostics).sort(), ['media-not-found', 'undefined-element']);
    assert.equal(await client.shutdown(), 0);
  } finally {
    client.process.kill();
  }
});

test('a named pipe as media holds nothing: its scene says it is not a file', async () => {
  execFileSync('mkfifo', [path.join(dir, 'pipe.png')]);
  const client = new LspClient();
  await client.initialize({ capabilities: {} });
  const uri = pathToFileURL(path.join(dir, 'pipe.kling')).href;
  await client.open(uri, scene('pipe.png', 'A quiet room.'), 1);
  // Nobody ever writes to the pipe: the complete diagnostics still come.
  const p = await client.waitForDiagnostics(
    uri,
    (d) => d.version === 1 && codes(d.diagnostics).includes('media-not-found'),
  );
  assert.equal(p.version, 1);
  assert.equal(await client.shutdown(), 0);
});

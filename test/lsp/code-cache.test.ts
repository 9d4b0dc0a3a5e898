// The server's V8 code cache (server/src/start.ts): the first server writes it after opening a
// document, the next one runs from it, a damaged cache is refused and written again, and a
// changed bundle (of the same length: V8 checks no more) never runs an older bundle's code.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildServer, codes, LspClient, SERVER } from './lsp-client';

let dir: string;
before(() => {
  buildServer();
  dir = mkdtempSync(path.join(os.tmpdir(), 'kling-code-cache-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const TEXT = '[scene A]\nduration: 5\nThe @ghost waits.\n';

/** Starts a server (of `server`, else dist/server.js) with its cache in `cacheDir`, opens a document, and returns what it said about its cache. */
async function session(cacheDir: string, server?: string): Promise<string[]> {
  const client = new LspClient({
    server,
    env: {
      KLING_CODE_CACHE_DIR: cacheDir,
      KLING_CODE_CACHE_LOG: '1',
      KLING_CODE_CACHE_DELAY_MS: '300',
    },
  });
  try {
    await client.initialize({ capabilities: {} });
    const uri = pathToFileURL(path.join(dir, 'story.kling')).href;
    await client.open(uri, TEXT, 1);
    const p = await client.waitForDiagnostics(uri, (d) => d.version === 1);
    assert.deepEqual(codes(p.diagnostics), ['undefined-element'], 'the server works');
    // Long enough for the cache to be written when it is to be.
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.equal(await client.shutdown(), 0);
  } finally {
    client.process.kill();
  }
  return client.stderr
    .split('\n')
    .filter((l) => l.startsWith('kling code cache: '))
    .map((l) => l.slice('kling code cache: '.length));
}

const caches = (cacheDir: string) => readdirSync(cacheDir).filter((f) => f.endsWith('.cache'));

test('written by the first server, used by the next', async () => {
  const cacheDir = path.join(dir, 'first');
  assert.deepEqual(await session(cacheDir), ['none', 'written']);
  assert.equal(caches(cacheDir).length, 1);
  assert.deepEqual(await session(cacheDir), ['used']);
  assert.deepEqual(await session(cacheDir), ['used']);
});

test('a damaged cache is refused, the server works, and the cache is written again', async () => {
  const cacheDir = path.join(dir, 'damaged');
  await session(cacheDir);
  const [name] = caches(cacheDir);
  const file = path.join(cacheDir, name);
  const good = readFileSync(file);
  // Another file altogether, then one byte changed inside V8's data (after the SHA-256 that
  // starts the file): release builds of V8 would not notice that one.
  writeFileSync(file, Buffer.alloc(good.length, 7));
  assert.deepEqual(await session(cacheDir), ['rejected', 'written']);
  const rewritten = readFileSync(file);
  const flipped = Buffer.from(rewritten);
  flipped[Math.floor(rewritten.length / 2)] ^= 0xff;
  writeFileSync(file, flipped);
  assert.deepEqual(await session(cacheDir), ['rejected', 'written']);
  assert.deepEqual(await session(cacheDir), ['used']);
});

test('a changed bundle of the same length does not use the old cache, and drops it', async () => {
  const cacheDir = path.join(dir, 'changed');
  await session(cacheDir);
  const [old] = caches(cacheDir);
  // A copy of the two bundles with one letter of a message changed: same length, other code.
  const copy = mkdtempSync(path.join(dir, 'dist-'));
  copyFileSync(SERVER, path.join(copy, 'server.js'));
  const main = readFileSync(path.join(path.dirname(SERVER), 'server-main.js'), 'utf8');
  const at = main.indexOf('is never referenced');
  assert.ok(at > 0);
  writeFileSync(path.join(copy, 'server-main.js'), `${main.slice(0, at)}Is${main.slice(at + 2)}`);
  assert.deepEqual(await session(cacheDir, path.join(copy, 'server.js')), ['none', 'written']);
  assert.deepEqual(caches(cacheDir).length, 1, 'the old bundle’s cache is removed');
  assert.notEqual(caches(cacheDir)[0], old);
});

test('KLING_CODE_CACHE=off: no cache read or written', async () => {
  const cacheDir = path.join(dir, 'off');
  const client = new LspClient({
    env: {
      KLING_CODE_CACHE_DIR: cacheDir,
      KLING_CODE_CACHE: 'off',
      KLING_CODE_CACHE_DELAY_MS: '1',
    },
  });
  try {
    await client.initialize({ capabilities: {} });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await client.shutdown(), 0);
  } finally {
    client.process.kill();
  }
  assert.throws(() => readdirSync(cacheDir), /ENOENT/);
});

// The workspace listing behind media-path completion (server.ts `listFiles`): a listing is shared
// by the completions of the next seconds, so a cancelled completion must not leave a cut-short
// one behind; symbolic links to files are offered, links to folders neither hold nor fill it.
//
// The walk is held half-way by a preload (hold.mjs): the server's reading of a folder
// named `held*` waits for SIGUSR2, and says so on stderr. The completion is cancelled while it is
// held, the hold is released, and the next completion must list every file.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { buildServer, LspClient, type Loose } from './lsp-client';
import { makePng } from '../fake-server/png';

let tmp: string;
before(() => {
  buildServer();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'kling-listing-'));
});
/** Clients started here; one a failed assertion left running is stopped, so the run ends. */
const clients: LspClient[] = [];
after(() => {
  for (const c of clients) if (c.process.exitCode === null) c.process.kill();
  rmSync(tmp, { recursive: true, force: true });
});

const HOLD = path.join(__dirname, 'hold.mjs');
const STORY = '[scene A]\nfirst-frame: \nduration: 5\nA quiet stage.\n';
/** The value of `first-frame:` in STORY. */
const AT_FRAME = { line: 1, character: 13 };

function image(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, makePng(16, 16, file.length));
}

const labels = (list: Loose): string[] =>
  (list?.items ?? []).map((i: { label: string }) => i.label).sort();

/** Resolves once `test` passes on the server's stderr (bounded: 10 s). */
async function untilStderr(client: LspClient, test: RegExp): Promise<void> {
  const started = Date.now();
  while (!test.test(client.stderr)) {
    if (Date.now() - started > 10_000) throw new Error(`stderr never matched ${test}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a completion cancelled mid-walk leaves no cut-short listing behind', async () => {
  const dir = path.join(tmp, 'cancel');
  image(path.join(dir, 'a.png'));
  image(path.join(dir, 'held', 'h.png'));
  image(path.join(dir, 'z', 'zz.png'));
  writeFileSync(path.join(dir, 'story.kling'), STORY);
  const uri = pathToFileURL(path.join(dir, 'story.kling')).href;
  const client = new LspClient({ env: { NODE_OPTIONS: `--import ${pathToFileURL(HOLD).href}` } });
  clients.push(client);
  await client.initialize({ capabilities: {} });
  await client.open(uri, STORY);
  const params = { textDocument: { uri }, position: AT_FRAME };

  // The first completion starts the walk; it is cancelled while the walk waits on `held/`
  // (after the top folder, before `z/`).
  const source = new CancellationTokenSource();
  const first = client.connection
    .sendRequest('textDocument/completion', params, source.token)
    .then(labels, (e: Error) => e);
  await untilStderr(client, /holding held/);
  source.cancel();
  // A round trip: the server has handled the cancellation before the walk goes on.
  await client.request('textDocument/documentSymbol', { textDocument: { uri } });
  client.process.kill('SIGUSR2');
  // Cancelled: an error, or an answer the client drops.
  await first;

  // The next completion (well within the listing's lifetime) gets every file.
  const second = labels(await client.request('textDocument/completion', params));
  assert.deepEqual(second, ['a.png', 'held/h.png', 'z/zz.png']);
  assert.equal(await client.shutdown(), 0);
});

test('symbolic links: a linked image and a linked folder inside are offered; a loop or a folder outside neither holds nor fills the listing', async () => {
  const dir = path.join(tmp, 'links');
  const outside = path.join(tmp, 'outside');
  image(path.join(dir, 'refs', 'real.png'));
  image(path.join(dir, 'refs', 'deeper', 'd.png'));
  image(path.join(outside, 'far.png'));
  for (let i = 0; i < 50; i++) image(path.join(outside, 'deep', `n${i}.png`));
  writeFileSync(path.join(dir, 'story.kling'), STORY);
  symlinkSync(path.join('refs', 'real.png'), path.join(dir, 'linked.png'));
  symlinkSync(path.join(outside, 'far.png'), path.join(dir, 'far-linked.png'));
  symlinkSync('.', path.join(dir, 'loop'));
  symlinkSync('..', path.join(dir, 'refs', 'up'));
  symlinkSync('self', path.join(dir, 'self'));
  symlinkSync('missing.png', path.join(dir, 'dangling.png'));
  symlinkSync(outside, path.join(dir, 'elsewhere'));
  symlinkSync('refs', path.join(dir, 'art'));
  symlinkSync('refs', path.join(dir, 'shared'));
  symlinkSync(path.join('..', '..', 'refs'), path.join(dir, 'refs', 'deeper', 'again'));
  const uri = pathToFileURL(path.join(dir, 'story.kling')).href;
  const client = new LspClient();
  clients.push(client);
  await client.initialize({ capabilities: {} });
  await client.open(uri, STORY);
  const got = labels(
    await client.request('textDocument/completion', {
      textDocument: { uri },
      position: AT_FRAME,
    }),
  );
  // `art` is `refs` by another name, walked before `refs` (a folder inside, listed under both
  // names); `shared`, `refs/deeper/again`, `loop`, `refs/up` lead to folders walked before them;
  // `elsewhere` is outside; `self` loops on itself; `dangling.png` leads nowhere.
  assert.deepEqual(got, [
    'art/deeper/d.png',
    'art/real.png',
    'far-linked.png',
    'linked.png',
    'refs/deeper/d.png',
    'refs/real.png',
  ]);
  assert.equal(await client.shutdown(), 0);
});

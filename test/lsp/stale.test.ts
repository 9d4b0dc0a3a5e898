// No diagnostics of an older version are published after a newer version's.
//
// The older version's analysis is held inside a media lookup: its first frame is a named pipe,
// and opening a pipe for reading blocks until a writer opens it. While it is held, a newer
// version (without that frame) is published; then the pipe is released, the older analysis
// finishes, and the server must drop its result (server.ts checks the cancellation and the
// document's version before publishing). A third version proves the server went on.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
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

const scene = (frame: string | undefined, text: string) =>
  `[scene A]\n${frame ? `first-frame: ${frame}\n` : ''}duration: 5\n${text}\n`;

test('an older version’s diagnostics never follow a newer version’s', async () => {
  const fifo = path.join(dir, 'held.png');
  execFileSync('mkfifo', [fifo]);
  const client = new LspClient();
  await client.initialize({ capabilities: {} });
  const uri = pathToFileURL(path.join(dir, 'story.kling')).href;
  const published = () => client.published.filter((p) => p.uri === uri);

  // v1 references the pipe: its analysis waits in the media lookup.
  await client.open(uri, scene('held.png', 'The @ghost waits.'), 1);
  // A round trip: the server handles requests in order, after v1's analysis has started.
  await client.request('textDocument/documentSymbol', { textDocument: { uri } });
  assert.deepEqual(published(), [], 'v1 is still held in the pipe');

  const replace = async (version: number, text: string) =>
    client.notify('textDocument/didChange', {
      textDocument: { uri, version },
      contentChanges: [{ text }],
    });
  await replace(2, scene(undefined, 'The @ghost2 runs.'));
  const v2 = await client.waitForDiagnostics(uri, (p) => p.version === 2);
  assert.ok(codes(v2.diagnostics).includes('undefined-element'));

  // Release the pipe: v1's lookup completes (not a regular file → media-not-found), then v3
  // looks the same frame up again and is published.
  const writer = await fs.open(fifo, 'w');
  await writer.close();
  await replace(3, scene('held.png', 'The @ghost3 sits.'));
  const v3 = await client.waitForDiagnostics(uri, (p) => p.version === 3);
  assert.ok(codes(v3.diagnostics).includes('media-not-found'), codes(v3.diagnostics).join());

  const versions = published().map((p) => p.version);
  assert.deepEqual(versions, [2, 3], `published versions in order: ${versions.join(', ')}`);
  assert.equal(await client.shutdown(), 0);
});

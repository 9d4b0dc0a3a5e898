// `kling.outputFolder` in the language server: a `continue-from` frame is looked for where the
// render puts it — the header's `output:`, else the configured folder, else `renders` — so
// `continuity-pending` goes once the frame is there (README, "The format": continue-from).
// Diagnostics are pulled (each pull is the complete result) and frames appear between pulls
// with a file event, as a watching client would send.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { solidPng } from '../fake-server/png';
import { buildServer, codes, LspClient } from './lsp-client';

const STORY = `[scene Arrival]
duration: 3
A car arrives.

[scene Departure]
continue-from: Arrival
It leaves.
`;

describe('continue-from frames under kling.outputFolder over LSP', () => {
  let dir: string;
  let client: LspClient;
  let uri: string;

  before(async () => {
    buildServer();
    dir = mkdtempSync(path.join(os.tmpdir(), 'kling-outfolder-'));
    uri = pathToFileURL(path.join(dir, 'story.kling')).href;
    client = new LspClient({ configuration: { outputFolder: 'clips' } });
    await client.initialize({
      capabilities: {
        workspace: { configuration: true, didChangeWatchedFiles: { dynamicRegistration: true } },
        textDocument: {
          diagnostic: { dynamicRegistration: false },
          hover: { contentFormat: ['markdown', 'plaintext'] },
        },
      },
    });
  });
  after(async () => {
    await client.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes a real PNG as the frame of scene Arrival under `output` and tells the server. */
  async function putFrame(output: string): Promise<void> {
    const file = path.join(dir, output, 'story', 'arrival', 'last-frame.png');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, solidPng(64, 36, [10, 20, 30]));
    await client.notify('workspace/didChangeWatchedFiles', {
      changes: [{ uri: pathToFileURL(file).href, type: 1 }],
    });
  }

  async function pulledCodes(): Promise<string[]> {
    const report = await client.request('textDocument/diagnostic', { textDocument: { uri } });
    return codes(report.items);
  }

  async function hoverOnTitle(text: string): Promise<string> {
    const line = text.split('\n').indexOf('continue-from: Arrival');
    const h = await client.request('textDocument/hover', {
      textDocument: { uri },
      position: { line, character: 'continue-from: '.length + 2 },
    });
    return h.contents.value as string;
  }

  test('no frame in the configured folder: pending', async () => {
    await client.open(uri, STORY, 1);
    assert.deepEqual(await pulledCodes(), ['continuity-pending']);
    assert.match(await hoverOnTitle(STORY), /\*\*Arrival\*\* has no take yet/);
  });

  test('a frame under the default `renders` does not count when another folder is configured', async () => {
    await putFrame('renders');
    assert.deepEqual(await pulledCodes(), ['continuity-pending']);
  });

  test('the frame in the configured folder: not pending, and the hover shows it', async () => {
    await putFrame('clips');
    assert.deepEqual(await pulledCodes(), []);
    const md = await hoverOnTitle(STORY);
    assert.match(md, /`clips\/story\/arrival\/last-frame\.png`/);
    assert.doesNotMatch(md, /no take yet/);
  });

  test('the header’s `output:` still wins over the configured folder', async () => {
    const withOutput = `output: mine\n\n${STORY}`;
    await client.notify('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [{ text: withOutput }],
    });
    assert.deepEqual(await pulledCodes(), ['continuity-pending']);
    await putFrame('mine');
    assert.deepEqual(await pulledCodes(), []);
    assert.match(await hoverOnTitle(withOutput), /`mine\/story\/arrival\/last-frame\.png`/);
  });
});

// Special files never hold hover or completion, over stdio. A named pipe opened for reading
// waits for a writer that never comes, and holds one of libuv's four thread-pool threads for
// good: the cost history (a scene header hover reads `<output>/.ledger/*.json`) opens only
// regular files without waiting, and the workspace walk (media-path completion) lists only
// regular files. The takes come from the real engine against the fake server, in the
// configured output folder (`kling.outputFolder`).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { startFakeServer, type FakeServer } from '../fake-server/server';
import { engineFor, makeProject, type Project } from '../engine/helpers';
import { buildServer, LspClient, type Loose } from './lsp-client';
import { answered } from '../bounded';

const STORY = `provider: kie
mode: pro

[scene Walk]
duration: 5
sound: on
A dog walks.

[scene Next]
first-frame: 
A cat.
`;

describe('special files over LSP', () => {
  let server: FakeServer;
  let project: Project;
  let client: LspClient;
  let uri: string;

  before(async () => {
    buildServer();
    server = await startFakeServer({ pollsToFinish: 1 });
    project = makeProject();
    const file = project.file('story.kling', STORY);
    uri = pathToFileURL(file).href;
    const { engine } = engineFor(server, project, { defaultOutput: 'takes' });
    const [entry] = await engine.render({ storyboardPath: file, text: STORY, scenes: [0] });
    assert.equal(entry!.state, 'done');
    // The fake reports 20 credits/s: 5 s → 100 credits.
    assert.equal(entry!.reportedCost, 100);

    const ledger = path.join(project.dir, 'takes', '.ledger');
    execFileSync('mkfifo', [path.join(ledger, 'a-pipe.json'), path.join(ledger, 'z-pipe.json')]);
    mkdirSync(path.join(ledger, 'folder.json'));
    // In the workspace: pipes and a folder with media names beside the real images.
    execFileSync('mkfifo', [
      path.join(project.dir, 'pipe.png'),
      path.join(project.dir, 'refs/p.jpg'),
    ]);
    mkdirSync(path.join(project.dir, 'folder.png'));

    client = new LspClient({ configuration: { outputFolder: 'takes' } });
    await client.initialize({
      capabilities: {
        workspace: { configuration: true },
        textDocument: { hover: { contentFormat: ['markdown', 'plaintext'] } },
      },
    });
    await client.open(uri, STORY);
  });
  after(async () => {
    await client?.shutdown();
    await server?.close();
    if (project) rmSync(project.dir, { recursive: true, force: true });
  });

  test('a scene header hover reads the cost history past pipes and folders named *.json', async () => {
    // Twice: a pipe left open by the first would hold a thread-pool thread for the second.
    for (let i = 0; i < 2; i++) {
      const h: Loose = await answered(
        'hover on the scene header',
        client.request('textDocument/hover', {
          textDocument: { uri },
          position: { line: 3, character: 3 },
        }),
      );
      assert.match(
        h.contents.value as string,
        /Cost: \*\*≈ 100 credits\*\* — estimate \(from your last take in pro with sound\)/,
      );
    }
  });

  test('media-path completion lists the real images, not pipes or folders', async () => {
    const line = STORY.split('\n').indexOf('first-frame: ');
    for (let i = 0; i < 2; i++) {
      const list: Loose = await answered(
        'completion after first-frame:',
        client.request('textDocument/completion', {
          textDocument: { uri },
          position: { line, character: 'first-frame: '.length },
        }),
      );
      const labels = ((Array.isArray(list) ? list : list.items) as { label: string }[]).map(
        (x) => x.label,
      );
      for (const f of ['refs/a.png', 'refs/b.png', 'frames/f1.png', 'frames/f2.png'])
        assert.ok(labels.includes(f), `${f} offered: ${labels.join(', ')}`);
      for (const f of ['pipe.png', 'refs/p.jpg', 'folder.png'])
        assert.ok(!labels.includes(f), `${f} not offered: ${labels.join(', ')}`);
    }
  });
});

// The cost estimate on a scene header hover, over stdio: the user's rates from the client's
// configuration, and the costs the provider reported for takes the real engine rendered
// (against the fake server) read back from the ledger.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { startFakeServer, type FakeServer } from '../fake-server/server';
import { engineFor, makeProject, type Project } from '../engine/helpers';
import { buildServer, LspClient } from './lsp-client';

const STORY = `provider: kie
mode: pro

[scene Walk]
duration: 5
sound: on
A dog walks.

[scene Far]
mode: 4K
duration: 5
A cat.
`;

describe('cost on hover over LSP', () => {
  let server: FakeServer;
  let project: Project;
  let client: LspClient;
  let uri: string;
  let file: string;

  before(async () => {
    buildServer();
    server = await startFakeServer({ pollsToFinish: 1 });
    project = makeProject();
    file = project.file('story.kling', STORY);
    uri = pathToFileURL(file).href;
    client = new LspClient({ configuration: { rates: { 'kie.4K': 40 } } });
    await client.initialize({
      capabilities: {
        workspace: { configuration: true },
        textDocument: { hover: { contentFormat: ['markdown', 'plaintext'] } },
      },
    });
  });
  after(async () => {
    await client.shutdown();
    await server.close();
    rmSync(project.dir, { recursive: true, force: true });
  });

  async function hoverOn(line: number): Promise<string> {
    const h = await client.request('textDocument/hover', {
      textDocument: { uri },
      position: { line, character: 3 },
    });
    return h.contents.value as string;
  }

  test('default rate, then your rate from the configuration', async () => {
    await client.open(uri, STORY);
    assert.match(
      await hoverOn(3),
      /Cost: \*\*≈ 120 credits\*\* — estimate \(24 credits\/s in pro with sound: a community figure, not documented by KIE\)/,
    );
    assert.match(await hoverOn(8), /Cost: \*\*≈ 200 credits\*\* — estimate \(your rate: 40/);
  });

  test('a rendered take with a reported cost refines the next hover', async () => {
    const { engine } = engineFor(server, project);
    const [entry] = await engine.render({ storyboardPath: file, text: STORY, scenes: [0] });
    assert.equal(entry!.state, 'done');
    // The fake reports 20 credits/s: 5 s → 100 credits.
    assert.equal(entry!.reportedCost, 100);
    assert.match(
      await hoverOn(3),
      /Cost: \*\*≈ 100 credits\*\* — estimate \(from your last take in pro with sound\)/,
    );
    // Another mode keeps its own rate.
    assert.match(await hoverOn(8), /≈ 200 credits/);
  });
});

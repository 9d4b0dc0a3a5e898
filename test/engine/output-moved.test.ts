// Takes stay in the output folder they were paid for in. When `output:` or the extension's
// kling.outputFolder points somewhere else afterwards, the same request found in another output
// folder of the project is not paid for again: the scene is refused, the message says where the
// take is and how to use it, and a new take is paid for only on purpose.
import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { planRender } from '../../server/src/render/plan';
import type { FakeServer } from '../fake-server/server';
import { engineFor, KIE_BOARD, useFakeServer, type Project } from './helpers';

const FINALE = 1;
const PLAIN = 2;

/** KIE_BOARD with an `output:` line in its header (none: the default, renders/). */
function withOutput(output: string | undefined): string {
  return output === undefined
    ? KIE_BOARD
    : KIE_BOARD.replace('mode: std\n', `mode: std\noutput: ${output}\n`);
}

describe('a take paid for under another output folder', () => {
  let server: FakeServer;
  let project: Project;
  useFakeServer({ pollsToFinish: 1 }, (s, p) => {
    server = s;
    project = p;
  });

  async function render(text: string, scenes: number[], newTake = false, outputFolder?: string) {
    const file = project.file('board.kling', text);
    const { engine } = engineFor(server, project, {
      newTakeHint: 'run again with --new-take',
      ...(outputFolder ? { defaultOutput: outputFolder } : {}),
    });
    return engine.render({ storyboardPath: file, text, scenes, newTake });
  }

  it('output: changed after a render: refused with where the take is; set back, it is reused', async () => {
    const [first] = await render(withOutput(undefined), [PLAIN]);
    assert.equal(first!.state, 'done', first!.error);
    assert.equal(server.state.createdCount(), 1);

    const moved = withOutput('videos');
    const [refused] = await render(moved, [PLAIN]);
    assert.equal(refused!.state, 'failed');
    assert.equal(
      refused!.error,
      'Plain: not sent: this request was already paid for (take 1, done) in the output folder ' +
        'renders, and the output folder is now videos. Set the output folder back to renders to ' +
        'use that take, or run again with --new-take to pay for a new one in videos.',
    );
    assert.equal(server.state.createdCount(), 1, 'nothing paid twice');
    // Another scene, never rendered, is paid for in the new folder as usual.
    const [finale] = await render(moved, [FINALE]);
    assert.equal(finale!.state, 'done', finale!.error);
    assert.ok(finale!.videoPath!.startsWith(path.join(project.dir, 'videos')), finale!.videoPath);

    // The preview (the CodeLens and the storyboard preview use it) says the same, before paying.
    const file = project.file('board.kling', moved);
    const plans = await planRender(
      { keys: { kieApiKey: server.keys.kieApiKey } },
      { storyboardPath: file, text: moved },
    );
    const plain = plans.find((p) => p.scene.sceneTitle === 'Plain')!;
    assert.equal(plain.action, 'refuse');
    assert.ok(plain.action === 'refuse' && plain.newTakeSends, 'a new take would send it');

    const [back] = await render(withOutput(undefined), [PLAIN]);
    assert.equal(back!.state, 'done', back!.error);
    assert.equal(back!.take, 1, 'the take paid for before');
    assert.equal(server.state.createdCount(), 2);

    // On purpose: a new take, paid for in the new folder.
    const [again] = await render(moved, [PLAIN], true);
    assert.equal(again!.state, 'done', again!.error);
    assert.ok(again!.videoPath!.startsWith(path.join(project.dir, 'videos')), again!.videoPath);
    assert.equal(server.state.createdCount(), 3);
  });

  it('kling.outputFolder changed, and a nested output folder two levels down, are found too', async () => {
    const [first] = await render(withOutput('media/takes'), [PLAIN]);
    assert.equal(first!.state, 'done', first!.error);
    // The header line removed and the setting pointing elsewhere.
    const [refused] = await render(withOutput(undefined), [PLAIN], false, 'out');
    assert.equal(refused!.state, 'failed');
    assert.match(
      refused!.error!,
      /paid for \(take 1, done\) in the output folder media\/takes, and the output folder is now out\./,
    );
    assert.equal(server.state.createdCount(), 1);
  });

  it('the old folder moved to the new name: its takes are found there and reused', async () => {
    const [first] = await render(withOutput(undefined), [PLAIN]);
    assert.equal(first!.state, 'done', first!.error);
    renameSync(path.join(project.dir, 'renders'), path.join(project.dir, 'videos'));
    const [reused] = await render(withOutput('videos'), [PLAIN]);
    assert.equal(reused!.state, 'done', reused!.error);
    assert.equal(reused!.take, 1);
    assert.equal(server.state.createdCount(), 1);
  });
});

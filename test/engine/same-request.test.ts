// Two scenes written alike send the same request, and a take is found by its request: one take
// serves both. A render makes it once — the other scene waits for it and reuses it — and the
// estimate before the render counts it once. If that take fails, the other scene tries itself.
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { costOfPlan } from '../../server/src/render/cost';
import { planRender } from '../../server/src/render/plan';
import { storyboardTakes } from '../../server/src/render/takes';
import type { FakeServer } from '../fake-server/server';
import { engineFor, useFakeServer, type Project } from './helpers';

const TWINS = `provider: kie
mode: std

[scene Ball]
duration: 5
first-frame: frames/f1.png
A red ball bounces across the floor.

[scene Sunset]
duration: 5
A sunset over the sea.

[scene Ball again]
duration: 5
first-frame: frames/f1.png
A red ball bounces across the floor.
`;

describe('scenes that send the same request', () => {
  let server: FakeServer;
  let project: Project;
  useFakeServer({ pollsToFinish: 2 }, (s, p) => {
    server = s;
    project = p;
  });

  async function render(newTake = false, scenes?: number[]) {
    const file = project.file('twins.kling', TWINS);
    const { engine } = engineFor(server, project, { concurrency: 3 });
    return engine.render({ storyboardPath: file, text: TWINS, newTake, scenes });
  }

  it('one take for both, even with every scene in flight at once; the estimate counts it once', async () => {
    const file = project.file('twins.kling', TWINS);
    const plans = await planRender(
      { keys: { kieApiKey: server.keys.kieApiKey } },
      { storyboardPath: file, text: TWINS },
    );
    assert.deepEqual(
      plans.map((p) => p.action),
      ['submit', 'submit', 'submit'],
    );
    const cost = costOfPlan(plans, {});
    assert.equal(cost.submit, 2);
    assert.equal(cost.reused, 1);
    assert.match(cost.summary, /^2 scenes to submit, 1 reused: /);
    assert.equal(
      cost.scenes[2]!.line,
      'Ball again: the same request as Ball: reuses the take made for it, 0 credits',
    );

    const [ball, sunset, again] = await render();
    for (const e of [ball, sunset, again]) assert.equal(e!.state, 'done', e!.error);
    assert.equal(server.state.createdCount(), 2, 'Ball and Sunset; Ball again paid for nothing');
    assert.equal(again!.videoPath, ball!.videoPath);
    assert.equal(again!.take, ball!.take);
    // The film has it in both places: each scene's takes include the take of its request.
    const { engine } = engineFor(server, project);
    const film = await storyboardTakes(engine, file, TWINS);
    assert.deepEqual(
      film.scenes.map((s) => [s.sceneTitle, s.chosen?.videoPath]),
      [
        ['Ball', ball!.videoPath],
        ['Sunset', sunset!.videoPath],
        ['Ball again', ball!.videoPath],
      ],
    );

    // A new take of every scene: one new take per request, not per scene.
    const renewed = await render(true);
    assert.equal(server.state.createdCount(), 4);
    assert.equal(renewed[2]!.videoPath, renewed[0]!.videoPath);
    assert.equal(renewed[0]!.take, 2);
  });

  it('stopped while the take runs: the other scene follows the recorded take, sends nothing', async () => {
    const file = project.file('twins.kling', TWINS);
    const { engine } = engineFor(server, project, { concurrency: 3 });
    const controller = new AbortController();
    const [ball, again] = await engine.render({
      storyboardPath: file,
      text: TWINS,
      scenes: [0, 2],
      signal: controller.signal,
      onEvent: (e) => {
        if (e.entry.state === 'submitted' || e.entry.state === 'running') controller.abort();
      },
    });
    assert.equal(server.state.createdCount(), 1);
    assert.equal(again!.take, ball!.take);
    assert.equal(again!.taskId, ball!.taskId);
    // Run again: one take to finish, still one create.
    const { engine: next } = engineFor(server, project, { concurrency: 3 });
    const done = await next.render({ storyboardPath: file, text: TWINS, scenes: [0, 2] });
    for (const e of done) assert.equal(e.state, 'done', e.error);
    assert.equal(server.state.createdCount(), 1);
  });

  it('the first take failed: the other scene then tries on its own', async () => {
    server.faults.failNextTask('content rejected', '422');
    // Either scene may be the one that makes the take (both are planned at once).
    const entries = await render(false, [0, 2]);
    const failed = entries.filter((e) => e.state === 'failed');
    const done = entries.filter((e) => e.state === 'done');
    assert.equal(failed.length, 1);
    assert.match(failed[0]!.error!, /content rejected/);
    assert.equal(done.length, 1, done.map((e) => e.error).join());
    assert.equal(server.state.createdCount(), 2);
  });
});

describe("a renamed storyboard's takes", () => {
  let server: FakeServer;
  let project: Project;
  useFakeServer({ pollsToFinish: 1 }, (s, p) => {
    server = s;
    project = p;
  });

  it('are found while its file is gone, and follow changes to the ledger', async () => {
    const old = project.file('twins.kling', TWINS);
    const { engine } = engineFor(server, project, { concurrency: 3 });
    const rendered = await engine.render({ storyboardPath: old, text: TWINS });
    assert.equal(server.state.createdCount(), 2);
    const renamed = project.file('film.kling', TWINS);
    // The old file is still there: not a renamed storyboard.
    assert.deepEqual(await engine.renamedEntries(renamed), []);
    rmSync(old);
    const found = await engine.renamedEntries(renamed);
    // Two takes (the twins share one), whichever scene title their entries answer to now.
    assert.deepEqual(
      found.map((e) => e.requestHash).sort(),
      [rendered[0]!.requestHash, rendered[1]!.requestHash].sort(),
    );
    const film = await storyboardTakes(engine, renamed, TWINS);
    assert.deepEqual(
      film.scenes.map((s) => s.chosen?.videoPath),
      [rendered[0]!.videoPath, rendered[1]!.videoPath, rendered[0]!.videoPath],
    );
    // An entry deleted since: the next answer has it no more (kept answers follow the folder).
    const ledgerDir = path.join(project.dir, 'renders', '.ledger');
    const sunset = readdirSync(ledgerDir).find((n) => n.includes('--sunset--'))!;
    rmSync(path.join(ledgerDir, sunset));
    assert.deepEqual(
      (await engine.renamedEntries(renamed)).map((e) => e.requestHash),
      [rendered[0]!.requestHash],
    );
    assert.equal(server.state.createdCount(), 2);
    // A storyboard whose scenes all have a take of their own: the ledger is not asked for others.
    const single = TWINS.slice(0, TWINS.indexOf('[scene Ball again]'));
    let asked = 0;
    const counting = {
      entries: (p: string) => engine.entries(p),
      renamedEntries: (p: string) => (asked++, engine.renamedEntries(p)),
    };
    await storyboardTakes(counting, renamed, single);
    assert.equal(asked, 1, 'asked while its scenes have no take of their own');
    await engine.render({ storyboardPath: renamed, text: single, newTake: true });
    await storyboardTakes(counting, renamed, single);
    assert.equal(asked, 1, 'not asked once each scene has its own');
  });
});

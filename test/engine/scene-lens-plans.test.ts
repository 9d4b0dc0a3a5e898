// The Generate CodeLens plans a storyboard at most once per state of what the plan reads
// (client/src/boundedAnswers.ts keeping, render/cost.ts previewPlan + inputsState): redraws
// without changes reuse the plan; a ledger write (a render, a damaged entry, a deleted file) or a
// replaced media file plans again, so a stale "not charged" cannot be shown. A scene the plan
// refuses says so with the message Generate gives — checked here against a real render.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BoundedAnswers } from '../../client/src/boundedAnswers';
import {
  inputsState,
  previewPlan,
  refusalLabel,
  reusedSceneLabels,
  type WatchedPlan,
} from '../../server/src/render/cost';
import type { ContentHashCache } from '../../server/src/render/plan';
import { makePng } from '../fake-server/png';
import { engineFor, KIE_BOARD, useFakeServer, type Project } from './helpers';
import type { FakeServer } from '../fake-server/server';

const PLAIN = 2; // KIE_BOARD's text-only scene

describe('the scene CodeLens plans once per state of the ledger and media', () => {
  let server: FakeServer;
  let project: Project;
  useFakeServer({ pollsToFinish: 1 }, (s, p) => {
    server = s;
    project = p;
  });

  /** The lens's plans for one document, as codeLens.ts makes them, counted. */
  function lensPlans(file: string, now?: () => number) {
    const hashCache: ContentHashCache = new Map();
    const counter = { plans: 0 };
    const answers = new BoundedAnswers<WatchedPlan>(60_000, () => {}, {
      inputs: (plan) => inputsState(plan.inputs),
      now,
    });
    const ask = async (text = KIE_BOARD, version = 1): Promise<WatchedPlan> => {
      const plan = await answers.get(
        file,
        `${version}:0`,
        () => `${version}:0`,
        () => {
          counter.plans++;
          return previewPlan({ keys: {}, hashCache }, file, text, {});
        },
      );
      assert.ok(plan, 'a plan within the bound');
      return plan;
    };
    return { ask, counter };
  }

  const labels = (plan: WatchedPlan) => Object.fromEntries(reusedSceneLabels(plan.cost));

  it('N redraws without changes make 1 plan; each ledger or media change makes a new one', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    // A clock a minute ahead: the files this test just wrote count as settled (see RACY_MS).
    const { ask, counter } = lensPlans(file, () => Date.now() + 60_000);
    for (let i = 0; i < 20; i++) assert.deepEqual(labels(await ask()), {});
    assert.equal(counter.plans, 1);

    // A render writes the ledger: planned again, and the scene is now "not charged".
    const { engine } = engineFor(server, project);
    const [plain] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [PLAIN] });
    assert.equal(plain!.state, 'done');
    for (let i = 0; i < 20; i++)
      assert.deepEqual(labels(await ask()), { 2: 'reuses take 1, not charged' });
    assert.equal(counter.plans, 2);

    // Damaged in place (the folder's listing unchanged): planned again, no longer "not charged".
    const ledgerDir = path.join(project.dir, 'renders', '.ledger');
    const [name] = readdirSync(ledgerDir).filter((n) => n.endsWith('.json'));
    const ledgerFile = path.join(ledgerDir, name!);
    const entryText = readFileSync(ledgerFile, 'utf8');
    writeFileSync(ledgerFile, entryText.slice(0, 40));
    let plan = await ask();
    assert.equal(counter.plans, 3);
    assert.deepEqual(labels(plan), {});
    assert.ok(plan.refusals.has(PLAIN));
    await ask();
    assert.equal(counter.plans, 3);

    // Repaired: planned again, free again.
    writeFileSync(ledgerFile, entryText);
    assert.deepEqual(labels(await ask()), { 2: 'reuses take 1, not charged' });
    assert.equal(counter.plans, 4);

    // Deleted: the listing changed; the scene would be paid for again.
    rmSync(ledgerFile);
    plan = await ask();
    assert.equal(counter.plans, 5);
    assert.deepEqual(labels(plan), {});
    assert.equal(plan.cost.scenes[PLAIN]!.action, 'submit');

    // A media file replaced: planned again (its new hash is another request).
    writeFileSync(path.join(project.dir, 'frames', 'f1.png'), makePng(400, 300, 9));
    await ask();
    assert.equal(counter.plans, 6);
    // A media file gone: planned again, and its scene is refused as Generate would.
    rmSync(path.join(project.dir, 'frames', 'f2.png'));
    plan = await ask();
    assert.equal(counter.plans, 7);
    assert.equal(
      refusalLabel(plan.refusals.get(1)!, 'Finale', plan.folder),
      'cannot read frames/f2.png (ENOENT)',
    );
    // … and back.
    writeFileSync(path.join(project.dir, 'frames', 'f2.png'), makePng(400, 300, 4));
    plan = await ask();
    assert.equal(counter.plans, 8);
    assert.equal(plan.refusals.size, 0);

    // An edit (another document version) plans again, without disk changes.
    const edited = KIE_BOARD.replace('A sunset over the sea.', 'A sunrise over the sea.');
    await ask(edited, 2);
    await ask(edited, 2);
    assert.equal(counter.plans, 9);
  });

  it('a take paid for under the old output folder: the lens plans again when that ledger changes', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    const { engine } = engineFor(server, project);
    const [plain] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [PLAIN] });
    assert.equal(plain!.state, 'done');
    const moved = KIE_BOARD.replace('mode: std\n', 'mode: std\noutput: videos\n');
    const { ask, counter } = lensPlans(file, () => Date.now() + 60_000);
    let plan = await ask(moved);
    assert.match(
      plan.refusals.get(PLAIN)!,
      /already paid for \(take 1, done\) in the output folder renders/,
    );
    await ask(moved);
    assert.equal(counter.plans, 1, 'kept while nothing it read changed');
    // The old ledger's entry deleted: nothing is paid for elsewhere any more.
    const ledgerDir = path.join(project.dir, 'renders', '.ledger');
    for (const name of readdirSync(ledgerDir)) rmSync(path.join(ledgerDir, name));
    plan = await ask(moved);
    assert.equal(counter.plans, 2);
    assert.equal(plan.refusals.has(PLAIN), false);
  });

  it('a plan made right after a ledger write is used but not kept (the write may be racing it)', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    const { engine } = engineFor(server, project);
    const [plain] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [PLAIN] });
    assert.equal(plain!.state, 'done');
    // The real clock: the ledger entry was written just now.
    const { ask, counter } = lensPlans(file);
    assert.deepEqual(labels(await ask()), { 2: 'reuses take 1, not charged' });
    assert.deepEqual(labels(await ask()), { 2: 'reuses take 1, not charged' });
    assert.equal(counter.plans, 2);
  });

  it('a damaged ledger entry: the lens says "not sent" with the reason Generate gives, and no price', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    const { engine } = engineFor(server, project);
    const [plain] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [PLAIN] });
    assert.equal(plain!.state, 'done');
    const ledgerDir = path.join(project.dir, 'renders', '.ledger');
    const [name] = readdirSync(ledgerDir).filter((n) => n.endsWith('.json'));
    const ledgerFile = path.join(ledgerDir, name!);
    const text = readFileSync(ledgerFile, 'utf8');
    writeFileSync(ledgerFile, text.slice(0, Math.floor(text.length / 2)));

    const plan = await previewPlan({ keys: {} }, file, KIE_BOARD, {});
    assert.deepEqual([...plan.refusals.keys()], [PLAIN]);
    assert.equal(plan.folder, realpathSync(project.dir));
    assert.equal(plan.cost.refused, 1);
    assert.deepEqual(labels(plan), {});
    assert.equal(
      refusalLabel(plan.refusals.get(PLAIN)!, 'Plain', plan.folder),
      `the ledger entry renders/.ledger/${name} is not valid JSON (truncated or garbled)`,
    );
    // Generate on that scene refuses it with the very same message, and sends nothing.
    const created = server.state.createdCount();
    const [refused] = await engine.render({
      storyboardPath: file,
      text: KIE_BOARD,
      scenes: [PLAIN],
    });
    assert.equal(refused!.state, 'failed');
    assert.equal(refused!.error, plan.refusals.get(PLAIN));
    assert.equal(server.state.createdCount(), created);
    // The other scenes are unaffected: priced, not refused.
    assert.deepEqual(
      plan.cost.scenes.map((s) => s.action),
      ['submit', 'submit', 'refuse'],
    );
    // The lens offers "↻ New take" for it: a new take is sent, and pays, on purpose.
    assert.deepEqual([...plan.newTakeSends], [PLAIN]);
    const [paid] = await engine.render({
      storyboardPath: file,
      text: KIE_BOARD,
      scenes: [PLAIN],
      newTake: true,
    });
    assert.equal(paid!.state, 'done');
    assert.equal(server.state.createdCount(), created + 1);
  });

  it('a scene refused for another reason is not offered a new take', async () => {
    const board = KIE_BOARD.replace(/first-frame: \S+/, 'first-frame: frames/missing.png');
    const file = project.file('board.kling', board);
    const plan = await previewPlan({ keys: {} }, file, board, {});
    assert.ok(plan.refusals.size > 0, 'a scene is refused');
    assert.equal(plan.newTakeSends.size, 0);
  });
});

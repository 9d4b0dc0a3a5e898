// What the Generate CodeLens says about one scene's cost comes from the plan render makes
// (render/plan.ts through previewCost): a scene whose unchanged request has a take in the ledger
// (written here by a real render against the fake server) "reuses take N, not charged", and
// Generate on it indeed creates nothing; a changed scene has no such label (the lens shows its
// price) and Generate on it pays for a new take.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { previewCost, reusedSceneLabels } from '../../server/src/render/cost';
import type { ContentHashCache } from '../../server/src/render/plan';
import { engineFor, KIE_BOARD, useFakeServer, type Project } from './helpers';
import type { FakeServer } from '../fake-server/server';

describe('the scene CodeLens cost', () => {
  let server: FakeServer;
  let project: Project;
  useFakeServer({ pollsToFinish: 1 }, (s, p) => {
    server = s;
    project = p;
  });

  it('says "not charged" only for a scene whose take Generate reuses; a changed scene shows its price', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    // The lens keeps a hash cache per document, as the storyboard preview does.
    const hashCache: ContentHashCache = new Map();
    const plan = (text: string) => previewCost({ keys: {}, hashCache }, file, text, {});
    const labels = async (text: string) => Object.fromEntries(reusedSceneLabels(await plan(text)));

    // Nothing rendered: every scene would be paid for.
    assert.deepEqual(await labels(KIE_BOARD), {});

    const { engine } = engineFor(server, project);
    const [plain] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [2] });
    assert.equal(plain!.state, 'done');
    const created = server.state.createdCount();

    // Plain (scene 2) reuses take 1; the two others are still paid for, at their estimates.
    const after = await plan(KIE_BOARD);
    assert.deepEqual(Object.fromEntries(reusedSceneLabels(after)), {
      2: 'reuses take 1, not charged',
    });
    assert.deepEqual(
      after.scenes.map((s) => [s.action, s.take]),
      [
        ['submit', undefined],
        ['submit', undefined],
        ['reuse', 1],
      ],
    );
    assert.match(after.scenes[1]!.line, /^Finale: submit, ≈ 60 credits/);

    // What Generate does on that scene agrees: the same take back, nothing created.
    const [again] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [2] });
    assert.equal(again!.take, 1);
    assert.equal(server.state.createdCount(), created, 'Generate on a reused scene pays nothing');

    // A changed request: no label (the lens shows the price), and Generate pays for take 2.
    const changed = KIE_BOARD.replace('A sunset over the sea.', 'A sunrise over the sea.');
    const edited = await plan(changed);
    assert.deepEqual(Object.fromEntries(reusedSceneLabels(edited)), {});
    assert.match(edited.scenes[2]!.line, /^Plain: submit, ≈ 48 credits/);
    const [paid] = await engine.render({ storyboardPath: file, text: changed, scenes: [2] });
    assert.equal(paid!.take, 2);
    assert.equal(server.state.createdCount(), created + 1);
    assert.deepEqual(await labels(changed), { 2: 'reuses take 2, not charged' });
    // The first wording is still in the ledger: going back reuses take 1 again.
    assert.deepEqual(await labels(KIE_BOARD), { 2: 'reuses take 1, not charged' });
  });

  it('a deleted video is downloaded again, not paid again, and a damaged ledger entry is never "not charged"', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    const { engine } = engineFor(server, project);
    const [plain] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [2] });
    assert.equal(plain!.state, 'done');
    const created = server.state.createdCount();

    // The video is gone: render fetches the same task's video again (no new task), so the lens
    // still says "not charged".
    rmSync(plain!.videoPath!);
    const cost = await previewCost({ keys: {} }, file, KIE_BOARD, {});
    assert.deepEqual(Object.fromEntries(reusedSceneLabels(cost)), {
      2: 'reuses take 1, not charged',
    });
    const [fetched] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [2] });
    assert.equal(fetched!.state, 'done');
    assert.equal(fetched!.take, 1);
    assert.equal(server.state.createdCount(), created, 'downloaded again, not paid again');

    // A ledger file that cannot be read may record a paid task: render refuses the scene, and
    // the lens must not claim it is free.
    const ledgerDir = path.join(project.dir, 'renders', '.ledger');
    const [name] = readdirSync(ledgerDir).filter((n) => n.endsWith('.json'));
    const ledgerFile = path.join(ledgerDir, name!);
    const text = readFileSync(ledgerFile, 'utf8');
    writeFileSync(ledgerFile, text.slice(0, Math.floor(text.length / 2)));
    const damaged = await previewCost({ keys: {} }, file, KIE_BOARD, {});
    assert.equal(damaged.scenes[2]!.action, 'refuse');
    assert.deepEqual(Object.fromEntries(reusedSceneLabels(damaged)), {});
  });
});

// A render plan shares its file-system look-ups among its scenes (render/plan.ts `PlanLookups`):
// one real path, one read and one hash per distinct media file — not per reference — and one
// listing of the storyboard's video folder, counted here on node:fs itself. The plans are the
// same as without sharing (`PlanRequest.uncached`, every reference on its own) for a project in
// every state a plan distinguishes, rendered for real against the fake server; and since the
// look-ups live for one plan only, a file changed between two plans is seen by the next.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  mkdirSync,
  mkdtempSync,
  promises as fsp,
  realpathSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  planRender,
  sceneIdentities,
  sceneRequests,
  type IdentityMemo,
  type ContentHashCache,
  type PlanOptions,
  type PlanRequest,
  type ScenePlan,
} from '../../server/src/render/plan';
import { previewPlan } from '../../server/src/render/cost';
import { makePng } from '../fake-server/png';
import type { FakeServer } from '../fake-server/server';
import { engineFor, KIE_BOARD, makeProject, useFakeServer, type Project } from './helpers';

/** Calls of some node:fs promise functions (the ones planning uses) while `run` runs. */
async function countingFs<T>(
  run: () => Promise<T>,
): Promise<{ result: T; calls: Record<string, number>; paths: Record<string, string[]> }> {
  const names = ['realpath', 'stat', 'readFile', 'readdir', 'access', 'open'] as const;
  const calls: Record<string, number> = {};
  const paths: Record<string, string[]> = {};
  const saved = new Map<string, unknown>();
  const target = fsp as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of names) {
    const original = target[name]!;
    saved.set(name, original);
    calls[name] = 0;
    paths[name] = [];
    target[name] = (...args: unknown[]) => {
      calls[name]!++;
      paths[name]!.push(String(args[0]));
      return original.apply(fsp, args);
    };
  }
  try {
    return { result: await run(), calls, paths };
  } finally {
    for (const [name, original] of saved) target[name] = original as never;
  }
}

/** `count` scenes, each with one of two first frames and one of two elements (two images each). */
function manyScenes(count: number): string {
  const lines = ['provider: kie', 'mode: std', ''];
  lines.push('[element dog]', 'images: refs/a.png, refs/b.png', 'A small dog.', '');
  lines.push('[element cat]', 'images: refs/b.png, refs/a.png', 'A small cat.', '');
  for (let i = 1; i <= count; i++)
    lines.push(
      `[scene Scene ${i}]`,
      `first-frame: frames/f${1 + (i % 2)}.png`,
      'duration: 5',
      `The @${i % 3 ? 'dog' : 'cat'} runs, take ${i}.`,
      '',
    );
  return lines.join('\n');
}

const OPTS: PlanOptions = { keys: { kieApiKey: 'test-key' } };

describe('one plan looks each file up once', () => {
  it('one realpath, one stat and one read per distinct media file, not per reference', async (t) => {
    const project = makeProject();
    t.after(() => rmSync(project.dir, { recursive: true, force: true }));
    const text = manyScenes(40);
    const storyboardPath = project.file('many.kling', text);
    const { requests } = sceneRequests(OPTS, text, undefined, storyboardPath);
    const references = requests.reduce((n, sr) => n + sr.media.length, 0);
    const distinctPerScene = requests.reduce(
      (n, sr) => n + new Set(sr.media.map((m) => m.ref)).size,
      0,
    );
    const distinct = new Set(requests.flatMap((sr) => sr.media.map((m) => m.ref))).size;
    assert.equal(distinct, 4, 'refs/a.png, refs/b.png, frames/f1.png, frames/f2.png');
    assert.ok(references >= 120, `every scene references 3 files (${references})`);

    const shared = await countingFs(() => planRender(OPTS, { storyboardPath, text }));
    assert.equal(shared.result.length, 40);
    assert.ok(shared.result.every((p) => p.action === 'submit'));
    // The storyboard's own path, its folder (the outside check), and each media file once.
    assert.equal(shared.calls.realpath, 2 + distinct, shared.paths.realpath!.join('\n'));
    assert.equal(shared.calls.readFile, distinct);
    assert.equal(shared.calls.stat, distinct, 'the regular-file check before each read');
    assert.equal(new Set(shared.paths.readFile).size, distinct);
    // The ledger folder (absent) and the storyboard's video folder (absent), once each, and the
    // look for other output folders' ledgers (the project folder, frames/, refs/), once.
    assert.equal(shared.calls.readdir, 2 + 3, shared.paths.readdir!.join('\n'));

    // The same plan without sharing: what each scene looked up on its own (the counter counts).
    const alone = await countingFs(() =>
      planRender(OPTS, { storyboardPath, text, uncached: true }),
    );
    assert.equal(alone.calls.realpath, 1 + 2 * distinctPerScene);
    assert.equal(alone.calls.readFile, references);
    assert.equal(alone.calls.readdir, 1 + 40 + 40 * 3);
    assert.deepEqual(alone.result, shared.result);

    // With the preview's hash cache: one stat per file, no read once the hashes are known.
    const hashCache: ContentHashCache = new Map();
    await planRender({ ...OPTS, hashCache }, { storyboardPath, text });
    const cached = await countingFs(() =>
      planRender({ ...OPTS, hashCache }, { storyboardPath, text }),
    );
    assert.equal(cached.calls.stat, distinct);
    assert.equal(cached.calls.readFile, 0);
    assert.deepEqual(cached.result, shared.result);
  });

  it('the CodeLens plan looks for other output folders once (the plan and its inputs share it)', async (t) => {
    const project = makeProject();
    t.after(() => rmSync(project.dir, { recursive: true, force: true }));
    const text = manyScenes(12);
    const storyboardPath = project.file('many.kling', text);
    const { result, paths } = await countingFs(() => previewPlan(OPTS, storyboardPath, text, {}));
    assert.equal(result.cost.submit, 12);
    assert.equal(paths.readdir!.filter((p) => p === realpathSync(project.dir)).length, 1);
  });

  it('scene folders on disk: the storyboard video folder is listed once, only scene folders it holds are read', async (t) => {
    const project = makeProject();
    t.after(() => rmSync(project.dir, { recursive: true, force: true }));
    const text = manyScenes(12);
    const storyboardPath = project.file('many.kling', text);
    const videos = path.join(project.dir, 'renders', 'many');
    mkdirSync(path.join(videos, 'scene-3'), { recursive: true });
    writeFileSync(path.join(videos, 'scene-3', 'take-4.mp4'), 'a take left by a lost ledger');
    mkdirSync(path.join(videos, 'scene-7'), { recursive: true });
    const { result, calls, paths } = await countingFs(() =>
      planRender(OPTS, { storyboardPath, text }),
    );
    const firstFree = result.map((p) => (p.action === 'submit' ? p.take.firstFree : 0));
    assert.deepEqual(firstFree, [1, 1, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    assert.deepEqual(paths.readdir!.filter((p) => p.startsWith(videos)).sort(), [
      videos,
      path.join(videos, 'scene-3'),
      path.join(videos, 'scene-7'),
    ]);
    // And the ledger folder, and the look for other ledgers (the project folder, frames/, refs/,
    // renders/; in renders/ only for a .ledger: its video folders are not listed again).
    assert.equal(calls.readdir, 4 + 4, paths.readdir!.join('\n'));
    const alone = await planRender(OPTS, { storyboardPath, text, uncached: true });
    assert.deepEqual(alone, result);
  });
});

/** What every scene of KIE_BOARD_MORE is, after `prepare`. */
const KIE_BOARD_MORE =
  KIE_BOARD +
  `
[scene Finale again]
duration: 5
first-frame: frames/f2.png
The @dog sleeps in the sun.

[scene Missing frame]
duration: 5
first-frame: frames/missing.png
A dog that is not there.

[scene Outside]
duration: 5
first-frame: link.png
A frame from elsewhere.

[scene Leftover]
duration: 5
first-frame: frames/f1.png
A take left on disk without its ledger entry.

[scene Damaged]
duration: 5
A scene whose ledger entry is damaged.

[scene Gone video]
duration: 5
first-frame: frames/f1.png
A scene whose video was deleted after it was rendered.
`;

describe('request identities kept between calls (the panels ask on every change)', () => {
  it('the same text and media give the kept answer; a changed frame or text is worked out again', async (t) => {
    const project = makeProject();
    t.after(() => rmSync(project.dir, { recursive: true, force: true }));
    const file = project.file('board.kling', KIE_BOARD);
    const hashCache: ContentHashCache = new Map();
    const opts = { keys: {}, hashCache };
    const memo: IdentityMemo = {};
    const first = await sceneIdentities(opts, file, KIE_BOARD, undefined, memo);
    assert.equal(first.size, 3);
    assert.equal(await sceneIdentities(opts, file, KIE_BOARD, undefined, memo), first);
    // Morning run's first frame gets other bytes: its identity changes, Plain's does not.
    writeFileSync(path.join(project.dir, 'frames', 'f1.png'), makePng(400, 300, 9));
    const changed = await sceneIdentities(opts, file, KIE_BOARD, undefined, memo);
    assert.notEqual(changed, first);
    assert.notEqual(changed.get(0), first.get(0));
    assert.equal(changed.get(2), first.get(2));
    assert.deepEqual(changed, await sceneIdentities({ keys: {} }, file, KIE_BOARD));
    // Other text (or other scenes asked for): worked out again.
    const edited = KIE_BOARD.replace('A sunset over the sea.', 'A sunrise over the sea.');
    const again = await sceneIdentities(opts, file, edited, undefined, memo);
    assert.notEqual(again.get(2), changed.get(2));
    const some = await sceneIdentities(opts, file, edited, [2], memo);
    assert.deepEqual([...some.keys()], [2]);
  });
});

describe('the plans are the same with and without shared look-ups', () => {
  let server: FakeServer;
  let project: Project;
  useFakeServer({ pollsToFinish: 1 }, (s, p) => {
    server = s;
    project = p;
  });

  /** Both ways, for each kind of request. */
  async function samePlans(req: Omit<PlanRequest, 'uncached'>, opts = OPTS): Promise<ScenePlan[]> {
    const shared = await planRender(opts, req);
    const alone = await planRender(opts, { ...req, uncached: true });
    assert.deepStrictEqual(shared, alone);
    return shared;
  }

  it('rendered, re-requested, missing, outside, left on disk, damaged and deleted takes', async (t) => {
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'ksb-elsewhere-'));
    t.after(() => rmSync(elsewhere, { recursive: true, force: true }));
    writeFileSync(path.join(elsewhere, 'frame.png'), makePng(400, 300, 9));
    symlinkSync(path.join(elsewhere, 'frame.png'), path.join(project.dir, 'link.png'));
    const text = KIE_BOARD_MORE;
    const storyboardPath = project.file('board.kling', text);
    const { engine } = engineFor(server, project);
    const opts: PlanOptions = { keys: { kieApiKey: server.keys.kieApiKey } };
    // Morning run and Gone video rendered for real; Gone video's file deleted afterwards.
    const rendered = await engine.render({ storyboardPath, text, scenes: [0, 8] });
    assert.deepEqual(
      rendered.map((e) => e.state),
      ['done', 'done'],
    );
    unlinkSync(rendered[1]!.videoPath!);
    const board = sceneRequests(opts, text, undefined, storyboardPath).requests;
    const slug = (title: string) => board.find((sr) => sr.sceneTitle === title)!.sceneSlug;
    const videos = path.join(project.dir, 'renders', 'board');
    mkdirSync(path.join(videos, slug('Leftover')), { recursive: true });
    writeFileSync(path.join(videos, slug('Leftover'), 'take-2.mp4'), 'no ledger entry');
    // A truncated entry that still holds the Damaged scene's identity (a damaged entry without
    // one holds back every new take of the folder: test/engine/ledger-damage.test.ts).
    const before = await planRender(opts, { storyboardPath, text });
    const damagedPlan = before.find((p) => p.scene.sceneTitle === 'Damaged')!;
    assert.equal(damagedPlan.action, 'submit');
    writeFileSync(
      path.join(project.dir, 'renders', '.ledger', `board--${slug('Damaged')}--take-1.json`),
      `{"requestHash": "${damagedPlan.action === 'submit' ? damagedPlan.take.requestHash : ''}", "sta`,
    );

    const plans = await samePlans({ storyboardPath, text });
    const summary = plans.map((p) =>
      p.action === 'refuse'
        ? 'refuse'
        : p.action === 'reuse'
          ? `reuse ${p.how}`
          : `submit ${p.take.firstFree}${p.take.outside.length ? ' outside' : ''}`,
    );
    assert.deepEqual(summary, [
      'reuse rendered', // Morning run
      'submit 1', // Finale
      'submit 1', // Plain
      'submit 1', // Finale again
      'refuse', // Missing frame
      'submit 1 outside', // Outside
      'submit 3', // Leftover
      'refuse', // Damaged
      'reuse download', // Gone video
    ]);
    const refusals = plans.flatMap((p) => (p.action === 'refuse' ? [p.message] : []));
    assert.match(refusals[0]!, /^Missing frame: cannot read frames\/missing\.png \(ENOENT\)\.$/);
    assert.match(refusals[1]!, /^Damaged: not sent: the ledger entry .* is not valid JSON/);

    // Finale rendered under another title: both scenes with its request reuse the take.
    await engine.render({ storyboardPath, text, scenes: [3] });
    const after = await samePlans({ storyboardPath, text });
    assert.equal(after[1]!.action === 'reuse' && after[1]!.how, 'rendered');
    assert.equal(after[3]!.action === 'reuse' && after[3]!.how, 'rendered');

    // Gone video rewritten: a new request, whose first free take follows the scene's old one.
    const rewritten = text.replace('deleted after it was rendered', 'deleted, then rewritten');
    const gone = (await samePlans({ storyboardPath, text: rewritten }))[8]!;
    assert.equal(gone.action, 'submit');
    assert.equal(gone.action === 'submit' && gone.take.firstFree, 2);
    assert.deepEqual(gone.action === 'submit' && gone.take.existing.map((e) => e.key), [
      rendered[1]!.key,
    ]);

    // A new take asked for, a selection of scenes, keys ignored, no keys, a hash cache.
    await samePlans({ storyboardPath, text, newTake: true });
    await samePlans({ storyboardPath, text, scenes: [8, 0, 7] });
    await samePlans({ storyboardPath, text, ignoreKeys: true }, { keys: {} });
    const noKeys = await samePlans({ storyboardPath, text }, { keys: {} });
    assert.ok(noKeys.every((p) => p.action === 'refuse'));
    await samePlans({ storyboardPath, text }, { ...opts, hashCache: new Map() });
  });
});

describe('the look-ups live for one plan', () => {
  it('a media file replaced, a take added and a link moved between two plans are seen', async (t) => {
    const project = makeProject();
    t.after(() => rmSync(project.dir, { recursive: true, force: true }));
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'ksb-elsewhere-'));
    t.after(() => rmSync(elsewhere, { recursive: true, force: true }));
    writeFileSync(path.join(elsewhere, 'frame.png'), makePng(400, 300, 9));
    // Its own modification time: the hash cache trusts time and size, and f1.png has that size.
    const old = new Date('2020-01-01T00:00:00Z');
    utimesSync(path.join(elsewhere, 'frame.png'), old, old);
    const link = path.join(project.dir, 'link.png');
    symlinkSync(path.join(elsewhere, 'frame.png'), link);
    const text = manyScenes(6) + '\n[scene Linked]\nduration: 5\nfirst-frame: link.png\nA frame.\n';
    const storyboardPath = project.file('many.kling', text);
    const hashCache: ContentHashCache = new Map();
    for (const opts of [OPTS, { ...OPTS, hashCache }]) {
      const plan = () => planRender(opts, { storyboardPath, text });
      const submits = async () =>
        (await plan()).map((p) => {
          assert.equal(p.action, 'submit');
          return p.take;
        });
      const before = await submits();
      assert.deepEqual(before[6]!.outside, [link]);

      // f2.png (scenes 1, 3, 5) gets other bytes of the same size and a later time.
      const f2 = path.join(project.dir, 'frames', 'f2.png');
      const seed = opts === OPTS ? 5 : 6;
      writeFileSync(f2, makePng(400, 300, seed));
      const later = new Date(Date.now() + 60_000 * seed);
      utimesSync(f2, later, later);
      mkdirSync(path.join(project.dir, 'renders', 'many', 'scene-2'), { recursive: true });
      writeFileSync(path.join(project.dir, 'renders', 'many', 'scene-2', `take-${seed}.mp4`), '');
      unlinkSync(link);
      symlinkSync(path.join(project.dir, 'frames', 'f1.png'), link);

      const now = await submits();
      assert.deepEqual(
        now.map((x, i) => x.requestHash !== before[i]!.requestHash),
        [true, false, true, false, true, false, true],
        'the scenes with f2.png and the moved link have another request',
      );
      assert.equal(now[1]!.firstFree, seed + 1);
      assert.deepEqual(now[6]!.outside, []);

      unlinkSync(link);
      symlinkSync(path.join(elsewhere, 'frame.png'), link);
    }
  });
});

// The storyboard preview's total counts only what a render would pay: a scene whose unchanged
// request already has a take in the ledger (written here by a real render against the fake
// server) is reused, as render decides it (render/plan.ts), and said beside the total.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatPreviewTotal, previewCost } from '../../server/src/render/cost';
import type { ContentHashCache } from '../../server/src/render/plan';
import { Ledger } from '../../server/src/render/ledger';
import { engineFor, KIE_BOARD, useFakeServer, type Project } from './helpers';
import type { FakeServer } from '../fake-server/server';

describe('the storyboard preview total', () => {
  let server: FakeServer;
  let project: Project;
  useFakeServer({ pollsToFinish: 1 }, (s, p) => {
    server = s;
    project = p;
  });

  it('does not count a scene whose take is reused, and says so; a changed scene counts again', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    // No keys: the preview shows the cost without them (nothing is sent).
    const preview = (text: string) => previewCost({ keys: {} }, file, text, {});

    // Nothing rendered yet: std, default table. Morning run 5 s multi-shot (with sound, 18/s)
    // = 90, Finale 5 s silent (12/s) = 60, Plain 4 s silent = 48.
    const before = await preview(KIE_BOARD);
    assert.equal(before.reused, 0);
    assert.equal(before.total.amount, 198);
    assert.equal(formatPreviewTotal(before), '≈ 198 credits to generate (estimate)');

    const { engine } = engineFor(server, project);
    const [plain] = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [2] });
    assert.equal(plain!.state, 'done');
    const created = server.state.createdCount();
    assert.equal(created, 1);

    const after = await preview(KIE_BOARD);
    assert.equal(after.reused, 1);
    assert.equal(after.submit, 2);
    assert.equal(after.total.amount, 150);
    assert.equal(
      formatPreviewTotal(after),
      '≈ 150 credits to generate (estimate) · 1 scene reused, not charged',
    );
    assert.match(after.scenes[2]!.line, /^Plain: reuses take 1 \(done\), 0 credits$/);

    // The same decision render makes: rendering everything now creates exactly the two others.
    await engine.render({ storyboardPath: file, text: KIE_BOARD });
    assert.equal(server.state.createdCount(), created + 2);
    const all = await preview(KIE_BOARD);
    assert.equal(formatPreviewTotal(all), '0 credits to generate · 3 scenes reused, not charged');

    // A changed request is a new take: counted again, as render would pay for it.
    const changed = KIE_BOARD.replace('A sunset over the sea.', 'A sunrise over the sea.');
    const edited = await preview(changed);
    assert.equal(edited.reused, 2);
    assert.equal(
      formatPreviewTotal(edited),
      '≈ 48 credits to generate (estimate) · 2 scenes reused, not charged',
    );
    assert.equal(server.state.createdCount(), created + 2, 'the preview sends nothing');

    // The ledger is read once per plan, not once per scene (the preview plans on every pause).
    const scan = Ledger.prototype.scan;
    let scans = 0;
    Ledger.prototype.scan = function (this: Ledger) {
      scans++;
      return scan.call(this);
    };
    try {
      assert.equal((await preview(KIE_BOARD)).reused, 3);
    } finally {
      Ledger.prototype.scan = scan;
    }
    assert.equal(scans, 1, 'three scenes, one ledger, one read');
  });
});

describe('the storyboard preview’s media hashes', () => {
  let server: FakeServer;
  let project: Project;
  useFakeServer({ pollsToFinish: 1 }, (s, p) => {
    server = s;
    project = p;
  });

  it('are kept while a file is unchanged, and read again when its bytes change under an old time', async () => {
    const file = project.file('board.kling', KIE_BOARD);
    const { engine } = engineFor(server, project);
    await engine.render({ storyboardPath: file, text: KIE_BOARD });
    const hashCache: ContentHashCache = new Map();
    const preview = () => previewCost({ keys: {}, hashCache }, file, KIE_BOARD, {});
    // Whole seconds, so that setting the time back below restores it exactly.
    const mtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    for (const ref of ['refs/a.png', 'refs/b.png', 'frames/f1.png', 'frames/f2.png'])
      utimesSync(path.join(project.dir, ref), mtime, mtime);
    assert.equal((await preview()).reused, 3);
    assert.ok(hashCache.size > 0, 'the hashes were kept');

    const frame = [...hashCache.keys()][0]!;
    const kept = { ...hashCache.get(frame)! };

    // Other bytes of the same size, the old modification time set back (as `cp -p` or
    // `rsync -t` leave it): the change time moved, so the bytes are hashed again and the
    // estimate no longer reuses the take, as render would not.
    const { size, ctimeMs } = statSync(frame);
    const bytes = readFileSync(frame);
    bytes[bytes.length - 1] ^= 0xff;
    // The change time's clock ticks coarsely (a few ms): step past the tick of the last change.
    while (Date.now() - ctimeMs < 50) await new Promise((r) => setTimeout(r, 10));
    writeFileSync(frame, bytes);
    utimesSync(frame, mtime, mtime);
    assert.equal(statSync(frame).size, size);
    assert.equal(statSync(frame).mtimeMs, kept.mtimeMs);
    assert.ok((await preview()).reused < 3);
    assert.notEqual(hashCache.get(frame)!.sha256, kept.sha256);
  });
});

// `node esbuild.mjs --production && node dist/bench/plan.js`: how long one render plan
// (render/plan.ts `planRender`: what Generate, the storyboard preview, the Generate CodeLens and
// `kling preview` ask) takes for the 2,000-scene bench storyboard (test/bench/generate.ts, 56
// media files in a temporary folder), with no ledger (without and with the preview's hash cache)
// and with 2,000 ledger entries (a done take per scene, its video on disk). Bundled by esbuild.mjs with the production options, so it times
// the shipped code. Each round plans once with the plan's shared file-system look-ups and once
// without them (`PlanRequest.uncached`: every reference looked up on its own, scenes one after
// another, as before), interleaved, so a busy machine slows both sides alike. Prints a markdown
// table. Usage: node dist/bench/plan.js [rounds] [--after-only] (the latter, for a profile:
// `node --cpu-prof dist/bench/plan.js 5 --after-only`).

import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  planRender,
  type ContentHashCache,
  type PlanOptions,
  type ScenePlan,
} from '../../server/src/render/plan';
import type { StoredEntry } from '../../server/src/render/ledger';
import { generate } from './generate';

/** The repository (this file runs as dist/bench/plan.js). */
const ROOT = path.resolve(__dirname, '../..');
const JPEG = path.join(ROOT, 'test/fixtures/media/ok-320x320.jpg');
const ROUNDS = Number(process.argv[2] ?? 7);
const AFTER_ONLY = process.argv.includes('--after-only');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)) + ' ms';

/** What a plan decided, in a form two plans can be compared by. */
function decisions(plans: ScenePlan[]): string {
  return JSON.stringify(
    plans.map((p) =>
      p.action === 'refuse'
        ? ['refuse', p.message]
        : p.action === 'reuse'
          ? ['reuse', p.how, p.take.key]
          : ['submit', p.take.requestHash, p.take.firstFree, p.take.outside],
    ),
  );
}

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kling-plan-bench-'));
  try {
    mkdirSync(path.join(dir, 'frames'));
    mkdirSync(path.join(dir, 'refs'));
    for (let i = 0; i < 50; i++) copyFileSync(JPEG, path.join(dir, `frames/f${i}.jpg`));
    for (const name of ['dog', 'cat', 'owl'])
      for (const n of [1, 2]) copyFileSync(JPEG, path.join(dir, `refs/${name}-${n}.jpg`));
    const { text, scenes } = generate(Infinity, 2000);
    const storyboardPath = path.join(dir, 'bench.kling');
    writeFileSync(storyboardPath, text);
    const opts: PlanOptions = { keys: { kieApiKey: 'bench' }, defaultProvider: 'kie' };
    let hashCache: ContentHashCache | undefined;
    const plan = (uncached: boolean) =>
      planRender({ ...opts, hashCache }, { storyboardPath, text, uncached });

    const measure = async (label: string, expect: ScenePlan['action']) => {
      const first = await plan(false);
      if (first.length !== scenes || first.some((p) => p.action !== expect))
        throw new Error(`${label}: expected ${scenes} plans to ${expect}`);
      // Both ways decide the same for every scene.
      if (decisions(await plan(true)) !== decisions(first))
        throw new Error(`${label}: the uncached plan decided otherwise`);
      const times = { cached: [] as number[], uncached: [] as number[] };
      for (let r = 0; r < ROUNDS; r++) {
        for (const uncached of AFTER_ONLY ? [false] : r % 2 ? [true, false] : [false, true]) {
          const t0 = performance.now();
          await plan(uncached);
          times[uncached ? 'uncached' : 'cached'].push(performance.now() - t0);
        }
      }
      if (AFTER_ONLY) times.uncached.push(NaN);
      const before = median(times.uncached);
      const after = median(times.cached);
      return [
        label,
        `${fmt(Math.min(...times.uncached))} / ${fmt(before)}`,
        `${fmt(Math.min(...times.cached))} / ${fmt(after)}`,
        `${(before / after).toFixed(1)}×`,
      ];
    };

    const rows: string[][] = [];
    rows.push(await measure('none', 'submit'));
    // As the storyboard preview and the Generate CodeLens plan: media hashes kept between plans.
    hashCache = new Map();
    rows.push(await measure("none, the preview's hash cache", 'submit'));
    hashCache = undefined;

    // A done take per scene, its video on disk: every scene reuses its take.
    const submits = await plan(false);
    const now = Date.now();
    for (const p of submits) {
      if (p.action !== 'submit') continue;
      const t = p.take;
      const sr = p.scene;
      const targetPath = path.join(t.outputDir, t.storyboardName, sr.sceneSlug, 'take-1.mp4');
      mkdirSync(path.dirname(targetPath), { recursive: true });
      writeFileSync(targetPath, 'not a real video: only its presence is planned on');
      const entry: StoredEntry = {
        key: `${t.requestHash}-t1`,
        requestHash: t.requestHash,
        take: 1,
        storyboardPath,
        storyboardName: t.storyboardName,
        outputDir: t.outputDir,
        targetPath,
        videoPath: targetPath,
        sceneIndex: sr.sceneIndex,
        sceneTitle: sr.sceneTitle,
        sceneSlug: sr.sceneSlug,
        provider: sr.provider,
        endpoint: sr.endpoint,
        state: 'done',
        taskId: `task-${sr.sceneIndex}`,
        request: sr.body,
        body: sr.body,
        media: t.media,
        createdAt: now,
        updatedAt: now,
      };
      if (!(await t.ledger.claim(entry))) throw new Error('claim failed');
    }
    rows.push(await measure(`${submits.length} entries`, 'reuse'));
    // The part of it that is one read of the ledger folder (render/ledger.ts `Ledger.scan`).
    const ledger = (submits[0] as Extract<ScenePlan, { action: 'submit' }>).take.ledger;
    const scans: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = performance.now();
      await ledger.scan();
      scans.push(performance.now() - t0);
    }

    console.log(
      `plan of the ${scenes}-scene storyboard (${(text.length / 1024).toFixed(0)} KB, 56 media ` +
        `files), ${ROUNDS} rounds each, Node ${process.version}, load ${os
          .loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}\n`,
    );
    console.log('| ledger | before (min / median) | after (min / median) | speed-up |');
    console.log('| --- | --- | --- | --- |');
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
    console.log(
      `\nof which reading the ${submits.length} ledger entries (Ledger.scan): ` +
        `${fmt(Math.min(...scans))} / ${fmt(median(scans))}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

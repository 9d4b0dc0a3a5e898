// Costs as a user meets them in the CLI, against the fake server: the summary before render
// submits, --max-credits, the KIE balance rule, reported costs in the ledger / sidecar / status,
// and those costs refining the next estimate. The CLI bundle is built into a temp folder so
// this file never races another suite's dist/cli.js.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as esbuild from 'esbuild';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startFakeServer, type FakeServer } from '../fake-server/server';
import { makeProject, type Project } from './helpers';

const root = path.join(__dirname, '..', '..');
const cli = path.join(mkdtempSync(path.join(os.tmpdir(), 'ksb-cost-cli-')), 'cli.js');

// pro with sound: 24 credits/s, pro without: 17 (README "Cost estimates").
const BOARD = `provider: kie
mode: pro

[scene One]
duration: 5
sound: on
first-frame: frames/f1.png
A dog runs.

[scene Two]
duration: 10
sound: off
A cat sleeps.
`;

const KLING = `provider: kling
mode: std

[scene Walk]
duration: 6
sound: off
A dog walks.
`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('costs in the CLI', () => {
  let server: FakeServer;
  let project: Project;

  before(async () => {
    await esbuild.build({
      entryPoints: [path.join(root, 'server', 'src', 'cli.ts')],
      outfile: cli,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      logLevel: 'warning',
    });
    server = await startFakeServer({ pollsToFinish: 2 });
  });
  after(() => server.close());
  beforeEach(() => {
    server.reset();
    project = makeProject();
  });

  function run(args: string[], extra: Record<string, string> = {}): Promise<Run> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [cli, ...args], {
        cwd: project.dir,
        env: {
          PATH: process.env.PATH,
          HOME: project.dir,
          KIE_API_KEY: server.keys.kieApiKey,
          KLING_ACCESS_KEY: server.keys.klingAccessKey,
          KLING_SECRET_KEY: server.keys.klingSecretKey,
          KIE_API_BASE: server.url,
          KIE_UPLOAD_BASE: server.url,
          KLING_API_BASE: server.url,
          KLING_STORYBOARD_STATE_DIR: project.stateDir,
          KLING_STORYBOARD_POLL_MS: '20',
          ...extra,
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  /** Requests that spend or prepare spending: uploads and creates. */
  function sent(): { uploads: number; creates: number } {
    return {
      uploads: server.state.hits('kie.upload'),
      creates: server.state.hits('kie.createTask'),
    };
  }

  it('prints what would be submitted and its estimate before submitting', async () => {
    project.file('b.kling', BOARD);
    const r = await run(['render', 'b.kling']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /One: submit, ≈ 120 credits \(estimate: 24 credits\/s in pro with sound/,
    );
    assert.match(r.stdout, /Two: submit, ≈ 170 credits/);
    assert.match(r.stdout, /^2 scenes to submit: ≈ 290 credits \(estimate\)$/m);
    assert.match(r.stdout, /^Balance: 1234\.5 credits\.$/m);
    // The summary comes before anything was sent: the balance was read before the first upload.
    const routes = server.state.log.map((l) => l.route);
    assert.ok(routes.indexOf('kie.credit') < routes.indexOf('kie.upload'), routes.join(' '));
  });

  it('--max-credits below the estimate: nothing uploaded or created, exit 1', async () => {
    project.file('b.kling', BOARD);
    const r = await run(['render', 'b.kling', '--max-credits', '200']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /nothing was uploaded or submitted: the estimate ≈ 290 credits is above the budget of 200 credits/,
    );
    assert.deepEqual(sent(), { uploads: 0, creates: 0 });
    assert.equal(server.state.createdCount(), 0);
  });

  it('--max-credits counts a continue-from scene, sent only after its source finished', async () => {
    project.file(
      'c.kling',
      BOARD + '\n[scene Three]\ncontinue-from: Two\nduration: 5\nsound: off\nThe cat wakes.\n',
    );
    const r = await run(['render', 'c.kling', '--max-credits', '300']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /Three: submit after the scene it continues from, ≈ 85 credits/);
    assert.match(r.stdout, /^3 scenes to submit: ≈ 375 credits \(estimate\)$/m);
    assert.deepEqual(sent(), { uploads: 0, creates: 0 });
  });

  it('--max-credits: a cost that is unknown never fits a budget', async () => {
    project.file('k.kling', BOARD.replace('mode: pro', 'mode: 4K'));
    const r = await run(['render', 'k.kling', '--max-credits', '100000']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /cost of 2 scenes to submit is unknown/);
    assert.deepEqual(sent(), { uploads: 0, creates: 0 });
  });

  it('--max-credits: reused takes cost nothing, so a re-run with nothing to submit passes', async () => {
    project.file('b.kling', BOARD);
    const first = await run(['render', 'b.kling', '--max-credits', '290']);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.equal(server.state.createdCount(), 2);
    server.reset();
    const again = await run(['render', 'b.kling', '--max-credits', '0']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /One: reuses take 1 \(done\), 0 credits/);
    assert.match(again.stdout, /^nothing to submit, 2 reused: 0 credits$/m);
    assert.deepEqual(sent(), { uploads: 0, creates: 0 });
    // Nothing to submit: the balance is not even asked for.
    assert.equal(server.state.hits('kie.credit'), 0);
  });

  it('a balance below the estimate sends nothing and names both numbers; --ignore-balance goes on', async () => {
    project.file('b.kling', BOARD);
    server.state.credits = 100;
    const r = await run(['render', 'b.kling']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /nothing was submitted: the balance of 100 credits is below the estimate of 290 credits for 2 scenes to submit\. Top up, or run again with --ignore-balance/,
    );
    assert.deepEqual(sent(), { uploads: 0, creates: 0 });
    const forced = await run(['render', 'b.kling', '--ignore-balance']);
    assert.equal(forced.code, 0, forced.stdout + forced.stderr);
    assert.match(forced.stderr, /submitting anyway \(--ignore-balance\)/);
    assert.equal(server.state.createdCount(), 2);
  });

  it('a balance that cannot be read is said, and the run goes on', async () => {
    project.file('b.kling', BOARD);
    server.faults.add(
      'kie.credit',
      { type: 'status', status: 500, body: { code: 500, msg: 'server error' } },
      5,
    );
    const r = await run(['render', 'b.kling', '--scene', 'Two']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /Could not read the kie balance \(.*\); going on without it\./);
    assert.equal(server.state.createdCount(), 1);
  });

  it('reported costs go into the ledger, the sidecar and status, and refine the next estimate', async () => {
    project.file('b.kling', BOARD);
    const r = await run(['render', 'b.kling']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // The fake reports 20 credits/s (consumeCredits): One 5 s → 100, Two 10 s → 200.
    const ledgerDir = path.join(project.dir, 'renders', '.ledger');
    const costs = readdirSync(ledgerDir)
      .filter((n) => n.endsWith('.json'))
      .map(
        (n) => JSON.parse(readFileSync(path.join(ledgerDir, n), 'utf8')) as Record<string, unknown>,
      )
      .filter((e) => typeof e.sceneTitle === 'string')
      .map((e) => [e.sceneTitle, e.reportedCost])
      .sort();
    assert.deepEqual(costs, [
      ['One', 100],
      ['Two', 200],
    ]);
    const sidecar = JSON.parse(
      readFileSync(path.join(project.dir, 'renders', 'b', 'one', 'take-1.json'), 'utf8'),
    ) as { cost?: unknown };
    assert.deepEqual(sidecar.cost, { amount: 100, unit: 'credits' });
    const status = await run(['status', 'b.kling']);
    assert.match(status.stdout, /One: take 1 done \(cost 100 credits\)/);
    assert.match(status.stdout, /Two: take 1 done \(cost 200 credits\)/);

    // The next estimate for pro with sound comes from that take: 100 credits / 5 s.
    project.file('c.kling', BOARD.replace('duration: 5', 'duration: 8'));
    const preview = await run(['preview', 'b.kling', '--scene', 'One']);
    const json = JSON.parse(preview.stdout) as { estimate: { cost: string; basis: string } };
    assert.equal(json.estimate.cost, '≈ 100 credits');
    assert.equal(json.estimate.basis, 'estimate: from your last take in pro with sound');
    // Render would reuse that take: preview says what it would pay, as render decides it.
    assert.match(
      preview.stderr,
      /^1 scene: ≈ 100 credits \(estimate; nothing is sent by preview\); render would reuse 1 take at no cost and pay 0 credits\.$/m,
    );
    // Another storyboard with the same scene Two (its take is found by its request) and an
    // edited One (a new request, paid for; 8 s at the table rate: c.kling has no takes of its own).
    const other = await run(['preview', 'c.kling']);
    assert.match(
      other.stderr,
      /^2 scenes: .*; render would reuse 1 take at no cost and pay ≈ 192 credits\.$/m,
    );

    const credits = await run(['credits', 'b.kling']);
    assert.equal(credits.code, 0, credits.stderr);
    assert.match(credits.stdout, /^KIE credits: 1234\.5$/m);
    assert.match(
      credits.stdout,
      /Recorded takes \(1 storyboard\): 2 with a reported cost, 300 credits in all\./,
    );
  });

  it('an edited scene is estimated from the earlier reported cost (new take, same mode and sound)', async () => {
    project.file('b.kling', BOARD);
    assert.equal((await run(['render', 'b.kling', '--scene', 'One'])).code, 0);
    project.file('b.kling', BOARD.replace('duration: 5', 'duration: 8'));
    const r = await run(['render', 'b.kling', '--scene', 'One']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // 100 credits for 5 s → 20/s × 8 s, not the table's 24/s.
    assert.match(
      r.stdout,
      /One: submit, ≈ 160 credits \(estimate: from your last take in pro with sound\)/,
    );
  });

  it('Kling: final_unit_deduction is read as the take cost; without a rate the estimate is unknown', async () => {
    project.file('k.kling', KLING);
    const r = await run(['render', 'k.kling']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /Walk: submit, cost unknown \(estimate: no known rate for kling in std without sound/,
    );
    assert.match(r.stdout, /^1 scene to submit: cost unknown \(estimate\)$/m);
    const status = await run(['status', 'k.kling']);
    // The fake deducts 0.5 units/s: 6 s → 3 units.
    assert.match(status.stdout, /Walk: take 1 done \(cost 3 units\)/);
    const preview = await run(['preview', 'k.kling']);
    assert.match(preview.stderr, /1 scene: ≈ 3 units \(estimate/);
  });

  it('rates from --rates and KLING_STORYBOARD_RATES', async () => {
    project.file('k.kling', KLING);
    const flag = await run(['preview', 'k.kling', '--rates', 'kling.std=2']);
    assert.match(flag.stderr, /1 scene: ≈ 12 units/);
    const envRun = await run(['preview', 'k.kling'], {
      KLING_STORYBOARD_RATES: 'kling.std.silent=1',
    });
    assert.match(envRun.stderr, /1 scene: ≈ 6 units/);
    const bad = await run(['preview', 'k.kling', '--rates', 'kling.ultra=2']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--rates: rates: unknown key "kling.ultra"/);
  });
});

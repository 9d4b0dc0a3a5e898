// Expand Element Views runs under the ledger like a video take: a deterministic external id,
// resumable after a cancel or a lost answer, never paid twice for the same frontal image.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startFakeServer, type FakeServer } from '../fake-server/server';
import { ViewsNotApproved } from '../../server/src/render';
import { approveSpend, type PlanCost } from '../../server/src/render/cost';
import { engineFor, makeProject, recordingSleep, type Project } from './helpers';

describe('Expand Element Views under the ledger', () => {
  let server: FakeServer;
  let project: Project;
  let frontal: string;

  before(async () => {
    server = await startFakeServer({ pollsToFinish: 3, externalIdOnSinglePath: true });
  });
  after(() => server.close());
  beforeEach(() => {
    server.reset();
    project = makeProject();
    frontal = path.join(project.dir, 'refs', 'a.png');
  });

  const multiShots = () =>
    [...server.state.klingTasks.values()].filter((t) => t.kind === 'ai-multi-shot');

  it('asking twice for the same image pays once and returns the same views', async () => {
    const first = await engineFor(server, project).engine.expandElementViews(frontal);
    assert.equal(first.length, 3);
    const again = await engineFor(server, project).engine.expandElementViews(frontal);
    assert.deepEqual(again, first);
    assert.equal(multiShots().length, 1);
    assert.equal(server.state.hits('kling.multiShot.create'), 1);
    // Views deleted: fetched again from the same task, still not paid again.
    for (const v of first) rmSync(v);
    const fetched = await engineFor(server, project).engine.expandElementViews(frontal);
    assert.deepEqual(fetched, first);
    for (const v of fetched) assert.ok(existsSync(v));
    assert.equal(server.state.hits('kling.multiShot.create'), 1);
  });

  it('the external id is deterministic: the image’s identity and the take number', async () => {
    await engineFor(server, project).engine.expandElementViews(frontal);
    const [task] = multiShots();
    assert.match(String(task!.externalTaskId), /^ksb-[0-9a-f]{32}-t1$/);
    const other = makeProject();
    await engineFor(server, other).engine.expandElementViews(path.join(other.dir, 'refs', 'a.png'));
    // Same bytes in another project and state folder: the same id, so Kling refuses a second
    // create and the existing task is followed.
    assert.equal(multiShots().length, 1);
  });

  it('cancelled while the task runs: the task is kept, and the next call resumes it (one create)', async () => {
    const controller = new AbortController();
    const rec = recordingSleep();
    const { engine } = engineFor(server, project, {
      sleep: (ms, signal) => {
        controller.abort(); // the first wait is the first poll, right after the create
        return rec.sleep(ms, signal);
      },
    });
    await assert.rejects(engine.expandElementViews(frontal, controller.signal), (err: Error) => {
      assert.match(err.message, /keeps running .* pick it up without paying again/);
      return true;
    });
    assert.equal(multiShots().length, 1);
    const views = await engineFor(server, project).engine.expandElementViews(frontal);
    assert.equal(views.length, 3);
    for (const v of views) assert.ok(existsSync(v));
    assert.equal(server.state.hits('kling.multiShot.create'), 1);
  });

  it('a create whose answer was lost is found by its external id, not sent again', async () => {
    server.faults.add('kling.multiShot.create', { type: 'reset', process: true });
    const views = await engineFor(server, project).engine.expandElementViews(frontal);
    assert.equal(views.length, 3);
    assert.equal(multiShots().length, 1);
    assert.equal(server.state.hits('kling.multiShot.create'), 1);
  });

  it('a damaged views ledger entry refuses the request and names the file; a new take pays on purpose', async () => {
    await engineFor(server, project).engine.expandElementViews(frontal);
    const dir = path.join(project.stateDir, 'views');
    const [name] = readdirSync(dir).filter((n) => n.endsWith('.json'));
    writeFileSync(path.join(dir, name!), '{"kind": "element-vi');
    await assert.rejects(
      engineFor(server, project).engine.expandElementViews(frontal),
      (err: Error) => err.message.includes(path.join(dir, name!)),
    );
    assert.equal(server.state.hits('kling.multiShot.create'), 1);
    await engineFor(server, project).engine.expandElementViews(frontal, undefined, {
      newTake: true,
    });
    assert.equal(multiShots().length, 2);
  });

  it('estimates before paying: the estimate is logged and approved before the create reaches Kling, the reported cost is recorded', async () => {
    const { engine, logs } = engineFor(server, project);
    const seen: { cost: PlanCost; creates: number; logs: number }[] = [];
    const views = await engine.expandElementViews(frontal, undefined, {
      label: '@hero views',
      approve: (cost) => {
        seen.push({
          cost,
          creates: server.state.hits('kling.multiShot.create'),
          logs: logs.length,
        });
        return true;
      },
    });
    assert.equal(views.length, 3);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.creates, 0, 'approved before any create was sent');
    // No price is documented and nothing was reported yet: unknown, never 0.
    assert.equal(seen[0]!.cost.total.unknown, 1);
    assert.equal(
      seen[0]!.cost.summary,
      '@hero views: 1 AI Multi-Shot task to submit: cost unknown (estimate)',
    );
    assert.match(
      logs[seen[0]!.logs - 1]!,
      /^Expand Element Views: @hero views: submit 1 AI Multi-Shot task, cost unknown \(estimate: no known price/,
    );
    assert.equal(server.state.hits('kling.multiShot.create'), 1);
    // What Kling reported (`final_unit_deduction`) is kept in the views take, as a take's cost.
    const dir = path.join(project.stateDir, 'views');
    const [file] = readdirSync(dir).filter((n) => n.endsWith('.json'));
    assert.equal(JSON.parse(readFileSync(path.join(dir, file!), 'utf8')).reportedCost, 1);
    assert.ok(logs.some((l) => /take 1 done, cost 1 units \(reported by Kling\)/.test(l)));

    // Asking again reuses the views: nothing to pay, nothing asked.
    await engine.expandElementViews(frontal, undefined, { approve: () => assert.fail('asked') });
    assert.equal(server.state.hits('kling.multiShot.create'), 1);
  });

  it('above kling.confirmAboveCredits the same question as Generate is asked; declined, nothing is sent or claimed', async () => {
    const { engine } = engineFor(server, project);
    await engine.expandElementViews(frontal);
    const other = path.join(project.dir, 'refs', 'b.png');
    const asked: { message: string; detail: string; action: string; creates: number }[] = [];
    const gate = (confirmAbove: number, answer: boolean) => (cost: PlanCost) =>
      approveSpend(cost, {
        provider: 'kling',
        balance: () => engine.balance('kling'),
        ask: async (message, detail, action) => {
          asked.push({
            message,
            detail,
            action,
            creates: server.state.hits('kling.multiShot.create'),
          });
          return answer;
        },
        warn: (line) => assert.fail(line),
        log: () => undefined,
        confirmAbove,
        action: 'Expand Views',
      });
    const files = () => readdirSync(path.join(project.stateDir, 'views')).length;
    const before = files();
    // The first task's reported cost (1 unit) is now the estimate; a threshold of 0.5 asks.
    await assert.rejects(
      engine.expandElementViews(other, undefined, { approve: gate(0.5, false) }),
      (err: Error) => err instanceof ViewsNotApproved && /nothing was sent/.test(err.message),
    );
    assert.equal(asked.length, 1);
    assert.equal(
      asked[0]!.message,
      'views of b.png: 1 AI Multi-Shot task to submit: ≈ 1 units (estimate). Expand Views?',
    );
    assert.match(
      asked[0]!.detail,
      /\(estimate: from your last views task \(Kling AI Multi-Shot\)\)/,
    );
    assert.match(asked[0]!.detail, /You are asked above 0.5 units or when a cost is unknown/);
    assert.equal(server.state.hits('kling.multiShot.create'), 1, 'declined: nothing sent');
    assert.equal(files(), before, 'declined: no take claimed');
    // Kling has no balance endpoint: nothing was asked of KIE.
    assert.equal(server.state.hits('kie.credit'), 0);

    // Below the threshold nothing is asked, and the task is paid for.
    const views = await engine.expandElementViews(other, undefined, { approve: gate(5, false) });
    assert.equal(views.length, 3);
    assert.equal(asked.length, 1);
    assert.equal(server.state.hits('kling.multiShot.create'), 2);
  });
});

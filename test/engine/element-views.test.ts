// Expand Element Views runs under the ledger like a video take: a deterministic external id,
// resumable after a cancel or a lost answer, never paid twice for the same frontal image.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startFakeServer, type FakeServer } from '../fake-server/server';
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
});

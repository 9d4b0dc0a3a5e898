// The questions before paying (render/cost.ts approveSpend) that Generate and Expand Element
// Views share in VS Code, against the fake server: the KIE balance is read first and, below the
// estimate, nothing is created unless the user goes on; an unreadable balance is said and the run
// goes on; above kling.confirmAboveCredits (or unknown) the user is asked.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planRender } from '../../server/src/render';
import { approveSpend, costOfPlan, type SpendQuestions } from '../../server/src/render/cost';
import type { FakeServer } from '../fake-server/server';
import { engineFor, KIE_BOARD, useFakeServer, type Project } from './helpers';

describe('asking before paying', () => {
  let server: FakeServer;
  let project: Project;
  useFakeServer({ pollsToFinish: 1 }, (s, p) => {
    server = s;
    project = p;
  });

  async function setup(answer: boolean, confirmAbove?: number) {
    const file = project.file('board.kling', KIE_BOARD);
    const { engine } = engineFor(server, project);
    const plans = await planRender(
      { keys: { kieApiKey: server.keys.kieApiKey } },
      {
        storyboardPath: file,
        text: KIE_BOARD,
      },
    );
    // Morning run 90 + Finale 60 + Plain 48 credits by the default table.
    const cost = costOfPlan(plans, {});
    const asked: { message: string; action: string; creates: number }[] = [];
    const warned: string[] = [];
    const q: SpendQuestions = {
      provider: 'kie',
      balance: () => engine.balance('kie'),
      ask: async (message, _detail, action) => {
        asked.push({ message, action, creates: server.state.hits('kie.createTask') });
        return answer;
      },
      warn: (line) => warned.push(line),
      log: () => undefined,
      confirmAbove,
      action: 'Generate',
    };
    return { engine, file, cost, q, asked, warned };
  }

  it('a KIE balance below the estimate asks before any create; declined, nothing is sent', async () => {
    server.state.credits = 100;
    const { cost, q, asked } = await setup(false);
    assert.equal(cost.total.amount, 198);
    assert.equal(await approveSpend(cost, q), false);
    assert.equal(server.state.hits('kie.credit'), 1, 'the balance was read');
    assert.deepEqual(asked, [
      {
        message:
          'the balance of 100 credits is below the estimate of 198 credits for 3 scenes to submit. Nothing has been submitted.',
        action: 'Generate Anyway',
        creates: 0,
      },
    ]);
    assert.equal(server.state.hits('kie.upload') + server.state.hits('kie.createTask'), 0);
  });

  it('enough balance and below the threshold: nothing asked; above it: asked with the estimate', async () => {
    server.state.credits = 1000;
    const below = await setup(false, 500);
    assert.equal(await approveSpend(below.cost, below.q), true);
    assert.equal(below.asked.length, 0);
    const above = await setup(false, 150);
    assert.equal(await approveSpend(above.cost, above.q), false);
    assert.deepEqual(
      above.asked.map((a) => [a.message, a.action]),
      [['3 scenes to submit: ≈ 198 credits (estimate). Generate?', 'Generate']],
    );
    assert.equal(server.state.hits('kie.createTask'), 0);
  });

  it('an unreadable balance is said, and the run goes on', async () => {
    server.faults.add('kie.credit', {
      type: 'status',
      status: 401,
      body: { code: 401, msg: 'no' },
    });
    const { cost, q, warned, asked, engine, file } = await setup(true);
    assert.equal(await approveSpend(cost, q), true);
    assert.equal(asked.length, 0);
    assert.equal(warned.length, 1);
    assert.match(warned[0]!, /^Could not read the kie balance \(.*\); going on without it\.$/);
    const entries = await engine.render({ storyboardPath: file, text: KIE_BOARD, scenes: [2] });
    assert.equal(entries[0]!.state, 'done');
  });
});

// The Generate CodeLens waits for the render plan only so long (client/src/boundedAnswers.ts):
// a plan in time is used; a slow one leaves the lens on its estimate and redraws it once it
// arrives; a failed one is never an answer; an answer for an edited document is dropped. With
// `keeping`, an answer is reused while its inputs' stamp is unchanged (one plan for many
// redraws), and never when they changed, or changed too recently to be sure (RACY_MS).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedAnswers, RACY_MS } from '../../client/src/boundedAnswers';

/** A promise settled from outside. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every settled promise's handlers run (one turn of the event loop). */
const settled = () => new Promise((resolve) => setImmediate(resolve));

/** A counter of redraws, and a promise for the next one. */
function redraws() {
  let count = 0;
  let next = deferred<void>();
  return {
    fire: () => {
      count++;
      next.resolve();
      next = deferred<void>();
    },
    get count() {
      return count;
    },
    next: () => next.promise,
  };
}

describe('BoundedAnswers (the CodeLens waiting for the render plan)', () => {
  it('returns an answer that arrives in time, and computes again on the next call', async () => {
    const r = redraws();
    const answers = new BoundedAnswers<string>(5_000, r.fire);
    let computed = 0;
    const compute = async () => `plan ${++computed}`;
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'plan 1');
    // Each redraw plans afresh: the ledger or a media file may have changed meanwhile.
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'plan 2');
    assert.equal(r.count, 0);
  });

  it('gives up after the bound, then redraws once with the late answer, which is used once', async () => {
    const r = redraws();
    const answers = new BoundedAnswers<string>(10, r.fire);
    const slow = deferred<string>();
    let computed = 0;
    const compute = () => {
      computed++;
      return slow.promise;
    };
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), undefined);
    // A second draw while the plan still runs shares it instead of starting another.
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), undefined);
    assert.equal(computed, 1);
    const redrawn = r.next();
    slow.resolve('late plan');
    await redrawn;
    assert.equal(r.count, 1);
    // The redraw it asked for gets it without planning again …
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'late plan');
    assert.equal(computed, 1);
    // … and only that one: the next draw plans again.
    assert.equal(
      await answers.get(
        'a',
        'v1',
        () => 'v1',
        async () => 'fresh plan',
      ),
      'fresh plan',
    );
  });

  it('a failed plan, thrown or rejected, is no answer and asks for no redraw', async () => {
    const r = redraws();
    const answers = new BoundedAnswers<string>(5_000, r.fire);
    assert.equal(
      await answers.get(
        'a',
        'v1',
        () => 'v1',
        () => Promise.reject(new Error('EACCES')),
      ),
      undefined,
    );
    assert.equal(
      await answers.get(
        'a',
        'v1',
        () => 'v1',
        () => {
          throw new Error('bad settings');
        },
      ),
      undefined,
    );
    const slow = deferred<string>();
    const late = new BoundedAnswers<string>(10, r.fire);
    assert.equal(
      await late.get(
        'a',
        'v1',
        () => 'v1',
        () => slow.promise,
      ),
      undefined,
    );
    slow.reject(new Error('ledger unreadable'));
    await settled();
    // The next call for the same key starts afresh once the failed plan has settled.
    assert.equal(
      await late.get(
        'a',
        'v1',
        () => 'v1',
        async () => 'retried',
      ),
      'retried',
    );
    assert.equal(r.count, 0);
  });

  it('drops a late answer for a document that changed meanwhile, or was closed', async () => {
    const r = redraws();
    const answers = new BoundedAnswers<string>(10, r.fire);
    let version = 'v1';
    const slow = deferred<string>();
    assert.equal(
      await answers.get(
        'a',
        version,
        () => version,
        () => slow.promise,
      ),
      undefined,
    );
    version = 'v2';
    slow.resolve('plan of v1');
    await settled();
    // v2 plans for itself; the answer for v1 is never shown for it.
    assert.equal(
      await answers.get(
        'a',
        'v2',
        () => version,
        async () => 'plan of v2',
      ),
      'plan of v2',
    );

    const closed = deferred<string>();
    assert.equal(
      await answers.get(
        'b',
        'v1',
        () => 'v1',
        () => closed.promise,
      ),
      undefined,
    );
    answers.forget('b');
    closed.resolve('plan of a closed document');
    await settled();
    assert.equal(r.count, 0);
  });
});

describe('BoundedAnswers keeping an answer while its inputs are unchanged', () => {
  /** Inputs whose stamp and change time a test sets; counts how often they are read. */
  function inputs(newest: number) {
    const state = { stamp: 's1', newest, reads: 0, fail: false };
    return {
      state,
      read: async () => {
        state.reads++;
        if (state.fail) throw new Error('EACCES');
        return { stamp: state.stamp, newest: state.newest };
      },
    };
  }
  const NOW = 1_000_000;

  it('computes once for many asks without changes, again after the inputs or the key change', async () => {
    const r = redraws();
    const files = inputs(NOW - 60_000);
    const answers = new BoundedAnswers<string>(5_000, r.fire, {
      inputs: files.read,
      now: () => NOW,
    });
    let computed = 0;
    const compute = async () => `plan ${++computed}`;
    for (let i = 0; i < 10; i++)
      assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'plan 1');
    assert.equal(computed, 1);
    // Concurrent asks share one check of the inputs.
    const reads = files.state.reads;
    const all = await Promise.all([1, 2, 3].map(() => answers.get('a', 'v1', () => 'v1', compute)));
    assert.deepEqual(all, ['plan 1', 'plan 1', 'plan 1']);
    assert.equal(files.state.reads, reads + 1);
    // A changed input (a ledger entry written, a media file replaced): planned again, then kept.
    files.state.stamp = 's2';
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'plan 2');
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'plan 2');
    // Another key (an edit, a setting): planned again.
    assert.equal(await answers.get('a', 'v2', () => 'v2', compute), 'plan 3');
    assert.equal(await answers.get('a', 'v2', () => 'v2', compute), 'plan 3');
    // Going back to the first key does not bring back its old answer.
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'plan 4');
    assert.equal(computed, 4);
    // Another document has its own answer; a closed one keeps nothing.
    assert.equal(await answers.get('b', 'v1', () => 'v1', compute), 'plan 5');
    answers.forget('a');
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'plan 6');
    assert.equal(r.count, 0);
  });

  it('does not keep an answer whose inputs changed just before or while it was computed', async () => {
    const files = inputs(NOW - RACY_MS + 1);
    const answers = new BoundedAnswers<string>(5_000, () => {}, {
      inputs: files.read,
      now: () => NOW,
    });
    let computed = 0;
    const compute = async () => `plan ${++computed}`;
    // Changed 3 s before: a coarse clock may hide a second change during the plan.
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'plan 1');
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'plan 2');
    // Changed during the plan (a ledger write while it read the folder): same.
    files.state.newest = NOW + 5;
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'plan 3');
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'plan 4');
    // Once settled, the next plan is kept.
    files.state.newest = NOW - RACY_MS - 1;
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'plan 5');
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'plan 5');
  });

  it('inputs that cannot be read keep nothing, and a failed plan leaves no old answer behind', async () => {
    const files = inputs(NOW - 60_000);
    const answers = new BoundedAnswers<string>(5_000, () => {}, {
      inputs: files.read,
      now: () => NOW,
    });
    let computed = 0;
    let failing = false;
    const compute = async () => {
      if (failing) throw new Error('ledger unreadable');
      return `plan ${++computed}`;
    };
    files.state.fail = true;
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'plan 1');
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'plan 2');
    files.state.fail = false;
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'plan 3');
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'plan 3');
    files.state.stamp = 's2';
    failing = true;
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), undefined);
    // The inputs are back as they were, yet the answer kept for them was dropped with the change.
    files.state.stamp = 's1';
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), undefined);
    failing = false;
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'plan 4');
  });

  it('a slow plan still redraws once late, and is then kept', async () => {
    const r = redraws();
    const files = inputs(NOW - 60_000);
    const answers = new BoundedAnswers<string>(10, r.fire, { inputs: files.read, now: () => NOW });
    const slow = deferred<string>();
    let computed = 0;
    const compute = () => {
      computed++;
      return slow.promise;
    };
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), undefined);
    const redrawn = r.next();
    slow.resolve('late plan');
    await redrawn;
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'late plan');
    assert.equal(await answers.get('a', 'v1', () => 'v1', compute), 'late plan');
    assert.equal(computed, 1);
    assert.equal(r.count, 1);
  });
});

// A slow answer per document, waited for only so long: the Generate CodeLens asks for the render
// plan (what Generate would pay) on every redraw, but must not hold the lenses back on a first
// hash of large media or a slow disk. An answer may also be kept while what it was computed from
// is unchanged (`Keeping`): the lenses redraw every second while a take runs, and after every
// change, and planning a 2,000-scene storyboard each time would cost the extension host a plan per
// redraw. No vscode here, so plain unit tests drive it.

/** What an answer was computed from, as it is now: a stamp to compare, and its latest change. */
export interface AnswerInputs {
  stamp: string;
  /** Latest modification or change time among the inputs (ms since the epoch). */
  newest: number;
}

/** How to tell that a kept answer still holds. */
export interface Keeping<T> {
  /** The state of the inputs `answer` was computed from (throws: not kept, computed again). */
  inputs: (answer: T) => Promise<AnswerInputs>;
  /** The clock the inputs' times are compared with (tests move it). */
  now?: () => number;
}

/**
 * An input changed this shortly before a computation started may have changed again during it
 * without its times showing it (file systems with coarse clocks: FAT keeps 2 s): the answer is
 * then used, not kept — git's "racily clean" index entries, the same way.
 */
export const RACY_MS = 3_000;

/** One document's answer in progress, and one that arrived after its caller stopped waiting. */
interface Pending<T> {
  running?: { key: string; answer: Promise<T | undefined>; late: boolean };
  late?: { key: string; answer: T };
  /** The last answer, kept while its key is current and its inputs' stamp unchanged. */
  kept?: { key: string; answer: T; stamp: string };
}

export class BoundedAnswers<T> {
  private readonly docs = new Map<string, Pending<T>>();

  /**
   * @param waitMs how long `get` waits for an answer
   * @param redraw called once an answer arrives after `get` stopped waiting for it, while its key
   *   is still current: the caller draws again and its next `get` returns that answer
   * @param keeping without it every `get` computes afresh; with it an answer is kept for its key
   *   until its inputs change
   */
  constructor(
    private readonly waitMs: number,
    private readonly redraw: () => void,
    private readonly keeping?: Keeping<T>,
  ) {}

  /**
   * The answer of `compute` for document `id` in state `key` (its version and whatever else the
   * answer depends on), or undefined when it fails or takes longer than `waitMs`. Each call
   * computes afresh — except while a computation (or a check of a kept answer) for the same key
   * is still running (shared), when a late answer for this key is waiting for the redraw it asked
   * for (returned once), or when a kept answer's inputs are unchanged (`keeping`).
   * `current` gives the key as it is now, so a late answer for an outdated state is dropped.
   */
  async get(
    id: string,
    key: string,
    current: () => string,
    compute: () => Promise<T>,
  ): Promise<T | undefined> {
    let doc = this.docs.get(id);
    if (!doc) this.docs.set(id, (doc = {}));
    const late = doc.late;
    doc.late = undefined;
    if (late?.key === key) return late.answer;
    let running = doc.running?.key === key ? doc.running : undefined;
    if (!running) {
      // A failure, thrown or rejected, is no answer: the caller shows what it knows without it.
      const pending = doc;
      const answer = Promise.resolve()
        .then(() => this.keptOrCompute(pending, key, compute))
        .catch(() => undefined);
      const made = { key, answer, late: false };
      running = made;
      doc.running = made;
      void answer.then((value) => {
        if (pending.running === made) pending.running = undefined;
        if (!made.late || value === undefined || current() !== key) return;
        if (this.docs.get(id) !== pending) return; // forgotten meanwhile
        pending.late = { key, answer: value };
        this.redraw();
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      running.answer.then((answer) => ({ answer })),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), this.waitMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome) return outcome.answer;
    running.late = true;
    return undefined;
  }

  /**
   * The kept answer for `key` when its inputs are unchanged, else `compute`'s, kept when its
   * inputs can be read and none changed within RACY_MS before it started.
   */
  private async keptOrCompute(doc: Pending<T>, key: string, compute: () => Promise<T>): Promise<T> {
    const keeping = this.keeping;
    if (!keeping) return compute();
    const kept = doc.kept?.key === key ? doc.kept : undefined;
    if (kept) {
      const now = await keeping.inputs(kept.answer).catch(() => undefined);
      if (now?.stamp === kept.stamp) return kept.answer;
    }
    // Never an answer for inputs that changed, even if the computation below fails.
    doc.kept = undefined;
    const started = (keeping.now ?? Date.now)();
    const answer = await compute();
    const inputs = await keeping.inputs(answer).catch(() => undefined);
    if (inputs && inputs.newest < started - RACY_MS)
      doc.kept = { key, answer, stamp: inputs.stamp };
    return answer;
  }

  /** Drops what is kept for a document (closed). */
  forget(id: string): void {
    this.docs.delete(id);
  }
}

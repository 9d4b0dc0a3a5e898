// A slow answer per document, waited for only so long: the Generate CodeLens asks for the render
// plan (what Generate would pay) on every redraw, but must not hold the lenses back on a first
// hash of large media or a slow disk. No vscode here, so plain unit tests drive it.

/** One document's answer in progress, and one that arrived after its caller stopped waiting. */
interface Pending<T> {
  running?: { key: string; answer: Promise<T | undefined>; late: boolean };
  late?: { key: string; answer: T };
}

export class BoundedAnswers<T> {
  private readonly docs = new Map<string, Pending<T>>();

  /**
   * @param waitMs how long `get` waits for an answer
   * @param redraw called once an answer arrives after `get` stopped waiting for it, while its key
   *   is still current: the caller draws again and its next `get` returns that answer
   */
  constructor(
    private readonly waitMs: number,
    private readonly redraw: () => void,
  ) {}

  /**
   * The answer of `compute` for document `id` in state `key` (its version and whatever else the
   * answer depends on), or undefined when it fails or takes longer than `waitMs`. Each call
   * computes afresh — except while a computation for the same key is still running (shared), or
   * when a late answer for this key is waiting for the redraw it asked for (returned once).
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
      const answer = Promise.resolve()
        .then(compute)
        .catch(() => undefined);
      const made = { key, answer, late: false };
      running = made;
      doc.running = made;
      const pending = doc;
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

  /** Drops what is kept for a document (closed). */
  forget(id: string): void {
    this.docs.delete(id);
  }
}

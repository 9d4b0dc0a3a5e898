// Client-side queues and pacing: a semaphore for work in flight, an admission gate per provider
// (KIE: 20 creates per 10 s sliding window; both: a shared pause after a rate/concurrency
// rejection), and the polling cadence of server/docs/providers.md (KIE query) with jitter.
import { delay } from '../providers/http';

/** Counting semaphore; `run` waits for a slot, runs, and frees the slot. */
/**
 * `fn` over every item, at most `limit` at a time (their I/O overlaps), the results in the items'
 * order. A rejection rejects the whole; items not yet started are then not started.
 */
export async function mapInOrder<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return out;
}

export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly capacity: number) {}

  /** Runs `task` once a slot is free. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < Math.max(1, this.capacity)) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(() => resolve()));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface GateOptions {
  /** Sliding window: at most `max` admissions per `windowMs` (omit for no window). */
  window?: { max: number; windowMs: number };
  now?: () => number;
  sleep?: Sleep;
}

/**
 * Admits create calls one at a time, in order. A rate-limit answer pauses the whole gate, so
 * queued creates wait instead of each hitting the limit again.
 */
export class CreateGate {
  private chain: Promise<void> = Promise.resolve();
  private readonly admitted: number[] = [];
  private pausedUntil = 0;
  private readonly now: () => number;

  constructor(private readonly opts: GateOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  /** Resolves when a create may be sent; rejects if `signal` aborts while waiting. */
  admit(signal?: AbortSignal): Promise<void> {
    const turn = this.chain.then(() => this.waitForRoom(signal));
    // A cancelled waiter must not block the ones behind it.
    this.chain = turn.catch(() => undefined);
    return turn;
  }

  /** The admission window's length, when the gate has one (the wait after a rate limit). */
  get windowMs(): number | undefined {
    return this.opts.window?.windowMs;
  }

  /** Stops all admissions for `ms` (after a 429 / 1303). */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  private async waitForRoom(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = this.now();
      if (now < this.pausedUntil) {
        await (this.opts.sleep ?? delay)(this.pausedUntil - now, signal);
        continue;
      }
      const w = this.opts.window;
      if (w) {
        while (this.admitted.length && this.admitted[0]! <= now - w.windowMs) this.admitted.shift();
        if (this.admitted.length >= w.max) {
          await (this.opts.sleep ?? delay)(this.admitted[0]! + w.windowMs - now + 1, signal);
          continue;
        }
      }
      this.admitted.push(now);
      return;
    }
  }
}

/**
 * The next poll delay after `elapsedMs` of waiting (server/docs/providers.md: every 2–3 s for the first
 * 30 s, then 5–10 s, after 2 min 15–30 s), scaled so `baseMs` is the first interval's middle.
 */
export function pollDelay(
  elapsedMs: number,
  baseMs: number,
  random: () => number = Math.random,
): number {
  const scale = baseMs / 2500;
  let lo: number;
  let hi: number;
  if (elapsedMs < 30_000 * scale) [lo, hi] = [2000, 3000];
  else if (elapsedMs < 120_000 * scale) [lo, hi] = [5000, 10_000];
  else [lo, hi] = [15_000, 30_000];
  return Math.round((lo + (hi - lo) * random()) * scale);
}

/** Exponential backoff with full jitter in [base·2^attempt / 2, base·2^attempt], capped. */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const top = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.round(top / 2 + (top / 2) * random());
}

// What every step of the engine shares: the options, the provider adapters (clients made on first
// use, so a missing key only matters to the scenes that need it), the create gates, the uploader,
// the index of ledgers with unfinished work, timing, and the event/log sink. `RunContext` is one
// call's view of it (its abort signal and event listener); the take planning, submit, poll,
// download, element views and account modules all work through it.
import path from 'node:path';
import { kieAdapter, klingAdapter, type ProviderAdapter } from '../providers/adapter';
import { checkBaseUrl, delay, redact } from '../providers/http';
import { KieClient } from '../providers/kie';
import { KlingClient } from '../providers/kling';
import {
  holdsWork,
  isUnfinished,
  Ledger,
  ledgerDirFor,
  publicEntry,
  type StoredEntry,
} from './ledger';
import { missingKeys, outputDirOf, readWith } from './plan';
import { CreateGate, Semaphore, type Sleep } from './limits';
import { defaultStateDir, updateLedgerIndex } from './state';
import {
  hasKeys,
  type EngineOptions,
  type LedgerEntry,
  type ProviderId,
  type RenderEvent,
} from './types';
import { Uploader } from './uploads';

/** What a step asks for next: go on with the take's next state, or stop here. */
export type Step = 'next' | 'stop';

/** Thrown when the run's signal aborts a wait; the take is then closed or left to resume. */
export class Cancelled extends Error {}

/** State shared by every call of one engine. */
export class EngineContext {
  readonly opts: EngineOptions;
  readonly sceneSlots: Semaphore;
  readonly gates: Record<ProviderId, CreateGate>;
  readonly uploader: Uploader;
  readonly stateDir: string;
  readonly sleep: Sleep;
  readonly random: () => number;
  /** Takes advanced by this process right now (a second caller joins the first). */
  readonly active = new Map<string, Promise<StoredEntry>>();
  /** Entries found mid-submit by another live process: not saved again by this one. */
  readonly leftToOthers = new WeakSet<StoredEntry>();
  /** Takes whose create is on the wire right now (its answer holds a task id not yet recorded). */
  readonly createsInFlight = new Set<StoredEntry>();
  /** Takes with a task id whose last ledger write failed: kept in memory, written again later. */
  readonly unsaved = new WeakSet<StoredEntry>();
  private kie?: KieClient;
  private kling?: KlingClient;
  private readonly adapters: Record<ProviderId, ProviderAdapter> = {
    kie: kieAdapter(() => this.kieClient()),
    kling: klingAdapter(() => this.klingClient()),
  };

  constructor(opts: EngineOptions) {
    // A typo or a `user:password@` fails here, before any take is recorded as sent.
    checkBaseUrl(opts.bases.kieApi, 'the KIE API base URL');
    checkBaseUrl(opts.bases.kieUpload, 'the KIE upload base URL');
    checkBaseUrl(opts.bases.klingApi, 'the Kling API base URL');
    this.opts = opts;
    this.sceneSlots = new Semaphore(Math.max(1, opts.concurrency));
    this.stateDir = opts.stateDir ?? defaultStateDir();
    this.sleep = opts.sleep ?? delay;
    this.random = opts.random ?? Math.random;
    const window = opts.kieCreateWindow ?? { max: 18, windowMs: 10_000 };
    this.gates = {
      kie: new CreateGate({ window, sleep: this.sleep }),
      kling: new CreateGate({ sleep: this.sleep }),
    };
    this.uploader = new Uploader({
      client: () => this.kieClient(),
      uploadBase: opts.bases.kieUpload,
      cacheFile: path.join(this.stateDir, 'uploads.json'),
      freshMs: opts.uploadFreshMs ?? 24 * 3_600_000,
      concurrency: opts.uploadConcurrency ?? 3,
      uploadPath: opts.uploadPath ?? 'kling-storyboard',
      retries: 3,
      retryBaseMs: this.scaled(1000),
      log: (line) => this.log(line),
    });
  }

  /** The adapter of a provider; its calls throw the missing-key message when the keys are not set. */
  adapter(provider: ProviderId): ProviderAdapter {
    return this.adapters[provider];
  }

  kieClient(): KieClient {
    const keys = this.opts.keys;
    if (!hasKeys(keys, 'kie')) throw new Error(this.missingKeys('kie'));
    this.kie ??= new KieClient({
      apiKey: keys.kieApiKey,
      apiBase: this.opts.bases.kieApi,
      uploadBase: this.opts.bases.kieUpload,
      fetch: this.opts.fetch,
      timeoutMs: this.requestTimeout(),
    });
    return this.kie;
  }

  klingClient(): KlingClient {
    const keys = this.opts.keys;
    if (!hasKeys(keys, 'kling')) throw new Error(this.missingKeys('kling'));
    this.kling ??= new KlingClient({
      accessKey: keys.klingAccessKey,
      secretKey: keys.klingSecretKey,
      apiBase: this.opts.bases.klingApi,
      fetch: this.opts.fetch,
      timeoutMs: this.requestTimeout(),
    });
    return this.kling;
  }

  missingKeys(provider: ProviderId): string | undefined {
    return missingKeys(this.opts.keys, provider);
  }

  /** A view of this engine for one call. */
  run(signal?: AbortSignal, onEvent?: (e: RenderEvent) => void): RunContext {
    return new RunContext(this, signal, onEvent);
  }

  log(line: string): void {
    this.opts.log?.(this.redact(line));
  }

  /** Saves an entry; a ledger that now holds unfinished work is recorded in the index. */
  async save(ledger: Ledger, entry: StoredEntry): Promise<void> {
    // Nothing the server said reaches disk with a key in it (providers redact too).
    if (entry.error) entry.error = this.redact(entry.error);
    await ledger.save(entry);
    if (isUnfinished(entry)) await this.indexLedger(ledger.dir);
  }

  /** The one place that knows which values are secret: every key, whichever provider. */
  redact(line: string): string {
    const k = this.opts.keys;
    return redact(line, [k.kieApiKey, k.klingAccessKey, k.klingSecretKey]);
  }

  /**
   * Records a ledger folder in the index. Not cached: another process may have just removed it
   * (see `settleIndex`), and one small read per state change is cheap.
   */
  async indexLedger(dir: string): Promise<void> {
    await updateLedgerIndex(this.stateDir, dir, true);
  }

  /** Brings the index in line with the ledgers these results were written to. */
  async refreshIndex(results: LedgerEntry[]): Promise<void> {
    const dirs = new Set<string>();
    for (const r of results) {
      if (!r.key) continue;
      dirs.add(ledgerDirFor(await this.outputDirOf(r.storyboardPath)));
    }
    for (const dir of dirs) await this.settleIndex(dir);
  }

  /**
   * Keeps a ledger folder in the index while it holds work, else removes it — and looks again
   * after removing, so a take another process saved meanwhile puts it straight back.
   */
  async settleIndex(dir: string): Promise<void> {
    const ledger = new Ledger(dir);
    if (holdsWork(await ledger.scan())) return this.indexLedger(dir);
    await updateLedgerIndex(this.stateDir, dir, false);
    if (holdsWork(await ledger.scan())) await this.indexLedger(dir);
  }

  /** The storyboard's absolute output folder, read from its file on disk. */
  outputDirOf(storyboardPath: string): Promise<string> {
    return outputDirOf(this.opts, storyboardPath);
  }

  readFile(absPath: string): Promise<Uint8Array> {
    return readWith(this.opts, absPath);
  }

  newTakeHint(): string {
    return this.opts.newTakeHint ?? 'ask for a new take';
  }

  pollBase(): number {
    return this.opts.pollIntervalMs ?? 2500;
  }

  /** Scales a production delay by the poll option, so tests that shrink polling shrink backoffs too. */
  scaled(ms: number): number {
    return Math.max(1, Math.round((ms * this.pollBase()) / 2500));
  }

  timeoutMs(): number {
    return this.opts.timeoutMs ?? 20 * 60_000;
  }

  maxWait(): number {
    return this.opts.maxWaitMs ?? 10 * 60_000;
  }

  requestTimeout(): number {
    return this.opts.requestTimeoutMs ?? 60_000;
  }
}

/** One call's view of the engine: its signal, its listener, and the helpers every step uses. */
export class RunContext {
  constructor(
    readonly engine: EngineContext,
    readonly signal?: AbortSignal,
    readonly onEvent?: (e: RenderEvent) => void,
  ) {}

  get opts(): EngineOptions {
    return this.engine.opts;
  }

  /** Waits; an abort of this call's signal becomes `Cancelled`. */
  async wait(ms: number): Promise<void> {
    await this.engine.sleep(ms, this.signal).catch(() => {
      throw new Cancelled();
    });
  }

  /** Reports a change of a take (redacted) to the log and the listener. */
  emit(entry: StoredEntry, message: string): void {
    const clean = this.engine.redact(message);
    this.engine.log(clean);
    this.onEvent?.({ entry: publicEntry(entry), message: clean });
  }

  log(line: string): void {
    this.engine.log(line);
  }

  /**
   * Saves an entry. Once a take has a task id, a failed write (disk full, read-only) does not end
   * the run: the id stays in memory, the take is still followed, the user is told once, and the
   * write is tried again at the next save (or `retryWrite`). Before that, a failed write throws:
   * nothing is sent that the ledger does not know of.
   */
  async save(ledger: Ledger, entry: StoredEntry): Promise<void> {
    const en = this.engine;
    try {
      await en.save(ledger, entry);
    } catch (err) {
      if (!entry.taskId) throw err;
      if (!en.unsaved.has(entry)) {
        en.unsaved.add(entry);
        this.emit(
          entry,
          `${entry.sceneTitle}: could not write the ledger in ${ledger.dir} (${writeError(err)}); task ${entry.taskId} is kept in memory and still followed, and the write is retried.`,
        );
      }
      return;
    }
    if (en.unsaved.delete(entry)) {
      this.emit(entry, `${entry.sceneTitle}: the ledger is written again (task ${entry.taskId}).`);
    }
  }

  /** Tries again to write a take whose last write failed (no-op otherwise). */
  async retryWrite(ledger: Ledger, entry: StoredEntry): Promise<void> {
    if (this.engine.unsaved.has(entry)) await this.save(ledger, entry);
  }

  /** Records the take as failed with one line and stops. */
  async fail(entry: StoredEntry, ledger: Ledger, message: string): Promise<Step> {
    entry.state = 'failed';
    entry.error = message;
    entry.finishedAt = Date.now();
    await this.save(ledger, entry);
    this.emit(entry, `${entry.sceneTitle}: failed — ${message}`);
    this.warnIfUnsaved(entry);
    return 'stop';
  }

  /** Records an error line on a take that keeps its state, and stops. */
  async stopWith(entry: StoredEntry, ledger: Ledger, error: string): Promise<Step> {
    entry.error = error;
    await this.save(ledger, entry);
    this.emit(entry, `${entry.sceneTitle}: ${entry.error}`);
    this.warnIfUnsaved(entry);
    return 'stop';
  }

  /**
   * When a run stops while a take's ledger write still fails, the task id exists only in this
   * process and on screen: say so, so the user can note it before the process ends.
   */
  warnIfUnsaved(entry: StoredEntry): void {
    if (!this.engine.unsaved.has(entry)) return;
    this.emit(
      entry,
      `${entry.sceneTitle}: the ledger still could not be written — note ${entry.provider} task ${entry.taskId}: no later run knows of it until this take is recorded.`,
    );
  }
}

/** A file-system error as `CODE: what`, e.g. `ENOSPC: no space left on device`. */
function writeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const text = oneLine(err)
    .replace(/^[A-Z]+: /, '')
    .replace(/, \w+ '.*$/, '');
  return e?.code ? `${e.code}: ${text}` : text;
}

/** One line of an error, whitespace collapsed. */
export function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s+/g, ' ').trim();
}

export function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

export function minutes(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : seconds(ms);
}

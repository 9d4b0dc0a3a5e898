// Contract between the render engine (server/src/render) and its front ends (extension, CLI).
// Kept free of `vscode` and of Node-only types so both sides can import it.
import type { Provider } from '../core/ast';

/** The provider union; its home is the AST (`Provider`). */
export type ProviderId = Provider;

export interface ProviderKeys {
  kieApiKey?: string;
  klingAccessKey?: string;
  klingSecretKey?: string;
}

/** The keys with what a provider needs set (KIE: the API key; Kling: the access + secret pair). */
export type KeysFor<P extends ProviderId> = ProviderKeys &
  (P extends 'kie' ? { kieApiKey: string } : { klingAccessKey: string; klingSecretKey: string });

/**
 * True when the keys a provider needs are set (KIE: the API key; Kling: the access + secret pair);
 * it narrows `keys`, so a caller reads the key it checked without checking it again.
 */
export function hasKeys<P extends ProviderId>(keys: ProviderKeys, provider: P): keys is KeysFor<P> {
  return provider === 'kie' ? !!keys.kieApiKey : !!(keys.klingAccessKey && keys.klingSecretKey);
}

/** Host roots (no trailing path); the documented paths are appended by the providers. */
export interface ProviderBases {
  kieApi: string;
  kieUpload: string;
  klingApi: string;
}

/** Production host roots (server/docs/providers.md, "Hosts and auth"). */
export const DEFAULT_BASES: ProviderBases = {
  kieApi: 'https://api.kie.ai',
  kieUpload: 'https://kieai.redpandaai.co',
  klingApi: 'https://api-singapore.klingai.com',
};

export type TaskState =
  | 'pending-submit' // recorded in the ledger, createTask not yet answered
  | 'unknown-submit' // createTask timed out / connection lost and the task could not be found: user must decide
  | 'submitted'
  | 'running'
  | 'downloading'
  | 'done'
  | 'failed'
  | 'cancelled';

/** States after which nothing more happens without the user asking. */
export const FINAL_STATES: readonly TaskState[] = ['done', 'failed', 'cancelled', 'unknown-submit'];

export interface LedgerEntry {
  key: string; // hash of the deterministic request (media by content hash), + take number
  requestHash: string;
  take: number; // 1, 2, …
  storyboardPath: string; // absolute
  sceneIndex: number;
  sceneTitle: string;
  sceneSlug: string;
  provider: ProviderId;
  endpoint: string; // e.g. 'kie.createTask', 'kling.image2video'
  externalTaskId?: string; // kling external_task_id
  taskId?: string;
  state: TaskState;
  error?: string; // one clear line, never a key
  request: unknown; // body as sent (local media shown as uploaded URLs or '<base64 …>')
  sourceUrl?: string; // result URL
  videoPath?: string; // absolute path of the downloaded take
  /** What the provider reported charging (KIE credits / Kling units); absent when not reported. */
  reportedCost?: number;
  createdAt: number;
  submittedAt?: number;
  finishedAt?: number;
  updatedAt: number;
}

export interface RenderEvent {
  entry: LedgerEntry; // snapshot after the change
  message: string; // human line, e.g. 'Morning run: running (42 s)'
}

/** File access the engine needs; defaults to node:fs. */
export interface EngineFileAccess {
  readFile(absPath: string): Promise<Uint8Array>;
}

export interface EngineOptions {
  keys: ProviderKeys;
  bases: ProviderBases;
  concurrency: number; // scenes in flight
  /** Provider of storyboards without `provider:` (the extension's `kling.defaultProvider`); default kie. */
  defaultProvider?: ProviderId;
  /** Output folder of storyboards without `output:` (the extension's `kling.outputFolder`); default renders. */
  defaultOutput?: string;
  pollIntervalMs?: number; // first interval (default 2500); later intervals scale with it (server/docs/providers.md)
  timeoutMs?: number; // overall per task (default 20 min)
  log?: (line: string) => void; // never receives secrets
  files?: EngineFileAccess; // default node fs
  confirmOutsideUpload?: (absPath: string) => Promise<boolean>; // extension asks the user; CLI allows
  fetch?: typeof fetch; // for tests
  /** Where the global index of unfinished ledgers lives; default $KLING_STORYBOARD_STATE_DIR or XDG state. */
  stateDir?: string;
  /** Per-request HTTP timeout (default 60 s; uploads get 5 min). */
  requestTimeoutMs?: number;
  /** Upper bound for any single wait (Retry-After, backoff); tests shrink it. Default 10 min. */
  maxWaitMs?: number;
  /** KIE createTask admission window (server/docs/providers.md, "Limits"): default 18 per 10 000 ms. */
  kieCreateWindow?: { max: number; windowMs: number };
  /** Parallel uploads (default 3). */
  uploadConcurrency?: number;
  /** Uploaded KIE files are reused for this long (default 24 h, server/docs/providers.md). */
  uploadFreshMs?: number;
  /** KIE upload folder sent as `uploadPath` (default 'kling-storyboard'). */
  uploadPath?: string;
  /**
   * How `@name` is written in Kling prompts: `numbered` → `<<<element_N>>>` (default; Kling's
   * documented placeholder, unconfirmed for kling-v3), `as-written` keeps `@name`.
   */
  klingRefStyle?: 'numbered' | 'as-written';
  /** Every wait goes through this (tests record the requested delays). Default: a real timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Random source for jitter (tests make it deterministic). */
  random?: () => number;
  /**
   * How messages tell the user to start another take, e.g. 'run again with --new-take' (CLI).
   * Default 'ask for a new take'.
   */
  newTakeHint?: string;
}

export interface RenderRequest {
  storyboardPath: string; // absolute path of the .kling file
  text: string; // its current text (may be unsaved editor text)
  scenes?: number[]; // scene indexes; default all
  newTake?: boolean;
  signal?: AbortSignal; // cancel = stop waiting; remote task keeps running (say so)
  onEvent?: (e: RenderEvent) => void;
}

// The language server: the only file that knows LSP. It wires a connection to the language
// core (server/src/core/service.ts) and supplies what the core may not do itself: reading
// media files (header bytes + size, cached, invalidated by file events; render/mediafacts.ts), listing workspace
// files, configuration, debouncing and cancelling diagnostics per document.
//
// `node dist/server.js --stdio` (or `--node-ipc`, `--socket=N`) starts it for any client.
// What each client can take (snippets, markdown, symbol and code-action shapes) is decided
// from its capabilities in clientAdapter.ts.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  CancellationTokenSource,
  CodeActionKind,
  type Diagnostic,
  DidChangeWatchedFilesNotification,
  DocumentDiagnosticReportKind,
  LSPErrorCodes,
  ProposedFeatures,
  ResponseError,
  TextDocumentSyncKind,
  TextDocuments,
  createConnection,
  type CancellationToken,
  type InitializeParams,
  type InitializeResult,
  type Range,
  type WorkspaceEdit,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  parseRates,
  takeObservations,
  type CostObservation,
  type RecordedTake,
} from './core/estimate';
import {
  adaptCodeActions,
  adaptCompletion,
  adaptHover,
  adaptSymbols,
  APPLY_FIX_COMMAND,
  clientProfile,
  type ClientProfile,
} from './clientAdapter';
import { MEDIA_WATCH_GLOB, type MediaFacts } from './core/media';
import {
  createLanguageService,
  type LanguageService,
  type SeverityOverride,
  type ServiceSettings,
} from './core/service';
import {
  fileStamp,
  fileStampSync,
  readMediaFile,
  readMediaFileSync,
  readRegularFileText,
  sameStamp,
  type FileStamp,
} from './render/mediafacts';
import { afterWrites } from './afterWrites';
import { SyncReads } from './render/localfs';
import { ledgerDirFor } from './render/ledgerdir';
import { isInside } from './render/fsutil';

/**
 * Delay between an edit and its diagnostics. Validation of a 2,000-scene document takes a few
 * milliseconds, so there is no need to wait for typing to pause; the timer only lets edits that
 * are already queued coalesce into one run. Overridable through `initializationOptions.diagnosticsDebounceMs`.
 */
const DEFAULT_DEBOUNCE_MS = 0;
/** Media extensions whose changes on disk can change a diagnostic. */
/** Bounds of the workspace walk for media-path completion. */
const LIST_MAX_FILES = 5000;
const LIST_MAX_DEPTH = 6;
const LIST_MAX_DIRS = 5000;
const LIST_TTL_MS = 10_000;
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'out']);

/** `KLING_LSP_TIMING=1`: log how long each edit took to reach its diagnostics (for tuning). */
const logTiming = process.env.KLING_LSP_TIMING === '1';

/** The transports createConnection understands; without one it would throw (a stack of minified code). */
const TRANSPORT = /^--(stdio|node-ipc|socket|pipe)(=.+)?$/;
if (!process.argv.slice(2).some((a) => TRANSPORT.test(a))) {
  process.stderr.write(
    'Usage: node server.js --stdio | --node-ipc | --socket=<port> | --pipe=<name>  (the Kling Storyboard language server; an LSP client starts it)\n',
  );
  process.exit(2);
}

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);

let debounceMs = DEFAULT_DEBOUNCE_MS;
let pullDiagnostics = false;
let canRefreshPull = false;
let canRegisterWatchers = false;
let hasConfiguration = false;
/** What the client can take; until initialize, the least (a bare client). */
let profile: ClientProfile = clientProfile({});
/** Settings from initializationOptions; the client's configuration overrides them key by key. */
let initSettings: Partial<ServiceSettings> = {};

function log(message: string): void {
  connection.console.log(message);
}

function logError(where: string, e: unknown): void {
  const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
  connection.console.error(`${where}: ${message}`);
}

// ---- media facts: read from disk, cached until a file event says otherwise ----

interface CachedFacts {
  facts: MediaFacts;
  /** The file's modification time and size when read (absent: not a regular file). */
  stamp?: FileStamp;
  readAt: number;
}
const mediaCache = new Map<string, CachedFacts | Promise<MediaFacts | undefined>>();
/**
 * Without file events (a client that cannot watch files) cached facts are checked again after
 * this long — by the file's modification time and size, so an unchanged file is not read again;
 * with file events they live until one says the file changed.
 */
const UNWATCHED_MEDIA_TTL_MS = 5_000;
/**
 * Pushed diagnostics wait this long for media files being read asynchronously (a network share,
 * a disk that was slow a moment ago, any file off Linux: see syncReads); past it, what is known
 * is published, and all of it once the files are read.
 */
const MEDIA_PATIENCE_MS = 200;

/** One cache key per file: normalised, and case-folded where the file system folds case. */
function mediaKey(absPath: string): string {
  return keyOfNormalized(path.normalize(absPath));
}

function keyOfNormalized(p: string): string {
  return process.platform === 'win32' || process.platform === 'darwin' ? p.toLowerCase() : p;
}

/**
 * Files on a local disk that answers at once are read synchronously: four round trips through
 * the thread pool per file cost more than the read (localfs.ts). Everything else asynchronously.
 */
const syncReads = new SyncReads();

/** The facts of a file, read again only when its modification time or size differ from `known`'s. */
async function refreshFacts(
  absPath: string,
  known: CachedFacts | undefined,
): Promise<CachedFacts | undefined> {
  if (known?.stamp && sameStamp(known.stamp, await fileStamp(absPath))) {
    return { ...known, readAt: Date.now() };
  }
  const read = await readMediaFile(absPath);
  return read && { facts: read.facts, stamp: read.stamp, readAt: Date.now() };
}

/** `refreshFacts` with synchronous calls (see syncReads). */
function refreshFactsSync(
  absPath: string,
  known: CachedFacts | undefined,
): CachedFacts | undefined {
  if (known?.stamp && sameStamp(known.stamp, fileStampSync(absPath))) {
    return { ...known, readAt: Date.now() };
  }
  const read = readMediaFileSync(absPath);
  return read && { facts: read.facts, stamp: read.stamp, readAt: Date.now() };
}

function mediaFacts(absPath: string): MediaFacts | undefined | Promise<MediaFacts | undefined> {
  const normalized = path.normalize(absPath);
  const key = keyOfNormalized(normalized);
  const hit = mediaCache.get(key);
  if (hit instanceof Promise) return hit;
  if (hit && (canRegisterWatchers || Date.now() - hit.readAt < UNWATCHED_MEDIA_TTL_MS))
    return hit.facts;
  if (syncReads.allows(normalized)) {
    const started = performance.now();
    const entry = refreshFactsSync(normalized, hit);
    syncReads.took(performance.now() - started);
    if (entry) mediaCache.set(key, entry);
    else mediaCache.delete(key);
    return entry?.facts;
  }
  const pending: Promise<MediaFacts | undefined> = refreshFacts(normalized, hit).then((entry) => {
    if (mediaCache.get(key) === pending) {
      if (entry) mediaCache.set(key, entry);
      else mediaCache.delete(key);
    }
    return entry?.facts;
  });
  mediaCache.set(key, pending);
  return pending;
}

// ---- workspace files for completion ----

/** A listing per folder, shared by every completion that asks within LIST_TTL_MS of its start. */
const listings = new Map<string, { at: number; files: Promise<string[]> }>();

/** What a symbolic link leads to: a regular file, a folder (by its real path), or nothing usable. */
async function behindLink(link: string): Promise<'file' | { dir: string } | undefined> {
  try {
    const s = await fs.stat(link);
    if (s.isFile()) return 'file';
    if (s.isDirectory()) return { dir: await fs.realpath(link) };
  } catch {
    // A loop of links, a dangling link, no permission: nothing to list.
  }
  return undefined;
}

/**
 * The files under `root` (relative, `/`-separated), breadth first, within the bounds above. A
 * listing is shared (see `listFiles`), so it has its own lifetime: no one request's cancellation
 * cuts it short, or the requests after it would be served the cut-short list.
 *
 * A symbolic link to a file is listed under the link's own name (the path a storyboard names).
 * A link to a folder is followed only when its real path is inside `root` and not a folder
 * already walked — as the engine judges "inside" on real paths (render/plan.ts `outsideFolders`).
 * So a loop of links ends at once, and a link to a large tree elsewhere does not fill the listing.
 */
async function walk(root: string): Promise<string[]> {
  const out: string[] = [];
  const realRoot = await fs.realpath(root).catch(() => root);
  /** Real paths of the folders walked or queued. */
  const seen = new Set([realRoot]);
  const queue: { dir: string; real: string; rel: string; depth: number }[] = [
    { dir: root, real: realRoot, rel: '', depth: 0 },
  ];
  for (let read = 0; queue.length && out.length < LIST_MAX_FILES && read < LIST_MAX_DIRS; read++) {
    const { dir, real, rel, depth } = queue.shift()!;
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    entries = entries.filter((e) => !e.name.startsWith('.'));
    entries.sort((x, y) => x.name.localeCompare(y.name));
    const behind = await Promise.all(
      entries.map((e) => (e.isSymbolicLink() ? behindLink(path.join(dir, e.name)) : undefined)),
    );
    for (const [i, e] of entries.entries()) {
      const relPath = rel ? `${rel}/${e.name}` : e.name;
      const link = behind[i];
      if (e.isDirectory() || typeof link === 'object') {
        if (depth + 1 >= LIST_MAX_DEPTH || SKIPPED_DIRS.has(e.name)) continue;
        const childReal = typeof link === 'object' ? link.dir : path.join(real, e.name);
        if (link && (seen.has(childReal) || !isInside(realRoot, childReal))) continue;
        seen.add(childReal);
        queue.push({
          dir: path.join(dir, e.name),
          real: childReal,
          rel: relPath,
          depth: depth + 1,
        });
      } else if (e.isFile() || link === 'file') {
        out.push(relPath);
        if (out.length >= LIST_MAX_FILES) break;
      }
    }
  }
  return out;
}

/**
 * The files under `folder`, from the shared listing while it is fresh. A cancelled request stops
 * waiting for it at once (its answer is dropped anyway); the listing itself goes on for the
 * requests that follow.
 */
function listFiles(folder: string, token: { isCancellationRequested: boolean }): Promise<string[]> {
  let hit = listings.get(folder);
  if (!hit || Date.now() - hit.at >= LIST_TTL_MS) {
    const entry = { at: Date.now(), files: walk(folder) };
    // Should a walk ever fail, it is not kept: the next request walks again.
    entry.files.catch(() => {
      if (listings.get(folder) === entry) listings.delete(folder);
    });
    listings.set(folder, entry);
    hit = entry;
  }
  const lsp = token as Partial<CancellationToken>;
  if (token.isCancellationRequested) return Promise.resolve([]);
  if (typeof lsp.onCancellationRequested !== 'function') return hit.files;
  let sub: { dispose(): void } | undefined;
  const cancelled = new Promise<string[]>((resolve) => {
    sub = lsp.onCancellationRequested!(() => resolve([]));
  });
  return Promise.race([hit.files, cancelled]).finally(() => sub?.dispose());
}

// ---- the service ----

const service: LanguageService = createLanguageService({
  media: (absPath) => mediaFacts(absPath),
  listFiles,
  costHistory,
  logger: { info: log, error: (m) => connection.console.error(m) },
  yieldToEventLoop: () => new Promise((resolve) => setImmediate(resolve)),
  mediaPatience: () => new Promise((resolve) => setTimeout(resolve, MEDIA_PATIENCE_MS).unref()),
  // After the diagnostics (or the pull's answer) are written to the client. Measured (fresh
  // servers, 2,000-scene document, 14 rounds, README "Benchmarks"): the server's publish -> the
  // client's receipt 4.7 -> 0.9 ms median, against one setImmediate.
  afterward: afterWrites,
});

/** A ledger entry is a few kilobytes; a larger `*.json` there is not one (and is not read). */
const LEDGER_ENTRY_MAX_BYTES = 4 * 1024 * 1024;

/**
 * The costs providers reported for a storyboard's takes, read from its ledger
 * (`<output>/.ledger/*.json`, README "Cost estimates"); unreadable files are skipped — this
 * only refines an estimate on hover.
 */
async function costHistory(storyboardPath: string, outputDir: string): Promise<CostObservation[]> {
  const dir = ledgerDirFor(outputDir);
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter((n) => n.endsWith('.json')).slice(0, 2000);
  } catch {
    return [];
  }
  const takes: RecordedTake[] = [];
  for (const name of names) {
    try {
      // Only regular files, opened without waiting: a named pipe would hold the hover for ever.
      const text = await readRegularFileText(path.join(dir, name), LEDGER_ENTRY_MAX_BYTES);
      if (text === undefined) continue;
      const e = JSON.parse(text) as Record<string, unknown>;
      if (e.storyboardPath !== storyboardPath) continue;
      if (e.provider !== 'kie' && e.provider !== 'kling') continue;
      takes.push({
        state: String(e.state),
        provider: e.provider,
        request: e.request,
        reportedCost: typeof e.reportedCost === 'number' ? e.reportedCost : undefined,
        finishedAt: typeof e.finishedAt === 'number' ? e.finishedAt : undefined,
        updatedAt: typeof e.updatedAt === 'number' ? e.updatedAt : 0,
      });
    } catch {
      // Not a readable take: it only refines an estimate, so it is left out.
    }
  }
  return takeObservations(takes);
}

// ---- configuration ----

interface KlingSettings {
  defaultProvider?: unknown;
  diagnostics?: { severity?: unknown };
  rates?: unknown;
  outputFolder?: unknown;
}

const SEVERITIES = new Set(['error', 'warning', 'information', 'hint', 'off']);

/** Reads `kling.defaultProvider` and `kling.diagnostics.severity`, ignoring malformed values. */
function settingsFrom(raw: KlingSettings | undefined): Partial<ServiceSettings> {
  const out: Partial<ServiceSettings> = {};
  if (!raw || typeof raw !== 'object') return out;
  if (raw.defaultProvider === 'kie' || raw.defaultProvider === 'kling')
    out.defaultProvider = raw.defaultProvider;
  const sev = raw.diagnostics?.severity;
  if (sev && typeof sev === 'object') {
    const severity: Record<string, SeverityOverride> = {};
    for (const [code, value] of Object.entries(sev as Record<string, unknown>)) {
      if (typeof value === 'string' && SEVERITIES.has(value))
        severity[code] = value as SeverityOverride;
    }
    out.severity = severity;
  }
  if (raw.rates !== undefined) out.rates = parseRates(raw.rates).rates;
  if (typeof raw.outputFolder === 'string' && raw.outputFolder.trim())
    out.outputFolder = raw.outputFolder.trim();
  return out;
}

/** initializationOptions may hold the settings flat or under `kling` (`{ kling: { defaultProvider } }`). */
function settingsFromInitOptions(options: unknown): Partial<ServiceSettings> {
  if (!options || typeof options !== 'object') return {};
  const o = options as Record<string, unknown>;
  const nested = (o.kling && typeof o.kling === 'object' ? o.kling : o) as KlingSettings &
    Record<string, unknown>;
  const flatSeverity = nested['diagnostics.severity'];
  return settingsFrom(
    flatSeverity ? { ...nested, diagnostics: { severity: flatSeverity } } : nested,
  );
}

async function pullConfiguration(): Promise<void> {
  if (!hasConfiguration) return;
  try {
    const raw = (await connection.workspace.getConfiguration('kling')) as Record<
      string,
      unknown
    > | null;
    if (!raw) return;
    // VS Code answers dotted keys as nested objects; other clients may send them flat.
    const severity =
      (raw.diagnostics as { severity?: unknown } | undefined)?.severity ??
      raw['diagnostics.severity'];
    service.configure({
      severity: {},
      ...initSettings,
      ...settingsFrom({
        defaultProvider: raw.defaultProvider,
        diagnostics: { severity },
        rates: raw.rates,
        outputFolder: raw.outputFolder,
      }),
    });
  } catch (e) {
    logError('workspace/configuration', e);
  }
}

/**
 * Settles once the client's configuration has been read (or could not be), so the first
 * diagnostics already honour `kling.diagnostics.severity`. A client that never answers
 * holds them back for at most CONFIGURATION_WAIT_MS.
 */
let configurationRead: Promise<void> = Promise.resolve();
const CONFIGURATION_WAIT_MS = 2000;

// ---- diagnostics: debounced, cancelled by the next edit ----

interface Pending {
  timer?: ReturnType<typeof setTimeout>;
  source?: CancellationTokenSource;
}
const pending = new Map<string, Pending>();

/**
 * The diagnostics last computed for each document, by version: code actions are computed from
 * these (the server's own ranges and data), never from what the client echoes back — Neovim
 * sends byte columns, and some clients drop `data` or send no diagnostics at all.
 */
const latest = new Map<string, { version: number; diagnostics: Diagnostic[] }>();

function remember(uri: string, version: number, diagnostics: Diagnostic[]): void {
  if (documents.get(uri)?.version === version) latest.set(uri, { version, diagnostics });
}

/** The current version's diagnostics: remembered, or computed now. */
async function currentDiagnostics(
  doc: TextDocument,
  token: CancellationToken,
): Promise<Diagnostic[]> {
  const hit = latest.get(doc.uri);
  if (hit && hit.version === doc.version) return hit.diagnostics;
  await configurationRead;
  const version = doc.version;
  const diagnostics = await service.diagnostics(doc, token);
  if (!token.isCancellationRequested) remember(doc.uri, version, diagnostics);
  return diagnostics;
}

/** Ranges that overlap or touch (a cursor at either end of a diagnostic is on it). */
function overlaps(a: Range, b: Range): boolean {
  const before = (p: Range['start'], q: Range['start']) =>
    p.line < q.line || (p.line === q.line && p.character < q.character);
  return !before(a.end, b.start) && !before(b.end, a.start);
}

function cancelPending(uri: string): void {
  const p = pending.get(uri);
  if (!p) return;
  if (p.timer) clearTimeout(p.timer);
  p.source?.cancel();
  pending.delete(uri);
}

/** Validates a document and publishes the result unless a newer edit cancelled it. */
function schedule(uri: string, delay = debounceMs): void {
  cancelPending(uri);
  if (pullDiagnostics) return;
  const entry: Pending = {};
  pending.set(uri, entry);
  const scheduledAt = performance.now();
  const source = new CancellationTokenSource();
  entry.source = source;
  const run = async () => {
    entry.timer = undefined;
    if (source.token.isCancellationRequested) return;
    await configurationRead;
    const doc = documents.get(uri);
    if (!doc || source.token.isCancellationRequested) return;
    const version = doc.version;
    const startedAt = performance.now();
    /** Publishes unless a newer edit cancelled this run or changed the document meanwhile. */
    const publish = (diagnostics: Diagnostic[], what: string) => {
      if (source.token.isCancellationRequested || documents.get(uri)?.version !== version) return;
      remember(uri, version, diagnostics);
      void connection.sendDiagnostics({ uri, version, diagnostics });
      if (logTiming) {
        const now = performance.now();
        log(
          `diagnostics v${version} (${what}): waited ${(startedAt - scheduledAt).toFixed(1)} ms, analysed in ${(now - startedAt).toFixed(1)} ms`,
        );
      }
    };
    // Files slow to read (a network share, a disk waking up: read asynchronously) do not hold the
    // rest: what is known is published after MEDIA_PATIENCE_MS, and again once every file is read.
    service
      .diagnostics(doc, source.token, (known) => publish(known, 'before media facts'))
      .then((diagnostics) => publish(diagnostics, 'complete'))
      .catch((e) => logError(`diagnostics of ${uri}`, e))
      .finally(() => {
        if (pending.get(uri) === entry) pending.delete(uri);
        source.dispose();
      });
  };
  // No debounce: the next turn of the event loop, after edits already queued have been applied.
  if (delay > 0) entry.timer = setTimeout(run, delay);
  else setImmediate(run);
}

function refreshAll(): void {
  if (pullDiagnostics) {
    if (canRefreshPull) connection.languages.diagnostics.refresh();
    return;
  }
  for (const doc of documents.all()) schedule(doc.uri, 0);
}

// ---- lifecycle ----

connection.onInitialize((params: InitializeParams): InitializeResult => {
  const caps = params.capabilities;
  pullDiagnostics = caps.textDocument?.diagnostic !== undefined;
  canRefreshPull = caps.workspace?.diagnostics?.refreshSupport === true;
  canRegisterWatchers = caps.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
  hasConfiguration = caps.workspace?.configuration === true;
  const init = params.initializationOptions as Record<string, unknown> | undefined;
  if (typeof init?.diagnosticsDebounceMs === 'number' && init.diagnosticsDebounceMs >= 0) {
    debounceMs = init.diagnosticsDebounceMs;
  }
  initSettings = settingsFromInitOptions(init);
  service.configure(initSettings);
  profile = clientProfile(caps, params.clientInfo, init);
  const result: InitializeResult = {
    capabilities: {
      textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: false },
      completionProvider: { triggerCharacters: ['@', '[', ':', '/', ','], resolveProvider: false },
      hoverProvider: true,
      definitionProvider: true,
      referencesProvider: true,
      documentHighlightProvider: true,
      renameProvider: profile.prepareRename ? { prepareProvider: true } : true,
      documentSymbolProvider: true,
      foldingRangeProvider: true,
      documentFormattingProvider: true,
      codeActionProvider: profile.codeActionLiterals
        ? { codeActionKinds: [CodeActionKind.QuickFix] }
        : true,
      ...(profile.codeActionLiterals
        ? {}
        : { executeCommandProvider: { commands: [APPLY_FIX_COMMAND] } }),
    },
    serverInfo: { name: 'kling-storyboard-language-server' },
  };
  if (pullDiagnostics) {
    result.capabilities.diagnosticProvider = {
      identifier: 'kling',
      interFileDependencies: false,
      workspaceDiagnostics: false,
    };
  }
  return result;
});

connection.onInitialized(() => {
  if (canRegisterWatchers) {
    void connection.client
      .register(DidChangeWatchedFilesNotification.type, {
        watchers: [{ globPattern: MEDIA_WATCH_GLOB }],
      })
      .catch((e) => logError('register file watcher', e));
  }
  configurationRead = Promise.race([
    pullConfiguration(),
    new Promise<void>((resolve) => setTimeout(resolve, CONFIGURATION_WAIT_MS)),
  ]);
  void configurationRead.then(refreshAll);
  log(
    `kling language server ready (diagnostics ${pullDiagnostics ? 'pulled' : `pushed, debounce ${debounceMs} ms`})`,
  );
});

connection.onDidChangeConfiguration((change) => {
  const settings = (change.settings as { kling?: KlingSettings } | undefined)?.kling;
  if (hasConfiguration) void pullConfiguration().then(refreshAll);
  else {
    if (settings) service.configure({ severity: {}, ...settingsFrom(settings) });
    refreshAll();
  }
});

connection.onDidChangeWatchedFiles(({ changes }) => {
  const changed = new Set<string>();
  for (const c of changes) {
    try {
      changed.add(mediaKey(fileURLToPath(c.uri)));
    } catch {
      // Not a file URI: nothing cached under it.
    }
  }
  for (const p of changed) mediaCache.delete(p);
  listings.clear();
  const affected = documents
    .all()
    .filter((doc) => service.mediaReferences(doc).some((m) => changed.has(mediaKey(m.path))));
  if (!affected.length) return;
  if (pullDiagnostics) {
    if (canRefreshPull) connection.languages.diagnostics.refresh();
  } else {
    for (const doc of affected) schedule(doc.uri, 0);
  }
});

// Fires for didOpen too, so one handler covers both.
documents.onDidChangeContent((e) => schedule(e.document.uri));
documents.onDidClose((e) => {
  cancelPending(e.document.uri);
  latest.delete(e.document.uri);
  service.forget(e.document.uri);
  if (!pullDiagnostics) void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
});

// ---- requests (each wrapped: a failing feature logs, it never takes the server down) ----

function guard<P, R>(
  name: string,
  fallback: R,
  handler: (params: P, token: CancellationToken) => R | Promise<R>,
): (params: P, token: CancellationToken) => Promise<R> {
  return async (params, token) => {
    try {
      return await handler(params, token);
    } catch (e) {
      if (e instanceof ResponseError) throw e;
      logError(name, e);
      return fallback;
    }
  };
}

const docOf = (uri: string) => documents.get(uri);

connection.languages.diagnostics.on(async (params, token) => {
  const doc = docOf(params.textDocument.uri);
  if (!doc) return { kind: DocumentDiagnosticReportKind.Full, items: [] };
  // An edit to this document cancels the pull still running for it (the client asks again).
  cancelPending(doc.uri);
  const source = new CancellationTokenSource();
  const entry: Pending = { source };
  pending.set(doc.uri, entry);
  const sub = token.onCancellationRequested(() => source.cancel());
  try {
    await configurationRead;
    const version = doc.version;
    const items = await service.diagnostics(doc, source.token);
    if (source.token.isCancellationRequested) {
      throw new ResponseError(LSPErrorCodes.ServerCancelled, 'The document changed', {
        retriggerRequest: true,
      });
    }
    remember(doc.uri, version, items);
    return { kind: DocumentDiagnosticReportKind.Full, items };
  } catch (e) {
    if (e instanceof ResponseError) throw e;
    logError('textDocument/diagnostic', e);
    return { kind: DocumentDiagnosticReportKind.Full, items: [] };
  } finally {
    sub.dispose();
    if (pending.get(doc.uri) === entry) pending.delete(doc.uri);
    source.dispose();
  }
});

// Completion and hover wait for the configuration, as diagnostics do: the provider, the rates
// and the output folder (cost history, continuity frames) are the user's from the first answer.
connection.onCompletion(
  guard('completion', null, async (params, token) => {
    await configurationRead;
    const doc = docOf(params.textDocument.uri);
    return doc
      ? service.complete(doc, params.position, token).then((l) => adaptCompletion(l, profile))
      : null;
  }),
);

connection.onHover(
  guard('hover', null, async (params, token) => {
    await configurationRead;
    const doc = docOf(params.textDocument.uri);
    return doc
      ? service.hover(doc, params.position, token).then((h) => adaptHover(h, profile))
      : null;
  }),
);

connection.onDefinition(
  guard('definition', [], (params, token) => {
    const doc = docOf(params.textDocument.uri);
    return doc ? service.definition(doc, params.position, token) : [];
  }),
);

connection.onReferences(
  guard('references', [], (params, token) => {
    const doc = docOf(params.textDocument.uri);
    return doc
      ? service.references(doc, params.position, params.context.includeDeclaration, token)
      : [];
  }),
);

connection.onDocumentHighlight(
  guard('documentHighlight', [], (params, token) => {
    const doc = docOf(params.textDocument.uri);
    return doc ? service.highlights(doc, params.position, token) : [];
  }),
);

connection.onPrepareRename(
  guard('prepareRename', null, (params, token) => {
    const doc = docOf(params.textDocument.uri);
    if (!doc) return null;
    const r = service.prepareRename(doc, params.position, token);
    if ('error' in r) throw new ResponseError(LSPErrorCodes.RequestFailed, r.error);
    return r;
  }),
);

connection.onRenameRequest(
  guard('rename', null, (params, token) => {
    const doc = docOf(params.textDocument.uri);
    if (!doc) return null;
    const r = service.rename(doc, params.position, params.newName, token);
    if ('error' in r) throw new ResponseError(LSPErrorCodes.RequestFailed, r.error);
    return r;
  }),
);

connection.onDocumentSymbol(
  guard('documentSymbol', [], (params, token) => {
    const doc = docOf(params.textDocument.uri);
    return doc ? adaptSymbols(service.documentSymbols(doc, token), doc.uri, profile) : [];
  }),
);

connection.onFoldingRanges(
  guard('foldingRange', [], (params, token) => {
    const doc = docOf(params.textDocument.uri);
    return doc ? service.foldingRanges(doc, token) : [];
  }),
);

connection.onDocumentFormatting(
  guard('formatting', [], (params, token) => {
    const doc = docOf(params.textDocument.uri);
    return doc ? service.format(doc, token) : [];
  }),
);

connection.onCodeAction(
  guard('codeAction', [], async (params, token) => {
    const doc = docOf(params.textDocument.uri);
    if (!doc) return [];
    const only = params.context.only;
    if (
      only &&
      !only.some(
        (k) =>
          k === CodeActionKind.QuickFix || CodeActionKind.QuickFix.startsWith(`${k}.`) || k === '',
      )
    ) {
      return [];
    }
    // The document object is updated in place by later edits: a changed version means the
    // request's range no longer fits the text.
    const version = doc.version;
    const own = (await currentDiagnostics(doc, token)).filter((d) =>
      overlaps(d.range, params.range),
    );
    if (token.isCancellationRequested || doc.version !== version) return [];
    return adaptCodeActions(service.codeActions(doc, params.range, own, token), profile);
  }),
);

// Quick fixes sent as commands (clients without code-action literals) come back here.
connection.onExecuteCommand(
  guard('executeCommand', null, async (params) => {
    if (params.command !== APPLY_FIX_COMMAND) {
      throw new ResponseError(-32601, `Unknown command ${params.command}`);
    }
    const edit = params.arguments?.[0] as WorkspaceEdit | undefined;
    if (!edit) return null;
    if (!profile.applyEdit) {
      throw new ResponseError(
        LSPErrorCodes.RequestFailed,
        'This client cannot apply edits (it declares no workspace.applyEdit); the edit is the command argument.',
      );
    }
    const r = await connection.workspace.applyEdit(edit);
    if (!r.applied)
      throw new ResponseError(
        LSPErrorCodes.RequestFailed,
        r.failureReason ?? 'The client did not apply the fix.',
      );
    return null;
  }),
);

process.on('uncaughtException', (e) => logError('uncaught', e));
process.on('unhandledRejection', (e) => logError('unhandled rejection', e));

documents.listen(connection);
connection.listen();

// A small LSP client over stdio for the server tests and the benchmark: spawns
// `node dist/server.js --stdio`, speaks JSON-RPC with vscode-jsonrpc, records
// publishDiagnostics and answers the server's own requests (configuration, registration).

import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type {
  ClientCapabilities,
  Diagnostic,
  InitializeResult,
  PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol';

/**
 * A response the tests take apart field by field (and assert on), so its static type would
 * only add casts.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

export const ROOT = path.resolve(__dirname, '../..');
/** `KLING_LSP_SERVER=/path/to/server.js`: test another build (e.g. one with a planted bug) instead. */
export const SERVER = process.env.KLING_LSP_SERVER ?? path.join(ROOT, 'dist/server.js');

/** Newest modification time of the files a server bundle is built from. */
function newestSource(): number {
  let newest = statSync(path.join(ROOT, 'esbuild.mjs')).mtimeMs;
  for (const f of readdirSync(path.join(ROOT, 'server/src'), { recursive: true })) {
    const s = statSync(path.join(ROOT, 'server/src', String(f)));
    if (s.isFile() && s.mtimeMs > newest) newest = s.mtimeMs;
  }
  return newest;
}

/**
 * Builds dist/server.js unless it is newer than its sources. The LSP test files run in
 * parallel and each calls this: a lock directory lets one build while the others wait, so no
 * test spawns a half-written bundle.
 */
export function buildServer(): void {
  if (process.env.KLING_LSP_SERVER) return;
  const bundles = [SERVER, path.join(path.dirname(SERVER), 'server-main.js')];
  const fresh = () => bundles.every((b) => existsSync(b) && statSync(b).mtimeMs >= newestSource());
  if (fresh()) return;
  const lock = path.join(ROOT, 'dist/.server-build.lock');
  mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A lock older than the deadline is left over from a killed run.
      if (Date.now() - statSync(lock).mtimeMs > 180_000)
        rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`${lock} is held: another build did not finish`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
  try {
    if (!fresh()) build();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The whole build, or only the server bundle when another part of the tree does not build. */
function build(): void {
  const all = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, encoding: 'utf8' });
  if (all.status === 0 && existsSync(SERVER)) return;
  const esbuild = path.join(ROOT, 'node_modules/esbuild/bin/esbuild');
  // The server (dist/server-main.js) and its entry (dist/server.js: server/src/start.ts).
  for (const [entry, out] of [
    ['server/src/server.ts', path.join(path.dirname(SERVER), 'server-main.js')],
    ['server/src/start.ts', SERVER],
  ]) {
    const one = spawnSync(
      process.execPath,
      [
        esbuild,
        entry,
        '--bundle',
        '--platform=node',
        '--format=cjs',
        '--target=node20',
        `--outfile=${out}`,
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    if (one.status !== 0) throw new Error(`cannot build the server:\n${one.stderr}`);
  }
}

export interface ClientOptions {
  capabilities?: ClientCapabilities;
  initializationOptions?: unknown;
  /** `clientInfo` of the initialize request (who the client says it is). */
  clientInfo?: { name: string; version?: string };
  /** What the client answers to workspace/configuration for section `kling`. */
  configuration?: unknown;
  env?: Record<string, string>;
  /** Another copy of the server entry than dist/server.js (code-cache.test.ts). */
  server?: string;
}

/**
 * Where the servers of the tests keep their V8 code cache (server/src/start.ts): not the user's
 * cache folder. Shared by every test (writes are atomic).
 */
const CODE_CACHE_DIR = path.join(os.tmpdir(), 'kling-test-code-cache');

export class LspClient {
  readonly process: ChildProcessWithoutNullStreams;
  readonly connection: MessageConnection;
  readonly diagnostics = new Map<string, PublishDiagnosticsParams>();
  /** Every publishDiagnostics received, in order. */
  readonly published: PublishDiagnosticsParams[] = [];
  readonly registrations: unknown[] = [];
  /** `workspace/applyEdit` requests from the server (each answered `applied: true`). */
  readonly appliedEdits: Loose[] = [];
  stderr = '';
  readonly log: string[] = [];
  private waiters: {
    uri: string;
    test: (p: PublishDiagnosticsParams) => boolean;
    resolve: (p: PublishDiagnosticsParams) => void;
  }[] = [];
  configuration: unknown;

  constructor(options: ClientOptions = {}) {
    this.configuration = options.configuration ?? {};
    this.process = spawn(process.execPath, [options.server ?? SERVER, '--stdio'], {
      cwd: ROOT,
      env: { KLING_CODE_CACHE_DIR: CODE_CACHE_DIR, ...process.env, ...options.env },
    });
    this.process.stderr.on('data', (d) => (this.stderr += String(d)));
    this.connection = createMessageConnection(
      new StreamMessageReader(this.process.stdout),
      new StreamMessageWriter(this.process.stdin),
    );
    this.connection.onNotification(
      'textDocument/publishDiagnostics',
      (p: PublishDiagnosticsParams) => {
        this.diagnostics.set(p.uri, p);
        this.published.push(p);
        this.waiters = this.waiters.filter((w) => {
          if (w.uri !== p.uri || !w.test(p)) return true;
          w.resolve(p);
          return false;
        });
      },
    );
    this.connection.onNotification('window/logMessage', (m: { message: string }) =>
      this.log.push(m.message),
    );
    this.connection.onRequest(
      'workspace/configuration',
      (params: { items: { section?: string }[] }) => params.items.map(() => this.configuration),
    );
    this.connection.onRequest('client/registerCapability', (params: unknown) => {
      this.registrations.push(params);
      return null;
    });
    this.connection.onRequest('workspace/diagnostic/refresh', () => null);
    this.connection.onRequest('workspace/applyEdit', (params: { edit: unknown }) => {
      this.appliedEdits.push(params.edit);
      return { applied: true };
    });
    this.connection.listen();
  }

  async initialize(
    options: ClientOptions = {},
    rootUri: string | null = null,
  ): Promise<InitializeResult & Loose> {
    const result = await this.connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri,
      capabilities: options.capabilities ?? {},
      clientInfo: options.clientInfo,
      initializationOptions: options.initializationOptions,
    });
    await this.connection.sendNotification('initialized', {});
    return result;
  }

  request<R = Loose>(method: string, params: unknown): Promise<R> {
    return this.connection.sendRequest(method, params) as Promise<R>;
  }

  notify(method: string, params: unknown): Promise<void> {
    return this.connection.sendNotification(method, params);
  }

  open(uri: string, text: string, version = 1): Promise<void> {
    return this.notify('textDocument/didOpen', {
      textDocument: { uri, languageId: 'kling', version, text },
    });
  }

  /** Resolves with the first publishDiagnostics for `uri` that passes `test` (including one already received). */
  waitForDiagnostics(
    uri: string,
    test: (p: PublishDiagnosticsParams) => boolean,
    timeoutMs = 10_000,
  ): Promise<PublishDiagnosticsParams> {
    const current = this.diagnostics.get(uri);
    if (current && test(current)) return Promise.resolve(current);
    return this.nextDiagnostics(uri, test, timeoutMs);
  }

  /** Resolves with the next publishDiagnostics for `uri` that passes `test` (ignoring earlier ones). */
  nextDiagnostics(
    uri: string,
    test: (p: PublishDiagnosticsParams) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<PublishDiagnosticsParams> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `no matching diagnostics for ${uri}; last: ${JSON.stringify(this.diagnostics.get(uri))}`,
          ),
        );
      }, timeoutMs);
      const done = (p: PublishDiagnosticsParams) => {
        clearTimeout(timer);
        resolve(p);
      };
      this.waiters.push({ uri, test, resolve: done });
    });
  }

  /** Sends shutdown + exit and waits for the process to end; returns its exit code. */
  async shutdown(): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) =>
      this.process.on('exit', (code) => resolve(code)),
    );
    if (this.process.exitCode !== null) return this.process.exitCode;
    await this.request('shutdown', null);
    await this.notify('exit', null);
    const code = await exited;
    this.connection.dispose();
    return code;
  }
}

/** The codes of a diagnostics list. */
export function codes(list: Diagnostic[]): string[] {
  return list.map((d) => String(d.code));
}

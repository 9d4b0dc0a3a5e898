// A bare LSP client over stdio for the benchmark: spawns any server (ours, or VS Code's JSON
// language server), records published diagnostics, answers the server's own requests, and
// reads the server process's memory from /proc.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';

/**
 * The `node` the servers run on: this one, or `BENCH_NODE` (e.g. a newer Node whose V8 is closer
 * to the one VS Code's Electron ships; README "Benchmarks").
 */
export const SERVER_NODE = process.env.BENCH_NODE || process.execPath;

/** Clock ticks per second of /proc/PID/stat (USER_HZ: 100 on every Linux this runs on). */
const CLOCK_TICKS = 100;

export interface Published {
  uri: string;
  version?: number;
  diagnostics: unknown[];
}

export class BenchClient {
  readonly process: ChildProcessWithoutNullStreams;
  readonly connection: MessageConnection;
  readonly log: string[] = [];
  stderr = '';
  private waiters: { test: (p: Published) => boolean; resolve: (p: Published) => void }[] = [];

  constructor(argv: string[], cwd: string, env: Record<string, string> = {}) {
    this.process = spawn(SERVER_NODE, argv, { cwd, env: { ...process.env, ...env } });
    this.process.stderr.on('data', (d) => (this.stderr += String(d)));
    this.connection = createMessageConnection(
      new StreamMessageReader(this.process.stdout),
      new StreamMessageWriter(this.process.stdin),
    );
    this.connection.onNotification('textDocument/publishDiagnostics', (p: Published) => {
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(p)) return true;
        w.resolve(p);
        return false;
      });
    });
    this.connection.onNotification('window/logMessage', (m: { message: string }) =>
      this.log.push(m.message),
    );
    this.connection.onRequest('workspace/configuration', (p: { items: unknown[] }) =>
      p.items.map(() => ({})),
    );
    this.connection.onRequest('client/registerCapability', () => null);
    this.connection.onRequest('client/unregisterCapability', () => null);
    this.connection.onRequest('workspace/diagnostic/refresh', () => null);
    this.connection.onRequest('window/workDoneProgress/create', () => null);
    this.connection.listen();
  }

  async initialize(capabilities: unknown, initializationOptions?: unknown): Promise<void> {
    await this.connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: null,
      capabilities,
      initializationOptions,
    });
    await this.connection.sendNotification('initialized', {});
  }

  notify(method: string, params: unknown): Promise<void> {
    return this.connection.sendNotification(method, params);
  }

  request<R>(method: string, params: unknown): Promise<R> {
    return this.connection.sendRequest(method, params) as Promise<R>;
  }

  /** The next publishDiagnostics that passes `test`; rejects after `timeoutMs`. */
  published(test: (p: Published) => boolean, timeoutMs = 60_000): Promise<Published> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`no matching diagnostics within ${timeoutMs} ms\n${this.stderr}`));
      }, timeoutMs);
      const done = (p: Published) => {
        clearTimeout(timer);
        resolve(p);
      };
      this.waiters.push({ test, resolve: done });
    });
  }

  /** Resident and peak resident memory of the server process, in bytes (Linux /proc). */
  memory(): { rss: number; peak: number } | undefined {
    try {
      const status = readFileSync(`/proc/${this.process.pid}/status`, 'utf8');
      const kb = (field: string) =>
        Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
      return { rss: kb('VmRSS') * 1024, peak: kb('VmHWM') * 1024 };
    } catch {
      return undefined;
    }
  }

  /**
   * CPU time the server process has used so far (user + system, all its threads), in ms: on a
   * shared machine this moves far less than the wall-clock latency. Linux /proc, 10 ms ticks.
   */
  cpuMs(): number {
    try {
      const stat = readFileSync(`/proc/${this.process.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
    } catch {
      return NaN;
    }
  }

  /**
   * Resolves once the process has used no CPU for two polls in a row (bounded: at most
   * `limitMs`): its work after answering (a collection, say) is over.
   */
  async idle(limitMs = 1000, pollMs = 20): Promise<void> {
    const end = performance.now() + limitMs;
    let last = this.cpuMs();
    let still = 0;
    while (still < 2 && performance.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      const now = this.cpuMs();
      still = now === last ? still + 1 : 0;
      last = now;
    }
  }

  async shutdown(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.process.on('exit', () => resolve()));
    if (this.process.exitCode === null) {
      await this.connection.sendRequest('shutdown', null).catch(() => undefined);
      await this.connection.sendNotification('exit', null).catch(() => undefined);
      const timer = setTimeout(() => this.process.kill(), 5000);
      await exited;
      clearTimeout(timer);
    }
    this.connection.dispose();
  }
}

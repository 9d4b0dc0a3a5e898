// Shared setup for engine tests: a temp project folder with real media files, and an engine
// wired to a fake server with fast polling.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { KieClient } from '../../server/src/providers/kie';
import { RenderEngine } from '../../server/src/render';
import { Uploader, type UploaderOptions } from '../../server/src/render/uploads';
import type { EngineOptions, LedgerEntry, RenderEvent } from '../../server/src/render/types';
import { after, before, beforeEach } from 'node:test';
import { startFakeServer, type FakeServer, type FakeServerOptions } from '../fake-server/server';
import { makePng } from '../fake-server/png';

/** A KIE uploader on the fake server with `cacheFile` (no retries, 24 h fresh); `extra` overrides. */
export function testUploader(
  server: FakeServer,
  cacheFile: string,
  extra: Partial<UploaderOptions> = {},
): Uploader {
  const client = new KieClient({
    apiKey: server.keys.kieApiKey,
    apiBase: server.url,
    uploadBase: server.url,
  });
  return new Uploader({
    client: () => client,
    uploadBase: server.url,
    cacheFile,
    freshMs: 24 * 3_600_000,
    concurrency: 2,
    uploadPath: 'kling-storyboard',
    retries: 0,
    retryBaseMs: 1,
    ...extra,
  });
}

export interface Project {
  dir: string;
  stateDir: string;
  file(name: string, text: string): string;
}

/** A temp folder with refs/a.png, refs/b.png, frames/f1.png, frames/f2.png (distinct contents). */
export function makeProject(): Project {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ksb-engine-'));
  const stateDir = path.join(dir, '.state');
  mkdirSync(path.join(dir, 'refs'), { recursive: true });
  mkdirSync(path.join(dir, 'frames'), { recursive: true });
  writeFileSync(path.join(dir, 'refs', 'a.png'), makePng(320, 320, 1));
  writeFileSync(path.join(dir, 'refs', 'b.png'), makePng(320, 320, 2));
  writeFileSync(path.join(dir, 'frames', 'f1.png'), makePng(400, 300, 3));
  writeFileSync(path.join(dir, 'frames', 'f2.png'), makePng(400, 300, 4));
  return {
    dir,
    stateDir,
    file(name, text) {
      const p = path.join(dir, name);
      writeFileSync(p, text);
      return p;
    },
  };
}

export interface RecordingSleep {
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Every delay the engine asked for, in order. */
  requested: number[];
}

/** A sleep that records the requested delay and waits at most `capMs` of real time. */
export function recordingSleep(capMs = 5): RecordingSleep {
  const requested: number[] = [];
  return {
    requested,
    sleep: (ms, signal) =>
      new Promise((resolve, reject) => {
        requested.push(ms);
        if (signal?.aborted) return reject(signal.reason);
        const t = setTimeout(resolve, Math.min(ms, capMs));
        signal?.addEventListener('abort', () => {
          clearTimeout(t);
          reject(signal.reason);
        });
      }),
  };
}

/** An engine against the fake server: fast polling, small waits, its own state folder. */
export function engineFor(
  server: FakeServer,
  project: Project,
  overrides: Partial<EngineOptions> = {},
): { engine: RenderEngine; events: RenderEvent[]; logs: string[] } {
  const events: RenderEvent[] = [];
  const logs: string[] = [];
  const engine = new RenderEngine({
    keys: {
      kieApiKey: server.keys.kieApiKey,
      klingAccessKey: server.keys.klingAccessKey,
      klingSecretKey: server.keys.klingSecretKey,
    },
    bases: { kieApi: server.url, kieUpload: server.url, klingApi: server.url },
    concurrency: 3,
    pollIntervalMs: 10,
    requestTimeoutMs: 2000,
    maxWaitMs: 2000,
    stateDir: project.stateDir,
    log: (l) => logs.push(l),
    ...overrides,
  });
  return { engine, events, logs };
}

export const KIE_BOARD = `# test storyboard
provider: kie
mode: std

[element dog]
images: refs/a.png, refs/b.png
A small dog.

[scene Morning run]
first-frame: frames/f1.png
[shot 2s]
A happy @dog runs.
[shot 3s]
The @dog stops.

[scene Finale]
duration: 5
first-frame: frames/f2.png
The @dog sleeps in the sun.

[scene Plain]
duration: 4
A sunset over the sea.
`;

export const KLING_BOARD = `provider: kling
mode: pro

[element dog]
id: 12345
A small dog.

[scene Image scene]
first-frame: frames/f1.png
duration: 5
The @dog runs.

[scene Text scene]
duration: 5
negative: blur
camera: zoom 5
A sunset over the sea.
`;

/** Resolves once the fake server has created `count` tasks (bounded: 30 s). */
export async function untilCreated(server: FakeServer, count = 1): Promise<void> {
  const started = Date.now();
  while (server.state.createdCount() < count) {
    if (Date.now() - started > 30_000) throw new Error(`${count} task(s) were not created`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Renders one scene and stops waiting once its task is submitted (the remote task keeps running). */
export async function leaveRunning(
  engine: RenderEngine,
  storyboardPath: string,
  text: string,
  scene: number,
): Promise<LedgerEntry> {
  const controller = new AbortController();
  const [entry] = await engine.render({
    storyboardPath,
    text,
    scenes: [scene],
    signal: controller.signal,
    onEvent: (e) => {
      if (e.entry.state === 'submitted' || e.entry.state === 'running') controller.abort();
    },
  });
  return entry!;
}

/**
 * The hooks most engine suites share: one fake server for the suite (closed after it), reset and
 * a fresh project folder before each test; `use` receives them.
 */
export function useFakeServer(
  opts: FakeServerOptions,
  use: (server: FakeServer, project: Project) => void,
): void {
  let server: FakeServer;
  before(async () => {
    server = await startFakeServer(opts);
  });
  after(() => server.close());
  beforeEach(() => {
    server.reset();
    use(server, makeProject());
  });
}

/** A CLI process started against the fake server, with what it printed so far. */
export interface CliRun {
  child: ChildProcess;
  /** Its exit code once it closed. */
  closed: Promise<number | null>;
  stdout(): string;
  stderr(): string;
}

/**
 * Starts the bundled CLI in the project folder with the fake server's hosts and KIE key, the
 * project's state dir and 20 ms polling; `env` adds or overrides variables.
 */
export function startCli(
  cli: string,
  server: FakeServer,
  project: Project,
  args: string[],
  env: Record<string, string> = {},
): CliRun {
  const child = spawn(process.execPath, [cli, ...args], {
    cwd: project.dir,
    env: {
      PATH: process.env.PATH,
      HOME: project.dir,
      KIE_API_KEY: server.keys.kieApiKey,
      KIE_API_BASE: server.url,
      KIE_UPLOAD_BASE: server.url,
      KLING_API_BASE: server.url,
      KLING_STORYBOARD_STATE_DIR: project.stateDir,
      KLING_STORYBOARD_POLL_MS: '20',
      ...env,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, closed, stdout: () => stdout, stderr: () => stderr };
}

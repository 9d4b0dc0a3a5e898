#!/usr/bin/env node
// A throw-away code-server (the real VS Code 1.100.3 server + web workbench, installed by setup.sh):
// fresh profile, extensions and workspace per run under <installDir>/run.*, started in its own process
// group so the extension host, language server and file watchers all die with it.
//
// As a module: `const cs = await startCodeServer({ env, vsix, workspaceFrom }); …; await cs.close();`
// As a command: node test/e2e/codeserver/with-code-server.mjs [--vsix F] [--workspace-from D] [--trust] -- cmd args…
//   runs `cmd` with CS_URL, CS_RUN, CS_WS, CS_EXT set and exits with its code.
import { spawn, spawnSync } from 'node:child_process';
import {
  realpathSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const running = new Set();

/** Asks the OS for a free port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes; the value is returned. */
export async function waitFor(check, { timeoutMs, intervalMs = 100, what = 'condition' }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** True while a process of the child's process group still runs (zombies awaiting reaping do not count). */
function groupAlive(child) {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === child.pid && state !== 'Z') return true;
  }
  return false;
}

// A crash of the caller must not leave a workbench server behind.
function killAllSync() {
  for (const child of running) killGroup(child, 'SIGKILL');
}
process.once('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAllSync();
    process.exit(130);
  });
}

/**
 * Starts code-server on a free 127.0.0.1 port with a fresh profile; `env` reaches the extension host.
 * Options: installDir (default .vscode-real), env, vsix (installed first), workspaceFrom (a folder
 * copied into the workspace), settings (merged into the user settings), keep (leave the run dir),
 * trust (workspace trust on, asking at every start, as a user's VS Code does; default off),
 * workspace / stateDir (an existing workspace folder / KLING_STORYBOARD_STATE_DIR to use as they are,
 * e.g. a killed server's, instead of fresh ones in the run dir; they are never deleted here).
 */
export async function startCodeServer(opts = {}) {
  // Real path: `.vscode-real` is often a symlink, and the engine names storyboards by their real
  // path, so the workspace must be opened by it too (else the panels never see their takes).
  const wanted = path.resolve(repoRoot, opts.installDir ?? '.vscode-real');
  const installDir = existsSync(wanted) ? realpathSync(wanted) : wanted;
  const bin = path.join(installDir, 'node_modules/.bin/code-server');
  if (!existsSync(path.join(installDir, '.ready')) || !existsSync(bin)) {
    throw new Error(
      `code-server is not installed in ${installDir}; run: test/e2e/codeserver/setup.sh ${installDir}`,
    );
  }
  if (opts.workspace && opts.workspaceFrom)
    throw new Error('startCodeServer: give either workspace or workspaceFrom, not both');
  const runDir = mkdtempSync(path.join(installDir, 'run.'));
  const dirs = {
    ud: path.join(runDir, 'ud'),
    ext: path.join(runDir, 'ext'),
    ws: opts.workspace ? path.resolve(opts.workspace) : path.join(runDir, 'ws'),
    state: opts.stateDir ? path.resolve(opts.stateDir) : path.join(runDir, 'state'),
    xdgData: path.join(runDir, 'xdg-data'),
    xdgConfig: path.join(runDir, 'xdg-config'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  mkdirSync(path.join(dirs.ud, 'User'), { recursive: true });
  if (opts.workspaceFrom) cpSync(opts.workspaceFrom, dirs.ws, { recursive: true });
  const settings = {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'extensions.ignoreRecommendations': true,
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'chat.disableAIFeatures': true,
    'security.workspace.trust.enabled': !!opts.trust,
    ...(opts.trust ? { 'security.workspace.trust.startupPrompt': 'always' } : {}),
    // Run dirs sit inside the project's git checkout; without this a "git repository found" toast shows.
    'git.openRepositoryInParentFolders': 'never',
    'git.autoRepositoryDetection': false,
    // The fake API's port shows up in output; forwarding it would only add a Ports badge.
    'remote.autoForwardPorts': false,
    ...opts.settings,
  };
  writeFileSync(path.join(dirs.ud, 'User/settings.json'), JSON.stringify(settings, null, 2));
  const configFile = path.join(runDir, 'config.yaml');
  // Real keys or endpoints from the caller's shell never reach a test workbench; only opts.env does.
  const inherited = { ...process.env };
  for (const name of Object.keys(inherited)) {
    if (
      /^(KIE_API_KEY|KLING_ACCESS_KEY|KLING_SECRET_KEY|KIE_API_BASE|KIE_UPLOAD_BASE|KLING_API_BASE)$/.test(
        name,
      )
    ) {
      delete inherited[name];
    }
  }
  const env = {
    ...inherited,
    EXTENSIONS_GALLERY: '{}',
    XDG_DATA_HOME: dirs.xdgData,
    XDG_CONFIG_HOME: dirs.xdgConfig,
    KLING_STORYBOARD_STATE_DIR: dirs.state,
    ...opts.env,
  };
  const common = ['--config', configFile, '--user-data-dir', dirs.ud, '--extensions-dir', dirs.ext];

  const cleanup = () => {
    if (!opts.keep && !process.env.KEEP_CODE_SERVER_RUN)
      rmSync(runDir, { recursive: true, force: true });
  };
  if (opts.vsix) {
    const r = spawnSync(bin, [...common, '--install-extension', path.resolve(opts.vsix)], {
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.status !== 0) {
      cleanup();
      throw new Error(`installing ${opts.vsix} failed:\n${r.stdout}${r.stderr}`);
    }
  }

  const port = opts.port ?? (await freePort());
  const host = `127.0.0.1:${port}`;
  const url = `http://${host}`;
  const logFile = path.join(runDir, 'server.log');
  const out = openSync(logFile, 'a');
  const child = spawn(
    bin,
    [
      ...common,
      '--auth',
      'none',
      '--bind-addr',
      host,
      '--disable-telemetry',
      '--disable-update-check',
      ...(opts.trust ? [] : ['--disable-workspace-trust']),
      '--disable-getting-started-override',
      dirs.ws,
    ],
    { env, detached: true, stdio: ['ignore', out, out] },
  );
  running.add(child);
  let exited = false;
  const exitedPromise = new Promise((resolve) =>
    child.once('exit', () => {
      exited = true;
      running.delete(child);
      resolve();
    }),
  );

  const close = async () => {
    if (!exited) {
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5_000);
      await exitedPromise;
      clearTimeout(timer);
    }
    // Stragglers of the group (file watchers) get SIGKILL; harmless when none are left.
    killGroup(child, 'SIGKILL');
    cleanup();
  };

  // Like a crash or a closed window: every process of the group dies at once, nothing gets to
  // clean up, and the run dir (workspace, state, logs) stays for a restart; close() removes it.
  const kill = async () => {
    killGroup(child, 'SIGKILL');
    await exitedPromise;
    await waitFor(() => !groupAlive(child), {
      timeoutMs: 10_000,
      what: `every process of code-server's group ${child.pid} to die`,
    });
  };

  try {
    await waitFor(
      async () => {
        if (exited) throw new Error('code-server exited during start-up');
        try {
          const res = await fetch(`${url}/healthz`);
          return res.ok;
        } catch {
          return false;
        }
      },
      { timeoutMs: 60_000, intervalMs: 150, what: 'code-server /healthz' },
    );
  } catch (err) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    await close();
    throw new Error(`${err.message}\n--- server.log ---\n${log}`);
  }

  return {
    url,
    host,
    port,
    runDir,
    ws: dirs.ws,
    ext: dirs.ext,
    ud: dirs.ud,
    state: dirs.state,
    logFile,
    /** `vscode-remote://` URI of an absolute path on this machine, as the workbench payload wants it. */
    remote: (p) => `vscode-remote://${host}${p}`,
    close,
    /** SIGKILLs the whole process group (server, extension host, language server); keeps the run dir. */
    kill,
  };
}

/** The workbench URL for a folder plus payload pairs (extensionDevelopmentPath, openFile, …). */
export function workbenchUrl(cs, folder, payload = []) {
  const q = `folder=${encodeURIComponent(folder)}`;
  return payload.length
    ? `${cs.url}/?${q}&payload=${encodeURIComponent(JSON.stringify(payload))}`
    : `${cs.url}/?${q}`;
}

/** The Chromium flags that work offline here (no background networking, no sandbox as root). */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const sep = args.indexOf('--');
  if (sep < 0 || sep === args.length - 1) {
    console.error(
      'usage: with-code-server.mjs [--vsix F] [--workspace-from D] [--keep] [--trust] -- cmd args…',
    );
    process.exit(2);
  }
  const flag = (name) => {
    const i = args.indexOf(name);
    return i >= 0 && i < sep ? args[i + 1] : undefined;
  };
  const cs = await startCodeServer({
    vsix: flag('--vsix'),
    workspaceFrom: flag('--workspace-from'),
    keep: args.slice(0, sep).includes('--keep'),
    trust: args.slice(0, sep).includes('--trust'),
  });
  const [cmd, ...rest] = args.slice(sep + 1);
  const child = spawn(cmd, rest, {
    stdio: 'inherit',
    env: { ...process.env, CS_URL: cs.url, CS_RUN: cs.runDir, CS_WS: cs.ws, CS_EXT: cs.ext },
  });
  const code = await new Promise((resolve) =>
    child.once('exit', (c, s) => resolve(c ?? (s ? 1 : 0))),
  );
  await cs.close();
  process.exit(code);
}

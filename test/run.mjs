#!/usr/bin/env node
// The one test command (`npm test`): builds, then runs every suite and prints a
// closing line `N passed, M failed`. Usage: node test/run.mjs [suite…]
// Suites: unit (core, language server over stdio, providers against the fake
// server, grammar — node:test), vscode (extension integration tests inside a real
// VS Code, launched by @vscode/test-electron), e2e (the packaged .vsix in code-server, driven in Chromium).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeSync } from 'node:fs';
import path from 'node:path';

const pause = new Int32Array(new SharedArrayBuffer(4));
/**
 * Writes all of `text` to a file descriptor before returning. The suites' output is written
 * here in one piece after each suite, and stdout is a pipe shared with npm and `tee` in CI,
 * which may have made it non-blocking: `process.stdout.write` then queues what the pipe cannot
 * take, the next suite blocks the event loop, and an exit loses the queue — CI once saw the
 * unit output cut at 64 KB and no closing line although every suite ran.
 */
function writeAll(fd, text) {
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length;) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 5); // the pipe is full: let the reader catch up
    }
  }
}
const say = (line) => writeAll(1, `${line}\n`);

const root = path.resolve(import.meta.dirname, '..');
const wanted = process.argv.slice(2);
const all = ['unit', 'vscode', 'e2e'];
/** Longest a single node:test test may run (the slowest, CLI runs on a busy machine, take ~20 s). */
const TEST_TIMEOUT_MS = Number(process.env.KSB_TEST_TIMEOUT_MS) || 120_000;
const suites = wanted.length ? wanted : all;

/** Runs a command with inherited output captured so the counts can be read back. */
function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  writeAll(1, r.stdout ?? '');
  writeAll(2, r.stderr ?? '');
  return { status: r.status ?? 1, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

/** The node:test files of the unit suite, by folder. */
function unitFiles() {
  const dirs = ['test/unit', 'test/lsp', 'test/providers', 'test/grammar', 'test/engine'];
  const files = [];
  for (const d of dirs) {
    const abs = path.join(root, d);
    if (!existsSync(abs)) continue;
    for (const f of readdirSync(abs, { recursive: true })) {
      if (/\.test\.(ts|mjs)$/.test(String(f))) files.push(path.join(d, String(f)));
    }
  }
  return files.sort();
}

let passed = 0;
let failed = 0;
const lastCount = (out, re) => {
  const all = [...out.matchAll(re)];
  return all.length ? Number(all[all.length - 1][1]) : undefined;
};

const build = run('node', ['esbuild.mjs']);
if (build.status !== 0) {
  say('build failed');
  say(`0 passed, 1 failed`);
  process.exit(1);
}

for (const suite of suites) {
  say(`\n=== suite: ${suite}`);
  let r;
  if (suite === 'unit') {
    // A per-test bound: a hung test fails with its name instead of stalling the run (and CI).
    r = run('node', [
      '--import',
      'tsx',
      '--test',
      `--test-timeout=${TEST_TIMEOUT_MS}`,
      '--test-reporter=spec',
      ...unitFiles(),
    ]);
    const p = lastCount(r.out, /^ℹ pass (\d+)$/gm);
    // A test stopped by --test-timeout is reported as cancelled: it counts as failed.
    const f =
      (lastCount(r.out, /^ℹ fail (\d+)$/gm) ?? 0) +
      (lastCount(r.out, /^ℹ cancelled (\d+)$/gm) ?? 0);
    if (p === undefined) failed += 1;
    else {
      passed += p;
      failed += f;
    }
    if (r.status !== 0 && !f) failed += 1;
    continue;
  }
  // The vscode suite goes through @vscode/test-electron's runTests (npm run test:vscode); without a
  // desktop VS Code to hand (VSCODE_EXECUTABLE), code-server stands in for the executable.
  const script = suite === 'vscode' ? 'test/vscode/run-electron.mjs' : 'test/e2e/run.mjs';
  const env =
    suite === 'vscode'
      ? {
          VSCODE_EXECUTABLE: process.env.VSCODE_EXECUTABLE || 'test/vscode/code-server-as-code.mjs',
        }
      : {};
  r = run('node', suite === 'vscode' ? [script, '--no-build'] : [script], env);
  const m = [...r.out.matchAll(/^(\d+) passed, (\d+) failed$/gm)].pop();
  if (m) {
    passed += Number(m[1]);
    failed += Number(m[2]);
  }
  if (r.status !== 0 && (!m || Number(m[2]) === 0)) failed += 1;
}

say(`\n${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;

#!/usr/bin/env node
// `npm run test:vscode`: the same mocha integration tests as run-codeserver.mjs, in desktop VS Code
// through @vscode/test-electron — for machines that can download VS Code (it fetches a build into
// .vscode-test/). Set VSCODE_EXECUTABLE to use an installed VS Code instead of downloading one.
// On a headless Linux box run it under a display server: `xvfb-run -a npm run test:vscode`.
// Prints `N passed, M failed` last; exits non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { startFakeApi } from '../e2e/fake-api.mjs';

const root = path.resolve(import.meta.dirname, '../..');

function finish(passed, failed, code) {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(code);
}

if (!process.argv.includes('--no-build')) {
  const b = spawnSync('node', ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) {
    console.log('build failed');
    finish(0, 1, 1);
  }
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'kling-vscode-'));
const workspace = path.join(tmp, 'ws');
const example = path.join(root, 'examples/rehearsal');
if (existsSync(example)) cpSync(example, workspace, { recursive: true });
else mkdirSync(workspace, { recursive: true });
const resultFile = path.join(tmp, 'result.json');

let fake;
let code = 1;
try {
  fake = await startFakeApi();
  code = await runTests({
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(root, 'dist/test/index.js'),
    vscodeExecutablePath: process.env.VSCODE_EXECUTABLE || undefined,
    // A fresh profile without other extensions, opened on a copy of the example.
    launchArgs: [
      workspace,
      '--disable-extensions',
      `--user-data-dir=${path.join(tmp, 'ud')}`,
      `--extensions-dir=${path.join(tmp, 'ext')}`,
    ],
    extensionTestsEnv: {
      ...fake?.env,
      ...fake?.keyEnv,
      KLING_STORYBOARD_STATE_DIR: path.join(tmp, 'state'),
      KLING_STORYBOARD_TEST: '1',
      KLING_VSCODE_RESULT_FILE: resultFile,
    },
  });
} catch (err) {
  console.log(`VS Code test run failed: ${err?.message ?? err}`);
  code = 1;
} finally {
  await fake?.close();
}
const result = existsSync(resultFile)
  ? JSON.parse(readFileSync(resultFile, 'utf8'))
  : { passed: 0, failed: 1 };
rmSync(tmp, { recursive: true, force: true });
if (code !== 0 && result.failed === 0) result.failed = 1;
finish(result.passed, result.failed, code === 0 && result.failed === 0 ? 0 : 1);

#!/usr/bin/env node
// Runs the extension's mocha integration tests (dist/test/*.test.js) inside a real VS Code: a
// throw-away code-server, the extension loaded as a development extension via the workbench
// `payload` (code-server has no --extensionTestsPath), and the result read back through
// window.codeAutomationExit. Prints `N passed, M failed` last; exits non-zero on any failure.
// Usage: node test/vscode/run-codeserver.mjs [--no-build] [--extension DIR] [--tests FILE]
//   env: KLING_VSCODE_TEST_GREP (mocha grep), KEEP_CODE_SERVER_RUN=1 (keep the run dir)
// As a module, runExtensionTests() is also what code-server-as-code.mjs uses to stand in for the
// desktop executable under @vscode/test-electron (npm run test:vscode).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { format } from 'node:util';
import { chromium } from 'playwright-core';
import {
  chromiumArgs,
  startCodeServer,
  workbenchUrl,
} from '../e2e/codeserver/with-code-server.mjs';
import { startFakeApi } from '../e2e/fake-api.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const artifacts = path.join(root, 'test-results/vscode');

/**
 * Runs an extension's tests entry inside a fresh code-server opened on a copy of `workspaceFrom`;
 * `env` reaches the extension host. Resolves to { code, summary } where summary is the
 * `N passed, M failed` the tests entry logged (undefined when it never got that far).
 */
export async function runExtensionTests({ extensionPath, testsPath, workspaceFrom, env }) {
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  let cs;
  let browser;
  let summary;
  let code = 1;
  try {
    cs = await startCodeServer({ env, workspaceFrom });
    console.log(`code-server: ${cs.url} (run dir ${cs.runDir}) after ${elapsed()}`);

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    let done;
    const finished = new Promise((resolve) => (done = resolve));
    // The workbench's own start-up chatter is kept quiet until the tests entry speaks; errors always show.
    let testsStarted = false;
    await page.exposeFunction('codeAutomationLog', (type, logArgs) => {
      const line = format(...(Array.isArray(logArgs) ? logArgs : [logArgs]));
      if (line.startsWith('integration test files:')) testsStarted = true;
      const m = /^(\d+) passed, (\d+) failed$/m.exec(line.trim());
      if (m) summary = { passed: Number(m[1]), failed: Number(m[2]) };
      if (testsStarted || type === 'error') console.log(line);
    });
    await page.exposeFunction('codeAutomationExit', (exitCode) => done(exitCode));
    page.on('crash', () => done(125));
    const timeoutMs = Number(process.env.KLING_VSCODE_RUN_TIMEOUT ?? 300_000);
    const timer = setTimeout(() => {
      console.log(`timed out after ${timeoutMs} ms`);
      done(124);
    }, timeoutMs);
    await page.goto(
      workbenchUrl(cs, cs.ws, [
        ['extensionDevelopmentPath', cs.remote(extensionPath)],
        ['extensionTestsPath', cs.remote(testsPath)],
      ]),
    );
    code = await finished;
    clearTimeout(timer);
    console.log(`extension tests exit code ${code} after ${elapsed()}`);
  } catch (err) {
    console.log(`run failed: ${err?.stack ?? err}`);
    code = 1;
  } finally {
    await browser?.close().catch(() => {});
    if (cs && code !== 0) {
      // Keep the server and extension-host logs of a failed run as artifacts.
      mkdirSync(artifacts, { recursive: true });
      cpSync(cs.logFile, path.join(artifacts, 'server.log'));
      const logs = path.join(cs.ud, 'logs');
      if (existsSync(logs)) cpSync(logs, path.join(artifacts, 'logs'), { recursive: true });
      console.log(`logs saved under ${path.relative(root, artifacts)}/`);
    }
    await cs?.close();
  }
  return { code, summary };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? path.resolve(args[i + 1]) : undefined;
  };
  const finish = (passed, failed, code) => {
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(code);
  };
  if (!args.includes('--no-build')) {
    const b = spawnSync('node', ['esbuild.mjs'], { cwd: root, stdio: 'inherit' });
    if (b.status !== 0) {
      console.log('build failed');
      finish(0, 1, 1);
    }
  }
  const testsPath = opt('--tests') ?? path.join(root, 'dist/test/index.js');
  if (!existsSync(testsPath)) {
    console.log(`no tests entry at ${testsPath}`);
    finish(0, 1, 1);
  }
  const fake = await startFakeApi();
  console.log(
    fake ? `fake API server: ${fake.url}` : 'fake API server: (test/fake-server not present)',
  );
  const example = path.join(root, 'examples/rehearsal');
  const { code, summary } = await runExtensionTests({
    extensionPath: opt('--extension') ?? root,
    testsPath,
    workspaceFrom: existsSync(example) ? example : undefined,
    env: { ...fake?.env, ...fake?.keyEnv, KLING_STORYBOARD_TEST: '1' },
  });
  await fake?.close();
  const result = summary ?? { passed: 0, failed: 1 };
  if (code !== 0 && result.failed === 0) result.failed = 1;
  finish(result.passed, result.failed, code === 0 && result.failed === 0 ? 0 : 1);
}

// Emacs with eglot (Debian: emacs-nox + elpa-eglot 1.9; `.ci/run` installs them) run headless
// with the README's eglot config on examples/mistakes.kling: diagnostics reach flymake (with
// the initializationOptions severity applied), `@` completion lists each element once, a code
// action applies through eglot's own code-action path, and `[` completes to one plain line.
// The driving Lisp is test/lsp/clients/eglot-check.el.

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildServer, ROOT, SERVER, type Loose } from './lsp-client';

const probe = spawnSync('emacs', ['--batch', '--eval', "(require 'eglot)"], { encoding: 'utf8' });
const EGLOT_MISSING =
  probe.error || probe.status !== 0
    ? 'Emacs with eglot is not installed (Debian: apt-get install emacs-nox elpa-eglot; .ci/run installs them) — the eglot test is skipped'
    : undefined;

/** The README's eglot config, with the server path of this checkout. */
function readmeConfig(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('**Emacs (eglot)**');
  assert.ok(at >= 0, 'README has an Emacs (eglot) section');
  const block = /```elisp\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(block, 'with an elisp block');
  assert.ok(block[1].includes('/path/to/kling-storyboard/dist/server.js'));
  return block[1].replace('/path/to/kling-storyboard/dist/server.js', SERVER);
}

before(() => {
  if (!EGLOT_MISSING) buildServer();
});

test(
  'Emacs eglot with the README config: diagnostics, completion, a code action',
  { skip: EGLOT_MISSING },
  async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kling-eglot-'));
    try {
      cpSync(path.join(ROOT, 'examples'), path.join(dir, 'examples'), { recursive: true });
      writeFileSync(path.join(dir, 'init.el'), readmeConfig());
      copyFileSync(path.join(__dirname, 'clients/eglot-check.el'), path.join(dir, 'check.el'));
      const result = path.join(dir, 'result.json');
      const child = spawn('emacs', ['--batch', '-l', 'check.el'], {
        cwd: dir,
        env: { ...process.env, KLING_EGLOT_RESULT: result, HOME: dir },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += String(d)));
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
        child.on('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      let out: Loose;
      try {
        out = JSON.parse(readFileSync(result, 'utf8'));
      } catch {
        assert.fail(`Emacs wrote no result (exit ${code}): ${stderr.slice(-2000)}`);
      }
      assert.equal(out.error ?? null, null, `${out.error} after ${out.steps.join(', ')}`);
      assert.equal(code, 0);
      assert.equal(out.mode, 'kling-mode');
      const codes = (out.diagnostics as string[]).map((d) => /\[([a-z-]+)\]/.exec(d)?.[1]);
      for (const c of ['unknown-setting', 'undefined-element', 'image-too-small'])
        assert.ok(codes.includes(c), `${c} in ${codes.join()}`);
      assert.ok(!codes.includes('unused-element'), 'initializationOptions severity applied');
      assert.equal(
        (out.at_candidates as string[]).filter((c) => c === 'dog').length,
        1,
        out.at_candidates.join(),
      );
      assert.deepEqual(out.action_titles.slice(0, 2), ['Change to @dog', 'Define element dgo']);
      assert.equal(out.fixed_line, 'The @dog chases its tail.');
      assert.deepEqual(out.block_candidates, ['[scene]', '[shot]', '[element]']);
      assert.match(out.block_rest, /^\[scene Scene \d+\]$/, 'one plain line, no snippet syntax');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

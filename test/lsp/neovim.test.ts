// The real thing: Debian's Neovim (0.7.2 on Debian 12; `.ci/run` installs it) started headless
// with the README's "Neovim 0.7–0.10" config on examples/mistakes.kling. It checks, through
// Neovim's own LSP client, that diagnostics arrive (with the init_options severity applied),
// that `@` completion lists each element once, that `vim.lsp.buf.code_action()` applies a fix
// on a line with CJK and emoji before the error (Neovim echoes byte columns), and that
// `o[<C-x><C-o><C-y>` through `vim.lsp.omnifunc` inserts `[scene …]` once: one line, no NUL
// bytes, no doubled `[`.

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildServer, ROOT, SERVER, type Loose } from './lsp-client';

const nvim = spawnSync('nvim', ['--version'], { encoding: 'utf8' });
const NVIM_MISSING =
  nvim.error || nvim.status !== 0
    ? 'nvim is not installed (Debian: apt-get install neovim; .ci/run installs it) — the real-Neovim test is skipped'
    : undefined;

/** The README's Neovim 0.7–0.10 config, with the server path of this checkout. */
function readmeConfig(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('**Neovim 0.7–0.10**');
  assert.ok(at >= 0, 'README has a Neovim 0.7–0.10 section');
  const block = /```lua\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(block, 'with a lua block');
  assert.ok(block[1].includes('/path/to/kling-storyboard/dist/server.js'));
  return block[1].replace('/path/to/kling-storyboard/dist/server.js', SERVER);
}

/** Drives Neovim; writes what it saw to $KLING_NVIM_RESULT as JSON and quits. */
const CHECK = String.raw`
local out = { steps = {} }
local function finish(err)
  out.error = err
  vim.fn.writefile({ vim.fn.json_encode(out) }, os.getenv('KLING_NVIM_RESULT'))
  vim.cmd('qa!')
end
local function step(name) table.insert(out.steps, name) end

-- 1. diagnostics from the server, with the init_options severity applied
if not vim.wait(20000, function() return #vim.diagnostic.get(0) > 0 end, 50) then
  return finish('no diagnostics arrived')
end
step('diagnostics')
out.filetype = vim.bo.filetype
out.codes = {}
for _, d in ipairs(vim.diagnostic.get(0)) do table.insert(out.codes, d.code) end

-- 2. completion after @ (a request, as completion plugins send it)
local lnum = vim.fn.search('^The @dgo', 'n')
local res = vim.lsp.buf_request_sync(0, 'textDocument/completion', {
  textDocument = vim.lsp.util.make_text_document_params(),
  position = { line = lnum - 1, character = 6 },
}, 10000)
out.at_labels = {}
for _, r in pairs(res or {}) do
  for _, item in ipairs((r.result or {}).items or {}) do table.insert(out.at_labels, item.label) end
end
step('completion')

-- 3. a code action on a line where CJK and emoji come before the error
local prefix = '猫🐶 The '
vim.api.nvim_buf_set_lines(0, lnum - 1, lnum, false, { prefix .. '@dgo chases its tail.' })
local function on_line()
  for _, d in ipairs(vim.diagnostic.get(0, { lnum = lnum - 1 })) do
    if d.code == 'undefined-element' and d.col == #prefix then return true end
  end
  return false
end
if not vim.wait(20000, on_line, 50) then return finish('no diagnostic after the CJK edit') end
vim.api.nvim_win_set_cursor(0, { lnum, #prefix + 2 })
out.action_titles = {}
vim.ui.select = function(items, _, on_choice)
  local chosen
  for i, tuple in ipairs(items) do
    table.insert(out.action_titles, tuple[2].title)
    if not chosen and tuple[2].title == 'Change to @dog' then chosen = i end
  end
  if chosen then on_choice(items[chosen], chosen) else on_choice(nil) end
end
vim.lsp.buf.code_action()
vim.wait(10000, function()
  return vim.api.nvim_buf_get_lines(0, lnum - 1, lnum, false)[1]:find('@dog') ~= nil
end, 50)
out.fixed_line = vim.api.nvim_buf_get_lines(0, lnum - 1, lnum, false)[1]
step('code action')

-- 4. omnifunc completion of a block: o[ <C-x><C-o>, accept the first item
local last = vim.api.nvim_buf_line_count(0)
vim.api.nvim_win_set_cursor(0, { last, 0 })
local keys = function(k) vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(k, true, false, true), 'n', false) end
keys('o[<C-x><C-o>')
local tries = 0
local function poll()
  tries = tries + 1
  if vim.fn.pumvisible() == 1 then
    keys('<C-y><Esc>')
    vim.defer_fn(function()
      out.block_line = vim.api.nvim_buf_get_lines(0, last, last + 1, false)[1]
      out.lines_after = vim.api.nvim_buf_line_count(0) - last
      step('omnifunc')
      finish(nil)
    end, 300)
  elseif tries > 200 then
    finish('no completion popup after o[<C-x><C-o>')
  else
    vim.defer_fn(poll, 50)
  end
end
vim.defer_fn(poll, 50)
`;

function runNeovim(dir: string, file: string): Promise<{ code: number | null; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KLING_NVIM_RESULT: path.join(dir, 'result.json'),
  };
  for (const v of ['XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME', 'XDG_CACHE_HOME'])
    env[v] = path.join(dir, 'xdg');
  const child = spawn(
    'nvim',
    ['--headless', '-n', '-i', 'NONE', '-u', 'init.lua', '-c', 'luafile check.lua', file],
    { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

before(() => {
  if (!NVIM_MISSING) buildServer();
});

test(
  "Debian's Neovim with the README config: diagnostics, completion, a code action",
  { skip: NVIM_MISSING },
  async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kling-nvim-'));
    try {
      // A copy of examples/: the buffer is edited (never written), and Neovim's files stay out of the tree.
      cpSync(path.join(ROOT, 'examples'), path.join(dir, 'examples'), { recursive: true });
      writeFileSync(path.join(dir, 'init.lua'), readmeConfig());
      writeFileSync(path.join(dir, 'check.lua'), CHECK);
      const { code, stderr } = await runNeovim(dir, 'examples/mistakes.kling');
      let out: Loose;
      try {
        out = JSON.parse(readFileSync(path.join(dir, 'result.json'), 'utf8'));
      } catch {
        assert.fail(`Neovim wrote no result (exit ${code}): ${stderr.slice(0, 2000)}`);
      }
      assert.equal(out.error ?? null, null, `${out.error} after ${out.steps.join(', ')}`);
      assert.equal(code, 0);
      assert.equal(out.filetype, 'kling');
      for (const c of ['unknown-setting', 'undefined-element', 'image-too-small'])
        assert.ok(out.codes.includes(c), `${c} in ${out.codes.join()}`);
      assert.ok(!out.codes.includes('unused-element'), 'init_options severity applied');
      assert.equal(
        out.at_labels.filter((l: string) => l === 'dog').length,
        1,
        out.at_labels.join(),
      );
      assert.deepEqual(out.action_titles.slice(0, 2), ['Change to @dog', 'Define element dgo']);
      assert.equal(out.fixed_line, '猫🐶 The @dog chases its tail.');
      // A NUL in the line would make Neovim hand back a list of bytes instead of a string.
      assert.equal(typeof out.block_line, 'string', JSON.stringify(out.block_line));
      assert.match(out.block_line, /^\[scene Scene \d+\]$/);
      assert.equal(out.lines_after, 1, 'one line inserted');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

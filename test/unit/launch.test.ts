// The Node options the language server is started with (server/src/launch.ts) are written out
// again in every editor configuration of the README: this keeps them equal.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SERVER_NODE_OPTIONS } from '../../server/src/launch';

const ROOT = path.resolve(__dirname, '..', '..');

test("every README editor configuration starts the server with the extension's Node options", () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Other editors');
  assert.ok(start >= 0, 'README has an "Other editors" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const blocks = [...section.matchAll(/```\w*\n([\s\S]*?)```/g)]
    .map((m) => m[1])
    .filter((b) => b.includes('dist/server.js'));
  assert.ok(
    blocks.length >= 5,
    `five configurations (Neovim ×2, Helix, eglot, Sublime): ${blocks.length}`,
  );
  assert.ok(SERVER_NODE_OPTIONS.length > 0);
  for (const block of blocks) {
    const server = block.indexOf('dist/server.js');
    for (const option of SERVER_NODE_OPTIONS) {
      const at = block.indexOf(option);
      assert.ok(at >= 0 && at < server, `${option} before the server path in:\n${block}`);
    }
  }
});

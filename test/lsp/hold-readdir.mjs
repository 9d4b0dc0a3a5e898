// Preloaded into the language server by test/lsp/listing.test.ts (NODE_OPTIONS=--import): the
// server's listing of a folder named `held*` waits until the process receives SIGUSR2, and says
// on stderr that it is waiting. It holds the workspace walk of a completion half-way, so the test
// can cancel that completion mid-walk. Nothing else changes: the folder is read afterwards.
import fs from 'node:fs';
import path from 'node:path';

let release;
const released = new Promise((resolve) => (release = resolve));
process.on('SIGUSR2', () => release());

const original = fs.promises.readdir;
fs.promises.readdir = async function (dir, ...rest) {
  if (path.basename(String(dir)).startsWith('held')) {
    process.stderr.write(`hold-readdir: holding ${path.basename(String(dir))}\n`);
    await released;
  }
  return original.call(this, dir, ...rest);
};

// Preloaded into the language server by test/lsp/stale.test.ts (NODE_OPTIONS=--import): the
// server's `stat` and `open` of any file whose name starts with `held.` wait until the process
// receives SIGUSR2. Nothing else changes: the server's own code reads the file afterwards. It holds one
// analysis half-way (its media facts) while a newer version of the document goes past it.
import fs from 'node:fs';

let release;
const released = new Promise((resolve) => (release = resolve));
process.on('SIGUSR2', () => release());

const held = (file) => /(^|[\\/])held\.[^\\/]*$/.test(String(file));
for (const name of ['stat', 'open']) {
  const original = fs.promises[name];
  fs.promises[name] = async function (file, ...rest) {
    if (held(file)) await released;
    return original.call(this, file, ...rest);
  };
}

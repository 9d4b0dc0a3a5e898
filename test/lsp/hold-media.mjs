// Preloaded into the language server by test/lsp/stale.test.ts (NODE_OPTIONS=--import): the
// server's opening (and stat) of any file whose name starts with `held.` waits until the process
// receives SIGUSR2. Nothing else changes: the server's own code reads the file afterwards. It
// holds one analysis half-way (its media facts) while a newer version of the document goes past.
import fs from 'node:fs';

let release;
const released = new Promise((resolve) => (release = resolve));
process.on('SIGUSR2', () => release());

const held = (file) => /(^|[\\/])held\.[^\\/]*$/.test(String(file));

// The callback API (what the server reads media files with) …
for (const name of ['open', 'stat']) {
  const original = fs[name];
  fs[name] = function (file, ...rest) {
    if (!held(file)) return original.call(this, file, ...rest);
    void released.then(() => original.call(this, file, ...rest));
  };
}
// … and the promise API, should it ever be used for them.
for (const name of ['open', 'stat']) {
  const original = fs.promises[name];
  fs.promises[name] = async function (file, ...rest) {
    if (held(file)) await released;
    return original.call(this, file, ...rest);
  };
}

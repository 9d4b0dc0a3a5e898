// Preloaded into the language server by the LSP tests that must catch it half-way
// (NODE_OPTIONS=--import; stale.test.ts, listing.test.ts): until the process receives SIGUSR2,
// - opening (or stat) of a file whose name starts with `held.` waits: an analysis is held in its
//   media facts while a newer version of the document goes past it;
// - listing a folder whose name starts with `held` waits, and says so on stderr: a completion's
//   workspace walk is held so the test can cancel that completion mid-walk.
// Nothing else changes: the server's own code reads the file or folder afterwards.
import fs from 'node:fs';
import path from 'node:path';

let release;
const released = new Promise((resolve) => (release = resolve));
process.on('SIGUSR2', () => release());

const heldFile = (file) => /(^|[\\/])held\.[^\\/]*$/.test(String(file));

// The callback API (what the server reads media files with) …
for (const name of ['open', 'stat']) {
  const original = fs[name];
  fs[name] = function (file, ...rest) {
    if (!heldFile(file)) return original.call(this, file, ...rest);
    void released.then(() => original.call(this, file, ...rest));
  };
}
// … and the promise API, should it ever be used for them.
for (const name of ['open', 'stat']) {
  const original = fs.promises[name];
  fs.promises[name] = async function (file, ...rest) {
    if (heldFile(file)) await released;
    return original.call(this, file, ...rest);
  };
}

const readdir = fs.promises.readdir;
fs.promises.readdir = async function (dir, ...rest) {
  if (path.basename(String(dir)).startsWith('held')) {
    process.stderr.write(`hold-readdir: holding ${path.basename(String(dir))}\n`);
    await released;
  }
  return readdir.call(this, dir, ...rest);
};

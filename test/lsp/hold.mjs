// Preloaded into the language server by the LSP tests that must catch it half-way
// (NODE_OPTIONS=--import; stale.test.ts, listing.test.ts): until the process receives SIGUSR2,
// - opening (or stat) of a file whose name starts with `held.` waits: an analysis is held in its
//   media facts while a newer version of the document goes past it. Only the asynchronous calls
//   wait (what the server uses off a local disk: render/localfs.ts), so
// - with HOLD_REMOTE_DIR set, that folder is a network share (nfs4) in the mount table the server
//   reads, and its files are read asynchronously;
// - listing a folder whose name starts with `held` waits, and says so on stderr: a completion's
//   workspace walk is held so the test can cancel that completion mid-walk.
// And, without waiting for anything: a synchronous open of a file whose name starts with `slow.`
// takes 30 ms more (a disk waking up).
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

const remote = process.env.HOLD_REMOTE_DIR;
if (remote) {
  const readFileSync = fs.readFileSync;
  fs.readFileSync = function (file, ...rest) {
    const text = readFileSync.call(this, file, ...rest);
    if (String(file) !== '/proc/self/mountinfo') return text;
    const point = remote.replace(
      /[\\ \t\n]/g,
      (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'),
    );
    return `${text}9999 1 0:999 / ${point} rw,relatime - nfs4 server:/share rw\n`;
  };
}

const openSync = fs.openSync;
fs.openSync = function (file, ...rest) {
  if (/(^|[\\/])slow\.[^\\/]*$/.test(String(file))) {
    const until = performance.now() + 30;
    while (performance.now() < until);
  }
  return openSync.call(this, file, ...rest);
};

const readdir = fs.promises.readdir;
fs.promises.readdir = async function (dir, ...rest) {
  if (path.basename(String(dir)).startsWith('held')) {
    process.stderr.write(`hold-readdir: holding ${path.basename(String(dir))}\n`);
    await released;
  }
  return readdir.call(this, dir, ...rest);
};

// The language server's entry (dist/server.js): runs the server bundle (dist/server-main.js)
// with a V8 code cache, so a server started again does not compile its code again.
//
// A fresh server spent about a third of its start and part of its first validation compiling
// JavaScript: with the cache, start → first diagnostics of the 2,000-scene benchmark storyboard
// went from 259 to 221 ms, and open → first diagnostics from 83 to 70 ms, in the same bench run
// (README "Benchmarks"). Node 22 has this built in
// (module.enableCompileCache); Node 20 and VS Code's Electron do not, so this does it by hand
// with node:vm, the way Node's own module loader compiles a CommonJS file.
//
// - The cache is V8's bytecode for the bundle's functions, written by the first server a few
//   seconds after it started (by then it has opened a document, so the parser and the checks are
//   compiled), atomically, into the user's cache folder (`cacheDir`). It is named by a hash of the
//   bundle's text and of the Node, V8 and flags running it: V8 itself only checks the text's
//   length, so an updated extension never runs an older bundle's code.
// - V8 refuses a cache made by another V8 or with other flags; then the bundle is compiled as
//   usual and the cache written again. Release builds of V8 do not check the bytes inside a
//   cache, so the file starts with their SHA-256, checked before V8 sees them. Any failure here
//   (no cache folder, an unreadable or damaged file) means the same: the server starts as if
//   there were no cache.
// - KLING_CODE_CACHE=off turns it off; KLING_CODE_CACHE_DIR moves it (tests, the benchmark);
//   KLING_CODE_CACHE_LOG=1 says on stderr what happened.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';

/** How long after start the cache is written: the first document has been opened and checked. */
const WRITE_AFTER_MS = Number(process.env.KLING_CODE_CACHE_DELAY_MS) || 5_000;

const MAIN = path.join(__dirname, 'server-main.js');

function cacheDir(): string {
  if (process.env.KLING_CODE_CACHE_DIR) return process.env.KLING_CODE_CACHE_DIR;
  const home = os.homedir();
  if (process.platform === 'win32') {
    return path.join(
      process.env.LOCALAPPDATA || path.join(home, 'AppData', 'Local'),
      'kling-storyboard',
      'Cache',
    );
  }
  if (process.platform === 'darwin')
    return path.join(home, 'Library', 'Caches', 'kling-storyboard');
  return path.join(process.env.XDG_CACHE_HOME || path.join(home, '.cache'), 'kling-storyboard');
}

function log(message: string): void {
  if (process.env.KLING_CODE_CACHE_LOG === '1')
    process.stderr.write(`kling code cache: ${message}\n`);
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Runs the bundle as Node runs a CommonJS file, from `cachedData` when V8 takes it. */
function run(source: string, cachedData: Buffer | undefined): vm.Script {
  const script = new vm.Script(Module.wrap(source), { filename: MAIN, cachedData });
  const compiled = script.runInThisContext() as (
    exports: object,
    require: NodeJS.Require,
    module: { exports: object },
    filename: string,
    dirname: string,
  ) => void;
  const module = { exports: {} };
  compiled.call(module.exports, module.exports, require, module, MAIN, __dirname);
  return script;
}

/** The cache's bytes when they match the SHA-256 they start with. */
function checked(raw: Buffer): Buffer | undefined {
  const data = raw.subarray(32);
  const sum = createHash('sha256').update(data).digest();
  return raw.length > 32 && sum.equals(raw.subarray(0, 32)) ? data : undefined;
}

function start(): void {
  const source = readFileSync(MAIN, 'utf8');
  if (process.env.KLING_CODE_CACHE === 'off') {
    run(source, undefined);
    return;
  }
  const runtime = [process.version, process.versions.v8, process.arch, ...process.execArgv];
  const bundle = hash(source);
  let dir: string;
  try {
    dir = cacheDir();
  } catch (e) {
    // No home folder to find a cache folder in: no cache.
    log(`off: ${(e as Error).message}`);
    run(source, undefined);
    return;
  }
  const file = path.join(dir, `server-${bundle}-${hash(runtime.join('\n'))}.cache`);
  let raw: Buffer | undefined;
  try {
    raw = readFileSync(file);
  } catch {
    // No cache yet (or unreadable): compiled as usual, written below.
  }
  const cachedData = raw && checked(raw);
  const script = run(source, cachedData);
  if (cachedData && !script.cachedDataRejected) {
    log('used');
    return;
  }
  log(raw ? 'rejected' : 'none');
  setTimeout(() => {
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      const data = script.createCachedData();
      writeFileSync(temp, Buffer.concat([createHash('sha256').update(data).digest(), data]));
      renameSync(temp, file);
      log('written');
      // Caches of other versions of the bundle are never read again.
      for (const name of readdirSync(dir)) {
        if (
          /^server-[0-9a-f]{16}-[0-9a-f]{16}\.cache$/.test(name) &&
          !name.startsWith(`server-${bundle}-`)
        )
          rmSync(path.join(dir, name), { force: true });
      }
    } catch (e) {
      rmSync(temp, { force: true });
      log(`not written: ${(e as Error).message}`);
    }
  }, WRITE_AFTER_MS).unref();
}

start();

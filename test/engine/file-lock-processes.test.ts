// The lock file (render/fsutil.ts `withFileLock`) between real processes whose holders die: while
// several worker processes take the lock in turn, other processes take it and are killed (SIGKILL)
// holding it. Every dead holder's lock is then broken by the waiting workers racing each other,
// and at no moment may two workers be inside at once — a breaker that removed the fresh lock
// another breaker had just taken would let two in.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';

const FSUTIL = path.join(__dirname, '..', '..', 'server', 'src', 'render', 'fsutil.ts');
const WORKERS = 4;
const DEATHS = 30;

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ksb-lock-procs-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves when the child printed `word`, rejects if it closed first. */
function said(child: ReturnType<typeof spawn>, word: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes(word)) resolve();
    });
    child.on('close', (code) => reject(new Error(`exited ${code} before saying ${word}`)));
  });
}

it(`${WORKERS} workers never hold the lock together while ${DEATHS} holders die holding it`, async () => {
  const lock = path.join(dir, 'state', 'uploads.json.lock');
  const inside = path.join(dir, 'inside');
  const stop = path.join(dir, 'stop');
  const worker = path.join(dir, 'worker.mts');
  // Inside the lock a worker creates `inside` exclusively: finding it already there means
  // another worker is inside too.
  writeFileSync(
    worker,
    `import { existsSync, promises as fs } from 'node:fs';
import { withFileLock } from ${JSON.stringify(FSUTIL)};
const [lock, inside, stop] = process.argv.slice(2);
let turns = 0;
let overlaps = 0;
process.stdout.write('ready\\n');
while (!existsSync(stop)) {
  await withFileLock(
    lock,
    async () => {
      let mine = true;
      await fs.writeFile(inside, String(process.pid), { flag: 'wx' }).catch(() => {
        mine = false;
        overlaps++;
      });
      await new Promise((r) => setTimeout(r, 1 + Math.random() * 2));
      if (mine) await fs.rm(inside);
      turns++;
    },
    { waitMs: 60_000, staleMs: 30_000 },
  );
  await new Promise((r) => setTimeout(r, Math.random() * 3));
}
process.stdout.write(JSON.stringify({ turns, overlaps }) + '\\n');
`,
  );
  const workers = Array.from({ length: WORKERS }, () =>
    spawn(process.execPath, ['--import', 'tsx', worker, lock, inside, stop], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const outputs = workers.map((w) => {
    let text = '';
    w.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    return () => text;
  });
  await Promise.all(workers.map((w) => said(w, 'ready')));

  // A holder that takes the lock the way withFileLock does (exclusive create, its pid inside),
  // then waits to be killed.
  const holder = `const fs = require('node:fs'), os = require('node:os'), lock = process.env.LOCK;
const take = () => {
  try {
    const fd = fs.openSync(lock, 'wx');
    fs.writeSync(fd, JSON.stringify({ token: 'h' + process.pid, at: Date.now(),
      owner: { pid: process.pid, host: os.hostname() } }));
    fs.closeSync(fd);
    process.stdout.write('held\\n');
    setInterval(() => undefined, 60_000);
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
    setTimeout(take, 1);
  }
};
take();`;
  for (let death = 0; death < DEATHS; death++) {
    const victim = spawn(process.execPath, ['-e', holder], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, LOCK: lock },
    });
    await said(victim, 'held');
    // Let the workers pile up behind it, then kill it holding the lock.
    await new Promise((r) => setTimeout(r, 20));
    const closed = new Promise((r) => victim.on('close', r));
    victim.kill('SIGKILL');
    await closed;
  }
  writeFileSync(stop, '');
  const codes = await Promise.all(
    workers.map((w) => new Promise<number | null>((resolve) => w.on('close', resolve))),
  );
  assert.deepEqual(codes, Array(WORKERS).fill(0));
  const results = outputs.map((text) => {
    const lines = text().trim().split('\n');
    return JSON.parse(lines.at(-1)!) as { turns: number; overlaps: number };
  });
  for (const r of results) assert.ok(r.turns > 0, 'every worker got the lock');
  assert.deepEqual(
    results.map((r) => r.overlaps),
    Array(WORKERS).fill(0),
    'never two workers inside at once',
  );
});

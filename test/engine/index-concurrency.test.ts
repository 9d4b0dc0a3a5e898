// One index, no lost entries: several real processes sharing a state folder add and remove
// ledger folders in the index at the same moment; every entry that should be there is there.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { knownLedgers, updateLedgerIndex } from '../../server/src/render/state';

const STATE_MODULE = path.join(__dirname, '..', '..', 'server', 'src', 'render', 'state.ts');
const PROCESSES = 5;
const PER_PROCESS = 15;

/**
 * Starts `PROCESSES` workers that each wait for a go file, then add PER_PROCESS ledger folders of
 * their own (removing every second one again when `removeOdd`); resolves when all have exited 0.
 */
async function racingWriters(stateDir: string, removeOdd: boolean): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ksb-index-workers-'));
  const go = path.join(dir, 'go');
  const worker = path.join(dir, 'worker.mts');
  writeFileSync(
    worker,
    `import { existsSync } from 'node:fs';
import { updateLedgerIndex } from ${JSON.stringify(STATE_MODULE)};
const [stateDir, id, go, removeOdd] = process.argv.slice(2);
process.stdout.write('ready\\n');
const started = Date.now();
while (!existsSync(go)) {
  if (Date.now() - started > 60_000) process.exit(3);
  await new Promise((r) => setTimeout(r, 2));
}
await Promise.all(
  Array.from({ length: ${PER_PROCESS} }, async (_, i) => {
    const ledger = '/projects/p' + id + '/out' + i + '/.ledger';
    await updateLedgerIndex(stateDir, ledger, true);
    if (removeOdd === '1' && i % 2 === 1) await updateLedgerIndex(stateDir, ledger, false);
  }),
);
`,
  );
  const children = Array.from({ length: PROCESSES }, (_, id) =>
    spawn(
      process.execPath,
      ['--import', 'tsx', worker, stateDir, String(id), go, removeOdd ? '1' : '0'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    ),
  );
  await Promise.all(
    children.map((c) => new Promise<void>((resolve) => c.stdout!.once('data', () => resolve()))),
  );
  writeFileSync(go, '');
  const codes = await Promise.all(
    children.map((c) => new Promise<number | null>((resolve) => c.on('close', resolve))),
  );
  assert.deepEqual(codes, Array(PROCESSES).fill(0));
}

describe('the index of ledgers with unfinished work', () => {
  it(`${PROCESSES} processes adding at once lose none of each other's entries`, async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'ksb-index-'));
    await racingWriters(stateDir, false);
    const known = await knownLedgers(stateDir);
    assert.equal(known.length, PROCESSES * PER_PROCESS);
    assert.equal(new Set(known).size, known.length);
  });

  it('removals by one process never take away what another added', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'ksb-index-'));
    await updateLedgerIndex(stateDir, '/earlier/.ledger', true);
    await racingWriters(stateDir, true);
    const known = new Set(await knownLedgers(stateDir));
    const expected = ['/earlier/.ledger'];
    for (let id = 0; id < PROCESSES; id++)
      for (let i = 0; i < PER_PROCESS; i += 2) expected.push(`/projects/p${id}/out${i}/.ledger`);
    assert.deepEqual([...known].sort(), expected.sort());
  });

  it('an index written by an earlier version is folded in, not lost', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'ksb-index-'));
    writeFileSync(
      path.join(stateDir, 'index.json'),
      JSON.stringify({ ledgers: ['/old/a/.ledger', '/old/b/.ledger'] }),
    );
    await updateLedgerIndex(stateDir, '/new/.ledger', true);
    assert.deepEqual(await knownLedgers(stateDir), [
      '/new/.ledger',
      '/old/a/.ledger',
      '/old/b/.ledger',
    ]);
  });
});

// The global state folder shared by the extension and the CLI: an index of ledger folders with
// unfinished work (so either can resume after a restart) and the KIE upload cache.
//   $KLING_STORYBOARD_STATE_DIR, else $XDG_STATE_HOME/kling-storyboard, else ~/.local/state/kling-storyboard
// The index is one small file per ledger folder in `<state>/ledgers/` (named by the hash of the
// folder's path, holding `{"ledger": "<path>"}`), so processes sharing the state folder add and
// remove their own entries without rewriting each other's: none is ever lost to a concurrent
// writer. A `index.json` from an earlier version is folded in when read.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as z from 'zod/mini';
import { readJsonFile, writeFileAtomic } from './fsutil';
import { sha256 } from './hash';

/** The state folder for this user (see the file comment for the lookup order). */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KLING_STORYBOARD_STATE_DIR) return path.resolve(env.KLING_STORYBOARD_STATE_DIR);
  const xdg =
    env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : undefined;
  return path.join(xdg ?? path.join(os.homedir(), '.local', 'state'), 'kling-storyboard');
}

const entrySchema = z.object({ ledger: z.string() });
const legacySchema = z.object({ ledgers: z.array(z.string()) });

/** The index folder: one file per ledger folder with unfinished work. */
export function indexDir(stateDir: string): string {
  return path.join(stateDir, 'ledgers');
}

function entryFile(stateDir: string, ledgerDir: string): string {
  return path.join(indexDir(stateDir), `${sha256(ledgerDir).slice(0, 32)}.json`);
}

/** Ledger folders recorded as holding unfinished work, in a stable order. */
export async function knownLedgers(stateDir: string): Promise<string[]> {
  await foldLegacyIndex(stateDir);
  let names: string[];
  try {
    names = await fs.readdir(indexDir(stateDir));
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names.sort()) {
    if (!name.endsWith('.json')) continue;
    const parsed = entrySchema.safeParse(await readJsonFile(path.join(indexDir(stateDir), name)));
    if (parsed.success) out.push(parsed.data.ledger);
  }
  return out.sort();
}

/** Adds or removes a ledger folder in the index (its own file: concurrent writers never collide). */
export async function updateLedgerIndex(
  stateDir: string,
  ledgerDir: string,
  unfinished: boolean,
): Promise<void> {
  const file = entryFile(stateDir, ledgerDir);
  if (!unfinished) {
    await fs.rm(file, { force: true });
    return;
  }
  const parsed = entrySchema.safeParse(await readJsonFile(file));
  if (parsed.success && parsed.data.ledger === ledgerDir) return;
  await writeFileAtomic(file, JSON.stringify({ ledger: ledgerDir }, null, 2) + '\n');
}

/** Moves the entries of an earlier version's single `index.json` into the index folder. */
async function foldLegacyIndex(stateDir: string): Promise<void> {
  const legacy = path.join(stateDir, 'index.json');
  const parsed = legacySchema.safeParse(await readJsonFile(legacy));
  if (!parsed.success) return;
  for (const dir of parsed.data.ledgers) await updateLedgerIndex(stateDir, dir, true);
  await fs.rm(legacy, { force: true });
}

// The global state folder shared by the extension and the CLI: an index of ledger folders with
// unfinished work (so either can resume after a restart) and the KIE upload cache.
//   $KLING_STORYBOARD_STATE_DIR, else $XDG_STATE_HOME/kling-storyboard, else ~/.local/state/kling-storyboard
import os from 'node:os';
import path from 'node:path';
import * as z from 'zod/mini';
import { readJsonFile, writeFileAtomic } from './fsutil';

/** The state folder for this user (see the file comment for the lookup order). */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KLING_STORYBOARD_STATE_DIR) return path.resolve(env.KLING_STORYBOARD_STATE_DIR);
  const xdg =
    env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : undefined;
  return path.join(xdg ?? path.join(os.homedir(), '.local', 'state'), 'kling-storyboard');
}

const indexSchema = z.object({ ledgers: z.array(z.string()) });

function indexFile(stateDir: string): string {
  return path.join(stateDir, 'index.json');
}

/** Ledger folders recorded as holding unfinished work. */
export async function knownLedgers(stateDir: string): Promise<string[]> {
  const parsed = indexSchema.safeParse(await readJsonFile(indexFile(stateDir)));
  return parsed.success ? parsed.data.ledgers : [];
}

/** Adds or removes a ledger folder in the index (read-modify-write; last writer wins). */
export async function updateLedgerIndex(
  stateDir: string,
  ledgerDir: string,
  unfinished: boolean,
): Promise<void> {
  const current = await knownLedgers(stateDir);
  const has = current.includes(ledgerDir);
  if (has === unfinished) return;
  const next = unfinished ? [...current, ledgerDir] : current.filter((d) => d !== ledgerDir);
  await writeFileAtomic(indexFile(stateDir), JSON.stringify({ ledgers: next }, null, 2) + '\n');
}

// Where an output folder's task ledger lives (README, "The ledger"): the one home of that folder
// name. render/ledger.ts re-exports it for the engine; the language server's cost history imports
// it from here, so its bundle does not take in the whole ledger (and zod) for one path.
import path from 'node:path';

/** The name of the ledger folder inside an output folder. */
export const LEDGER_FOLDER_NAME = '.ledger';

/** The ledger folder of an output folder. */
export function ledgerDirFor(outputDir: string): string {
  return path.join(outputDir, LEDGER_FOLDER_NAME);
}

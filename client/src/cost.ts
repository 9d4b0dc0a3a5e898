// Cost estimates for the VS Code views (CodeLens, storyboard preview, Preview Request, the
// confirmation before paying): the core's estimate with the user's `kling.rates` and the costs
// reported for this storyboard's earlier takes.
import type * as vscode from 'vscode';
import type { CostEstimate, EstimateOptions } from '../../server/src/core/estimate';
import { estimateRequest } from '../../server/src/core/estimate';
import { parseStoryboard } from '../../server/src/core/parse';
import { buildRequests } from '../../server/src/core/request';
import { costObservations } from '../../server/src/render/cost';
import type { LedgerEntry } from '../../server/src/render/types';
import { readSettings } from './settings';

/** Rates from `kling.rates` and history from these ledger entries. */
export function estimateOptions(
  scope: vscode.ConfigurationScope | undefined,
  entries: readonly LedgerEntry[],
): EstimateOptions {
  return { overrides: readSettings(scope).rates, history: costObservations(entries) };
}

/** Each scene's estimate, by scene index (scenes whose request cannot be built are absent). */
export function sceneEstimates(
  text: string,
  scope: vscode.ConfigurationScope | undefined,
  entries: readonly LedgerEntry[],
  scenes?: number[],
): Map<number, CostEstimate> {
  const { defaultProvider } = readSettings(scope);
  const options = estimateOptions(scope, entries);
  const out = new Map<number, CostEstimate>();
  for (const r of buildRequests(parseStoryboard(text).storyboard, { defaultProvider, scenes }))
    out.set(r.sceneIndex, estimateRequest(r, options));
  return out;
}

// Costs around the engine: what providers reported for finished takes (kept in the ledger as
// `reportedCost`), turned into observations that refine the next estimate, and the estimate of
// a set of built requests. The estimate itself is pure and lives in core/estimate.ts.
import {
  costProfile,
  costUnit,
  estimateRequest,
  formatEstimate,
  totalEstimate,
  type CostEstimate,
  type CostObservation,
  type CostTotal,
  type EstimateOptions,
} from '../core/estimate';
import type { Provider } from '../core/ast';
import type { LedgerEntry } from './types';

/** The cost a provider reported for each finished take with one, as estimate history. */
export function costObservations(entries: readonly LedgerEntry[]): CostObservation[] {
  const out: CostObservation[] = [];
  for (const e of entries) {
    if (e.reportedCost === undefined) continue;
    const profile = costProfile(e.provider, e.request);
    if (profile.seconds <= 0) continue;
    out.push({ ...profile, cost: e.reportedCost, at: e.finishedAt ?? e.updatedAt });
  }
  return out;
}

/**
 * A reported cost read from a provider's task object: Kling `final_unit_deduction` (a string),
 * KIE's optional `consumeCredits` / `creditsConsumed` extras (server/docs/providers.md). Only a
 * finite number ≥ 0 counts; anything else is "not reported".
 */
export function reportedCostOf(data: unknown): number | undefined {
  if (!data || typeof data !== 'object') return undefined;
  const d = data as Record<string, unknown>;
  for (const key of ['final_unit_deduction', 'consumeCredits', 'creditsConsumed']) {
    const v = d[key];
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() ? Number(v) : NaN;
    if (Number.isFinite(n) && n >= 0) return n;
  }
  return undefined;
}

/** "150 credits" / "3 units" for a take's reported cost; undefined when none was reported. */
export function formatReportedCost(
  e: Pick<LedgerEntry, 'provider' | 'reportedCost'>,
): string | undefined {
  if (e.reportedCost === undefined) return undefined;
  return `${Number.isInteger(e.reportedCost) ? e.reportedCost : e.reportedCost.toFixed(2)} ${costUnit(e.provider)}`;
}

/** The total cost providers reported for these takes, per unit, and how many reported one. */
export function reportedTotal(entries: readonly LedgerEntry[]): {
  credits: number;
  units: number;
  takes: number;
  unreported: number;
} {
  const t = { credits: 0, units: 0, takes: 0, unreported: 0 };
  for (const e of entries) {
    if (e.reportedCost === undefined) {
      if (e.state === 'done') t.unreported++;
      continue;
    }
    t.takes++;
    if (costUnit(e.provider) === 'credits') t.credits += e.reportedCost;
    else t.units += e.reportedCost;
  }
  return t;
}

/** Estimates of built requests (one per scene) and their total. */
export function estimateAll(
  requests: readonly { provider: Provider; body: unknown }[],
  options: EstimateOptions,
): { estimates: CostEstimate[]; total: CostTotal } {
  const estimates = requests.map((r) => estimateRequest(r, options));
  const provider = requests[0]?.provider ?? 'kie';
  return { estimates, total: totalEstimate(estimates, costUnit(provider)) };
}

/** What a request preview shows about its cost. */
export interface PreviewEstimate {
  /** "≈ 240 credits" or "cost unknown". */
  cost: string;
  amount?: number;
  unit: 'credits' | 'units';
  /** Where the figure comes from; every figure is an estimate. */
  basis: string;
}

/** Adds `estimate` to each request preview (objects with `provider` and `body`). */
export function withEstimates(previews: unknown[], options: EstimateOptions): unknown[] {
  return previews.map((p) => {
    const o = p as { provider?: unknown; body?: unknown };
    if (o.provider !== 'kie' && o.provider !== 'kling') return p;
    const e = estimateRequest({ provider: o.provider, body: o.body }, options);
    const estimate: PreviewEstimate = {
      cost: formatEstimate(e),
      ...(e.amount === undefined ? {} : { amount: Math.round(e.amount * 100) / 100 }),
      unit: e.unit,
      basis: `estimate: ${e.basis}`,
    };
    return { ...(p as object), estimate };
  });
}

// What a scene will cost, before anything is spent: credits on KIE, units on Kling. Pure: the
// rate table, the user's overrides and the costs providers reported for earlier takes are all
// passed in. Neither provider documents a per-second price for Kling 3.0 (README "Cost
// estimates"): the default KIE rates are community figures, so every figure is an estimate,
// and where no rate is known the answer is "unknown" — never 0.

import type { Provider } from './ast';

export type CostMode = 'std' | 'pro' | '4K';

/** What the price depends on, read from the request body that would be sent. */
export interface CostProfile {
  provider: Provider;
  seconds: number;
  mode: CostMode;
  sound: boolean;
}

/** Per-second rates: `rates[provider][mode][sound ? 'sound' : 'silent']`; absent = unknown. */
export type RateTable = Record<
  Provider,
  Partial<Record<CostMode, { sound?: number; silent?: number }>>
>;

/**
 * Default rates (README "Cost estimates"). KIE: 12 credits/s for std without sound (community
 * registries), the other cells from a reseller's US$ per second (std 0.06 / 0.09 with sound,
 * pro 0.085 / 0.12) at 1 credit ≈ US$0.005. No figure exists for 4K on KIE or for any Kling
 * unit price, so those stay unknown.
 */
export const DEFAULT_RATES: RateTable = {
  kie: { std: { silent: 12, sound: 18 }, pro: { silent: 17, sound: 24 } },
  kling: {},
};

/** A cost a provider reported for one of the user's finished takes. */
export interface CostObservation extends CostProfile {
  /** Credits (KIE) or units (Kling) charged. */
  cost: number;
  /** When the take finished (ms epoch): the latest takes weigh in. */
  at: number;
}

export type EstimateSource = 'history' | 'setting' | 'default';

export interface CostEstimate extends CostProfile {
  unit: 'credits' | 'units';
  /** Estimated cost; undefined when no rate is known. */
  amount?: number;
  perSecond?: number;
  source?: EstimateSource;
  /** Earlier takes the rate comes from (source `history`). */
  takes?: number;
  /** Why this figure: "community figure, not documented", "from your last 4 takes in pro with sound"… */
  basis: string;
}

export interface EstimateOptions {
  /** The user's rates (`kling.rates`, `--rates`, `KLING_STORYBOARD_RATES`); win over the defaults. */
  overrides?: Partial<RateTable>;
  /** Costs reported for earlier takes; win over any table (they are what was charged). */
  history?: readonly CostObservation[];
  /** The defaults (tests swap them); DEFAULT_RATES when absent. */
  defaults?: RateTable;
}

/** At most this many of the latest matching takes make a rate from history. */
export const HISTORY_TAKES = 5;

/** The unit a provider bills in. */
export function costUnit(provider: Provider): 'credits' | 'units' {
  return provider === 'kie' ? 'credits' : 'units';
}

/**
 * The cost profile of a request body (what is actually sent, so the estimate matches the bill):
 * KIE `input.{duration, mode, sound}` (a multi-shot scene without `sound` has sound, KIE's
 * default), Kling `{duration, mode, sound: "on"|"off"}`.
 */
export function costProfile(provider: Provider, body: unknown): CostProfile {
  const b = (body ?? {}) as Record<string, unknown>;
  if (provider === 'kie') {
    const input = (b.input ?? {}) as Record<string, unknown>;
    const sound =
      typeof input.sound === 'boolean' ? input.sound : input.multi_shots === true ? true : false;
    return { provider, seconds: seconds(input.duration), mode: modeOf(input.mode), sound };
  }
  return { provider, seconds: seconds(b.duration), mode: modeOf(b.mode), sound: b.sound === 'on' };
}

function seconds(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

function modeOf(value: unknown): CostMode {
  return value === 'pro' ? 'pro' : value === '4K' ? '4K' : 'std';
}

/** "pro with sound", "std without sound". */
export function describeProfile(p: Pick<CostProfile, 'mode' | 'sound'>): string {
  return `${p.mode} ${p.sound ? 'with' : 'without'} sound`;
}

/** The estimated cost of one request. */
export function estimateCost(profile: CostProfile, options: EstimateOptions = {}): CostEstimate {
  const unit = costUnit(profile.provider);
  const base: CostEstimate = { ...profile, unit, basis: '' };
  const matching = (options.history ?? [])
    .filter(
      (o) =>
        o.provider === profile.provider &&
        o.mode === profile.mode &&
        o.sound === profile.sound &&
        o.seconds > 0 &&
        Number.isFinite(o.cost) &&
        o.cost >= 0,
    )
    .sort((a, b) => b.at - a.at)
    .slice(0, HISTORY_TAKES);
  if (matching.length) {
    const perSecond =
      matching.reduce((s, o) => s + o.cost, 0) / matching.reduce((s, o) => s + o.seconds, 0);
    const takes = matching.length;
    return {
      ...base,
      perSecond,
      amount: perSecond * profile.seconds,
      source: 'history',
      takes,
      basis: `from your last ${takes === 1 ? 'take' : `${takes} takes`} in ${describeProfile(profile)}`,
    };
  }
  const cell = (table: Partial<RateTable> | undefined) => {
    const rate = table?.[profile.provider]?.[profile.mode]?.[profile.sound ? 'sound' : 'silent'];
    return typeof rate === 'number' && Number.isFinite(rate) && rate >= 0 ? rate : undefined;
  };
  const own = cell(options.overrides);
  if (own !== undefined) {
    return {
      ...base,
      perSecond: own,
      amount: own * profile.seconds,
      source: 'setting',
      basis: `your rate: ${formatNumber(own)} ${unit}/s in ${describeProfile(profile)}`,
    };
  }
  const def = cell(options.defaults ?? DEFAULT_RATES);
  if (def !== undefined) {
    return {
      ...base,
      perSecond: def,
      amount: def * profile.seconds,
      source: 'default',
      basis: `${formatNumber(def)} ${unit}/s in ${describeProfile(profile)}: a community figure, not documented by ${profile.provider === 'kie' ? 'KIE' : 'Kling'}`,
    };
  }
  return {
    ...base,
    basis: `no known rate for ${profile.provider} in ${describeProfile(profile)}: set one in kling.rates (or --rates)`,
  };
}

/** `150`, `1.5`, `0.25`: whole numbers from 10 up, else at most two decimals. */
export function formatNumber(n: number): string {
  if (n >= 10 || Number.isInteger(n)) return String(Math.round(n));
  return String(Math.round(n * 100) / 100);
}

/** "≈ 150 credits" or "cost unknown". */
export function formatEstimate(e: Pick<CostEstimate, 'amount' | 'unit'>): string {
  return e.amount === undefined ? 'cost unknown' : `≈ ${formatNumber(e.amount)} ${e.unit}`;
}

/** A sum of estimates: the known part and how many are unknown. */
export interface CostTotal {
  unit: 'credits' | 'units';
  /** Sum of the known estimates. */
  amount: number;
  /** Requests whose cost is unknown (not counted in `amount`). */
  unknown: number;
  /** Requests counted (known + unknown). */
  count: number;
}

/** Sums estimates of one provider's requests (a storyboard has one provider). */
export function totalEstimate(
  estimates: readonly Pick<CostEstimate, 'amount' | 'unit'>[],
  unit: 'credits' | 'units' = estimates[0]?.unit ?? 'credits',
): CostTotal {
  let amount = 0;
  let unknown = 0;
  for (const e of estimates) {
    if (e.amount === undefined) unknown++;
    else amount += e.amount;
  }
  return { unit, amount, unknown, count: estimates.length };
}

/** "≈ 450 credits", "≈ 300 credits + 1 scene of unknown cost", "cost unknown", "nothing". */
export function formatTotal(t: CostTotal): string {
  if (t.count === 0) return `0 ${t.unit}`;
  if (t.unknown === t.count) return 'cost unknown';
  const known = `≈ ${formatNumber(t.amount)} ${t.unit}`;
  return t.unknown
    ? `${known} + ${t.unknown} scene${t.unknown === 1 ? '' : 's'} of unknown cost`
    : known;
}

/**
 * Parses a user's rate table: JSON (`{"kie.pro.sound": 24}` or nested
 * `{"kie": {"pro": {"sound": 24}}}`) or `kie.pro.sound=24,kling.std=0.5`. A key without
 * `.sound`/`.silent` sets both. Returns the table and one line per entry it could not read.
 */
export function parseRates(input: unknown): { rates: Partial<RateTable>; errors: string[] } {
  const rates: Partial<RateTable> = {};
  const errors: string[] = [];
  let flat: [string, unknown][] = [];
  if (typeof input === 'string') {
    const text = input.trim();
    if (text === '') return { rates, errors };
    if (text.startsWith('{')) {
      try {
        return parseRates(JSON.parse(text));
      } catch {
        return { rates, errors: ['rates: not valid JSON'] };
      }
    }
    for (const part of text.split(/[,;\s]+/).filter(Boolean)) {
      const eq = part.indexOf('=');
      if (eq < 0) errors.push(`rates: "${part}" is not KEY=NUMBER`);
      else flat.push([part.slice(0, eq), part.slice(eq + 1)]);
    }
  } else if (input && typeof input === 'object') {
    flat = flatten(input as Record<string, unknown>, '');
  } else if (input !== undefined && input !== null) {
    errors.push('rates: expected an object or KEY=NUMBER list');
  }
  for (const [key, raw] of flat) {
    const [provider, mode, sound, ...rest] = key.split('.');
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : NaN;
    const modeOk = mode === 'std' || mode === 'pro' || mode === '4K';
    const soundOk = sound === undefined || sound === 'sound' || sound === 'silent';
    if ((provider !== 'kie' && provider !== 'kling') || !modeOk || !soundOk || rest.length) {
      errors.push(`rates: unknown key "${key}" (expected kie|kling . std|pro|4K [. sound|silent])`);
      continue;
    }
    if (!Number.isFinite(value) || value < 0) {
      errors.push(`rates: "${key}" needs a number ≥ 0`);
      continue;
    }
    const byMode = (rates[provider] ??= {});
    const cell = (byMode[mode] ??= {});
    if (sound !== 'silent') cell.sound = value;
    if (sound !== 'sound') cell.silent = value;
  }
  return { rates, errors };
}

function flatten(obj: Record<string, unknown>, prefix: string): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v))
      out.push(...flatten(v as Record<string, unknown>, key));
    else out.push([key, v]);
  }
  return out;
}

/** Combines rate tables: later ones win cell by cell. */
export function mergeRates(...tables: (Partial<RateTable> | undefined)[]): Partial<RateTable> {
  const out: Partial<RateTable> = {};
  for (const t of tables) {
    if (!t) continue;
    for (const provider of ['kie', 'kling'] as const) {
      for (const [mode, cell] of Object.entries(t[provider] ?? {})) {
        const target = ((out[provider] ??= {})[mode as CostMode] ??= {});
        if (cell?.sound !== undefined) target.sound = cell.sound;
        if (cell?.silent !== undefined) target.silent = cell.silent;
      }
    }
  }
  return out;
}

/** The estimate of a built request (`buildRequests` output, or a ledger entry's body). */
export function estimateRequest(
  request: { provider: Provider; body: unknown },
  options: EstimateOptions = {},
): CostEstimate {
  return estimateCost(costProfile(request.provider, request.body), options);
}

/** What estimate history needs of a recorded take (the engine's ledger entries have it). */
export interface RecordedTake {
  state: string;
  provider: Provider;
  /** The body as sent. */
  request: unknown;
  /** What the provider reported charging. */
  reportedCost?: number;
  finishedAt?: number;
  updatedAt: number;
}

/**
 * The costs providers reported for finished takes, as estimate history. Only done takes count:
 * a failed task's charge says little about the price of a video.
 */
export function takeObservations(takes: readonly RecordedTake[]): CostObservation[] {
  const out: CostObservation[] = [];
  for (const t of takes) {
    if (t.state !== 'done' || typeof t.reportedCost !== 'number') continue;
    const profile = costProfile(t.provider, t.request);
    if (profile.seconds <= 0) continue;
    out.push({ ...profile, cost: t.reportedCost, at: t.finishedAt ?? t.updatedAt });
  }
  return out;
}

/** What a provider reported charging for one earlier task billed per task (Expand Element Views). */
export interface TaskObservation {
  cost: number;
  /** When the task finished (ms epoch): the latest ones weigh in. */
  at: number;
}

/** The estimate of a task billed per task rather than per second of video. */
export type TaskEstimate = Pick<CostEstimate, 'unit' | 'amount' | 'source' | 'takes' | 'basis'>;

/**
 * The estimate of one Expand Element Views task (Kling AI Multi-Shot), billed in Kling units per
 * task. Kling documents no price for it (README "Cost estimates"), so the figure comes only from
 * what Kling reported for the user's latest (up to 5) views tasks; before the first, "unknown".
 */
export function estimateViews(history: readonly TaskObservation[]): TaskEstimate {
  const unit = costUnit('kling');
  const matching = history
    .filter((o) => Number.isFinite(o.cost) && o.cost >= 0)
    .sort((a, b) => b.at - a.at)
    .slice(0, HISTORY_TAKES);
  if (!matching.length) {
    return {
      unit,
      basis:
        'no known price for Kling AI Multi-Shot (Kling documents none); the cost Kling reports for your first views task is used from then on',
    };
  }
  const takes = matching.length;
  return {
    unit,
    amount: matching.reduce((s, o) => s + o.cost, 0) / takes,
    source: 'history',
    takes,
    basis: `from your last ${takes === 1 ? 'views task' : `${takes} views tasks`} (Kling AI Multi-Shot)`,
  };
}

// Costs around the engine: what providers reported for finished takes (kept in the ledger as
// `reportedCost`), turned into observations that refine the next estimate, and the estimate of
// a set of built requests. The estimate itself is pure and lives in core/estimate.ts.
import {
  costUnit,
  estimateRequest,
  formatEstimate,
  formatNumber,
  formatTotal,
  totalEstimate,
  type CostEstimate,
  takeObservations,
  type CostObservation,
  type CostTotal,
  type EstimateOptions,
  type TaskEstimate,
} from '../core/estimate';
import { finalMessage } from '../providers/http';
import type { Provider } from '../core/ast';
import { continuityLinks } from '../core/continuity';
import { parseStoryboard } from '../core/parse';
import { PlanLookups, planRender, realOr, type PlanOptions, type ScenePlan } from './plan';
import { sha256 } from './hash';
import { ledgerDirFor } from './ledgerdir';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { LedgerEntry } from './types';

/** The cost a provider reported for each finished take with one, as estimate history. */
export const costObservations: (entries: readonly LedgerEntry[]) => CostObservation[] =
  takeObservations;

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

/** What a render would pay for, from its plan: each scene's line, the total and one summary line. */
export interface PlanCost {
  /** Scenes that would be submitted (new, paid takes). */
  submit: number;
  /** Scenes whose existing take is reused (nothing paid). */
  reused: number;
  refused: number;
  /** Estimated total of the scenes to submit. */
  total: CostTotal;
  /** One line per scene: `Morning run: submit, ≈ 240 credits (basis)` / `reused take 1, 0 credits`. */
  scenes: {
    sceneIndex: number;
    title: string;
    action: ScenePlan['action'];
    line: string;
    /** The take a `reuse` scene reuses. */
    take?: number;
  }[];
  /** `3 scenes to submit, 2 reused: ≈ 450 credits (estimate)`. */
  summary: string;
}

/**
 * Scenes a render submits only after another one finished (`continue-from`, render/continuity.ts):
 * planned before their source's last frame exists, they look refused, yet they will be paid for.
 */
export function continuityTargets(text: string): Set<number> {
  const links = continuityLinks(parseStoryboard(text).storyboard);
  return new Set(links.filter((l) => l.valid && l.source).map((l) => l.scene.index));
}

/**
 * Totals what a plan would submit; reused takes cost nothing (a scene sending the same request
 * as an earlier one reuses the take made for that one, as render does), refused scenes are not
 * sent — except those in `later` (continuity targets), which are counted as submitted.
 */
export function costOfPlan(
  plans: readonly ScenePlan[],
  options: EstimateOptions,
  later: ReadonlySet<number> = new Set(),
): PlanCost {
  const provider = plans[0]?.scene.provider ?? 'kie';
  const unit = costUnit(provider);
  const estimates: CostEstimate[] = [];
  const scenes: PlanCost['scenes'] = [];
  let reused = 0;
  let refused = 0;
  /** The first scene to submit each request: another scene sending it reuses that take (render). */
  const making = new Map<string, string>();
  for (const p of plans) {
    const title = p.scene.sceneTitle;
    let line: string;
    const first = p.action === 'submit' ? making.get(p.take.requestHash) : undefined;
    if (first !== undefined) {
      reused++;
      line = `${title}: the same request as ${first}: reuses the take made for it, 0 ${unit}`;
    } else if (p.action === 'submit') {
      making.set(p.take.requestHash, title);
      const e = estimateRequest(p.scene, options);
      estimates.push(e);
      line = `${title}: submit, ${formatEstimate(e)} (estimate: ${e.basis})`;
    } else if (p.action === 'reuse') {
      reused++;
      line = `${title}: reuses take ${p.take.take} (${p.how === 'rendered' ? 'done' : p.take.state}), 0 ${unit}`;
    } else if (later.has(p.scene.sceneIndex)) {
      const e = estimateRequest(p.scene, options);
      estimates.push(e);
      line = `${title}: submit after the scene it continues from, ${formatEstimate(e)} (estimate: ${e.basis})`;
    } else {
      refused++;
      line = `${title}: not sent`;
    }
    scenes.push({
      sceneIndex: p.scene.sceneIndex,
      title,
      action: p.action,
      line,
      ...(p.action === 'reuse' ? { take: p.take.take } : {}),
    });
  }
  const total = totalEstimate(estimates, unit);
  const parts = [
    total.count
      ? `${total.count} scene${total.count === 1 ? '' : 's'} to submit`
      : 'nothing to submit',
  ];
  if (reused) parts.push(`${reused} reused`);
  if (refused) parts.push(`${refused} not sent`);
  const summary = `${parts.join(', ')}: ${total.count ? `${formatTotal(total)} (estimate)` : `0 ${unit}`}`;
  return { submit: total.count, reused, refused, total, scenes, summary };
}

/**
 * What generating every scene of a storyboard would pay for, decided as render decides it
 * (`planRender`: a scene whose request already has a take in the ledger reuses it, at no cost),
 * whether or not keys are set. Nothing is sent; media are read to know the requests' identity.
 */
export async function previewCost(
  opts: PlanOptions,
  storyboardPath: string,
  text: string,
  options: EstimateOptions,
  scenes?: number[],
): Promise<PlanCost> {
  const plans = await planRender(opts, { storyboardPath, text, scenes, ignoreKeys: true });
  return costOfPlan(plans, options, continuityTargets(text));
}

/**
 * The storyboard preview's total: `≈ 85 credits to generate (estimate) · 1 scene reused, not
 * charged` — only what would be paid; reused and unsendable scenes said beside it.
 */
export function formatPreviewTotal(cost: PlanCost, unit = cost.total.unit): string {
  const t = cost.total;
  const parts = [t.count ? `${formatTotal(t)} to generate (estimate)` : `0 ${unit} to generate`];
  if (cost.reused)
    parts.push(`${cost.reused} scene${cost.reused === 1 ? '' : 's'} reused, not charged`);
  if (cost.refused)
    parts.push(`${cost.refused} scene${cost.refused === 1 ? '' : 's'} cannot be sent yet`);
  return parts.join(' · ');
}

/**
 * Per scene index, the words for a scene that Generate would not charge because its unchanged
 * request reuses a take (`reuses take 2, not charged`, as the preview's "reused, not charged");
 * scenes absent from the map would be paid for (or not sent) and show their estimate.
 */
export function reusedSceneLabels(cost: PlanCost): Map<number, string> {
  const out = new Map<number, string>();
  for (const s of cost.scenes)
    if (s.action === 'reuse' && s.take !== undefined)
      out.set(s.sceneIndex, `reuses take ${s.take}, not charged`);
  return out;
}

/**
 * Why a run must not submit under a budget of `max` (credits on KIE, units on Kling), or
 * undefined when it fits. An unknown cost never fits a budget: it could be anything.
 */
export function overBudget(total: CostTotal, max: number): string | undefined {
  if (total.count === 0) return undefined;
  if (total.unknown)
    return `the cost of ${total.unknown} scene${total.unknown === 1 ? '' : 's'} to submit is unknown, so a budget of ${formatNumber(max)} ${total.unit} cannot be checked (set a rate with --rates)`;
  if (total.amount > max)
    return `the estimate ${formatTotal(total)} is above the budget of ${formatNumber(max)} ${total.unit}`;
  return undefined;
}

/** Why a balance is too low for what is about to be submitted, or undefined when it suffices. */
export function balanceShortfall(total: CostTotal, balance: number): string | undefined {
  if (total.count === 0 || total.amount <= balance) return undefined;
  return `the balance of ${formatNumber(balance)} ${total.unit} is below the estimate of ${formatNumber(total.amount)} ${total.unit} for ${total.count} scene${total.count === 1 ? '' : 's'} to submit`;
}

/**
 * What Expand Element Views would pay for one frontal image, in the shape of a render's plan
 * cost so the same budget, balance and confirmation apply: a new AI Multi-Shot task at its
 * estimate, or views reused (nothing paid).
 */
export function costOfViews(
  label: string,
  decision: { action: 'submit'; estimate: TaskEstimate } | { action: 'reuse'; take: number },
): PlanCost {
  if (decision.action === 'reuse') {
    return {
      submit: 0,
      reused: 1,
      refused: 0,
      total: { unit: 'units', amount: 0, unknown: 0, count: 0 },
      scenes: [
        {
          sceneIndex: 0,
          title: label,
          action: 'reuse',
          line: `${label}: reuses views take ${decision.take}, 0 units`,
        },
      ],
      summary: `${label}: nothing to submit, views take ${decision.take} reused: 0 units`,
    };
  }
  const e = decision.estimate;
  const total = totalEstimate([e], e.unit);
  return {
    submit: 1,
    reused: 0,
    refused: 0,
    total,
    scenes: [
      {
        sceneIndex: 0,
        title: label,
        action: 'submit',
        line: `${label}: submit 1 AI Multi-Shot task, ${formatEstimate(e)} (estimate: ${e.basis})`,
      },
    ],
    summary: `${label}: 1 AI Multi-Shot task to submit: ${formatTotal(total)} (estimate)`,
  };
}

/** What a front end supplies to ask before paying (the extension: modal dialogs and its log). */
export interface SpendQuestions {
  provider: Provider;
  /** The balance (`RenderEngine.balance`): undefined where the API has none (Kling); may throw. */
  balance: () => Promise<number | undefined>;
  /** Asks a question; true when the user chooses `action`. */
  ask: (message: string, detail: string, action: string) => Promise<boolean>;
  /** Tells the user something went wrong and the run goes on (an unreadable balance). */
  warn: (line: string) => void;
  /** Writes a line to the front end's log. */
  log: (line: string) => void;
  /** Ask when the estimate is above this (`kling.confirmAboveCredits`) or unknown; absent: only the balance asks. */
  confirmAbove?: number;
  /** The verb on the confirmation: "Generate", "Expand Views". */
  action: string;
}

/**
 * Before anything is uploaded or submitted: the balance (below the estimate → ask, nothing sent
 * unless the user says so; unreadable → say so and go on) and, with `confirmAbove`, a question
 * when the estimate is above it or unknown. False: send nothing. Nothing to pay: true at once.
 */
export async function approveSpend(cost: PlanCost, q: SpendQuestions): Promise<boolean> {
  if (cost.submit === 0) return true;
  const detail = cost.scenes.map((s) => s.line).join('\n');
  let balance: number | undefined;
  try {
    balance = await q.balance();
  } catch (err) {
    q.warn(`Could not read the ${q.provider} balance (${finalMessage(err)}); going on without it.`);
  }
  if (balance !== undefined) {
    const short = balanceShortfall(cost.total, balance);
    if (short) {
      q.log(`${short}; nothing submitted unless you choose ${q.action} Anyway.`);
      const go = await q.ask(
        `${short}. Nothing has been submitted.`,
        `${cost.summary}\n${detail}`,
        `${q.action} Anyway`,
      );
      if (!go) return false;
    }
  }
  const threshold = q.confirmAbove;
  if (threshold !== undefined && (cost.total.unknown > 0 || cost.total.amount > threshold)) {
    return q.ask(
      `${cost.summary}. ${q.action}?`,
      `${detail}\nYou are asked above ${threshold} ${cost.total.unit} or when a cost is unknown (kling.confirmAboveCredits).`,
      q.action,
    );
  }
  return true;
}

/**
 * What a plan read from disk besides the storyboard's text: while none of it changed (and the
 * text and settings did not), planning again gives the same answer.
 */
export interface PlanInputs {
  /** The storyboard path as given (its real path is part of the state: a moved link). */
  storyboardPath: string;
  /** The ledger folders read (entries, damaged files). */
  ledgerDirs: string[];
  /** Media files hashed (or missing), and the videos of reused takes. */
  files: string[];
}

/** A render plan's cost, the scenes it refuses and what it read (the Generate CodeLens keeps it). */
export interface WatchedPlan {
  cost: PlanCost;
  /**
   * Per scene index, why Generate would not send it (the plan's own message); continuity
   * targets are absent: they are sent once their source has a take, and priced as such.
   */
  refusals: Map<number, string>;
  /** The refused scenes a new take would send (a damaged ledger entry guards them). */
  newTakeSends: Set<number>;
  /** The storyboard's folder as the plan resolved it (real path): its messages name files under it. */
  folder: string;
  inputs: PlanInputs;
}

/** `previewCost`, with the refusals and the files the plan depended on (see `inputsState`). */
export async function previewPlan(
  opts: PlanOptions,
  storyboardPath: string,
  text: string,
  options: EstimateOptions,
): Promise<WatchedPlan> {
  const lookups = new PlanLookups(opts);
  const plans = await planRender(opts, { storyboardPath, text, ignoreKeys: true }, lookups);
  const later = continuityTargets(text);
  const cost = costOfPlan(plans, options, later);
  const refusals = new Map<number, string>();
  const newTakeSends = new Set<number>();
  // As planRender resolves them: against the storyboard's real folder.
  const storyDir = path.dirname(await realOr(path.resolve(storyboardPath)));
  const ledgerDirs = new Set<string>();
  const files = new Set<string>();
  // The other output folders' ledgers too: a take paid for there refuses a scene here (the plan
  // looked for them already when a scene would be submitted: the same answer).
  if (plans.length) for (const dir of await lookups.ledgersNear(storyDir)) ledgerDirs.add(dir);
  for (const p of plans) {
    const sr = p.scene;
    ledgerDirs.add(ledgerDirFor(path.resolve(storyDir, sr.output)));
    for (const slot of sr.media) files.add(path.resolve(storyDir, slot.ref));
    if (p.action === 'reuse' && p.take.videoPath) files.add(p.take.videoPath);
    if (p.action === 'refuse' && !later.has(sr.sceneIndex)) {
      refusals.set(sr.sceneIndex, p.message);
      if (p.newTakeSends) newTakeSends.add(sr.sceneIndex);
    }
  }
  return {
    cost,
    refusals,
    newTakeSends,
    folder: storyDir,
    inputs: { storyboardPath, ledgerDirs: [...ledgerDirs], files: [...files] },
  };
}

/** The state of a plan's inputs now: equal stamps, same files (see `inputsState`). */
export interface InputsState {
  /** A hash of every input's identity, size, modification and change time (or error code). */
  stamp: string;
  /** The latest modification or change time among them (ms since the epoch). */
  newest: number;
}

/**
 * One stat per input — each ledger folder, each `.json` file in it (one readdir), each media file
 * — instead of a plan's parse, ledger read and hashing. Change times are included: a write that
 * restores the modification time still changes the stamp.
 */
export async function inputsState(inputs: PlanInputs): Promise<InputsState> {
  let newest = 0;
  const describe = async (file: string): Promise<string> => {
    try {
      const st = await fs.stat(file);
      newest = Math.max(newest, st.mtimeMs, st.ctimeMs);
      return `${file}\t${st.ino}\t${st.size}\t${st.mtimeMs}\t${st.ctimeMs}`;
    } catch (err) {
      return `${file}\t!${(err as NodeJS.ErrnoException).code ?? String(err)}`;
    }
  };
  const lines: Promise<string>[] = [realOr(path.resolve(inputs.storyboardPath))];
  for (const dir of inputs.ledgerDirs) {
    lines.push(describe(dir));
    let names: string[] = [];
    try {
      names = (await fs.readdir(dir)).filter((n) => n.endsWith('.json')).sort();
    } catch {
      // Missing or unreadable: the folder's own line says so.
    }
    for (const name of names) lines.push(describe(path.join(dir, name)));
  }
  for (const file of inputs.files) lines.push(describe(file));
  return { stamp: sha256((await Promise.all(lines)).join('\n')), newest };
}

/**
 * The CodeLens words for a scene Generate would refuse: the plan's message without the scene's
 * title, its first sentence only, paths under `folder` (the storyboard's) made relative.
 * `Plain: not sent: the ledger entry /p/renders/.ledger/x.json is empty. It may …` →
 * `the ledger entry renders/.ledger/x.json is empty`.
 */
export function refusalLabel(message: string, sceneTitle: string, folder: string): string {
  let text = message.startsWith(`${sceneTitle}: `) ? message.slice(sceneTitle.length + 2) : message;
  text = text.replace(/^(not sent|cannot be sent): /, '');
  const end = /\.(\s+(?=[A-Z])|\s*$)/.exec(text);
  if (end) text = text.slice(0, end.index);
  const prefix = folder.endsWith(path.sep) ? folder : folder + path.sep;
  return text.split(prefix).join('');
}

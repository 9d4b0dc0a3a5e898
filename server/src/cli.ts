// `kling-storyboard`: the command-line front end over the same language core and render engine
// the editor uses. Errors are one clear line each (no stack trace, never a key).
//
//   kling-storyboard check FILE… [--format text|json|github|sarif] [--severity CODE=LEVEL]… [--settings FILE]
//   kling-storyboard preview FILE [--scene NAME]
//   kling-storyboard render FILE [--scene NAME] [--concurrency N] [--new-take] [--max-credits N]
//                           [--ignore-balance] [--rates RATES]
//   kling-storyboard status [FILE…]
//   kling-storyboard credits [FILE…]
//   kling-storyboard takes FILE [--scene NAME] [--use N]
//   kling-storyboard cut FILE [-o OUT.mp4]
import { readdirSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { planRender, previewRequests, RenderEngine } from './render';
import { renderInOrder, syncContinuityFrames } from './render/continuity';
import { exportCut } from './render/cut';
import { findFfmpeg } from './render/ffmpeg';
import { chosenTakesFile, storyboardTakes, useTake } from './render/takes';
import type { EngineOptions, LedgerEntry, ProviderId, RenderEvent } from './render/types';
import { DEFAULT_BASES, hasKeys } from './render/types';
import { isUnfinished } from './render/ledger';
import { checkBaseUrl, finalMessage, redact } from './providers/http';
import {
  balanceShortfall,
  costObservations,
  continuityTargets,
  costOfPlan,
  estimateAll,
  formatReportedCost,
  reportedTotal,
  overBudget,
  previewCost,
  withEstimates,
} from './render/cost';
import { formatNumber, formatTotal, parseRates, type EstimateOptions } from './core/estimate';
import {
  checkFile,
  checkService,
  githubAnnotation,
  githubFileError,
  packageVersion,
  place,
  readText,
  sarifLog,
  settingsFile,
  severityFlags,
  textLine,
  type Checked,
} from './check';
import type { Storyboard } from './core/ast';
import { sceneBlockers } from './core/blocking';
import { parseStoryboard } from './core/parse';
import { sceneSlugs } from './core/request';
import { storyboardProvider } from './core/resolve';
import type { ServiceSettings } from './core/service';

const USAGE = `kling-storyboard: check, preview and render .kling storyboards (Kling 3.0 via KIE.ai or Kling).

Usage:
  kling-storyboard check FILE... [--format text|json|github|sarif] [--severity CODE=LEVEL]...
                               [--settings FILE]
      Diagnostics as FILE:LINE:COL: severity code: message (columns count UTF-16 units,
      as editors do), exactly as the editor shows them. Exit 1 when there are errors.
      --format github: GitHub Actions annotations; --format sarif: SARIF 2.1.0 on stdout.
      --severity CODE=LEVEL (repeatable): LEVEL is error, warning, information, hint or off.
      --settings FILE: a VS Code settings.json (e.g. .vscode/settings.json) whose
      kling.diagnostics.severity and kling.defaultProvider apply; --severity wins over it.
  kling-storyboard preview FILE [--scene NAME] [--rates RATES]
      The exact request JSON of each scene; no keys, no network (local media show as
      "<to upload: …>" on kie, "<base64 of …>" on kling), with each scene's estimated cost
      and the total on stderr.
  kling-storyboard render FILE [--scene NAME] [--concurrency N] [--new-take]
                   [--max-credits N] [--ignore-balance] [--rates RATES]
      Upload, submit, wait and download each scene to OUTPUT/<storyboard>/<scene>/take-N.mp4
      (OUTPUT is the header's \`output:\`, default renders/). A scene already rendered or still
      running is reused or resumed; --new-take pays for another take. Ctrl+C stops waiting
      (remote tasks keep running; run the same command again to resume); a create in flight
      is waited for, a second Ctrl+C says what quitting would lose, a third quits.
      N: 1-20, default 2.
      First prints what would be submitted and its estimated cost (reused takes cost 0).
      --max-credits N: when that estimate is above N (or unknown), nothing is uploaded or
      submitted (exit 1). On KIE the balance is read first; below the estimate nothing is
      submitted (exit 1) unless --ignore-balance.
  kling-storyboard status [FILE...]
      Takes recorded for these storyboards, or all unfinished work.
  kling-storyboard credits [FILE...]
      The KIE credit balance (Kling has no balance endpoint) and the total cost providers
      reported for the recorded takes of these storyboards (default: the .kling files under
      the current folder).
  kling-storyboard takes FILE [--scene NAME] [--use N]
      Each scene's takes, the chosen one marked with *. --use N (with --scene) makes take N the
      one the cut uses; without a choice the latest finished take is used. Choices are kept in
      OUTPUT/.chosen-takes.json.
  kling-storyboard cut FILE [-o OUT.mp4]
      Joins the chosen takes in storyboard order into one MP4 (default OUTPUT/<storyboard>/cut.mp4)
      with ffmpeg, and lists the takes used in a .json beside it. A scene without a take is its
      first frame (or black) for its duration. Needs ffmpeg (PATH or FFMPEG_PATH).

--scene NAME: a scene title, its folder name (slug) or its number (1-based).
  kling-storyboard --version

Exit codes: 0 ok, 1 errors or failed scenes, 2 usage, 130 interrupted.

Environment: KIE_API_KEY, KLING_ACCESS_KEY + KLING_SECRET_KEY;
  KIE_API_BASE, KIE_UPLOAD_BASE, KLING_API_BASE (host roots, e.g. https://api.kie.ai);
  KLING_STORYBOARD_STATE_DIR (where unfinished work and the upload cache are remembered);
  KLING_STORYBOARD_RATES (per-second prices for estimates, as --rates);
  FFMPEG_PATH (the ffmpeg executable, when it is not on PATH; ffprobe is looked up beside it).

--rates RATES: your per-second prices, e.g. kie.pro.sound=24,kie.std=12,kling.pro=1.5
  (credits on kie, units on kling; provider.mode sets both sound and silent). Estimates
  otherwise use community figures for KIE (not documented) and say "unknown" on Kling;
  costs reported for your earlier takes refine them.`;

class UsageError extends Error {}

interface Args {
  command: string;
  files: string[];
  flags: Map<string, string | true>;
  /** Every `--severity CODE=LEVEL`, in order. */
  severities: string[];
}

const VALUE_FLAGS = new Set([
  '--scene',
  '--concurrency',
  '--format',
  '--severity',
  '--settings',
  '--use',
  '-o',
  '--output',
  '--rates',
  '--max-credits',
]);
const BOOL_FLAGS = new Set(['--new-take', '--ignore-balance', '--help', '-h']);

function parseArgs(argv: string[]): Args {
  // `kling-storyboard --help` (or `-h`) has no command: the flag stands in for one.
  const [first = '', ...tail] = argv;
  const [command, rest] =
    first === '--help' || first === '-h'
      ? ['help', tail]
      : first === '--version' || first === '-v'
        ? ['version', tail]
        : [first, tail];
  const files: string[] = [];
  const flags = new Map<string, string | true>();
  const severities: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (VALUE_FLAGS.has(name)) {
      const value = eq > 0 && a.startsWith('--') ? a.slice(eq + 1) : rest[++i];
      if (value === undefined) throw new UsageError(`${name} needs a value`);
      if (name === '--severity') severities.push(value);
      flags.set(name, value);
    } else if (BOOL_FLAGS.has(a)) flags.set(a, true);
    else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option ${a}`);
    else files.push(a);
  }
  return { command, files, flags, severities };
}

/** Secrets from the environment, so every printed line can be scrubbed of them. */
function secrets(): (string | undefined)[] {
  return [process.env.KIE_API_KEY, process.env.KLING_ACCESS_KEY, process.env.KLING_SECRET_KEY];
}

// A reader that goes away (`render … | head`) must not crash a render mid-flight with a stack
// trace: its output is dropped and the work goes on (an interrupted create would cost more).
const closedStreams = new Set<NodeJS.WriteStream>();

function dropOutputWhenPipeCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') closedStreams.add(stream);
    });
  }
}

function write(stream: NodeJS.WriteStream, line: string): void {
  if (!closedStreams.has(stream)) stream.write(redact(line, secrets()) + '\n');
}

function out(line: string): void {
  write(process.stdout, line);
}

function err(line: string): void {
  write(process.stderr, line);
}

/** Problems a check found, and the files it could not read; `order` keeps the files' order. */
interface CheckRun {
  checked: Checked[];
  unreadable: { file: string; message: string }[];
  order: (Checked | { file: string; message: string })[];
}

const FORMATS = ['text', 'json', 'github', 'sarif'];

async function cmdCheck(args: Args): Promise<number> {
  if (args.files.length === 0) throw new UsageError('check needs at least one FILE');
  const format = args.flags.get('--format') ?? 'text';
  if (typeof format !== 'string' || !FORMATS.includes(format)) {
    throw new UsageError(`--format is ${FORMATS.join(', ')}`);
  }
  // The editor's settings, then the command line's: --severity wins over --settings.
  let settings: Partial<ServiceSettings> = {};
  const settingsPath = args.flags.get('--settings');
  try {
    if (typeof settingsPath === 'string') settings = settingsFile(settingsPath);
    const flagged = severityFlags(args.severities);
    settings = { ...settings, severity: { ...settings.severity, ...flagged } };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const service = checkService(settings);
  const run: CheckRun = { checked: [], unreadable: [], order: [] };
  let errors = 0;
  let warnings = 0;
  let hints = 0;
  let notes = 0;
  for (const file of args.files) {
    let c: Checked;
    try {
      c = await checkFile(service, file);
    } catch (e) {
      // One unreadable file is one error; the other files are still checked.
      errors++;
      const message = e instanceof Error ? e.message : String(e);
      run.unreadable.push({ file, message });
      run.order.push(run.unreadable[run.unreadable.length - 1]!);
      if (format === 'github') out(githubFileError(file, message));
      else if (format === 'text') err(`kling-storyboard: ${message}`);
      continue;
    }
    run.checked.push(c);
    run.order.push(c);
    for (const d of c.diagnostics) {
      if (d.severity === 'error') errors++;
      else if (d.severity === 'warning') warnings++;
      else if (d.severity === 'information') notes++;
      else hints++;
      // Hints (an unused element) are shown too: the editor fades that text, a terminal cannot.
      if (format === 'text') out(textLine(c, d));
      else if (format === 'github') out(githubAnnotation(c, d));
    }
  }
  if (format === 'json') out(JSON.stringify(checkJson(run), null, 2));
  else if (format === 'sarif')
    out(JSON.stringify(sarifLog(run.checked, run.unreadable, packageVersion()), null, 2));
  if (format === 'text' || format === 'github') {
    const s = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
    err(
      `${s(args.files.length, 'file')} checked: ${s(errors, 'error')}, ${s(warnings, 'warning')}` +
        (notes ? `, ${s(notes, 'note')}` : '') +
        (hints ? `, ${s(hints, 'hint')}.` : '.'),
    );
  }
  return errors > 0 ? 1 : 0;
}

/** `--format json`: one object per diagnostic (and per unreadable file), in file order. */
function checkJson(run: CheckRun): Record<string, unknown>[] {
  const all: Record<string, unknown>[] = [];
  for (const c of run.order) {
    if (!('diagnostics' in c)) {
      all.push({ file: c.file, severity: 'error', code: 'unreadable', message: c.message });
      continue;
    }
    for (const d of c.diagnostics) {
      all.push({
        file: c.file,
        ...place(c, d),
        severity: d.severity,
        code: d.code,
        message: d.message,
      });
    }
  }
  return all;
}

/** Scene indexes matching `--scene NAME` (title, slug or 1-based number); all when absent. */
function selectScenes(
  storyboard: Storyboard,
  name: string | true | undefined,
): number[] | undefined {
  if (name === undefined || name === true) return undefined;
  const slugs = sceneSlugs(storyboard);
  const wanted = name.trim().toLowerCase();
  const hits = storyboard.scenes.filter(
    (s) =>
      s.displayTitle.toLowerCase() === wanted ||
      slugs[s.index] === wanted ||
      String(s.index + 1) === wanted,
  );
  if (hits.length === 0) {
    const titles = storyboard.scenes.map((s) => `"${s.displayTitle}"`).join(', ') || 'none';
    throw new Error(`no scene named "${name}" (scenes: ${titles})`);
  }
  return hits.map((s) => s.index);
}

/**
 * Estimate options: rates from `--rates`, else `KLING_STORYBOARD_RATES` (README "Cost
 * estimates"), and the costs reported for the storyboard's recorded takes.
 */
async function estimateOptionsFor(args: Args, storyboardPath: string): Promise<EstimateOptions> {
  const flag = args.flags.get('--rates');
  let overrides: EstimateOptions['overrides'];
  if (typeof flag === 'string') {
    const { rates, errors } = parseRates(flag);
    if (errors.length) throw new UsageError(`--rates: ${errors.join('; ')}`);
    overrides = rates;
  } else if (process.env.KLING_STORYBOARD_RATES) {
    const { rates, errors } = parseRates(process.env.KLING_STORYBOARD_RATES);
    for (const e of errors) err(`kling-storyboard: KLING_STORYBOARD_RATES ignored in part: ${e}`);
    overrides = rates;
  }
  let history: EstimateOptions['history'] = [];
  try {
    history = costObservations(await new RenderEngine(engineOptions(1)).entries(storyboardPath));
  } catch {
    // No readable ledger: estimates come from the rate table alone.
  }
  return { overrides, history };
}

async function cmdPreview(args: Args): Promise<number> {
  if (args.files.length !== 1) throw new UsageError('preview needs exactly one FILE');
  const abs = path.resolve(args.files[0]!);
  const text = readText(args.files[0]!);
  const scenes = selectScenes(parseStoryboard(text).storyboard, args.flags.get('--scene'));
  const options = await estimateOptionsFor(args, abs);
  const requests = withEstimates(previewRequests(abs, text, scenes), options);
  out(JSON.stringify(scenes && requests.length === 1 ? requests[0] : requests, null, 2));
  const { total } = estimateAll(requests as { provider: ProviderId; body: unknown }[], options);
  if (!total.count) return 0;
  // What render would pay: the takes it would reuse (same request, already in the ledger) cost
  // nothing — decided as render decides it.
  const planned = await previewCost({ keys: {} }, abs, text, options, scenes).catch(
    () => undefined,
  );
  const reuse = planned?.reused
    ? `; render would reuse ${planned.reused} take${planned.reused === 1 ? '' : 's'} at no cost and pay ${planned.total.count ? formatTotal(planned.total) : `0 ${planned.total.unit}`}`
    : '';
  err(
    `${total.count} scene${total.count === 1 ? '' : 's'}: ${formatTotal(total)} (estimate; nothing is sent by preview)${reuse}.`,
  );
  return 0;
}

function engineOptions(concurrency: number): EngineOptions {
  const env = process.env;
  const poll = Number(env.KLING_STORYBOARD_POLL_MS);
  return {
    keys: {
      kieApiKey: env.KIE_API_KEY || undefined,
      klingAccessKey: env.KLING_ACCESS_KEY || undefined,
      klingSecretKey: env.KLING_SECRET_KEY || undefined,
    },
    // Checked here, before anything is sent: a typo fails now, never after a take was recorded.
    bases: {
      kieApi: checkBaseUrl(env.KIE_API_BASE || DEFAULT_BASES.kieApi, 'KIE_API_BASE'),
      kieUpload: checkBaseUrl(env.KIE_UPLOAD_BASE || DEFAULT_BASES.kieUpload, 'KIE_UPLOAD_BASE'),
      klingApi: checkBaseUrl(env.KLING_API_BASE || DEFAULT_BASES.klingApi, 'KLING_API_BASE'),
    },
    concurrency,
    // Undocumented knob for tests: shrinks the polling cadence (and the backoffs scaled by it).
    pollIntervalMs: Number.isFinite(poll) && poll > 0 ? poll : undefined,
  };
}

async function cmdRender(args: Args): Promise<number> {
  if (args.files.length !== 1) throw new UsageError('render needs exactly one FILE');
  const concurrencyFlag = args.flags.get('--concurrency');
  const concurrency = concurrencyFlag === undefined ? 2 : Number(concurrencyFlag);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 20) {
    throw new UsageError('--concurrency is a whole number from 1 to 20');
  }
  const c = await checkFile(checkService(), args.files[0]!);
  const abs = path.resolve(c.file);
  let scenes =
    selectScenes(c.storyboard, args.flags.get('--scene')) ??
    c.storyboard.scenes.map((s) => s.index);
  if (scenes.length === 0) throw new Error(`${c.file} has no [scene] to render`);

  const sendable: number[] = [];
  for (const index of scenes) {
    const scene = c.storyboard.scenes[index]!;
    const blocking = sceneBlockers(c.storyboard, c.text.length, c.diagnostics, scene);
    if (blocking.length === 0) {
      sendable.push(index);
      continue;
    }
    err(
      `[${scene.displayTitle}] not rendered: ${blocking.length} error${blocking.length === 1 ? '' : 's'}:`,
    );
    for (const d of blocking) err(`  ${textLine(c, d)}`);
  }
  const skipped = scenes.length - sendable.length;
  scenes = sendable;
  if (scenes.length === 0) return 1;

  const provider = storyboardProvider(c.storyboard);
  const opts = engineOptions(concurrency);
  if (provider === 'kie' && !hasKeys(opts.keys, 'kie'))
    throw new Error('KIE_API_KEY is not set (this storyboard uses provider kie)');
  if (provider === 'kling' && !hasKeys(opts.keys, 'kling')) {
    throw new Error(
      'KLING_ACCESS_KEY and KLING_SECRET_KEY must both be set (this storyboard uses provider kling)',
    );
  }
  const maxFlag = args.flags.get('--max-credits');
  const maxCredits = maxFlag === undefined ? undefined : Number(maxFlag);
  if (maxCredits !== undefined && !(Number.isFinite(maxCredits) && maxCredits >= 0))
    throw new UsageError('--max-credits is a number ≥ 0');
  out(
    `Rendering ${scenes.length} scene${scenes.length === 1 ? '' : 's'} of ${c.file} with ${provider} (concurrency ${concurrency}).`,
  );
  const engine = new RenderEngine({
    ...opts,
    // The engine's log is detail the progress lines cover; only its warnings are shown.
    log: (line) => {
      if (line.startsWith('Warning:')) err(line);
    },
    newTakeHint: 'run again with --new-take',
  });
  // Before anything is uploaded or submitted: what would be paid for, the budget, the balance.
  const plans = await planRender(opts, {
    storyboardPath: abs,
    text: c.text,
    scenes,
    newTake: args.flags.has('--new-take'),
  });
  const cost = costOfPlan(plans, await estimateOptionsFor(args, abs), continuityTargets(c.text));
  for (const s of cost.scenes) out(`  ${s.line}`);
  out(cost.summary);
  if (maxCredits !== undefined) {
    const why = overBudget(cost.total, maxCredits);
    if (why) {
      err(`kling-storyboard: nothing was uploaded or submitted: ${why} (--max-credits).`);
      return 1;
    }
  }
  if (cost.submit > 0) {
    let balance: number | undefined;
    try {
      balance = await engine.balance(provider);
    } catch (e) {
      err(`Could not read the ${provider} balance (${finalMessage(e)}); going on without it.`);
    }
    if (balance !== undefined) {
      out(`Balance: ${balance} ${cost.total.unit}.`);
      const short = balanceShortfall(cost.total, balance);
      if (short && !args.flags.has('--ignore-balance')) {
        err(
          `kling-storyboard: nothing was submitted: ${short}. Top up, or run again with --ignore-balance.`,
        );
        return 1;
      }
      if (short) err(`${short}; submitting anyway (--ignore-balance).`);
    }
  }
  const controller = new AbortController();
  let interrupted = false;
  let signals = 0;
  // 128 + the signal's number, as shells report it: 130 for Ctrl+C, 143 for SIGTERM.
  let signalExit = 130;
  // Ctrl+C: stop waiting (a create on the wire still runs to its answer, which is recorded).
  // A second one while a create is in flight says what quitting would lose and asks for a third;
  // otherwise it quits at once.
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    const inFlight = engine.createsInFlight();
    if (signals === 1) {
      interrupted = true;
      signalExit = signal === 'SIGTERM' ? 143 : 130;
      err(
        inFlight.length
          ? `Stopping: waiting for the answer to the create in flight (${inFlight.join(', ')}) so its task id is recorded; remote tasks keep running; run the same command again to resume them.`
          : 'Stopping: remote tasks keep running; run the same command again to resume them.',
      );
      controller.abort();
      return;
    }
    if (inFlight.length && signals === 2) {
      err(
        `A create is in flight for ${inFlight.join(', ')}: quitting now loses its answer — the task may still be made and charged, and its task id would not be recorded. Waiting for the answer; press Ctrl+C once more to quit anyway.`,
      );
      return;
    }
    process.exit(signalExit);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const lastShown = new Map<number, { state: string; at: number }>();
  const onEvent = (e: RenderEvent) => {
    const prev = lastShown.get(e.entry.sceneIndex);
    const now = Date.now();
    // One line per change of state; while waiting, at most one line every 15 s per scene.
    if (prev && prev.state === e.entry.state && now - prev.at < 15_000 && !e.entry.error) return;
    lastShown.set(e.entry.sceneIndex, { state: e.entry.state, at: now });
    out(`[${e.entry.sceneTitle}] ${stripTitle(e.message, e.entry.sceneTitle)}`);
  };
  // `continue-from` scenes go after their source (render/continuity.ts); ffmpeg only when needed.
  const entries = await renderInOrder(
    engine,
    {
      storyboardPath: abs,
      text: c.text,
      scenes,
      newTake: args.flags.has('--new-take'),
      signal: controller.signal,
      onEvent,
    },
    { tools: () => findFfmpeg() },
  );
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);

  out('');
  for (const e of entries) out(summaryLine(e));
  const ok = entries.filter((e) => e.state === 'done').length;
  out(`${ok}/${entries.length + skipped} scenes done.`);
  if (interrupted) return signalExit;
  return ok === entries.length && skipped === 0 ? 0 : 1;
}

function stripTitle(message: string, title: string): string {
  return message.startsWith(`${title}: `) ? message.slice(title.length + 2) : message;
}

function summaryLine(e: LedgerEntry): string {
  const where = e.videoPath ? ` → ${path.relative(process.cwd(), e.videoPath) || e.videoPath}` : '';
  const why = e.error && e.state !== 'done' ? ` — ${e.error}` : '';
  const take = e.take ? ` take ${e.take}` : '';
  // A task that is not done yet is named, so its id is on screen even if the ledger is not.
  const task = e.taskId && e.state !== 'done' ? ` (${e.provider} task ${e.taskId})` : '';
  const cost = formatReportedCost(e);
  return `  ${e.sceneTitle}:${take} ${e.state}${cost ? ` (cost ${cost})` : ''}${task}${where}${why}`;
}

async function cmdStatus(args: Args): Promise<number> {
  const engine = new RenderEngine(engineOptions(1));
  let entries: LedgerEntry[];
  if (args.files.length) {
    entries = [];
    for (const f of args.files) entries.push(...(await engine.entries(path.resolve(f))));
  } else entries = await engine.entries();
  const damaged = args.files.length
    ? (await Promise.all(args.files.map((f) => engine.damaged(path.resolve(f))))).flat()
    : await engine.damaged();
  for (const d of damaged) {
    out(
      `damaged ledger entry: ${d.file} ${d.problem}; ${d.requestHash ? 'the scene it recorded is' : 'no new take of any scene writing to this folder is'} submitted until you repair or delete the file, or render with --new-take to pay again.`,
    );
  }
  if (entries.length === 0 && damaged.length) return 1;
  if (entries.length === 0) {
    out(
      args.files.length
        ? 'No takes recorded for these storyboards.'
        : 'No unfinished work is recorded.',
    );
    return 0;
  }
  let board = '';
  for (const e of entries.sort(
    (a, b) =>
      a.storyboardPath.localeCompare(b.storyboardPath) ||
      a.sceneIndex - b.sceneIndex ||
      a.take - b.take,
  )) {
    if (e.storyboardPath !== board) {
      board = e.storyboardPath;
      out(board);
    }
    out(summaryLine(e));
  }
  const unfinished = entries.filter(isUnfinished).length;
  if (unfinished)
    out(`${unfinished} unfinished: run \`kling-storyboard render FILE\` again to resume.`);
  return damaged.length ? 1 : 0;
}

async function cmdCredits(args: Args): Promise<number> {
  const engine = new RenderEngine(engineOptions(1));
  const hasKie = !!process.env.KIE_API_KEY;
  const hasKling = !!(process.env.KLING_ACCESS_KEY && process.env.KLING_SECRET_KEY);
  if (hasKie) out(await engine.credits('kie'));
  if (hasKling) out(await engine.credits('kling'));
  const files = args.files.length ? args.files : findStoryboards(process.cwd());
  const entries: LedgerEntry[] = [];
  for (const f of files) entries.push(...(await engine.entries(path.resolve(f))));
  const t = reportedTotal(entries);
  const sums = [
    t.credits || !t.units ? `${formatNumber(t.credits)} credits` : undefined,
    t.units ? `${formatNumber(t.units)} units` : undefined,
  ].filter(Boolean);
  out(
    `Recorded takes (${files.length} storyboard${files.length === 1 ? '' : 's'}): ${t.takes} with a reported cost, ${sums.join(' + ')} in all` +
      (t.unreported
        ? `; ${t.unreported} done take${t.unreported === 1 ? '' : 's'} reported no cost.`
        : '.'),
  );
  if (!hasKie && !hasKling)
    throw new Error('no keys set: set KIE_API_KEY (or KLING_ACCESS_KEY and KLING_SECRET_KEY)');
  return 0;
}

/** The .kling files under a folder (not in node_modules or dot folders; at most 6 levels down). */
function findStoryboards(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let names: Dirent[];
    try {
      names = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const d of names) {
      if (d.name.startsWith('.') || d.name === 'node_modules') continue;
      const p = path.join(dir, d.name);
      if (d.isDirectory() && depth < 6) walk(p, depth + 1);
      else if (d.isFile() && d.name.endsWith('.kling')) found.push(p);
    }
  };
  walk(root, 0);
  return found.sort();
}

async function cmdTakes(args: Args): Promise<number> {
  if (args.files.length !== 1) throw new UsageError('takes needs exactly one FILE');
  const file = args.files[0]!;
  const abs = path.resolve(file);
  const text = readText(file);
  const engine = new RenderEngine(engineOptions(1));
  const sceneFlag = args.flags.get('--scene');
  const { storyboard } = parseStoryboard(text);
  const selected = selectScenes(storyboard, sceneFlag);
  const use = args.flags.get('--use');
  if (use !== undefined) {
    const take = Number(use);
    if (use === true || !Number.isInteger(take) || take < 1)
      throw new UsageError('--use is a take number (1, 2, …)');
    if (!selected || selected.length !== 1) throw new UsageError('--use needs --scene NAME');
    const slug = sceneSlugs(storyboard)[selected[0]!]!;
    const problem = await useTake(engine, abs, text, slug, take);
    if (problem) throw new Error(problem);
    // A scene that others continue from: its last frame follows the choice.
    const frames = await syncContinuityFrames(engine, abs, text, { tools: () => findFfmpeg() }, [
      selected[0]!,
    ]);
    const frame = frames.get(selected[0]!);
    if (frame?.state === 'error') err(`warning: ${frame.message}`);
    else if (frame?.state === 'ready')
      out(`Continuity frame updated: ${path.relative(process.cwd(), frame.path) || frame.path}`);
  }
  const all = await storyboardTakes(engine, abs, text);
  for (const s of all.scenes) {
    if (selected && !selected.includes(s.sceneIndex)) continue;
    const how =
      s.by === 'choice' ? 'chosen' : s.by === 'latest' ? 'latest finished' : 'no finished take';
    out(`${s.sceneTitle} (${s.seconds} s): ${s.chosen ? `take ${s.chosen.take}, ` : ''}${how}`);
    if (s.unusableChoice !== undefined)
      out(`  take ${s.unusableChoice} was chosen but cannot be used any more`);
    for (const t of s.takes) {
      const mark = t === s.chosen ? '*' : ' ';
      const where = t.videoPath
        ? ` ${path.relative(process.cwd(), t.videoPath) || t.videoPath}`
        : '';
      out(`  ${mark} take ${t.take}: ${t.state}${where}`);
    }
  }
  if (use !== undefined) out(`Chosen takes are kept in ${chosenTakesFile(all.outputDir)}.`);
  return 0;
}

async function cmdCut(args: Args): Promise<number> {
  if (args.files.length !== 1) throw new UsageError('cut needs exactly one FILE');
  const file = args.files[0]!;
  const target = args.flags.get('-o') ?? args.flags.get('--output');
  if (target === true) throw new UsageError('-o needs a file name');
  const tools = findFfmpeg();
  const engine = new RenderEngine(engineOptions(1));
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.on('SIGINT', onSignal);
  let lastShown = -1;
  try {
    const result = await exportCut({
      ledger: engine,
      tools,
      storyboardPath: path.resolve(file),
      text: readText(file),
      out: target === undefined ? undefined : path.resolve(target),
      signal: controller.signal,
      onProgress: (f) => {
        const pct = Math.floor(f * 10) * 10;
        if (pct > lastShown && pct < 100) {
          lastShown = pct;
          err(`cut: ${pct} %`);
        }
      },
    });
    for (const w of result.plan.warnings) err(`warning: ${w}`);
    const how =
      result.plan.mode === 'copy'
        ? 'stream copy'
        : `re-encoded to H.264/AAC (${result.plan.reasons.join('; ')})`;
    for (const s of result.plan.segments)
      out(
        `  ${s.sceneTitle}: ${s.kind === 'take' ? `take ${s.take}` : s.image ? 'first frame (still)' : 'black'} · ${Math.round(s.seconds * 100) / 100} s`,
      );
    out(
      `Cut written to ${path.relative(process.cwd(), result.out) || result.out} (${Math.round(result.plan.totalSeconds * 100) / 100} s, ${how}); takes used: ${path.relative(process.cwd(), result.sidecar) || result.sidecar}`,
    );
    return 0;
  } catch (e) {
    if (controller.signal.aborted) {
      err('Cut cancelled; nothing was written.');
      return 130;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
  }
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (
      args.flags.has('--help') ||
      args.flags.has('-h') ||
      args.command === 'help' ||
      args.command === ''
    ) {
      (args.command === '' ? err : out)(USAGE);
      return args.command === '' ? 2 : 0;
    }
    switch (args.command) {
      case 'check':
        return await cmdCheck(args);
      case 'version':
        out(packageVersion());
        return 0;
      case 'preview':
        return await cmdPreview(args);
      case 'render':
        return await cmdRender(args);
      case 'status':
        return await cmdStatus(args);
      case 'credits':
        return await cmdCredits(args);
      case 'takes':
        return await cmdTakes(args);
      case 'cut':
        return await cmdCut(args);
      default:
        throw new UsageError(`unknown command "${args.command}"`);
    }
  } catch (e) {
    const message = finalMessage(e);
    err(`kling-storyboard: ${message}`);
    if (e instanceof UsageError) err('Run `kling-storyboard --help` for usage.');
    return e instanceof UsageError ? 2 : 1;
  }
}

if (require.main === module) {
  dropOutputWhenPipeCloses();
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

// The chosen take per scene. The choice lives beside the ledger, in the output folder:
// `<storyboard folder>/<output>/.chosen-takes.json`, keyed by storyboard name and scene folder
// name (slug), so it survives reloads, is shared by the extension and the CLI, and moves with the
// project. Without a recorded choice, the latest finished take is used (core/film.ts).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as z from 'zod/mini';
import type { SceneBlock, Storyboard } from '../core/ast';
import { chooseTake, type ChosenBy } from '../core/film';
import { parseStoryboard } from '../core/parse';
import { sceneSlugs } from '../core/request';
import { outputAsWritten, resolveScene } from '../core/resolve';
import { readJsonFile, writeFileAtomic } from './fsutil';
import { storyboardNameOf } from './ledger';
import { sceneIdentities, type IdentityMemo, type PlanOptions } from './plan';
import type { LedgerEntry } from './types';

/** The narrow view of the engine this module needs (RenderEngine satisfies it). */
export interface TakeLedger {
  entries(storyboardPath: string): Promise<LedgerEntry[]>;
  /** Takes of storyboards renamed since, in the same output folder (RenderEngine.renamedEntries). */
  renamedEntries?(storyboardPath: string): Promise<LedgerEntry[]>;
}

/** Where the chosen takes of every storyboard of an output folder are stored. */
export function chosenTakesFile(outputDir: string): string {
  return path.join(outputDir, '.chosen-takes.json');
}

const fileSchema = z.object({
  version: z.literal(1),
  storyboards: z.record(
    z.string(),
    z.record(z.string(), z.object({ take: z.int().check(z.positive()), at: z.string() })),
  ),
});
type ChosenFile = z.infer<typeof fileSchema>;

/** The storyboard's output folder as written (its home is `outputAsWritten` in core/resolve.ts). */
export const outputOf = outputAsWritten;

/** The storyboard's absolute output folder. */
export function outputDirOf(
  storyboardPath: string,
  storyboard: Storyboard,
  defaultOutput?: string,
): string {
  return path.resolve(path.dirname(storyboardPath), outputAsWritten(storyboard, defaultOutput));
}

async function readChosen(outputDir: string): Promise<ChosenFile> {
  const parsed = fileSchema.safeParse(await readJsonFile(chosenTakesFile(outputDir)));
  return parsed.success ? parsed.data : { version: 1, storyboards: {} };
}

/** The recorded choices of one storyboard: scene slug → take number. */
export async function recordedChoices(
  outputDir: string,
  storyboardPath: string,
): Promise<Map<string, number>> {
  const file = await readChosen(outputDir);
  const mine = file.storyboards[storyboardNameOf(storyboardPath)] ?? {};
  return new Map(Object.entries(mine).map(([slug, c]) => [slug, c.take]));
}

/** Records `take` as the chosen take of a scene (or forgets the choice with `undefined`). */
export async function recordChoice(
  outputDir: string,
  storyboardPath: string,
  sceneSlug: string,
  take: number | undefined,
): Promise<void> {
  const file = await readChosen(outputDir);
  const name = storyboardNameOf(storyboardPath);
  const mine = { ...(file.storyboards[name] ?? {}) };
  if (take === undefined) delete mine[sceneSlug];
  else mine[sceneSlug] = { take, at: new Date().toISOString() };
  file.storyboards[name] = mine;
  await writeFileAtomic(chosenTakesFile(outputDir), JSON.stringify(file, null, 2) + '\n');
}

/** One scene with its takes and the one it uses. */
export interface SceneTakes {
  scene: SceneBlock;
  sceneIndex: number;
  sceneTitle: string;
  sceneSlug: string;
  /** Duration as written, in seconds. */
  seconds: number;
  /** Every recorded take, by take number. */
  takes: LedgerEntry[];
  chosen?: LedgerEntry;
  by: ChosenBy;
  /** A recorded choice that cannot be used any more (failed, deleted). */
  unusableChoice?: number;
}

export interface StoryboardTakes {
  storyboardPath: string;
  storyboard: Storyboard;
  outputDir: string;
  scenes: SceneTakes[];
}

async function fileExists(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}

/**
 * How `storyboardTakes` finds the takes of a request made under another scene name: the options
 * a render builds requests with (the default provider) and, where this is asked again and again
 * (the extension's panels), the media content hashes kept between calls.
 */
export type TakeFinding = Pick<PlanOptions, 'defaultProvider' | 'klingRefStyle' | 'hashCache'> & {
  /** The last identities of this storyboard, reused while nothing they depend on changed. */
  memo?: IdentityMemo;
};

/**
 * The takes of every scene of a storyboard and the chosen one; videos deleted from disk are not
 * usable. A scene's takes are those of its video folder (its scene slug) or, when that has none,
 * those of the request it sends now, wherever they were made: a scene renamed since keeps its
 * takes (render reuses them too), and scenes written alike share theirs. Two takes of one number
 * from other folders: the newer is kept (a take is chosen by its number).
 */
export async function storyboardTakes(
  ledger: TakeLedger,
  storyboardPath: string,
  text: string,
  defaultOutput?: string,
  finding: TakeFinding = {},
): Promise<StoryboardTakes> {
  const abs = path.resolve(storyboardPath);
  const { storyboard } = parseStoryboard(text);
  const outputDir = outputDirOf(abs, storyboard, defaultOutput);
  const slugs = sceneSlugs(storyboard);
  const entries = await ledger.entries(abs);
  const choices = await recordedChoices(outputDir, abs);
  // Takes found by request — this storyboard's, and those of a storyboard renamed since — for the
  // scenes without a take of their own (the others have their own folder's; a request's identity
  // costs its media hashes and a canonical JSON, ≈ 50 µs a scene).
  const ownSlugs = new Set(entries.map((e) => e.sceneSlug));
  const takeless = storyboard.scenes
    .filter((s) => !ownSlugs.has(slugs[s.index]!))
    .map((s) => s.index);
  const byRequest = takeless.length
    ? [...entries, ...((await ledger.renamedEntries?.(abs)) ?? [])]
    : [];
  const identities = byRequest.length
    ? await sceneIdentities(
        { ...finding, keys: {}, defaultOutput },
        abs,
        text,
        takeless,
        finding.memo,
      )
    : new Map<number, string>();
  const scenes: SceneTakes[] = [];
  for (const scene of storyboard.scenes) {
    const slug = slugs[scene.index]!;
    const own = entries.filter((e) => e.sceneSlug === slug);
    const identity = identities.get(scene.index);
    const found: LedgerEntry[] = [];
    if (identity) {
      const numbers = new Set<number>();
      const elsewhere = byRequest.filter((e) => e.requestHash === identity);
      // Newest first: of two takes with one number (two old folders), the newer is kept.
      for (const e of elsewhere.sort((a, b) => b.updatedAt - a.updatedAt)) {
        if (numbers.has(e.take)) continue;
        numbers.add(e.take);
        found.push(e);
      }
    }
    const takes = [...own, ...found].sort((a, b) => a.take - b.take);
    // A finished take whose video was deleted is shown, but cannot be chosen.
    const facts = await Promise.all(
      takes.map(async (e) => ({
        entry: e,
        take: e.take,
        state: e.state,
        finishedAt: e.finishedAt,
        videoPath: e.videoPath && (await fileExists(e.videoPath)) ? e.videoPath : undefined,
      })),
    );
    const choice = chooseTake(facts, choices.get(slug));
    scenes.push({
      scene,
      sceneIndex: scene.index,
      sceneTitle: scene.displayTitle,
      sceneSlug: slug,
      seconds: resolveScene(storyboard, scene).duration,
      takes,
      chosen: choice.take?.entry,
      by: choice.by,
      unusableChoice: choice.unusableChoice,
    });
  }
  return { storyboardPath: abs, storyboard, outputDir, scenes };
}

/**
 * Chooses take `take` of a scene (by its folder name) after checking it is finished and on disk; returns the
 * error message when it cannot be chosen.
 */
export async function useTake(
  ledger: TakeLedger,
  storyboardPath: string,
  text: string,
  sceneSlug: string,
  take: number,
  defaultOutput?: string,
  finding?: TakeFinding,
): Promise<string | undefined> {
  const all = await storyboardTakes(ledger, storyboardPath, text, defaultOutput, finding);
  const scene = all.scenes.find((s) => s.sceneSlug === sceneSlug);
  if (!scene) return `the storyboard has no scene "${sceneSlug}"`;
  const entry = scene.takes.find((t) => t.take === take);
  if (!entry) {
    const known = scene.takes.map((t) => t.take).join(', ') || 'none';
    return `${scene.sceneTitle} has no take ${take} (takes: ${known})`;
  }
  if (entry.state !== 'done' || !entry.videoPath || !(await fileExists(entry.videoPath)))
    return `${scene.sceneTitle}: take ${take} cannot be used (${entry.state === 'done' ? 'its video is missing' : entry.state})`;
  await recordChoice(all.outputDir, all.storyboardPath, scene.sceneSlug, take);
  return undefined;
}

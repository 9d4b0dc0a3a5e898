// Continuity across cuts, the I/O half (the pure half is core/continuity.ts): keeps each source
// scene's `last-frame.png` equal to the last frame of its chosen take (extracted with ffmpeg, next
// to the takes, with `last-frame.json` saying which take it came from), and renders storyboards
// so that a `continue-from` scene is submitted only after its source has finished. The engine
// sends the frame like any first frame and hashes it by content, so choosing another source take
// makes the dependent's take out of date.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as z from 'zod/mini';
import { continuityFrameRef, continuityLinks } from '../core/continuity';
import { parseStoryboard } from '../core/parse';
import { sceneSlugs } from '../core/request';
import { storyboardProvider } from '../core/resolve';
import { extractLastFrame, type FfmpegTools } from './ffmpeg';
import { readJsonFile, writeFileAtomic } from './fsutil';
import { storyboardNameOf } from './ledger';
import { storyboardTakes, type TakeFinding, type TakeLedger } from './takes';
import type { LedgerEntry, RenderRequest } from './types';

/** What rendering in order needs from the engine (RenderEngine satisfies it). */
export interface FilmEngine extends TakeLedger {
  render(req: RenderRequest): Promise<LedgerEntry[]>;
}

export interface ContinuityOptions {
  /** ffmpeg and ffprobe; called only when a frame must be extracted (throws FfmpegMissingError). */
  tools: () => FfmpegTools;
  defaultOutput?: string;
  /** How the takes of a renamed scene are found (render/takes.ts). */
  finding?: TakeFinding;
}

const recordSchema = z.object({
  take: z.number(),
  video: z.string(),
  size: z.number(),
  mtimeMs: z.number(),
});

/** The state of one source scene's frame after a sync. */
export type FrameState =
  | { state: 'ready'; path: string; take: number }
  | { state: 'no-take'; path: string }
  | { state: 'error'; path: string; message: string };

/** Absolute path of a source scene's continuity frame. */
export function continuityFramePath(
  storyboardPath: string,
  text: string,
  sourceIndex: number,
  defaultOutput?: string,
): string {
  const { storyboard } = parseStoryboard(text);
  const ref = continuityFrameRef(
    storyboard,
    storyboardNameOf(storyboardPath),
    sourceIndex,
    defaultOutput,
  );
  return path.resolve(path.dirname(storyboardPath), ref);
}

/**
 * Brings the frames of the given source scenes (default: every scene some `continue-from`
 * names) up to date with their chosen takes. Without a take the frame is removed, so the
 * dependent scene reads as pending.
 */
export async function syncContinuityFrames(
  ledger: TakeLedger,
  storyboardPath: string,
  text: string,
  options: ContinuityOptions,
  only?: readonly number[],
  signal?: AbortSignal,
): Promise<Map<number, FrameState>> {
  const abs = path.resolve(storyboardPath);
  const { storyboard } = parseStoryboard(text);
  const sources = new Set(
    continuityLinks(storyboard).flatMap((l) => (l.valid && l.source ? [l.source.index] : [])),
  );
  const wanted = only ? [...sources].filter((i) => only.includes(i)) : [...sources];
  const out = new Map<number, FrameState>();
  if (wanted.length === 0) return out;
  const takes = await storyboardTakes(ledger, abs, text, options.defaultOutput, options.finding);
  const slugs = sceneSlugs(storyboard);
  const name = storyboardNameOf(abs);
  for (const index of wanted) {
    const frame = path.resolve(
      path.dirname(abs),
      continuityFrameRef(storyboard, name, index, options.defaultOutput, slugs),
    );
    const record = frame.replace(/\.png$/, '.json');
    const chosen = takes.scenes[index]?.chosen;
    if (!chosen?.videoPath) {
      await fs.rm(frame, { force: true });
      await fs.rm(record, { force: true });
      out.set(index, { state: 'no-take', path: frame });
      continue;
    }
    try {
      const stat = await fs.stat(chosen.videoPath);
      const want = {
        take: chosen.take,
        video: chosen.videoPath,
        size: stat.size,
        mtimeMs: Math.round(stat.mtimeMs),
      };
      const had = recordSchema.safeParse(await readJsonFile(record));
      const fresh =
        had.success &&
        had.data.take === want.take &&
        had.data.video === want.video &&
        had.data.size === want.size &&
        had.data.mtimeMs === want.mtimeMs &&
        (await isFile(frame));
      if (!fresh) {
        await extractLastFrame(options.tools(), chosen.videoPath, frame, signal);
        await writeFileAtomic(record, JSON.stringify(want, null, 2) + '\n');
      }
      out.set(index, { state: 'ready', path: frame, take: chosen.take });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      out.set(index, { state: 'error', path: frame, message });
    }
  }
  return out;
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}

/**
 * Renders the selected scenes like `engine.render`, except that a `continue-from` scene waits for
 * its source: when the source is rendered in the same run it goes first and the dependent is
 * submitted only after it finished; either way the source's frame is brought up to date before
 * the dependent is sent. A dependent whose source has no take is refused with a message that
 * says what is pending. Results are in scene order.
 */
export async function renderInOrder(
  engine: FilmEngine,
  req: RenderRequest,
  options: ContinuityOptions,
): Promise<LedgerEntry[]> {
  const abs = path.resolve(req.storyboardPath);
  const { storyboard } = parseStoryboard(req.text);
  const links = continuityLinks(storyboard).filter((l) => l.valid && l.source);
  if (links.length === 0) return engine.render(req);
  const sourceOf = new Map(links.map((l) => [l.scene.index, l.source!.index]));
  const sources = new Set(sourceOf.values());
  const selected = req.scenes ?? storyboard.scenes.map((s) => s.index);
  const slugs = sceneSlugs(storyboard);
  const provider = storyboardProvider(storyboard);
  const running = new Map<number, Promise<LedgerEntry>>();

  const refuse = (index: number, message: string): LedgerEntry => {
    const scene = storyboard.scenes[index]!;
    const now = Date.now();
    const entry: LedgerEntry = {
      key: '',
      requestHash: '',
      take: 0,
      storyboardPath: abs,
      sceneIndex: index,
      sceneTitle: scene.displayTitle,
      sceneSlug: slugs[index]!,
      provider,
      endpoint: '',
      state: 'failed',
      error: message,
      request: null,
      createdAt: now,
      updatedAt: now,
    };
    req.onEvent?.({ entry, message: `${scene.displayTitle}: ${message}` });
    return entry;
  };

  const frameFor = async (source: number): Promise<FrameState> => {
    const states = await syncContinuityFrames(engine, abs, req.text, options, [source], req.signal);
    return states.get(source) ?? { state: 'no-take', path: '' };
  };

  const run = (index: number): Promise<LedgerEntry> => {
    const known = running.get(index);
    if (known) return known;
    const job = (async (): Promise<LedgerEntry> => {
      const source = sourceOf.get(index);
      if (source !== undefined) {
        const title = storyboard.scenes[source]!.displayTitle;
        if (selected.includes(source)) {
          const first = await run(source);
          if (first.state !== 'done')
            return refuse(
              index,
              `not sent: it continues from “${title}”, which did not finish (${first.state}${first.error ? `: ${first.error}` : ''}).`,
            );
        }
        if (req.signal?.aborted)
          return refuse(index, 'cancelled before submitting; nothing was spent.');
        const frame = await frameFor(source);
        if (frame.state === 'no-take')
          return refuse(
            index,
            `not sent: it continues from “${title}”, which has no finished take yet — generate “${title}” first (Generate All runs both, in order).`,
          );
        if (frame.state === 'error')
          return refuse(
            index,
            `not sent: the last frame of “${title}” could not be extracted: ${frame.message}`,
          );
      }
      const [entry] = await engine.render({ ...req, scenes: [index] });
      const result = entry ?? refuse(index, 'not rendered.');
      // A source that just finished gets its frame now, so editors stop showing "pending".
      if (sources.has(index) && result.state === 'done') {
        const frame = await frameFor(index).catch(() => undefined);
        if (frame?.state === 'error')
          req.onEvent?.({
            entry: result,
            message: `${result.sceneTitle}: its last frame could not be extracted: ${frame.message}`,
          });
      }
      return result;
    })();
    running.set(index, job);
    return job;
  };

  const results = await Promise.all(selected.map((i) => run(i)));
  return results.sort((a, b) => a.sceneIndex - b.sceneIndex);
}

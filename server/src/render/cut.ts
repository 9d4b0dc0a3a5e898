// Export the cut: the chosen takes in storyboard order joined into one MP4 with ffmpeg. Stream copy
// (concat demuxer) when every take shares its codec parameters; otherwise one re-encode to
// H.264/AAC, where a scene without a take is its first frame (or black) held for its duration and
// a take without audio gets silence, so the sound stays in sync. The file is written under a temp
// name and renamed; `cut.json` beside it lists the takes used. The plan itself is pure
// (core/film.ts).
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { continuityFrames } from '../core/continuity';
import { planCut, type CutPlan, type CutScene } from '../core/film';
import { isUrl } from '../core/media';
import { resolveScene } from '../core/resolve';
import { probeMedia, runTool, type FfmpegTools } from './ffmpeg';
import { writeFileAtomic } from './fsutil';
import { storyboardNameOf } from './ledger';
import { storyboardTakes, type StoryboardTakes, type TakeFinding, type TakeLedger } from './takes';

export interface CutOptions {
  ledger: TakeLedger;
  tools: FfmpegTools;
  storyboardPath: string;
  text: string;
  /** Output file; default `<output>/<storyboard>/cut.mp4`. */
  out?: string;
  defaultOutput?: string;
  /** How the takes of a renamed scene are found (render/takes.ts). */
  finding?: TakeFinding;
  signal?: AbortSignal;
  /** Progress as a fraction 0–1 of the cut's duration. */
  onProgress?: (fraction: number) => void;
  /**
   * Stills for scenes without a take, by scene index (absolute image paths), overriding the
   * scene's own `first-frame` (e.g. a `continue-from` frame).
   */
  stills?: Map<number, string>;
}

export interface CutResult {
  out: string;
  sidecar: string;
  plan: CutPlan;
}

/** The default place of a storyboard's cut. */
export function defaultCutPath(takes: StoryboardTakes): string {
  return path.join(takes.outputDir, storyboardNameOf(takes.storyboardPath), 'cut.mp4');
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}

/** Reads the takes, probes them and plans the cut (no file is written). */
export async function prepareCut(
  opts: CutOptions,
): Promise<{ takes: StoryboardTakes; plan: CutPlan }> {
  const takes = await storyboardTakes(
    opts.ledger,
    opts.storyboardPath,
    opts.text,
    opts.defaultOutput,
    opts.finding,
  );
  const folder = path.dirname(takes.storyboardPath);
  // A `continue-from` scene without a take is held on its source's last frame.
  const frames = continuityFrames(
    takes.storyboard,
    storyboardNameOf(takes.storyboardPath),
    opts.defaultOutput,
  );
  const scenes: CutScene[] = [];
  for (const s of takes.scenes) {
    const scene: CutScene = {
      sceneIndex: s.sceneIndex,
      sceneTitle: s.sceneTitle,
      seconds: s.seconds,
    };
    if (s.chosen?.videoPath) {
      const probe = await probeMedia(opts.tools, s.chosen.videoPath, opts.signal);
      scene.take = {
        take: s.chosen.take,
        videoPath: s.chosen.videoPath,
        requestHash: s.chosen.requestHash,
        probe,
      };
    } else {
      const given = opts.stills?.get(s.sceneIndex);
      const ref =
        resolveScene(takes.storyboard, s.scene).firstFrame ?? frames.get(s.sceneIndex)?.ref;
      const candidate = given ?? (ref && !isUrl(ref) ? path.resolve(folder, ref) : undefined);
      if (candidate && (await isFile(candidate))) scene.still = candidate;
    }
    scenes.push(scene);
  }
  return { takes, plan: planCut(scenes) };
}

/** Writes the cut; throws when there is nothing to cut or ffmpeg fails (no partial file is left). */
export async function exportCut(opts: CutOptions): Promise<CutResult> {
  const { takes, plan } = await prepareCut(opts);
  if (plan.segments.length === 0) throw new Error('the storyboard has no scenes to cut');
  const out = path.resolve(opts.out ?? defaultCutPath(takes));
  await fs.mkdir(path.dirname(out), { recursive: true });
  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const temp = `${out}.${tag}.tmp`;
  const list = `${out}.${tag}.txt`;
  const progress = progressParser(plan.totalSeconds, opts.onProgress);
  try {
    if (plan.mode === 'copy') {
      await fs.writeFile(list, concatList(plan));
      await runTool(
        opts.tools.ffmpeg,
        [
          ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'],
          ...['-f', 'concat', '-safe', '0', '-i', list],
          ...['-map', '0:v:0', '-map', '0:a:0', '-c', 'copy'],
          ...['-movflags', '+faststart', '-progress', 'pipe:1', '-f', 'mp4', temp],
        ],
        { signal: opts.signal, onStdout: progress },
      );
    } else {
      await runTool(opts.tools.ffmpeg, reencodeArgs(plan, temp), {
        signal: opts.signal,
        onStdout: progress,
      });
    }
    await fs.rename(temp, out);
  } finally {
    await fs.rm(temp, { force: true });
    await fs.rm(list, { force: true });
  }
  opts.onProgress?.(1);
  const sidecar = out.replace(/\.mp4$/i, '') + '.json';
  await writeFileAtomic(
    sidecar,
    JSON.stringify(
      {
        storyboard: takes.storyboardPath,
        createdAt: new Date().toISOString(),
        mode: plan.mode,
        reasons: plan.reasons,
        seconds: Math.round(plan.totalSeconds * 1000) / 1000,
        scenes: plan.segments.map((s) =>
          s.kind === 'take'
            ? {
                scene: s.sceneTitle,
                take: s.take,
                video: s.videoPath,
                requestHash: s.requestHash,
                seconds: s.seconds,
                audio: s.hasAudio,
              }
            : { scene: s.sceneTitle, take: null, still: s.image ?? 'black', seconds: s.seconds },
        ),
        warnings: plan.warnings,
      },
      null,
      2,
    ) + '\n',
  );
  return { out, sidecar, plan };
}

/** The concat demuxer's list: one `file` line per take, quoted for the demuxer. */
function concatList(plan: CutPlan): string {
  return (
    plan.segments
      .map((s) => (s.kind === 'take' ? `file '${s.videoPath.replace(/'/g, "'\\''")}'` : ''))
      .filter(Boolean)
      .join('\n') + '\n'
  );
}

/** ffmpeg arguments for the re-encode: every segment scaled to one size, rate and audio layout. */
function reencodeArgs(plan: CutPlan, temp: string): string[] {
  const { width: w, height: h, frameRate: r } = plan;
  const inputs: string[] = [];
  const filters: string[] = [];
  const pairs: string[] = [];
  let n = 0;
  const fit =
    `scale=${w}:${h}:force_original_aspect_ratio=decrease,` +
    `pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,fps=${r},format=yuv420p`;
  const audio = 'aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo';
  plan.segments.forEach((s, i) => {
    const d = s.seconds.toFixed(3);
    if (s.kind === 'take') {
      const v = n++;
      inputs.push('-i', s.videoPath);
      filters.push(`[${v}:v:0]${fit},trim=duration=${d},setpts=PTS-STARTPTS[v${i}]`);
      if (s.hasAudio) {
        // apad + atrim: the audio lasts exactly as long as the picture.
        filters.push(`[${v}:a:0]${audio},apad,atrim=duration=${d},asetpts=PTS-STARTPTS[a${i}]`);
        pairs.push(`[v${i}][a${i}]`);
        return;
      }
    } else {
      const v = n++;
      if (s.image) inputs.push('-loop', '1', '-framerate', r, '-t', d, '-i', s.image);
      else inputs.push('-f', 'lavfi', '-t', d, '-i', `color=c=black:s=${w}x${h}:r=${r}`);
      filters.push(`[${v}:v:0]${fit},trim=duration=${d},setpts=PTS-STARTPTS[v${i}]`);
    }
    const a = n++;
    inputs.push('-f', 'lavfi', '-t', d, '-i', 'anullsrc=r=48000:cl=stereo');
    filters.push(`[${a}:a:0]${audio},atrim=duration=${d},asetpts=PTS-STARTPTS[a${i}]`);
    pairs.push(`[v${i}][a${i}]`);
  });
  filters.push(`${pairs.join('')}concat=n=${plan.segments.length}:v=1:a=1[v][a]`);
  return [
    ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'],
    ...inputs,
    ...['-filter_complex', filters.join(';'), '-map', '[v]', '-map', '[a]'],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p'],
    ...['-c:a', 'aac', '-b:a', '160k', '-ar', '48000', '-ac', '2'],
    ...['-movflags', '+faststart', '-progress', 'pipe:1', '-f', 'mp4', temp],
  ];
}

/** Turns `-progress pipe:1` output into fractions of the total duration. */
function progressParser(
  totalSeconds: number,
  onProgress?: (fraction: number) => void,
): (chunk: string) => void {
  let buffer = '';
  return (chunk) => {
    if (!onProgress || totalSeconds <= 0) return;
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^out_time_us=(\d+)/.exec(line.trim());
      if (m) onProgress(Math.min(1, Number(m[1]) / 1e6 / totalSeconds));
    }
  };
}

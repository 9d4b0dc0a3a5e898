// From storyboard to film, the pure part: which take of a scene is used, and how the chosen takes
// become one cut (stream copy or re-encode, stills for scenes without a take). No I/O: the render
// layer (server/src/render/takes.ts, cut.ts) reads the ledger and probes the videos, then asks here.

/** What choosing needs to know about one take (a subset of the ledger's entry). */
export interface TakeFacts {
  take: number;
  state: string;
  /** Absolute path of the downloaded video, when it exists on disk. */
  videoPath?: string;
  finishedAt?: number;
}

/** How a scene's take was chosen. */
export type ChosenBy = 'choice' | 'latest' | 'none';

export interface TakeChoice<T extends TakeFacts> {
  take?: T;
  by: ChosenBy;
  /** A take the user chose that can no longer be used (failed, deleted): the default stands in. */
  unusableChoice?: number;
}

/** True when a take can be played and cut: finished and its video is on disk. */
export function usableTake(t: TakeFacts): boolean {
  return t.state === 'done' && !!t.videoPath;
}

/**
 * The take a scene uses: the one the user chose when it is usable, else the latest finished
 * (most recently finished; the higher take number on a tie), else none.
 */
export function chooseTake<T extends TakeFacts>(
  takes: readonly T[],
  chosen?: number,
): TakeChoice<T> {
  if (chosen !== undefined) {
    const picked = takes.find((t) => t.take === chosen);
    if (picked && usableTake(picked)) return { take: picked, by: 'choice' };
  }
  let latest: T | undefined;
  for (const t of takes) {
    if (!usableTake(t)) continue;
    if (
      !latest ||
      (t.finishedAt ?? 0) > (latest.finishedAt ?? 0) ||
      ((t.finishedAt ?? 0) === (latest.finishedAt ?? 0) && t.take > latest.take)
    )
      latest = t;
  }
  const unusableChoice = chosen !== undefined ? chosen : undefined;
  return latest
    ? { take: latest, by: 'latest', ...(unusableChoice !== undefined ? { unusableChoice } : {}) }
    : { by: 'none', ...(unusableChoice !== undefined ? { unusableChoice } : {}) };
}

// ---- the cut ------------------------------------------------------------------------------

/** One stream's parameters as ffprobe reports them (server/src/render/ffmpeg.ts reads them). */
export interface StreamFacts {
  type: 'video' | 'audio';
  codec: string;
  profile?: string;
  width?: number;
  height?: number;
  pixFmt?: string;
  frameRate?: string;
  timeBase?: string;
  sampleRate?: number;
  channels?: number;
  channelLayout?: string;
}

/** A probed video file. */
export interface MediaProbe {
  /** Seconds (container duration). */
  duration: number;
  video?: StreamFacts;
  audio?: StreamFacts;
  videoStreams: number;
  audioStreams: number;
}

/** One scene as the cut sees it, in storyboard order. */
export interface CutScene {
  sceneIndex: number;
  sceneTitle: string;
  /** The scene's duration as written (its shots' sum, its `duration`, else the default). */
  seconds: number;
  /** The chosen take, probed. */
  take?: { take: number; videoPath: string; requestHash?: string; probe: MediaProbe };
  /** An image to hold when there is no take: the scene's first frame (absolute path). */
  still?: string;
}

export type CutSegment =
  | {
      kind: 'take';
      sceneIndex: number;
      sceneTitle: string;
      take: number;
      videoPath: string;
      requestHash?: string;
      seconds: number;
      hasAudio: boolean;
    }
  | {
      kind: 'still';
      sceneIndex: number;
      sceneTitle: string;
      /** The image held for `seconds`; absent → black. */
      image?: string;
      seconds: number;
    };

export interface CutPlan {
  /** `copy`: every segment is a take with the same codec parameters; else re-encode to H.264/AAC. */
  mode: 'copy' | 're-encode';
  /** Why the cut is re-encoded (empty for `copy`). */
  reasons: string[];
  segments: CutSegment[];
  /** Frame size and rate of the re-encoded cut (those of the first take, else 1280×720 at 24). */
  width: number;
  height: number;
  frameRate: string;
  totalSeconds: number;
  /** Shown to the user: scenes without a take, takes without audio. */
  warnings: string[];
}

/** The parameters that must agree for the takes to be joined without re-encoding. */
export function copySignature(p: MediaProbe): string | undefined {
  const v = p.video;
  const a = p.audio;
  if (!v || !a || p.videoStreams !== 1 || p.audioStreams !== 1) return undefined;
  return JSON.stringify([
    v.codec,
    v.profile,
    v.width,
    v.height,
    v.pixFmt,
    v.frameRate,
    v.timeBase,
    a.codec,
    a.profile,
    a.sampleRate,
    a.channels,
  ]);
}

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/** Plans the cut of scenes in storyboard order. Pure: the caller probed the takes. */
export function planCut(scenes: readonly CutScene[]): CutPlan {
  const segments: CutSegment[] = [];
  const warnings: string[] = [];
  const reasons: string[] = [];
  const signatures = new Set<string>();
  let first: MediaProbe | undefined;
  for (const s of scenes) {
    if (s.take) {
      const p = s.take.probe;
      first ??= p;
      const sig = copySignature(p);
      if (sig) signatures.add(sig);
      const hasAudio = p.audioStreams > 0;
      if (!hasAudio) {
        warnings.push(
          `${s.sceneTitle}: take ${s.take.take} has no audio; silence fills its ${fmt(p.duration)}.`,
        );
        reasons.push(`${s.sceneTitle}: take ${s.take.take} has no audio track`);
      } else if (!sig) reasons.push(`${s.sceneTitle}: take ${s.take.take} has extra streams`);
      segments.push({
        kind: 'take',
        sceneIndex: s.sceneIndex,
        sceneTitle: s.sceneTitle,
        take: s.take.take,
        videoPath: s.take.videoPath,
        requestHash: s.take.requestHash,
        seconds: p.duration > 0 ? p.duration : s.seconds,
        hasAudio,
      });
    } else {
      warnings.push(
        `${s.sceneTitle}: no take yet; ${s.still ? 'its first frame' : 'black'} is held for ${fmt(s.seconds)}.`,
      );
      reasons.push(`${s.sceneTitle} has no take (a still stands in)`);
      segments.push({
        kind: 'still',
        sceneIndex: s.sceneIndex,
        sceneTitle: s.sceneTitle,
        image: s.still,
        seconds: s.seconds,
      });
    }
  }
  if (signatures.size > 1) reasons.push('the takes differ in codec parameters');
  const width = even(first?.video?.width ?? 1280);
  const height = even(first?.video?.height ?? 720);
  const frameRate = validRate(first?.video?.frameRate) ?? '24';
  const totalSeconds = segments.reduce((n, s) => n + s.seconds, 0);
  return {
    mode: reasons.length === 0 && segments.length > 0 ? 'copy' : 're-encode',
    reasons,
    segments,
    width,
    height,
    frameRate,
    totalSeconds,
    warnings,
  };
}

function validRate(rate: string | undefined): string | undefined {
  if (!rate) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(rate);
  if (m) return Number(m[1]) > 0 && Number(m[2]) > 0 ? rate : undefined;
  return Number(rate) > 0 ? rate : undefined;
}

function fmt(seconds: number): string {
  return `${Math.round(seconds * 100) / 100} s`;
}

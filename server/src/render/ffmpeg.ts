// ffmpeg and ffprobe: a named, real dependency of the film features (continuity frames, the cut).
// Found through an explicit path (the extension's `kling.ffmpegPath`), else `FFMPEG_PATH`, else
// PATH; ffprobe is looked up beside ffmpeg, then on PATH. When it is missing only the commands that
// need it fail, with a message that says how to install it; everything else keeps working.
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { MediaProbe, StreamFacts } from '../core/film';

export type { MediaProbe, StreamFacts };

export interface FfmpegTools {
  ffmpeg: string;
  ffprobe: string;
}

export interface FindFfmpegOptions {
  /** An explicit ffmpeg executable (a setting); wins over the environment. */
  configured?: string;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
}

/** How to install ffmpeg, per platform, as shown when it is missing. */
export const FFMPEG_INSTALL_HINT =
  'Install ffmpeg (it includes ffprobe): Debian/Ubuntu `sudo apt-get install ffmpeg`; ' +
  'macOS `brew install ffmpeg`; Windows `winget install Gyan.FFmpeg` (or download it from ' +
  'https://ffmpeg.org/download.html and add its bin folder to PATH). Or point the ' +
  '`kling.ffmpegPath` setting or the FFMPEG_PATH environment variable at the ffmpeg executable.';

/** ffmpeg (or ffprobe) could not be found or run; the message says how to install it. */
export class FfmpegMissingError extends Error {
  constructor(what: string) {
    super(`${what} ${FFMPEG_INSTALL_HINT}`);
    this.name = 'FfmpegMissingError';
  }
}

/** ffmpeg ran and failed; `detail` is the last lines of its stderr. */
export class FfmpegFailedError extends Error {
  constructor(
    message: string,
    readonly detail: string,
  ) {
    super(message);
    this.name = 'FfmpegFailedError';
  }
}

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function exeNames(base: string, platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  if (platform !== 'win32') return [base];
  const exts = (env.PATHEXT || '.EXE;.CMD;.BAT').split(';').filter(Boolean);
  return [base, ...exts.map((e) => base + e.toLowerCase()), ...exts.map((e) => base + e)];
}

/** The first executable called `base` on PATH. */
export function onPath(
  base: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  const dirs = (env.PATH ?? env.Path ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of dirs)
    for (const name of exeNames(base, platform, env)) {
      const candidate = path.join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  return undefined;
}

/** ffprobe beside a given ffmpeg (same folder, same naming), else on PATH. */
function ffprobeFor(
  ffmpeg: string,
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform,
): string | undefined {
  const dir = path.dirname(ffmpeg);
  const base = path.basename(ffmpeg).replace(/ffmpeg/i, 'ffprobe');
  if (base !== path.basename(ffmpeg)) {
    const beside = path.join(dir, base);
    if (isExecutable(beside)) return beside;
  }
  for (const name of exeNames('ffprobe', platform, env)) {
    const beside = path.join(dir, name);
    if (isExecutable(beside)) return beside;
  }
  return onPath('ffprobe', env, platform);
}

/** Finds ffmpeg and ffprobe, or throws `FfmpegMissingError` saying what was tried. */
export function findFfmpeg(options: FindFfmpegOptions = {}): FfmpegTools {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const configured = options.configured?.trim();
  const fromEnv = env.FFMPEG_PATH?.trim();
  let ffmpeg: string | undefined;
  if (configured) {
    if (!isExecutable(configured))
      throw new FfmpegMissingError(`ffmpeg was not found at ${configured} (kling.ffmpegPath).`);
    ffmpeg = configured;
  } else if (fromEnv) {
    if (!isExecutable(fromEnv))
      throw new FfmpegMissingError(`ffmpeg was not found at ${fromEnv} (FFMPEG_PATH).`);
    ffmpeg = fromEnv;
  } else {
    ffmpeg = onPath('ffmpeg', env, platform);
    if (!ffmpeg) throw new FfmpegMissingError('ffmpeg was not found on PATH.');
  }
  const ffprobe = ffprobeFor(ffmpeg, env, platform);
  if (!ffprobe) throw new FfmpegMissingError(`ffprobe was not found beside ${ffmpeg} nor on PATH.`);
  return { ffmpeg, ffprobe };
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Called with each stdout chunk (e.g. `-progress pipe:1`). */
  onStdout?: (chunk: string) => void;
}

/** Runs a tool to completion; resolves with its stdout, rejects with the tail of its stderr. */
export function runTool(exe: string, args: string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(abortError());
    const child = spawn(exe, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    let stdout = '';
    let stderr = '';
    const onAbort = () => child.kill('SIGKILL');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      stdout += d;
      options.onStdout?.(d);
    });
    child.stderr.on('data', (d: string) => {
      // Keep the tail only: ffmpeg can be verbose on long inputs.
      stderr = (stderr + d).slice(-8000);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (err.code === 'ENOENT' || err.code === 'EACCES')
        reject(new FfmpegMissingError(`${exe} could not be started (${err.code}).`));
      else reject(err);
    });
    child.on('close', (code) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (options.signal?.aborted) return reject(abortError());
      if (code === 0) return resolve(stdout);
      const tail = stderr.trim().split('\n').slice(-4).join(' | ');
      reject(new FfmpegFailedError(`${path.basename(exe)} failed (exit ${code}): ${tail}`, stderr));
    });
  });
}

function abortError(): Error {
  const e = new Error('cancelled');
  e.name = 'AbortError';
  return e;
}

interface RawStream {
  codec_type?: string;
  codec_name?: string;
  profile?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  r_frame_rate?: string;
  time_base?: string;
  sample_rate?: string;
  channels?: number;
  channel_layout?: string;
  duration?: string;
}

/** Reads duration and stream parameters with ffprobe. */
export async function probeMedia(
  tools: FfmpegTools,
  file: string,
  signal?: AbortSignal,
): Promise<MediaProbe> {
  const out = await runTool(
    tools.ffprobe,
    ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', file],
    { signal },
  );
  const json = JSON.parse(out) as { format?: { duration?: string }; streams?: RawStream[] };
  const streams = json.streams ?? [];
  const facts = (s: RawStream | undefined): StreamFacts | undefined =>
    s && (s.codec_type === 'video' || s.codec_type === 'audio')
      ? {
          type: s.codec_type,
          codec: s.codec_name ?? '?',
          profile: s.profile,
          width: s.width,
          height: s.height,
          pixFmt: s.pix_fmt,
          frameRate: s.r_frame_rate,
          timeBase: s.time_base,
          sampleRate: s.sample_rate ? Number(s.sample_rate) : undefined,
          channels: s.channels,
          channelLayout: s.channel_layout,
        }
      : undefined;
  const videos = streams.filter((s) => s.codec_type === 'video');
  const audios = streams.filter((s) => s.codec_type === 'audio');
  const duration = Number(json.format?.duration ?? videos[0]?.duration ?? NaN);
  return {
    duration: Number.isFinite(duration) ? duration : 0,
    video: facts(videos[0]),
    audio: facts(audios[0]),
    videoStreams: videos.length,
    audioStreams: audios.length,
  };
}

/** Saves the last frame of a video as a PNG (for `continue-from`). */
export async function extractLastFrame(
  tools: FfmpegTools,
  video: string,
  outPng: string,
  signal?: AbortSignal,
): Promise<void> {
  // -sseof seeks near the end; `-update 1` keeps overwriting one image, so the last decoded
  // frame is what remains. Written under a temp name and renamed: a reader never sees half a PNG.
  await mkdir(path.dirname(outPng), { recursive: true });
  const temp = `${outPng}.${process.pid}.${Date.now().toString(36)}.tmp`;
  try {
    await runTool(
      tools.ffmpeg,
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-sseof',
        '-1',
        '-i',
        video,
        '-an',
        '-update',
        '1',
        '-f',
        'image2',
        '-c:v',
        'png',
        temp,
      ],
      { signal },
    );
    await rename(temp, outPng);
  } finally {
    await rm(temp, { force: true });
  }
}

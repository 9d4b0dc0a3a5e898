// Real short MP4s for the fake server's result videos, made with ffmpeg (Debian's, on PATH or
// FFMPEG_PATH): a solid colour per task, a sine tone as the audio track, the task's duration.
// Made once per (colour, duration, size) and kept in a temp folder for the life of the process.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TaskVideo } from './server';

/** Distinct, easily told apart colours (RGB); task N gets colour N mod the list's length. */
export const TASK_COLOURS: readonly [number, number, number][] = [
  [220, 30, 30],
  [30, 180, 40],
  [30, 60, 220],
  [230, 200, 20],
  [200, 40, 200],
  [20, 200, 200],
];

export interface VideoSpec {
  rgb: readonly [number, number, number];
  seconds: number;
  width?: number;
  height?: number;
  fps?: number;
  audio?: boolean;
}

const hex = (rgb: readonly number[]) =>
  '0x' + rgb.map((c) => c.toString(16).padStart(2, '0')).join('');

let folder: string | undefined;
const made = new Map<string, Buffer>();

function ffmpegExe(): string {
  return process.env.FFMPEG_PATH || 'ffmpeg';
}

/** An H.264/AAC MP4 of one solid colour (with a 440 Hz tone unless `audio: false`). */
export function makeVideo(spec: VideoSpec): Buffer {
  const { width = 640, height = 360, fps = 24, audio = true } = spec;
  const key = JSON.stringify([spec.rgb, spec.seconds, width, height, fps, audio]);
  const hit = made.get(key);
  if (hit) return hit;
  if (!folder) {
    folder = mkdtempSync(path.join(os.tmpdir(), 'ksb-fake-videos-'));
    const dir = folder;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const out = path.join(folder, `v${made.size}.mp4`);
  const d = String(spec.seconds);
  execFileSync(
    ffmpegExe(),
    [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'],
      ...['-f', 'lavfi', '-i', `color=c=${hex(spec.rgb)}:s=${width}x${height}:r=${fps}:d=${d}`],
      ...(audio ? ['-f', 'lavfi', '-i', `sine=f=440:sample_rate=48000:d=${d}`] : []),
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', String(fps)],
      ...(audio ? ['-c:a', 'aac', '-ac', '2', '-b:a', '64k'] : []),
      ...['-t', d, '-movflags', '+faststart', out],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const bytes = readFileSync(out);
  made.set(key, bytes);
  return bytes;
}

export interface TaskVideoOptions {
  /** Overrides per task index (0-based, in creation order): e.g. another size for the re-encode path. */
  override?: (index: number) => Partial<VideoSpec> | undefined;
}

/** A fake-server `video` option: task N is colour N, as long as the task asked for. */
export function taskVideos(options: TaskVideoOptions = {}): TaskVideo {
  return ({ index, seconds }) =>
    makeVideo({
      rgb: TASK_COLOURS[index % TASK_COLOURS.length]!,
      seconds,
      ...options.override?.(index),
    });
}

/** The colour of task N's video. */
export function taskColour(index: number): readonly [number, number, number] {
  return TASK_COLOURS[index % TASK_COLOURS.length]!;
}

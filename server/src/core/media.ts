// Media facts by content: the type from magic bytes, the pixel size from the header (via
// `image-size`, which reads a Uint8Array — no file system here), and the byte count the
// caller measured. The caller reads the first MEDIA_HEAD_BYTES of a file and passes them in.

import { imageSize } from 'image-size';
import {
  IMAGE_ASPECT,
  IMAGE_MAX_BYTES,
  IMAGE_MIN_SIDE,
  VIDEO_MAX_BYTES,
  formatMegabytes,
} from './limits';

export type MediaFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'bmp' | 'mp4' | 'mov' | 'unknown';

/** What is known about a media file; `exists: false` means the path does not name a file. */
export interface MediaFacts {
  exists: boolean;
  bytes?: number;
  format?: MediaFormat;
  width?: number;
  height?: number;
}

/** Path as written in the storyboard → its facts, or undefined while not known yet (no diagnostic then). */
export type MediaLookup = (ref: string) => MediaFacts | undefined;

/** How many leading bytes a caller should read: enough for a JPEG's SOF after large EXIF/ICC blocks. */
export const MEDIA_HEAD_BYTES = 512 * 1024;

/** File extension and MIME type of each format a provider accepts (and those it may be sent by mistake). */
const FORMAT_FILE: Record<Exclude<MediaFormat, 'unknown'>, { extension: string; mime: string }> = {
  jpeg: { extension: '.jpg', mime: 'image/jpeg' },
  png: { extension: '.png', mime: 'image/png' },
  webp: { extension: '.webp', mime: 'image/webp' },
  gif: { extension: '.gif', mime: 'image/gif' },
  bmp: { extension: '.bmp', mime: 'image/bmp' },
  mp4: { extension: '.mp4', mime: 'video/mp4' },
  mov: { extension: '.mov', mime: 'video/quicktime' },
};

/**
 * The extension and MIME type a file is sent under: those of its detected format, never of its
 * name (a PNG saved as `frame.webp` is sent as `.png`, `image/png`); undefined when the format
 * is not recognised.
 */
export function formatFile(format: MediaFormat): { extension: string; mime: string } | undefined {
  return format === 'unknown' ? undefined : FORMAT_FILE[format];
}

/**
 * The files whose changes can change media facts: every extension a media setting may name, in
 * both cases (watchers are case-sensitive on Linux). The language server, the extension's
 * watcher and the inline previews all watch this one pattern.
 */
export const MEDIA_WATCH_GLOB =
  '**/*.{jpg,jpeg,png,webp,gif,bmp,mp4,mov,JPG,JPEG,PNG,WEBP,GIF,BMP,MP4,MOV}';

/** True for `http://` and `https://` references, which are passed through unchecked. */
export function isUrl(ref: string): boolean {
  return /^https?:\/\//i.test(ref);
}

/** The kind of file a media key expects. */
export type MediaKind = 'image' | 'video';

/** True when the format is one the APIs accept for this kind (image: JPG/PNG; video: MP4/MOV). */
export function formatAccepted(kind: MediaKind, format: MediaFormat | undefined): boolean {
  return kind === 'image'
    ? format === 'jpeg' || format === 'png'
    : format === 'mp4' || format === 'mov';
}

/** Detects the format from the first bytes. */
export function sniffFormat(head: Uint8Array): MediaFormat {
  const b = head;
  const at = (i: number, ...bytes: number[]) => bytes.every((v, k) => b[i + k] === v);
  const ascii = (i: number, s: string) => at(i, ...Array.from(s, (c) => c.charCodeAt(0)));
  if (at(0, 0xff, 0xd8, 0xff)) return 'jpeg';
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'webp';
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return 'gif';
  if (ascii(0, 'BM') && b.length >= 26) return 'bmp';
  if (ascii(4, 'ftyp') && b.length >= 12) {
    // QuickTime files carry the `qt  ` major brand; every other ISO-BMFF brand is treated as MP4.
    return ascii(8, 'qt  ') ? 'mov' : 'mp4';
  }
  // Old QuickTime files may start with a `moov`, `mdat`, `wide` or `free` atom instead of `ftyp`.
  if (ascii(4, 'moov') || ascii(4, 'mdat') || ascii(4, 'wide')) return 'mov';
  return 'unknown';
}

/** Facts about a file from its first bytes (see MEDIA_HEAD_BYTES) and its total size. Never throws. */
export function sniffMedia(head: Uint8Array, totalBytes: number): MediaFacts {
  const format = sniffFormat(head);
  const facts: MediaFacts = { exists: true, bytes: totalBytes, format };
  if (
    format === 'jpeg' ||
    format === 'png' ||
    format === 'webp' ||
    format === 'gif' ||
    format === 'bmp'
  ) {
    try {
      const size = imageSize(head);
      if (size.width > 0 && size.height > 0) {
        facts.width = size.width;
        facts.height = size.height;
      }
    } catch {
      // A truncated or damaged header: the format is known, the size is not.
    }
  }
  return facts;
}

/** One problem with a media file, before it is positioned. */
export interface MediaProblem {
  code: 'media-not-found' | 'media-format' | 'media-too-large' | 'image-too-small' | 'image-aspect';
  message: string;
}

const FORMAT_NAMES: Record<MediaFormat, string> = {
  jpeg: 'JPEG',
  png: 'PNG',
  webp: 'WEBP',
  gif: 'GIF',
  bmp: 'BMP',
  mp4: 'MP4',
  mov: 'MOV',
  unknown: 'not a recognised image or video',
};

/**
 * The problems of a file used as `kind`: not found, wrong format (then nothing else),
 * too large, too small, aspect. An empty list when the facts show nothing wrong.
 */
export function mediaProblems(ref: string, kind: MediaKind, facts: MediaFacts): MediaProblem[] {
  if (!facts.exists) return [{ code: 'media-not-found', message: `File not found: ${ref}` }];
  const problems: MediaProblem[] = [];
  if (facts.format !== undefined && !formatAccepted(kind, facts.format)) {
    const expected = kind === 'image' ? 'a JPG or PNG image' : 'an MP4 or MOV video';
    const found =
      facts.format === 'unknown' ? FORMAT_NAMES.unknown : `a ${FORMAT_NAMES[facts.format]} file`;
    return [
      { code: 'media-format', message: `${ref} is ${found} by its content; expected ${expected}` },
    ];
  }
  const maxBytes = kind === 'image' ? IMAGE_MAX_BYTES : VIDEO_MAX_BYTES;
  if (facts.bytes !== undefined && facts.bytes > maxBytes) {
    problems.push({
      code: 'media-too-large',
      message: `${ref} is ${formatMegabytes(facts.bytes)}, ${kind === 'image' ? 'an image' : 'a video'} may be at most ${formatMegabytes(maxBytes)}`,
    });
  }
  if (kind === 'image' && facts.width !== undefined && facts.height !== undefined) {
    const { width, height } = facts;
    if (width < IMAGE_MIN_SIDE || height < IMAGE_MIN_SIDE) {
      problems.push({
        code: 'image-too-small',
        message: `${ref} is ${width}×${height} px; each side must be at least ${IMAGE_MIN_SIDE} px`,
      });
    }
    const ratio = width / height;
    if (ratio < IMAGE_ASPECT.min || ratio > IMAGE_ASPECT.max) {
      problems.push({
        code: 'image-aspect',
        message: `${ref} is ${width}×${height} px (aspect ${formatRatio(width, height)}); the aspect must be between 1:2.5 and 2.5:1`,
      });
    }
  }
  return problems;
}

/** `1000×300` → `3.33:1`; `300×1000` → `1:3.33`. */
function formatRatio(width: number, height: number): string {
  const r = (n: number) => String(Math.round(n * 100) / 100);
  return width >= height ? `${r(width / height)}:1` : `1:${r(height / width)}`;
}

// API limits the validator, hover and request builder share (server/docs/providers.md).
// Lengths are Unicode code points; sizes are bytes.

import type { Body, Provider } from './ast';
import { codePointLength } from './text';

/** Limits that differ between providers. */
export interface ProviderLimits {
  /** Most shots in one multi-shot scene (kie: 5, kling: 6). */
  maxShots: number;
  /** Longest counted shot prompt (kie: 500 with `@NAME` = 37, kling: 512). */
  shotPrompt: number;
}

export const PROVIDER_LIMITS: Readonly<Record<Provider, ProviderLimits>> = {
  kie: { maxShots: 5, shotPrompt: 500 },
  kling: { maxShots: 6, shotPrompt: 512 },
};

/** What each `@NAME` costs in a counted prompt length. */
export const REF_COST = 37;
/** Longest single-shot prompt (counted). */
export const PROMPT_MAX = 2500;
/** Longest negative prompt. */
export const NEGATIVE_MAX = 2500;
/** A scene lasts 3–15 s. */
export const SCENE_DURATION = { min: 3, max: 15 } as const;
/** A shot lasts 1–12 s. */
export const SHOT_DURATION = { min: 1, max: 12 } as const;
/** Default scene duration when nothing sets one. */
export const DEFAULT_DURATION = 5;
/** Most distinct elements one scene may send. */
export const MAX_ELEMENTS = 3;
/** An `images` element has 2–4 images. */
export const ELEMENT_IMAGES = { min: 2, max: 4 } as const;
/** Images (element images and frames): at most 10 MB (10 × 1024 × 1024 bytes). */
export const IMAGE_MAX_BYTES = 10 * 1024 * 1024;
/** Element videos: at most 50 MB (50 × 1024 × 1024 bytes). */
export const VIDEO_MAX_BYTES = 50 * 1024 * 1024;
/** Images: each side at least 300 px. */
export const IMAGE_MIN_SIDE = 300;
/** Images: width / height between 1:2.5 and 2.5:1. */
export const IMAGE_ASPECT = { min: 1 / 2.5, max: 2.5 } as const;

/** The limits of a provider. */
export function limitsFor(provider: Provider): ProviderLimits {
  return PROVIDER_LIMITS[provider];
}

/** A prompt's counted length: code points with each `@NAME` replaced by 37. */
export interface CountedLength {
  length: number;
  refs: number;
}

/** Counted length of a body: code points of the sent text, each `@NAME` removed and 37 added per reference. */
export function countedLength(body: Body): CountedLength {
  let length = codePointLength(body.text);
  for (const ref of body.refs) length += REF_COST - (ref.name.length + 1);
  return { length, refs: body.refs.length };
}

/**
 * A cheap upper bound of `countedLength(body).length`: UTF-16 units instead of code points (a
 * string has at least as many units as code points). When it is within a limit, so is the
 * counted length, and the code points need not be counted.
 */
export function countedLengthBound(body: Body): number {
  let length = body.text.length;
  for (let i = 0, n = body.refCount; i < n; i++)
    length += REF_COST - (body.refAt(i).name.length + 1);
  return length;
}

/** "507/500 characters (1 element reference counts 37)": the counted length against a limit. */
export function describeCounted(counted: CountedLength, limit: number): string {
  const base = `${counted.length}/${limit} characters`;
  if (counted.refs === 0) return base;
  if (counted.refs === 1) return `${base} (1 element reference counts ${REF_COST})`;
  return `${base} (${counted.refs} element references count ${REF_COST} each)`;
}

/** Megabytes with one decimal, for messages (`10.4 MB`). */
export function formatMegabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

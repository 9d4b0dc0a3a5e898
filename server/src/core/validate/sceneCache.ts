// Scene diagnostics kept across validation runs, so an edit re-checks only what it changed.
//
// The incremental parser (incremental.ts) keeps the objects of the scenes an edit does not touch
// (moved in place when lines above them change), so a scene object that comes back is a scene
// whose text is unchanged. What else a scene's checks read (scenes.ts, settings.ts) is part of
// the key: the provider, the defined element names, whether the header turns sound off (and its
// line); and, when the scene has diagnostics, what they print or carry — its first line, its
// index and its display title. Media facts are not: a scene leaves the files it names as media
// checks, judged after all scenes by the facts known then (validate.ts), so a file that changes
// re-checks no scene. Spans are kept relative to the scene's header and placed again on reuse. A
// scene with an undefined `@NAME` is always checked again (its suggestion depends on a budget
// shared by the whole run). What a scene leaves for later checks (elements it uses, its unsent
// text line, its media checks) is replayed.

import type { SceneBlock } from '../ast';
import type { StoryboardDiagnostic } from '../diagnostics';
import type { MediaKind } from '../media';
import type { Validation } from './context';
import { checkScene } from './scenes';

interface KeptDiagnostic {
  diagnostic: StoryboardDiagnostic;
  /** Offset from the scene header's start, and length, when it was made. */
  at: number;
  length: number;
}

export interface SceneEntry {
  provider: string;
  elementKey: string;
  /** The header's sound-off line, or -1. */
  soundLine: number;
  headerLine: number;
  index: number;
  displayTitle: string;
  /** The scene's media checks, their offsets from the scene header's start. */
  media: readonly { ref: string; at: number; length: number; kind: MediaKind }[];
  /** The scene's text is not sent (its first line is left for the look-alike check). */
  unsent: boolean;
  kept: readonly KeptDiagnostic[];
}

/** Kept scene results, by scene object: one per editor session (the language service holds it). */
export type SceneCache = WeakMap<SceneBlock, SceneEntry>;

/** A new, empty scene cache (pass it as ValidateOptions.sceneCache). */
export function createSceneCache(): SceneCache {
  return new WeakMap();
}

const NONE: readonly never[] = [];

/** How often a scene was reused or checked (tests show the cache is used at all). */
export const sceneCacheStats = { reused: 0, checked: 0 };

function reusable(v: Validation, scene: SceneBlock, e: SceneEntry): boolean {
  if (e.provider !== v.provider || e.elementKey !== v.elementKey) return false;
  const soundLine = v.headerSoundOff ? v.headerSoundOff.line : -1;
  if (e.soundLine < 0 !== soundLine < 0) return false;
  if (
    e.kept.length &&
    (e.soundLine !== soundLine ||
      e.headerLine !== scene.headerLine ||
      e.index !== scene.index ||
      e.displayTitle !== scene.displayTitle)
  )
    return false;
  return true;
}

/** checkScene, or what it gave last time when nothing it depends on has changed. */
export function checkSceneCached(v: Validation, scene: SceneBlock, entries: SceneCache): void {
  const hit = entries.get(scene);
  if (hit && reusable(v, scene, hit)) {
    sceneCacheStats.reused++;
    const base = scene.headerOffset;
    for (const k of hit.kept)
      v.out.push({ ...k.diagnostic, span: { offset: base + k.at, length: k.length } });
    for (const m of hit.media)
      v.mediaChecks.push({ ref: m.ref, offset: base + m.at, length: m.length, kind: m.kind });
    if (hit.unsent) v.unsentTextLines.add(scene.body.lines[0].line);
    // Every reference of a kept scene names a defined element, and every one is a use.
    for (const ref of scene.body.refs) v.used.add(ref.name);
    for (const shot of scene.shots) for (const ref of shot.body.refs) v.used.add(ref.name);
    return;
  }
  sceneCacheStats.checked++;
  const before = v.out.length;
  const checksBefore = v.mediaChecks.length;
  checkScene(v, scene);
  const made = v.out.length > before ? v.out.slice(before) : NONE;
  if (v.cancelled() || made.some((d) => d.code === 'undefined-element')) {
    entries.delete(scene);
    return;
  }
  const base = scene.headerOffset;
  const checks = v.mediaChecks;
  const media =
    checks.length > checksBefore
      ? checks
          .slice(checksBefore)
          .map((c) => ({ ref: c.ref, at: c.offset - base, length: c.length, kind: c.kind }))
      : NONE;
  const lines = scene.body.lines;
  entries.set(scene, {
    provider: v.provider,
    elementKey: v.elementKey,
    soundLine: v.headerSoundOff ? v.headerSoundOff.line : -1,
    headerLine: scene.headerLine,
    index: scene.index,
    displayTitle: scene.displayTitle,
    media,
    unsent: lines.length > 0 && v.unsentTextLines.has(lines[0].line),
    kept: made.length
      ? made.map((d) => ({ diagnostic: d, at: d.span.offset - base, length: d.span.length }))
      : NONE,
  });
}

// Scene diagnostics kept across validation runs, so an edit re-checks only what it changed.
//
// The incremental parser (incremental.ts) keeps the objects of the scenes an edit does not touch
// (moved in place when lines above them change), so a scene object that comes back is a scene
// whose text is unchanged. What else a scene's checks read (scenes.ts, settings.ts) is part of
// the key: the provider, the defined element names, whether the header turns sound off (and its
// line), the facts of every file the scene checked; and, when the scene has diagnostics, what
// they print or carry — its first line, its index and its display title. Spans are kept relative
// to the scene's header and placed again on reuse. A scene with an undefined `@NAME` is always
// checked again (its suggestion depends on a budget shared by the whole run). What a scene
// leaves for later checks (elements it uses, its unsent text line) is replayed.

import type { SceneBlock } from '../ast';
import type { StoryboardDiagnostic } from '../diagnostics';
import type { MediaFacts } from '../media';
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
  media: readonly { ref: string; facts: MediaFacts | undefined }[];
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

function sameFacts(a: MediaFacts | undefined, b: MediaFacts | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return (
    a.exists === b.exists &&
    a.bytes === b.bytes &&
    a.format === b.format &&
    a.width === b.width &&
    a.height === b.height
  );
}

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
  for (const m of e.media) if (!sameFacts(m.facts, v.factsOf(m.ref))) return false;
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
    if (hit.unsent) v.unsentTextLines.add(scene.body.lines[0].line);
    // Every reference of a kept scene names a defined element, and every one is a use.
    for (const ref of scene.body.refs) v.used.add(ref.name);
    for (const shot of scene.shots) for (const ref of shot.body.refs) v.used.add(ref.name);
    return;
  }
  sceneCacheStats.checked++;
  const before = v.out.length;
  const uses = v.mediaScratch;
  uses.length = 0;
  v.mediaUses = uses;
  try {
    checkScene(v, scene);
  } finally {
    v.mediaUses = undefined;
  }
  const media = uses.length ? uses.slice() : NONE;
  const made = v.out.length > before ? v.out.slice(before) : NONE;
  if (v.cancelled() || made.some((d) => d.code === 'undefined-element')) {
    entries.delete(scene);
    return;
  }
  const base = scene.headerOffset;
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

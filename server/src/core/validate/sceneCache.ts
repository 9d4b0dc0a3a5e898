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
//
// A scene checked in a run is kept only when the run's result is out (`keepChecked`, which the
// language service runs once the diagnostics are published): during the run it costs one small
// record instead of an entry, two arrays and a WeakMap insert — 3–4 ms of a fresh server's first
// validation of the 2,000-scene benchmark storyboard, which waits for none of it.

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

/**
 * A scene checked in a run, to keep once the run is over: where its diagnostics and media checks
 * sit in the run's lists, and what the entry keys on, as they were when it was checked (the
 * scene object may be moved by an edit before the entry is made).
 */
export interface CheckedScene {
  scene: SceneBlock;
  base: number;
  headerLine: number;
  index: number;
  displayTitle: string;
  outFrom: number;
  outTo: number;
  mediaFrom: number;
  mediaTo: number;
  unsent: boolean;
}

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
      v.addMediaCheck({ ref: m.ref, offset: base + m.at, length: m.length, kind: m.kind });
    if (hit.unsent) v.unsentTextLines.add(scene.body.lineAt(0).line);
    // Every reference of a kept scene names a defined element, and every one is a use.
    v.useAll(scene.body);
    for (const shot of scene.shots) v.useAll(shot.body);
    return;
  }
  sceneCacheStats.checked++;
  const outFrom = v.out.length;
  const mediaFrom = v.mediaChecks.length;
  checkScene(v, scene);
  const outTo = v.out.length;
  if (v.cancelled()) return;
  for (let i = outFrom; i < outTo; i++) {
    if (v.out[i].code === 'undefined-element') {
      entries.delete(scene);
      return;
    }
  }
  const body = scene.body;
  v.checkedScenes.push({
    scene,
    base: scene.headerOffset,
    headerLine: scene.headerLine,
    index: scene.index,
    displayTitle: scene.displayTitle,
    outFrom,
    outTo,
    mediaFrom,
    mediaTo: v.mediaChecks.length,
    unsent: body.lineCount > 0 && v.unsentTextLines.has(body.lineAt(0).line),
  });
}

/**
 * Keeps the scenes a run checked (see the top of this file). Each was checked to the end (a scene
 * cut short by a cancellation is not recorded), so a run cancelled since still has them right.
 */
export function keepChecked(v: Validation, entries: SceneCache): void {
  const checked = v.checkedScenes;
  for (const c of checked) {
    const { base } = c;
    entries.set(c.scene, {
      provider: v.provider,
      elementKey: v.elementKey,
      soundLine: v.headerSoundOff ? v.headerSoundOff.line : -1,
      headerLine: c.headerLine,
      index: c.index,
      displayTitle: c.displayTitle,
      media:
        c.mediaTo > c.mediaFrom
          ? v.mediaChecks
              .slice(c.mediaFrom, c.mediaTo)
              .map((m) => ({ ref: m.ref, at: m.offset - base, length: m.length, kind: m.kind }))
          : NONE,
      unsent: c.unsent,
      kept:
        c.outTo > c.outFrom
          ? v.out
              .slice(c.outFrom, c.outTo)
              .map((d) => ({ diagnostic: d, at: d.span.offset - base, length: d.span.length }))
          : NONE,
    });
  }
  checked.length = 0;
}

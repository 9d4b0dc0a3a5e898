// A summary of a storyboard for the client's own views (CodeLens, preview, commands), built on the
// pure core parser so the client and the language server never disagree about what a scene is.
// Offsets stay UTF-16 code units; `vscode.TextDocument.positionAt` converts them.
import { parseStoryboard } from '../../server/src/core/parse';
import type {
  ElementBlock,
  SceneBlock,
  Setting,
  Span,
  Storyboard,
} from '../../server/src/core/ast';
import {
  elementsByName,
  lastSetting,
  resolveElement,
  resolveScene,
} from '../../server/src/core/resolve';
import type { ProviderId } from '../../server/src/render/types';

export interface ShotSummary {
  duration: number;
  label?: string;
  prompt: string;
  headerLine: number;
  endLine: number;
  elementNames: string[];
}

export interface SceneSummary {
  index: number;
  title: string;
  headerLine: number;
  /** Last line of the scene including its shots. */
  endLine: number;
  headerSpan: Span;
  provider: ProviderId;
  mode: string;
  /** Seconds: the scene's `duration`, else the sum of its shots, else the header default, else 5. */
  duration: number;
  sound: boolean;
  shots: ShotSummary[];
  /**
   * How the scene is sent, as the request builder sends it (core/request.ts): "single shot",
   * "3 shots", or for `shot-type: intelligence` (kling) one prompt whose cuts Kling plans, its
   * `[shot]` blocks not sent.
   */
  shotsLabel: string;
  /** `shot-type: intelligence`: the scene text is the one prompt; `shots` are not sent. */
  intelligence: boolean;
  /** The one prompt sent (single-shot or intelligence scenes); empty for multi-shot scenes. */
  prompt: string;
  /** Distinct referenced element names in order of first use. */
  elementNames: string[];
  firstFrame?: MediaRef;
  lastFrame?: MediaRef;
}

export interface MediaRef {
  value: string;
  span: Span;
  line: number;
}

export interface ElementSummary {
  name: string;
  headerLine: number;
  endLine: number;
  description: string;
  images: MediaRef[];
  video?: MediaRef;
  frontal?: MediaRef;
  /** The `images:` setting line, when there is one (Expand Element Views rewrites it). */
  imagesSetting?: Setting;
  /** Where a new `images:` line goes: after the last setting, else right after the header. */
  settingsEndOffset: number;
}

export interface StoryboardSummary {
  storyboard: Storyboard;
  scenes: SceneSummary[];
  elements: ElementSummary[];
}

/** Parses the text and resolves each scene's effective settings through the core's resolver. */
export function summarize(text: string, defaultProvider: ProviderId = 'kie'): StoryboardSummary {
  const { storyboard } = parseStoryboard(text);
  const byName = elementsByName(storyboard);
  const scenes = storyboard.scenes.map((s) =>
    summarizeScene(storyboard, s, defaultProvider, byName),
  );
  const elements = storyboard.elements.map(summarizeElement);
  return { storyboard, scenes, elements };
}

function summarizeScene(
  storyboard: Storyboard,
  scene: SceneBlock,
  defaultProvider: ProviderId,
  byName: Map<string, ElementBlock>,
): SceneSummary {
  const resolved = resolveScene(storyboard, scene, { defaultProvider }, byName);
  const shots: ShotSummary[] = scene.shots.map((shot) => ({
    duration: shot.duration,
    label: shot.label,
    prompt: shot.body.text,
    headerLine: shot.headerLine,
    endLine: shot.endLine,
    elementNames: distinct(shot.body.refs.map((r) => r.name)),
  }));
  return {
    index: scene.index,
    title: scene.displayTitle,
    headerLine: scene.headerLine,
    endLine: scene.fullEndLine,
    headerSpan: scene.headerSpan,
    provider: resolved.provider,
    mode: resolved.mode,
    duration: resolved.duration,
    sound: resolved.sound,
    shots,
    shotsLabel: shotsLabel(shots.length, resolved.intelligence),
    intelligence: resolved.intelligence,
    prompt: shots.length && !resolved.intelligence ? '' : scene.body.text,
    elementNames: distinct(resolved.sentRefs.map((r) => r.name)),
    firstFrame: mediaRef(lastSetting(scene.settings, 'first-frame')),
    lastFrame: mediaRef(lastSetting(scene.settings, 'last-frame')),
  };
}

/** "single shot", "3 shots", "intelligence: one prompt, Kling plans the cuts (2 shots not sent)". */
export function shotsLabel(shots: number, intelligence: boolean): string {
  if (intelligence) {
    const unsent = shots ? ` (${shots} shot${shots === 1 ? '' : 's'} not sent)` : '';
    return `intelligence: one prompt, Kling plans the cuts${unsent}`;
  }
  return shots ? `${shots} shot${shots === 1 ? '' : 's'}` : 'single shot';
}

function summarizeElement(el: ElementBlock): ElementSummary {
  const resolved = resolveElement(el);
  const lineOf = (offset: number) =>
    el.settings.find(
      (s) => offset >= s.lineSpan.offset && offset <= s.lineSpan.offset + s.lineSpan.length,
    )?.line ?? el.headerLine;
  const ref = (
    item: { ref: string; offset: number; length: number } | undefined,
  ): MediaRef | undefined =>
    item && {
      value: item.ref,
      span: { offset: item.offset, length: item.length },
      line: lineOf(item.offset),
    };
  const last = el.settings[el.settings.length - 1];
  return {
    name: el.name,
    headerLine: el.headerLine,
    endLine: el.endLine,
    description: resolved.description,
    images: resolved.images.map((i) => ref(i)!),
    video: ref(resolved.video),
    frontal: ref(resolved.frontal),
    imagesSetting: lastSetting(el.settings, 'images'),
    settingsEndOffset: last
      ? last.lineSpan.offset + last.lineSpan.length
      : el.headerSpan.offset + el.headerSpan.length,
  };
}

/** Every media path a storyboard mentions, for inline previews and uploads. */
export function mediaRefs(summary: StoryboardSummary): MediaRef[] {
  const refs: MediaRef[] = [];
  for (const el of summary.elements) {
    refs.push(...el.images);
    if (el.video) refs.push(el.video);
    if (el.frontal) refs.push(el.frontal);
  }
  for (const sc of summary.scenes) {
    if (sc.firstFrame) refs.push(sc.firstFrame);
    if (sc.lastFrame) refs.push(sc.lastFrame);
  }
  return refs;
}

/** The scene whose lines contain `line` (0-based), if any. */
export function sceneAtLine(summary: StoryboardSummary, line: number): SceneSummary | undefined {
  return summary.scenes.find((s) => line >= s.headerLine && line <= s.endLine);
}

/** The element whose lines contain `line` (0-based), if any. */
export function elementAtLine(
  elements: ElementSummary[],
  line: number,
): ElementSummary | undefined {
  return elements.find((e) => line >= e.headerLine && line <= e.endLine);
}

/** True for `http(s)://` values (one home: core/media.ts). */
export { isUrl } from '../../server/src/core/media';

function mediaRef(s: Setting | undefined): MediaRef | undefined {
  return s && s.value ? { value: s.value, span: s.valueSpan, line: s.line } : undefined;
}

function distinct(names: string[]): string[] {
  return [...new Set(names)];
}

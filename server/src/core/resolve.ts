// Effective settings: header defaults + a scene's own settings → what its request uses.
// The validator, hover, CodeLens and the request builder all read scenes through here, so
// they agree on defaults. Values that are not of an allowed form are skipped (the validator
// reports them) and the next source applies.

import type { ElementBlock, ElementRef, Provider, SceneBlock, Setting, Storyboard } from './ast';
import { DEFAULT_DURATION } from './limits';
import {
  type CameraControl,
  type MediaItem,
  readCamera,
  readDuration,
  readEnum,
  readNumber,
  readSwitch,
  settingSpec,
  splitMediaList,
} from './settings';

/** Where an effective value came from. */
export type ValueSource = 'scene' | 'header' | 'shots' | 'default';

export interface ResolvedScene {
  provider: Provider;
  model: string;
  mode: string;
  aspect: string;
  /** True when `aspect` was written (scene or header); a frame image otherwise decides the ratio. */
  aspectGiven: boolean;
  /** Effective total seconds (may be outside 3–15 when the text says so; the validator reports it). */
  duration: number;
  durationSource: ValueSource;
  multiShot: boolean;
  /** Sum of the shots' durations (0 for a single-shot scene). */
  shotSum: number;
  sound: boolean;
  soundSource: ValueSource;
  firstFrame?: string;
  lastFrame?: string;
  negative?: string;
  cfgScale?: number;
  camera?: CameraControl;
  /** `customize` / `intelligence` for multi-shot scenes (and written `intelligence`); undefined for single-shot ones. */
  shotType?: string;
  /**
   * `shot-type: intelligence` on `kling`: the model plans the cuts from the scene's own text,
   * its `[shot]` blocks are not sent, and the duration is the scene's own, else 5.
   */
  intelligence: boolean;
  watermark: boolean;
  /** Output folder (header `output`, else `renders`). */
  output: string;
  /** References that are sent: the shots' when the scene has shots, else the scene text's. */
  sentRefs: readonly ElementRef[];
  /** Distinct defined elements the scene sends, in order of first reference. */
  elements: ElementBlock[];
  /** Distinct names referenced but not defined, in order of first reference. */
  undefinedNames: string[];
}

export interface ResolveOptions {
  /** Provider when the header has no valid `provider:` (the user's setting); default `kie`. */
  defaultProvider?: Provider;
}

/** The storyboard's provider: the header's `provider:` if valid, else the default. */
export function storyboardProvider(
  storyboard: Storyboard,
  defaultProvider: Provider = 'kie',
): Provider {
  const s = lastSetting(storyboard.headerSettings, 'provider');
  const spec = settingSpec('provider')!;
  const v = s && readEnum(spec, s.value, defaultProvider);
  return (v as Provider | undefined) ?? defaultProvider;
}

/** The last line of a key in a settings list (last wins), or undefined. */
export function lastSetting(settings: readonly Setting[], key: string): Setting | undefined {
  for (let i = settings.length - 1; i >= 0; i--) if (settings[i].key === key) return settings[i];
  return undefined;
}

/** The first definition of every element name (later duplicates are ignored). */
export function elementsByName(storyboard: Storyboard): Map<string, ElementBlock> {
  const map = new Map<string, ElementBlock>();
  for (const e of storyboard.elements) if (!map.has(e.name)) map.set(e.name, e);
  return map;
}

/**
 * The references a scene sends: its shots' references when it has shots (and is not an
 * `intelligence` scene, which sends its own text), else its own text's.
 */
export function sentRefs(scene: SceneBlock, intelligence = false): readonly ElementRef[] {
  if (scene.shots.length === 0 || intelligence) return scene.body.refs;
  const refs: ElementRef[] = [];
  for (const shot of scene.shots) for (const r of shot.body.refs) refs.push(r);
  return refs;
}

/** A scene's effective settings (header defaults overridden by the scene; invalid values skipped). */
export function resolveScene(
  storyboard: Storyboard,
  scene: SceneBlock,
  options: ResolveOptions = {},
  elements: Map<string, ElementBlock> = elementsByName(storyboard),
): ResolvedScene {
  const provider = storyboardProvider(storyboard, options.defaultProvider);
  const header = storyboard.headerSettings;
  const own = scene.settings;

  /** The first valid value: scene, then header. */
  const pick = <T>(key: string, read: (value: string) => T | undefined, useHeader = true) => {
    const s = lastSetting(own, key);
    const a = s && read(s.value);
    if (a !== undefined) return { value: a, source: 'scene' as ValueSource };
    if (useHeader) {
      const h = lastSetting(header, key);
      const b = h && read(h.value);
      if (b !== undefined) return { value: b, source: 'header' as ValueSource };
    }
    return undefined;
  };
  const readEnumOf = (key: string) => (value: string) =>
    readEnum(settingSpec(key)!, value, provider);
  const readMedia = (value: string) => (value ? value : undefined);

  const multiShot = scene.shots.length > 0;
  let shotSum = 0;
  for (const shot of scene.shots) shotSum += shot.duration;

  const model = pick('model', readEnumOf('model'))?.value ?? 'kling-3.0';
  const mode = pick('mode', readEnumOf('mode'))?.value ?? 'std';
  const aspectPick = pick('aspect', readEnumOf('aspect'));

  const shotTypePick = pick('shot-type', readEnumOf('shot-type'), false);
  const intelligence = provider === 'kling' && shotTypePick?.value === 'intelligence';

  let duration: number;
  let durationSource: ValueSource;
  const ownDuration = pick('duration', readDuration, false);
  if (ownDuration) {
    duration = ownDuration.value;
    durationSource = 'scene';
  } else if (intelligence) {
    duration = DEFAULT_DURATION;
    durationSource = 'default';
  } else if (multiShot) {
    duration = shotSum;
    durationSource = 'shots';
  } else {
    const headerDuration = pick('duration', readDuration);
    duration = headerDuration?.value ?? DEFAULT_DURATION;
    durationSource = headerDuration ? 'header' : 'default';
  }

  const soundPick = pick('sound', readSwitch);
  const cameraPick = pick('camera', readCamera, false);
  const negativePick = pick('negative', (v) => (v ? v : undefined));
  const cfgPick = pick('cfg-scale', (v) => {
    const n = readNumber(v);
    return n !== undefined && n >= 0 && n <= 1 ? n : undefined;
  });
  const outputSetting = lastSetting(header, 'output');

  const refs = sentRefs(scene, intelligence);
  const sent: ElementBlock[] = [];
  const undefinedNames: string[] = [];
  const seen = new Set<string>();
  for (const r of refs) {
    if (seen.has(r.name)) continue;
    seen.add(r.name);
    const e = elements.get(r.name);
    if (e) sent.push(e);
    else undefinedNames.push(r.name);
  }

  return {
    provider,
    model,
    mode,
    aspect: aspectPick?.value ?? '16:9',
    aspectGiven: aspectPick !== undefined,
    duration,
    durationSource,
    multiShot,
    shotSum,
    sound: soundPick?.value ?? multiShot,
    soundSource: soundPick?.source ?? 'default',
    firstFrame: pick('first-frame', readMedia, false)?.value,
    lastFrame: pick('last-frame', readMedia, false)?.value,
    negative: negativePick?.value,
    cfgScale: cfgPick?.value,
    camera: cameraPick?.value,
    shotType: intelligence ? 'intelligence' : multiShot ? 'customize' : undefined,
    intelligence,
    watermark: pick('watermark', readSwitch)?.value ?? false,
    output: outputSetting?.value || DEFAULT_OUTPUT,
    sentRefs: refs,
    elements: sent,
    undefinedNames,
  };
}

export interface ResolvedElement {
  name: string;
  /** Images from `images:` and every `image:` line, in document order. */
  images: MediaItem[];
  video?: MediaItem;
  frontal?: MediaItem;
  id?: string;
  description: string;
}

/** An element's media and id as they would be sent (empty items dropped). */
export function resolveElement(element: ElementBlock): ResolvedElement {
  const images: MediaItem[] = [];
  let video: MediaItem | undefined;
  let frontal: MediaItem | undefined;
  let id: string | undefined;
  const lastImages = lastSetting(element.settings, 'images');
  for (const s of element.settings) {
    if (s.key === 'images' && s === lastImages) {
      for (const item of splitMediaList(s.value, s.valueSpan.offset))
        if (item.ref) images.push(item);
    } else if (s.key === 'image' && s.value) {
      images.push({ ref: s.value, offset: s.valueSpan.offset, length: s.valueSpan.length });
    } else if (s.key === 'video' && s.value) {
      video = { ref: s.value, offset: s.valueSpan.offset, length: s.valueSpan.length };
    } else if (s.key === 'frontal' && s.value) {
      frontal = { ref: s.value, offset: s.valueSpan.offset, length: s.valueSpan.length };
    } else if (s.key === 'id' && s.value) {
      id = s.value;
    }
  }
  return { name: element.name, images, video, frontal, id, description: element.body.text };
}

/** The output folder's default: the settings table's (`renders`). */
export const DEFAULT_OUTPUT = String(settingSpec('output')?.default ?? 'renders');

/**
 * Where a storyboard's takes go, as written: the header's `output:`, else the configured default
 * (`kling.outputFolder`), else `renders`. The one home of this fact; the absolute folder on disk
 * is `outputDirOf` in server/src/render/plan.ts.
 */
export function outputAsWritten(storyboard: Storyboard, defaultOutput?: string): string {
  return lastSetting(storyboard.headerSettings, 'output')?.value || defaultOutput || DEFAULT_OUTPUT;
}

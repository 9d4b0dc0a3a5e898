// The state one validation run shares between its parts (header, settings, elements, scenes):
// the diagnostics so far, the provider, the elements, and what each part leaves for the next.

import type { Body, ElementBlock, ElementRef, Provider, Setting, Span, Storyboard } from '../ast';
import { type StoryboardDiagnostic, diagnostic } from '../diagnostics';
import { type ProviderLimits, limitsFor } from '../limits';
import {
  type MediaKind,
  type MediaProblem,
  isUrl,
  mediaProblems,
  type MediaLookup,
} from '../media';
import { elementsByName, storyboardProvider } from '../resolve';
import { SETTINGS, type SettingSpec } from '../settings';
import { nearestName } from '../suggest';
import type { SwallowedSetting } from './header';
import type { CheckedScene, SceneCache } from './sceneCache';

export interface ValidateOptions {
  /**
   * Facts about local media, by the path as written; undefined = not known yet (no media
   * diagnostic). Only the media diagnostics and `continuity-pending` read them (validate.ts).
   */
  media?: MediaLookup;
  /** Checked between blocks; when set, validation stops and returns what it has. */
  token?: { isCancellationRequested: boolean };
  /** Provider when the header has no valid `provider:` line (default `kie`). */
  defaultProvider?: Provider;
  /** The storyboard's file name without `.kling`: locates `continue-from` frames (`continuity-pending`). */
  storyboardName?: string;
  /** Output folder of storyboards without `output:` (default `renders`). */
  defaultOutput?: string;
  /**
   * Scene results kept from earlier runs over the same editor session (sceneCache.ts): scenes
   * an edit did not touch are not checked again. Without it every scene is checked.
   */
  sceneCache?: SceneCache;
}

/** Name comparisons spent on suggestions per run: keeps huge generated documents linear. */
const SUGGESTION_BUDGET = 200_000;

/** The settings table, and each key's position in it (a zone's duplicate check indexes by it). */
export const SPECS: readonly SettingSpec[] = SETTINGS;
export const SPEC_POSITION = new Map<string, number>(SPECS.map((s, i) => [s.key, i]));
const KEY_POSITION = (key: string): number => SPEC_POSITION.get(key)!;
export const DURATION_KEY = KEY_POSITION('duration');
export const FIRST_FRAME_KEY = KEY_POSITION('first-frame');
export const CONTINUE_FROM_KEY = KEY_POSITION('continue-from');
export const LAST_FRAME_KEY = KEY_POSITION('last-frame');
export const CAMERA_KEY = KEY_POSITION('camera');
export const IMAGES_KEY = KEY_POSITION('images');
export const VIDEO_KEY = KEY_POSITION('video');
export const ID_KEY = KEY_POSITION('id');
export const FRONTAL_KEY = KEY_POSITION('frontal');
export const SHOT_TYPE_KEY = KEY_POSITION('shot-type');
export const SOUND_KEY = KEY_POSITION('sound');
export const ASPECT_KEY = KEY_POSITION('aspect');
export const CFG_SCALE_KEY = KEY_POSITION('cfg-scale');

/** One validation run: its input, its output (`out`) and the facts its parts share. */
export class Validation {
  readonly out: StoryboardDiagnostic[] = [];
  readonly provider: Provider;
  readonly limits: ProviderLimits;
  readonly elements: Map<string, ElementBlock>;
  readonly used = new Set<string>();
  /** Per element name, the scene (by count of scenes checked) that last sent it: distinct elements without a Set per scene. */
  readonly sentInScene = new Map<string, number>();
  scenesChecked = 0;
  /** The settings zone being checked, and per key position the zone and line it last appeared in. */
  zoneStamp = 0;
  readonly keyZone = new Int32Array(SPECS.length);
  readonly keyLast: (Setting | undefined)[] = new Array<Setting | undefined>(SPECS.length);
  /**
   * The media files the checks found to judge, in the order checked (elements before scenes):
   * judged once their facts are known (mediaDiagnostics), so no other check depends on a file's
   * facts.
   */
  readonly mediaChecks: MediaCheck[] = [];
  /** Each file the media checks name, in the order first named, with its kinds (KIND_BIT). */
  readonly mediaNamed = new Map<string, number>();
  /** The defined element names, in order: what a scene's reference checks depend on. */
  readonly elementKey: string;
  readonly suggestions = new Map<string, string | undefined>();
  /** Nearest valid key by zone and unknown key ('' = none). */
  readonly keySuggestions = new Map<string, string>();
  suggestionWork = 0;
  /** Line ranges of duplicate element blocks, whose contents get no diagnostics. */
  readonly silentLines: { from: number; to: number }[] = [];
  /** Settings swallowed after a look-alike that ended the header zone (its warning names them). */
  lookalikeSwallows: readonly SwallowedSetting[] = [];
  /** First body lines of scenes whose text is not sent (a look-alike there is not sent either). */
  readonly unsentTextLines = new Set<number>();
  /** The header's `sound` line when it turns sound off (scenes inherit it). */
  headerSoundOff: Setting | undefined;
  /** Scenes checked (not reused) with a scene cache, kept once the run is over (sceneCache.ts). */
  readonly checkedScenes: CheckedScene[] = [];

  constructor(
    readonly sb: Storyboard,
    readonly options: ValidateOptions,
  ) {
    this.provider = storyboardProvider(sb, options.defaultProvider ?? 'kie');
    this.limits = limitsFor(this.provider);
    this.elements = elementsByName(sb);
    this.elementKey = [...this.elements.keys()].join('\u0000');
  }

  cancelled(): boolean {
    return this.options.token?.isCancellationRequested === true;
  }

  /** The last line of a key (by table position) in the zone checkSettings saw last. */
  lastOf(position: number): Setting | undefined {
    return this.keyZone[position] === this.zoneStamp ? this.keyLast[position] : undefined;
  }

  /** A media file to judge by its facts once they are known (see mediaChecks). */
  checkMedia(ref: string, span: Span, kind: MediaKind): void {
    if (ref) this.addMediaCheck({ ref, offset: span.offset, length: span.length, kind });
  }

  /** Records a media check (made here, or replayed from the scene cache). */
  addMediaCheck(check: MediaCheck): void {
    this.mediaChecks.push(check);
    const kinds = this.mediaNamed.get(check.ref) ?? 0;
    const bit = KIND_BIT[check.kind];
    if (!(kinds & bit)) this.mediaNamed.set(check.ref, kinds | bit);
  }

  /** Marks every reference of a body as a use, without checking them (they were, or are not sent). */
  useAll(body: Body): void {
    for (let i = 0, n = body.refCount; i < n; i++) this.used.add(body.refAt(i).name);
  }

  /** Marks a reference as a use; reports it when no element has its name. True when defined. */
  checkRef(ref: ElementRef): boolean {
    if (this.elements.has(ref.name)) {
      this.used.add(ref.name);
      return true;
    }
    let suggestion: string | undefined;
    if (this.suggestions.has(ref.name)) suggestion = this.suggestions.get(ref.name);
    else if (this.suggestionWork < SUGGESTION_BUDGET) {
      this.suggestionWork += this.elements.size;
      suggestion = nearestName(ref.name, this.elements.keys());
      this.suggestions.set(ref.name, suggestion);
    }
    // A misspelt reference is still meant for that element: it is not also "unused".
    if (suggestion) this.used.add(suggestion);
    const message = suggestion
      ? `No element \`${ref.name}\`: did you mean @${suggestion}?`
      : `No element \`${ref.name}\` is defined: add an [element ${ref.name}] block`;
    this.out.push(
      diagnostic(
        'undefined-element',
        ref.span,
        message,
        suggestion ? { name: ref.name, suggestion } : { name: ref.name },
      ),
    );
    return false;
  }
}

const KIND_BIT: Record<MediaKind, number> = { image: 1, video: 2 };

/** A media file a check names: the path as written, where it is written, what it must be. */
export interface MediaCheck {
  ref: string;
  offset: number;
  length: number;
  kind: MediaKind;
}

/**
 * The diagnostics of the media checks by the facts `media` knows (a URL, or a file not known
 * yet, gets none). Each file is judged once per kind (`named`: Validation.mediaNamed), however
 * many scenes name it; when no file has a problem, the checks are not gone through at all.
 */
export function mediaDiagnostics(
  checks: readonly MediaCheck[],
  named: ReadonlyMap<string, number>,
  media: MediaLookup,
  out: StoryboardDiagnostic[],
): void {
  let judged: Map<string, readonly MediaProblem[]> | undefined;
  for (const [ref, kinds] of named) {
    const facts = isUrl(ref) ? undefined : media(ref);
    if (!facts) continue;
    for (const kind of ['image', 'video'] as const) {
      if (!(kinds & KIND_BIT[kind])) continue;
      const problems = mediaProblems(ref, kind, facts);
      if (problems.length)
        (judged ??= new Map()).set(kind === 'image' ? ref : '\u0000' + ref, problems);
    }
  }
  if (!judged) return;
  for (const c of checks) {
    const problems = judged.get(c.kind === 'image' ? c.ref : '\u0000' + c.ref);
    if (!problems) continue;
    const span = { offset: c.offset, length: c.length };
    for (const p of problems) out.push(diagnostic(p.code, span, p.message));
  }
}

/** The first `n` UTF-16 units of `text`, one fewer when that would split a surrogate pair. */
export function cutAt(text: string, n: number): string {
  const c = text.charCodeAt(n - 1);
  return text.slice(0, c >= 0xd800 && c <= 0xdbff ? n - 1 : n);
}

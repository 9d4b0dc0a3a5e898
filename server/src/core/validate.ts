// The validator: every diagnostic code of storyboard-format.md §4 except the three the parser
// reports (which are passed through). One pass over the blocks, linear in the text.
//
// Rules that keep "one mistake, one diagnostic":
// - an invalid block's lines get nothing (the parser swallows them);
// - a duplicate `[element]` block carries `duplicate-element` and nothing else; references
//   resolve to the first definition;
// - a setting that is unknown in its zone, or `kling`-only under `kie`, gets no value check;
// - a malformed `duration` is only `invalid-value`; an out-of-range one is only `duration-range`
//   (no `duration-mismatch`); shot sums are not range- or mismatch-checked while a shot's own
//   duration is out of 1–12 s;
// - an undefined `@NAME` is only `undefined-element`: it does not count toward
//   `too-many-elements` or `element-needs-first-frame`;
// - a `first-frame:` line with a bad value is `invalid-value`, not also `element-needs-first-frame`;
// - a `last-frame` in a multi-shot scene is `last-frame-multi-shot` only (no media or camera checks);
// - an element with `images` and `video` is `element-media-conflict`, not also `element-image-count`;
// - an empty `images:` is a wrong number of images (`element-image-count`), not `invalid-value`;
// - a misspelt `@Dgo` with a suggestion marks the suggested element as used (no `unused-element`);
// - a bad media file is wrong format (then nothing else), or any of too large / too small / aspect;
// - text in the header zone is one `header-text-ignored` (naming the settings it swallows), but a
//   look-alike setting that ends the zone is only `unknown-setting`: when nothing but settings
//   follows it, that warning names them, since fixing its key makes them settings again.

import { applySuppressions } from './suppress';
import type {
  Body,
  BodyLine,
  ElementBlock,
  ElementRef,
  ParseResult,
  Provider,
  SceneBlock,
  Setting,
  Span,
  Storyboard,
} from './ast';
import { type StoryboardDiagnostic, diagnostic } from './diagnostics';
import {
  ELEMENT_IMAGES,
  MAX_ELEMENTS,
  NEGATIVE_MAX,
  PROMPT_MAX,
  SCENE_DURATION,
  SHOT_DURATION,
  type ProviderLimits,
  countedLength,
  countedLengthBound,
  describeCounted,
  limitsFor,
} from './limits';
import { type MediaKind, type MediaLookup, type MediaProblem, isUrl, mediaProblems } from './media';
import { elementsByName, storyboardProvider } from './resolve';
import {
  CAMERA_AXES,
  CAMERA_PRESETS,
  SETTINGS,
  type SettingSpec,
  type SettingZone,
  keysForZone,
  normaliseLookalikeKey,
  readCamera,
  readDuration,
  readEnum,
  readNumber,
  readSwitch,
  settingSpec,
  splitMediaList,
  valueAllowed,
  valuesFor,
} from './settings';
import { isLineIndent, readSettingLine } from './parse';
import { nearestName } from './suggest';
import { checkContinuity } from './continuity';
import { codePointLength } from './text';

export interface ValidateOptions {
  /** Facts about local media, by the path as written; undefined = not known yet (no media diagnostic). */
  media?: MediaLookup;
  /** Checked between blocks; when set, validation stops and returns what it has. */
  token?: { isCancellationRequested: boolean };
  /** Provider when the header has no valid `provider:` line (default `kie`). */
  defaultProvider?: Provider;
  /** The storyboard's file name without `.kling`: locates `continue-from` frames (`continuity-pending`). */
  storyboardName?: string;
  /** Output folder of storyboards without `output:` (default `renders`). */
  defaultOutput?: string;
}

const ZONE_NAMES: Record<SettingZone, string> = {
  header: 'the header (before the first block)',
  scene: 'a [scene]',
  element: 'an [element]',
};

/** Name comparisons spent on suggestions per run: keeps huge generated documents linear. */
const SUGGESTION_BUDGET = 200_000;

// Validation runs on every keystroke over whole documents. The tables below are read once
// here rather than per scene (under tsx every imported binding is a getter call), and each
// setting key gets a position so a zone's duplicate check needs no Map of its own.
const SPECS: readonly SettingSpec[] = SETTINGS;
const SPEC_POSITION = new Map<string, number>(SPECS.map((s, i) => [s.key, i]));
const KEY_POSITION = (key: string): number => SPEC_POSITION.get(key)!;
const DURATION_KEY = KEY_POSITION('duration');
const FIRST_FRAME_KEY = KEY_POSITION('first-frame');
const CONTINUE_FROM_KEY = KEY_POSITION('continue-from');
const LAST_FRAME_KEY = KEY_POSITION('last-frame');
const CAMERA_KEY = KEY_POSITION('camera');
const IMAGES_KEY = KEY_POSITION('images');
const VIDEO_KEY = KEY_POSITION('video');
const ID_KEY = KEY_POSITION('id');
const FRONTAL_KEY = KEY_POSITION('frontal');
const SHOT_TYPE_KEY = KEY_POSITION('shot-type');
const SOUND_KEY = KEY_POSITION('sound');
const ASPECT_KEY = KEY_POSITION('aspect');
const CFG_SCALE_KEY = KEY_POSITION('cfg-scale');
const SCENE_MIN = SCENE_DURATION.min;
const SCENE_MAX = SCENE_DURATION.max;
const SHOT_MIN = SHOT_DURATION.min;
const SHOT_MAX = SHOT_DURATION.max;
const ELEMENTS_MAX = MAX_ELEMENTS;
const SINGLE_PROMPT_MAX = PROMPT_MAX;
const ZONE_KEYS: Record<SettingZone, string[]> = {
  header: keysForZone('header').map((k) => k.key),
  scene: keysForZone('scene').map((k) => k.key),
  element: keysForZone('element').map((k) => k.key),
};
const ZONE_KEY_LIST: Record<SettingZone, string> = {
  header: ZONE_KEYS.header.join(', '),
  scene: ZONE_KEYS.scene.join(', '),
  element: ZONE_KEYS.element.join(', '),
};

/** A line of header-zone body text written as a setting with a header key: read as text, not a setting. */
export interface SwallowedSetting {
  line: number;
  key: string;
  value: string;
  lineSpan: Span;
}

/**
 * The header zone's body text (before the first block), sorted out. The zone ends at its first
 * line that is not a setting, comment or blank; everything after it is text that is never sent,
 * including lines that look like settings.
 */
export interface HeaderText {
  /** Non-blank lines that are plain text (not a swallowed setting, not the reported look-alike). */
  textLines: BodyLine[];
  /** `key: value` lines with a header key after the zone ended, in document order. */
  swallowed: SwallowedSetting[];
  /** The line that ended the zone when it is a look-alike setting (`Provider: kling`), else undefined. */
  lookalikeLine: number | undefined;
  /** From the first text or swallowed line to the last line of the header zone's text. */
  span: Span | undefined;
}

const HEADER_KEYS = new Set(keysForZone('header').map((k) => k.key));

/** Sorts out the header zone's body text; undefined when there is none (the usual case). */
export function headerText(
  sb: Storyboard,
  defaultProvider: Provider = 'kie',
): HeaderText | undefined {
  const lines = sb.preamble.lines;
  if (!lines.length) return undefined;
  // Only the line that ended the zone can be a recorded look-alike; the validator reports it
  // when its key normalises to a known one and its value is one that key allows.
  const look = sb.settingLookalikes.length ? sb.settingLookalikes[0] : undefined;
  const lookalikeLine =
    look &&
    look.zone === 'header' &&
    look.line === lines[0].line &&
    lookalikeSpec(sb, look, storyboardProvider(sb, defaultProvider))
      ? look.line
      : undefined;
  const textLines: BodyLine[] = [];
  const swallowed: SwallowedSetting[] = [];
  let first: BodyLine | undefined;
  let last: BodyLine | undefined;
  for (const l of lines) {
    if (!l.text || l.line === lookalikeLine) continue;
    first ??= l;
    last = l;
    const setting = readSettingLine(
      sb.text,
      l.line,
      l.lineSpan.offset,
      l.lineSpan.offset + l.lineSpan.length,
    );
    if (setting && HEADER_KEYS.has(setting.key)) {
      swallowed.push({
        line: l.line,
        key: setting.key,
        value: setting.value,
        lineSpan: l.lineSpan,
      });
    } else {
      textLines.push(l);
    }
  }
  let span: Span | undefined;
  if (first && last) {
    // From the first written character: a squiggle under indentation or a BOM reads oddly.
    let start = first.lineSpan.offset;
    while (isLineIndent(sb.text.charCodeAt(start))) start++;
    span = { offset: start, length: last.lineSpan.offset + last.lineSpan.length - start };
  }
  return { textLines, swallowed, lookalikeLine, span };
}

type Lookalike = Storyboard['settingLookalikes'][number];

/**
 * The setting a look-alike line stands for (`Duration: 10` → `duration`), when its key
 * normalises to a known one and its value is one that key allows; else undefined (the line is
 * prose: `Camera: slow pan to the left.`).
 */
function lookalikeSpec(
  sb: Storyboard,
  look: Lookalike,
  provider: Provider,
): SettingSpec | undefined {
  const spec = settingSpec(normaliseLookalikeKey(look.key));
  if (!spec) return undefined;
  const text = sb.text;
  const colon = text.indexOf(':', look.keySpan.offset + look.keySpan.length);
  let end = colon + 1;
  while (end < text.length && text.charCodeAt(end) !== 10 && text.charCodeAt(end) !== 13) end++;
  const value = text.slice(colon + 1, end).replace(/^[ \t]+|[ \t]+$/g, '');
  return valueAllowed(spec, value, provider) ? spec : undefined;
}

/** The first `n` UTF-16 units of `text`, one fewer when that would split a surrogate pair. */
function cutAt(text: string, n: number): string {
  const c = text.charCodeAt(n - 1);
  return text.slice(0, c >= 0xd800 && c <= 0xdbff ? n - 1 : n);
}

/** How many swallowed settings a message names before it says "and N more". */
const NAMED_SETTINGS = 3;

/** `` `provider: kling`, `mode: pro` `` (values cut short), plus "and N more". */
function nameSettings(swallowed: readonly SwallowedSetting[]): string {
  const named = swallowed.slice(0, NAMED_SETTINGS).map((s) => {
    const value = s.value.length > 30 ? `${cutAt(s.value, 29)}…` : s.value;
    return value ? `\`${s.key}: ${value}\`` : `\`${s.key}:\``;
  });
  const more = swallowed.length - named.length;
  return named.join(', ') + (more > 0 ? ` and ${more} more` : '');
}

/** All diagnostics of a parsed storyboard: the parser's errors plus every §4 check. Never throws. */
export function validateStoryboard(
  parsed: ParseResult,
  options: ValidateOptions = {},
): StoryboardDiagnostic[] {
  const v = new Validator(parsed.storyboard, options);
  for (const e of parsed.errors) v.out.push(diagnostic(e.code, e.span, e.message));
  v.run();
  if (!v.stopped()) v.out.push(...checkContinuity(parsed.storyboard, options));
  // Suppressions apply to the complete list only: a cancelled run would call them unused.
  return options.token?.isCancellationRequested
    ? v.out
    : applySuppressions(parsed.storyboard, v.out);
}

class Validator {
  readonly out: StoryboardDiagnostic[] = [];
  private readonly provider: Provider;
  private readonly limits: ProviderLimits;
  private readonly elements: Map<string, ElementBlock>;
  private readonly used = new Set<string>();
  /** Per element name, the scene (by count of scenes checked) that last sent it: distinct elements without a Set per scene. */
  private readonly sentInScene = new Map<string, number>();
  private scenesChecked = 0;
  /** The settings zone being checked, and per key position the zone and line it last appeared in. */
  private zoneStamp = 0;
  private readonly keyZone = new Int32Array(SPECS.length);
  private readonly keyLast: (Setting | undefined)[] = new Array<Setting | undefined>(SPECS.length);
  /** Media problems by kind and path as written: a frame used by many scenes is judged once. */
  private readonly mediaCache = new Map<string, readonly MediaProblem[] | null>();
  private readonly suggestions = new Map<string, string | undefined>();
  /** Nearest valid key by zone and unknown key ('' = none). */
  private readonly keySuggestions = new Map<string, string>();
  private suggestionWork = 0;
  /** Line ranges of duplicate element blocks, whose contents get no diagnostics. */
  private readonly silentLines: { from: number; to: number }[] = [];
  /** Settings swallowed after a look-alike that ended the header zone (its warning names them). */
  private lookalikeSwallows: readonly SwallowedSetting[] = [];
  /** First body lines of scenes whose text is not sent (a look-alike there is not sent either). */
  private readonly unsentTextLines = new Set<number>();
  /** The header's `sound` line when it turns sound off (scenes inherit it). */
  private headerSoundOff: Setting | undefined;

  constructor(
    private readonly sb: Storyboard,
    private readonly options: ValidateOptions,
  ) {
    this.provider = storyboardProvider(sb, options.defaultProvider ?? 'kie');
    this.limits = limitsFor(this.provider);
    this.elements = elementsByName(sb);
  }

  private cancelled(): boolean {
    return this.options.token?.isCancellationRequested === true;
  }

  /** True when validation was cancelled (what it has is incomplete). */
  stopped(): boolean {
    return this.cancelled();
  }

  run(): void {
    // Header `duration` range and `negative` length are checked here once, on the header
    // line, rather than once per scene that inherits them.
    this.checkSettings(this.sb.headerSettings, 'header');
    const headerSound = this.lastOf(SOUND_KEY);
    if (headerSound && readSwitch(headerSound.value) === false) this.headerSoundOff = headerSound;
    this.checkHeaderText();

    for (const element of this.sb.elements) {
      if (this.cancelled()) return;
      if (this.elements.get(element.name) !== element) {
        this.out.push(
          diagnostic(
            'duplicate-element',
            element.headerSpan,
            `Element \`${element.name}\` is already defined on line ${this.elements.get(element.name)!.headerLine + 1}; this block is ignored`,
          ),
        );
        this.silentLines.push({ from: element.headerLine, to: element.endLine });
        continue;
      }
      this.checkElement(element);
    }

    for (const scene of this.sb.scenes) {
      if (this.cancelled()) return;
      this.checkScene(scene);
    }

    this.checkLookalikes();

    for (const element of this.elements.values()) {
      if (!this.used.has(element.name)) {
        this.out.push(
          diagnostic(
            'unused-element',
            element.headerSpan,
            `Element \`${element.name}\` is never referenced: write @${element.name} in a prompt to send it`,
          ),
        );
      }
    }
  }

  // ---- header zone text ----

  private checkHeaderText(): void {
    const header = headerText(this.sb, this.options.defaultProvider);
    if (!header?.span) return;
    if (!header.textLines.length) {
      this.lookalikeSwallows = header.swallowed;
      return;
    }
    const n = header.swallowed.length;
    const message = n
      ? `Text before the first block is not sent; ${nameSettings(header.swallowed)} below it ${n === 1 ? 'is' : 'are'} read as text, not ${n === 1 ? 'a setting' : 'settings'} — move ${n === 1 ? 'it' : 'them'} above the text or make the text a # comment`
      : 'Text before the first block is not sent: make it a # comment';
    this.out.push(
      diagnostic(
        'header-text-ignored',
        header.span,
        message,
        n ? { settings: header.swallowed.map((s) => s.key) } : undefined,
      ),
    );
  }

  // ---- settings ----

  /**
   * Zone, duplicate, provider and value checks of one settings zone. Afterwards `lastOf()`
   * gives the zone's last line of each key valid in it (what `lastSetting` would), until the
   * next call.
   */
  private checkSettings(settings: readonly Setting[], zone: SettingZone): void {
    const stamp = ++this.zoneStamp;
    for (let i = 0; i < settings.length; i++) {
      const s = settings[i];
      const position = SPEC_POSITION.get(s.key);
      const spec = position === undefined ? undefined : SPECS[position];
      if (!spec || position === undefined || !spec.zones.includes(zone)) {
        this.unknownSetting(s, zone, spec);
        continue;
      }
      const earlier = this.keyZone[position] === stamp ? this.keyLast[position] : undefined;
      if (earlier && !spec.repeatable) {
        this.out.push(
          diagnostic(
            'duplicate-setting',
            s.keySpan,
            `\`${s.key}\` is already set on line ${earlier.line + 1}; this later line wins`,
            { key: s.key },
          ),
        );
      }
      this.keyZone[position] = stamp;
      this.keyLast[position] = s;
      if (spec.klingOnly && this.provider === 'kie') {
        this.out.push(
          diagnostic(
            'unsupported-setting',
            s.keySpan,
            `\`${s.key}\` is only sent with provider kling; with kie it is ignored`,
            { key: s.key },
          ),
        );
        continue;
      }
      this.checkValue(s, spec, zone);
    }
    this.checkUnconfirmed(zone);
  }

  /**
   * `unconfirmed-setting`, once, on the line whose value is sent (the zone's last one): the
   * provider's documents do not confirm the model takes `cfg-scale` (kie, kling) or `camera`
   * (kling) — server/docs/providers.md. Nothing is dropped.
   */
  private checkUnconfirmed(zone: SettingZone): void {
    const cfg = this.lastOf(CFG_SCALE_KEY);
    if (cfg && valueAllowed(SPECS[CFG_SCALE_KEY], cfg.value, this.provider)) {
      this.out.push(
        diagnostic(
          'unconfirmed-setting',
          cfg.keySpan,
          this.provider === 'kie'
            ? '`cfg-scale` is sent as `cfg_scale`, but KIE does not document it for kling-3.0: it may be ignored'
            : '`cfg-scale` is sent as `cfg_scale`, but Kling does not confirm kling-v3 supports it: it may be ignored',
          { key: 'cfg-scale' },
        ),
      );
    }
    const camera =
      zone === 'scene' && this.provider === 'kling' ? this.lastOf(CAMERA_KEY) : undefined;
    if (camera && readCamera(camera.value) !== undefined) {
      this.out.push(
        diagnostic(
          'unconfirmed-setting',
          camera.keySpan,
          '`camera` is sent as `camera_control`, but Kling does not confirm kling-v3 supports it: it may be ignored',
          { key: 'camera' },
        ),
      );
    }
  }

  /** The last line of a key (by table position) in the zone checkSettings saw last. */
  private lastOf(position: number): Setting | undefined {
    return this.keyZone[position] === this.zoneStamp ? this.keyLast[position] : undefined;
  }

  private unknownSetting(s: Setting, zone: SettingZone, spec: SettingSpec | undefined): void {
    const zoneKeys = ZONE_KEYS[zone];
    if (spec) {
      const where = spec.zones.map((z) => ZONE_NAMES[z]).join(' or ');
      this.out.push(
        diagnostic(
          'unknown-setting',
          s.keySpan,
          `\`${s.key}\` is not valid in ${ZONE_NAMES[zone]}: it belongs in ${where}`,
          { key: s.key },
        ),
      );
      return;
    }
    // The same misspelling tends to repeat (on every scene): look for its nearest key once.
    const cacheKey = `${zone}\u0000${s.key}`;
    let suggestion = this.keySuggestions.get(cacheKey);
    if (suggestion === undefined) {
      suggestion = nearestName(s.key, zoneKeys) ?? '';
      this.keySuggestions.set(cacheKey, suggestion);
    }
    const message = suggestion
      ? `Unknown setting \`${s.key}\`; did you mean \`${suggestion}\`?`
      : `Unknown setting \`${s.key}\` in ${ZONE_NAMES[zone]}; valid here: ${ZONE_KEY_LIST[zone]}`;
    this.out.push(
      diagnostic(
        'unknown-setting',
        s.keySpan,
        message,
        suggestion ? { key: s.key, suggestion } : { key: s.key },
      ),
    );
  }

  private invalid(s: Setting, message: string, suggestion?: string): void {
    // An empty value has no extent of its own: mark `key:` instead.
    const span: Span = s.value
      ? s.valueSpan
      : { offset: s.keySpan.offset, length: s.valueSpan.offset - s.keySpan.offset };
    this.out.push(
      diagnostic(
        'invalid-value',
        span,
        message,
        suggestion ? { key: s.key, suggestion } : { key: s.key },
      ),
    );
  }

  private checkValue(s: Setting, spec: SettingSpec, zone: SettingZone): void {
    const value = s.value;
    if (!value) {
      // An empty `images:` is a wrong number of images (element-image-count), not a bad value.
      if (spec.kind === 'media-list') return;
      this.invalid(s, `\`${s.key}\` needs a value${this.formHint(spec)}`);
      return;
    }
    switch (spec.kind) {
      case 'enum': {
        if (readEnum(spec, value, this.provider) !== undefined) return;
        const allowed = valuesFor(spec, this.provider);
        if (spec.values?.includes(value)) {
          this.invalid(
            s,
            `\`${value}\` is not available with provider ${this.provider} (${s.key}: ${allowed.join(', ')})`,
          );
          return;
        }
        const suggestion = nearestName(value, allowed);
        this.invalid(
          s,
          `\`${value}\` is not a valid ${s.key}: use ${orList(allowed)}${suggestion ? ` (did you mean \`${suggestion}\`?)` : ''}`,
          suggestion,
        );
        return;
      }
      case 'duration': {
        const d = readDuration(value);
        if (d === undefined) {
          this.invalid(
            s,
            `\`${value}\` is not a duration: write whole seconds from 3 to 15, e.g. \`10\` or \`10s\``,
          );
        } else if (d < SCENE_DURATION.min || d > SCENE_DURATION.max) {
          const what = zone === 'header' ? 'Default scene duration' : 'Scene duration';
          this.out.push(
            diagnostic(
              'duration-range',
              s.valueSpan,
              `${what} ${d} s is outside ${SCENE_DURATION.min}–${SCENE_DURATION.max} s`,
            ),
          );
        }
        return;
      }
      case 'number': {
        const n = readNumber(value);
        const r = spec.range!;
        if (n === undefined || n < r.min || n > r.max) {
          this.invalid(
            s,
            `\`${value}\` is not a valid ${s.key}: a number from ${r.min} to ${r.max}`,
          );
        }
        return;
      }
      case 'camera': {
        if (readCamera(value) !== undefined) return;
        const m = /^([a-z]+)[ \t]+(\S+)$/.exec(value);
        if (m && (CAMERA_AXES as readonly string[]).includes(m[1])) {
          this.invalid(
            s,
            `\`${value}\`: the ${m[1]} amount must be a number from -10 to 10, not 0`,
          );
        } else {
          const suggestion = nearestName(value, CAMERA_PRESETS);
          this.invalid(
            s,
            `\`${value}\` is not a camera movement: use ${CAMERA_PRESETS.join(', ')}, or AXIS N with AXIS one of ${CAMERA_AXES.join(', ')} and N in -10..10 (not 0)`,
            suggestion,
          );
        }
        return;
      }
      case 'text': {
        const length = codePointLength(value);
        if (s.key === 'negative' && length > NEGATIVE_MAX) {
          this.out.push(
            diagnostic(
              'negative-too-long',
              s.valueSpan,
              `Negative prompt is ${length}/${NEGATIVE_MAX} characters`,
            ),
          );
        }
        return;
      }
      case 'id': {
        if (!/^\d+$/.test(value)) {
          this.invalid(s, `\`${value}\` is not an element id: Kling element ids are whole numbers`);
        }
        return;
      }
      case 'folder': {
        if (folderLeaves(value)) {
          this.out.push(
            diagnostic(
              'output-outside',
              s.valueSpan,
              `\`${value}\` is outside this storyboard's folder: takes and the ledger would be written there — use a folder inside it (e.g. \`renders\`)`,
            ),
          );
        }
        return;
      }
      case 'media':
      case 'media-list':
        return;
    }
  }

  private formHint(spec: SettingSpec): string {
    switch (spec.kind) {
      case 'enum':
        return `: ${orList(valuesFor(spec, this.provider))}`;
      case 'duration':
        return ': whole seconds from 3 to 15';
      case 'number':
        return `: a number from ${spec.range!.min} to ${spec.range!.max}`;
      case 'camera':
        return `: ${CAMERA_PRESETS.join(', ')} or AXIS N`;
      case 'media':
        return spec.media === 'video'
          ? ': a path or URL of an MP4/MOV video'
          : ': a path or URL of a JPG/PNG image';
      case 'folder':
        return ': a folder relative to this file';
      case 'id':
        return ": the element's id in Kling's element library";
      default:
        return '';
    }
  }

  // ---- media ----

  private checkMedia(ref: string, span: Span, kind: MediaKind): void {
    const lookup = this.options.media;
    if (!lookup || !ref) return;
    const cacheKey = kind === 'image' ? ref : '\u0000' + ref;
    let problems = this.mediaCache.get(cacheKey);
    if (problems === undefined) {
      const facts = isUrl(ref) ? undefined : lookup(ref);
      problems = facts ? mediaProblems(ref, kind, facts) : null;
      this.mediaCache.set(cacheKey, problems);
    }
    if (!problems) return;
    for (const p of problems) this.out.push(diagnostic(p.code, span, p.message));
  }

  // ---- elements ----

  private checkElement(element: ElementBlock): void {
    this.checkSettings(element.settings, 'element');
    const settings = element.settings;
    const imagesLine = this.lastOf(IMAGES_KEY);
    const imageLines = settings.filter((s) => s.key === 'image');
    const videoLine = this.lastOf(VIDEO_KEY);
    const idLine = this.lastOf(ID_KEY);
    const frontalLine = this.lastOf(FRONTAL_KEY);
    const hasImages = imagesLine !== undefined || imageLines.length > 0;

    // Images in document order with their spans: the last `images:` line plus every `image:` line.
    const images: { ref: string; span: Span }[] = [];
    for (const s of settings) {
      if (s === imagesLine) {
        for (const item of splitMediaList(s.value, s.valueSpan.offset)) {
          if (item.ref)
            images.push({ ref: item.ref, span: { offset: item.offset, length: item.length } });
        }
      } else if (s.key === 'image' && s.value) {
        images.push({ ref: s.value, span: s.valueSpan });
      }
    }

    if (hasImages && videoLine) {
      const later = [imagesLine, imageLines[imageLines.length - 1], videoLine]
        .filter((s): s is Setting => s !== undefined)
        .reduce((a, b) => (b.line > a.line ? b : a));
      this.out.push(
        diagnostic(
          'element-media-conflict',
          later.keySpan,
          `Element \`${element.name}\` has both images and a video: an element is sent with images or a video, not both`,
        ),
      );
    } else if (
      hasImages &&
      (images.length < ELEMENT_IMAGES.min || images.length > ELEMENT_IMAGES.max)
    ) {
      const n = images.length;
      const span =
        n > ELEMENT_IMAGES.max
          ? images[ELEMENT_IMAGES.max].span
          : (() => {
              const last = [imagesLine, imageLines[imageLines.length - 1]]
                .filter((s): s is Setting => s !== undefined)
                .reduce((a, b) => (b.line > a.line ? b : a));
              return last.value
                ? last.valueSpan
                : {
                    offset: last.keySpan.offset,
                    length: last.valueSpan.offset - last.keySpan.offset,
                  };
            })();
      this.out.push(
        diagnostic(
          'element-image-count',
          span,
          `${n} image${n === 1 ? '' : 's'}, an element needs ${ELEMENT_IMAGES.min}–${ELEMENT_IMAGES.max}`,
          { count: n },
        ),
      );
    }

    const hasMedia = hasImages || videoLine !== undefined;
    if (this.provider === 'kie') {
      if (!hasMedia) {
        const why = frontalLine
          ? ': a `frontal` image alone is not sent — run Expand Element Views to make the `images`'
          : ': add `images:` (2–4 JPG/PNG) or `video:` (MP4/MOV)';
        this.out.push(
          diagnostic(
            'element-no-media',
            element.headerSpan,
            `Element \`${element.name}\` has nothing to send${why}`,
          ),
        );
      }
    } else if (!idLine) {
      if (!hasMedia) {
        this.out.push(
          diagnostic(
            'element-no-media',
            element.headerSpan,
            `Element \`${element.name}\` has nothing to send: with provider kling add its \`id:\` from Kling's element library`,
          ),
        );
      } else {
        this.out.push(
          diagnostic(
            'element-needs-id',
            element.headerSpan,
            `Element \`${element.name}\` needs an \`id:\`: provider kling sends elements by their id in Kling's element library, not their media`,
          ),
        );
      }
    }

    for (const img of images) this.checkMedia(img.ref, img.span, 'image');
    if (videoLine?.value) this.checkMedia(videoLine.value, videoLine.valueSpan, 'video');
    if (frontalLine?.value) this.checkMedia(frontalLine.value, frontalLine.valueSpan, 'image');

    for (const ref of element.body.refs) {
      if (ref.name !== element.name) this.checkRef(ref);
    }
    this.checkSettingsInText(element.body, 'element');
  }

  // ---- references ----

  /** Marks a reference as a use; reports it when no element has its name. True when defined. */
  private checkRef(ref: ElementRef): boolean {
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

  // ---- scenes ----

  private checkScene(scene: SceneBlock): void {
    this.checkSettings(scene.settings, 'scene');
    const limits = this.limits;
    const provider = this.provider;
    const shots = scene.shots;
    const multi = shots.length > 0;
    const body = scene.body;
    const shotTypeLine = this.lastOf(SHOT_TYPE_KEY);
    const shotType =
      provider === 'kling' && shotTypeLine
        ? readEnum(SPECS[SHOT_TYPE_KEY], shotTypeLine.value, provider)
        : undefined;
    // `shot-type: intelligence` (kling): the scene's own text is the prompt, its shots are not sent.
    const intelligence = shotType === 'intelligence';
    const sendsText = !multi || intelligence;

    if (sendsText && !body.text) {
      this.out.push(
        diagnostic(
          'empty-scene',
          scene.headerSpan,
          multi
            ? `Scene \`${scene.displayTitle}\` has no prompt: with \`shot-type: intelligence\` the scene's own text is the prompt, write it below the settings`
            : `Scene \`${scene.displayTitle}\` has no prompt and no shots: write what happens below the settings`,
        ),
      );
    }
    if (!sendsText && body.text && body.span) {
      this.out.push(
        diagnostic(
          'scene-text-ignored',
          body.span,
          'This text is not sent: the scene has shots, and each shot sends its own text (move it into a shot or make it a # comment)',
        ),
      );
    }
    if (sendsText) this.checkSettingsInText(body, 'scene');
    else if (body.lines.length) this.unsentTextLines.add(body.lines[0].line);

    // The UTF-16 length bounds the counted length from above: count code points only past it.
    if (sendsText && body.text && countedLengthBound(body) > SINGLE_PROMPT_MAX) {
      const counted = countedLength(body);
      if (counted.length > SINGLE_PROMPT_MAX) {
        this.out.push(
          diagnostic(
            'prompt-too-long',
            scene.headerSpan,
            `${intelligence ? 'Prompt (the scene text, shot-type: intelligence)' : 'Prompt'} is ${describeCounted(counted, SINGLE_PROMPT_MAX)}`,
          ),
        );
      }
    }

    if (intelligence && multi) {
      this.out.push(
        diagnostic(
          'shots-ignored',
          shotTypeLine!.valueSpan,
          `With \`shot-type: intelligence\` Kling plans the cuts from the scene's text: the ${shots.length} [shot] block${shots.length === 1 ? ' is' : 's are'} not sent`,
          { shots: shots.length },
        ),
      );
    }
    if (shotType === 'customize' && !multi) {
      this.out.push(
        diagnostic(
          'shot-type-needs-shots',
          shotTypeLine!.valueSpan,
          "`shot-type: customize` sends the scene's [shot] blocks, and this scene has none: it is sent as a single shot",
        ),
      );
    }

    let sum = 0;
    let shotOutOfRange = false;
    for (let i = 0; i < shots.length && !intelligence; i++) {
      if (this.cancelled()) return;
      const shot = shots[i];
      sum += shot.duration;
      if (i === limits.maxShots) {
        this.out.push(
          diagnostic(
            'too-many-shots',
            shot.headerSpan,
            `${shots.length} shots, at most ${limits.maxShots} on ${provider}`,
            { max: limits.maxShots },
          ),
        );
      }
      if (shot.duration < SHOT_MIN || shot.duration > SHOT_MAX) {
        shotOutOfRange = true;
        this.out.push(
          diagnostic(
            'shot-duration-range',
            shot.durationSpan,
            `Shot is ${shot.duration} s; a shot lasts ${SHOT_MIN}–${SHOT_MAX} s`,
          ),
        );
      }
      if (!shot.body.text) {
        this.out.push(
          diagnostic('empty-shot', shot.headerSpan, 'Shot has no prompt: write what happens in it'),
        );
      } else if (countedLengthBound(shot.body) > limits.shotPrompt) {
        const counted = countedLength(shot.body);
        if (counted.length > limits.shotPrompt) {
          this.out.push(
            diagnostic(
              'shot-too-long',
              shot.headerSpan,
              `Shot prompt is ${describeCounted(counted, limits.shotPrompt)} on ${provider}`,
            ),
          );
        }
      }
      this.checkSettingsInText(shot.body, 'shot');
    }

    const durationLine = this.lastOf(DURATION_KEY);
    const lastFrame = this.lastOf(LAST_FRAME_KEY);
    const firstFrame = this.lastOf(FIRST_FRAME_KEY);
    const camera = this.lastOf(CAMERA_KEY);
    if (multi && !intelligence && !shotOutOfRange) {
      const own = durationLine ? readDuration(durationLine.value) : undefined;
      if (own !== undefined) {
        if (own >= SCENE_MIN && own <= SCENE_MAX && own !== sum) {
          this.out.push(
            diagnostic(
              'duration-mismatch',
              durationLine!.valueSpan,
              `Shots sum to ${sum} s, scene is ${own} s`,
              {
                sum,
              },
            ),
          );
        }
      } else if (!durationLine && (sum < SCENE_MIN || sum > SCENE_MAX)) {
        this.out.push(
          diagnostic(
            'duration-range',
            scene.headerSpan,
            `Shots sum to ${sum} s; a scene lasts ${SCENE_MIN}–${SCENE_MAX} s`,
          ),
        );
      }
    }

    if (multi && lastFrame?.value) {
      this.out.push(
        diagnostic(
          'last-frame-multi-shot',
          lastFrame.keySpan,
          '`last-frame` only works in a single-shot scene: a scene with shots sends only a first frame',
        ),
      );
    }
    if (
      !multi &&
      provider === 'kling' &&
      camera &&
      readCamera(camera.value) !== undefined &&
      lastFrame?.value
    ) {
      const later = camera.line > lastFrame.line ? camera : lastFrame;
      this.out.push(
        diagnostic(
          'camera-conflict',
          later.keySpan,
          '`camera` cannot be combined with `last-frame`: remove one of them',
        ),
      );
    }
    if (firstFrame?.value) this.checkMedia(firstFrame.value, firstFrame.valueSpan, 'image');
    if (lastFrame?.value && !multi) this.checkMedia(lastFrame.value, lastFrame.valueSpan, 'image');
    this.checkSound(scene, multi);
    // Kling's image-to-video takes the frame's ratio: a scene's own `aspect` is not sent.
    const aspect = this.lastOf(ASPECT_KEY);
    if (
      provider === 'kling' &&
      aspect &&
      readEnum(SPECS[ASPECT_KEY], aspect.value, provider) !== undefined &&
      (firstFrame?.value || (lastFrame?.value && !multi))
    ) {
      this.out.push(
        diagnostic(
          'aspect-ignored',
          aspect.keySpan,
          `\`aspect: ${aspect.value}\` is not sent: with a ${firstFrame?.value ? 'first' : 'last'} frame Kling makes an image-to-video, which takes the frame image's ratio`,
          { key: 'aspect' },
        ),
      );
    }

    // References: the sent ones decide the element count and the first-frame rule; those in
    // ignored scene text are still checked for spelling (ignored shots get nothing of their own).
    let distinct: ElementRef[] | undefined;
    const sceneNumber = ++this.scenesChecked;
    if (intelligence) {
      for (const shot of shots) for (const ref of shot.body.refs) this.used.add(ref.name);
      distinct = this.checkSentRefs(body.refs, sceneNumber, distinct);
    } else if (multi) {
      for (const ref of body.refs) this.checkRef(ref);
      for (const shot of shots)
        distinct = this.checkSentRefs(shot.body.refs, sceneNumber, distinct);
    } else {
      distinct = this.checkSentRefs(body.refs, sceneNumber, distinct);
    }
    if (distinct && distinct.length > ELEMENTS_MAX) {
      this.out.push(
        diagnostic(
          'too-many-elements',
          distinct[ELEMENTS_MAX].span,
          `${distinct.length} elements referenced, at most ${ELEMENTS_MAX} per scene (${distinct.map((d) => '@' + d.name).join(', ')})`,
        ),
      );
    }
    // A `continue-from` scene has a first frame too (the source's last frame).
    if (distinct && !firstFrame && !this.lastOf(CONTINUE_FROM_KEY)?.value) {
      const names = distinct.map((d) => '@' + d.name).join(', ');
      const why =
        provider === 'kie'
          ? 'kie sends elements only together with a first frame image'
          : 'kling sends elements only with image-to-video, which needs a first frame';
      this.out.push(
        diagnostic(
          'element-needs-first-frame',
          scene.headerSpan,
          `Scene references ${names} but has no \`first-frame\`: ${why}`,
          { sceneIndex: scene.index },
        ),
      );
    } else if (provider === 'kie' && !multi && lastFrame?.value && !firstFrame?.value) {
      // (When elements already ask for a first frame, that one diagnostic says it.)
      this.out.push(
        diagnostic(
          'last-frame-needs-first-frame',
          lastFrame.keySpan,
          '`last-frame` needs a `first-frame` on kie: KIE takes frames as `image_urls` = [first, last], so a last frame alone cannot be sent',
          { sceneIndex: scene.index },
        ),
      );
    }
  }

  /**
   * `sound-forced-on`: on kie a multi-shot scene has sound whatever it says (`false` must not be
   * sent). Sits on the scene's `sound` line, else on the header when the off comes from there.
   */
  private checkSound(scene: SceneBlock, multi: boolean): void {
    if (this.provider !== 'kie' || !multi) return;
    const own = this.lastOf(SOUND_KEY);
    const ownValue = own ? readSwitch(own.value) : undefined;
    let off: Span | undefined;
    let where = 'this scene';
    if (ownValue !== undefined) {
      if (!ownValue) off = own!.valueSpan;
    } else if (this.headerSoundOff) {
      off = scene.headerSpan;
      where = `the header (line ${this.headerSoundOff.line + 1})`;
    }
    if (!off) return;
    this.out.push(
      diagnostic(
        'sound-forced-on',
        off,
        `Sound is off in ${where}, but on kie a multi-shot scene (${scene.shots.length} shots) always has sound: sound off is not sent to KIE, so the video will have sound (and may cost more)`,
      ),
    );
  }

  /**
   * `setting-in-text`: body lines written exactly as a setting the block accepts (a shot: one its
   * scene accepts), with a value of a form that key allows. They are text, not settings.
   */
  private checkSettingsInText(body: Body, where: 'scene' | 'shot' | 'element'): void {
    const lines = body.lines;
    if (!lines.length) return;
    const zone: SettingZone = where === 'element' ? 'element' : 'scene';
    const text = this.sb.text;
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      // Cheap rejection first: a setting starts (after indentation) with a lowercase letter.
      let k = l.lineSpan.offset;
      const end = k + l.lineSpan.length;
      while (k < end && isLineIndent(text.charCodeAt(k))) k++;
      const c = text.charCodeAt(k);
      if (!(c >= 0x61 && c <= 0x7a)) continue;
      const s = readSettingLine(text, l.line, l.lineSpan.offset, end);
      if (!s) continue;
      const spec = settingSpec(s.key);
      if (!spec || !spec.zones.includes(zone) || !valueAllowed(spec, s.value, this.provider))
        continue;
      const written = `\`${s.key}: ${s.value.length > 30 ? `${cutAt(s.value, 29)}…` : s.value}\``;
      const message =
        where === 'shot'
          ? `${written} is sent as words in this shot's prompt, not read as a setting: shots take no settings (set it on the scene)`
          : where === 'scene'
            ? `${written} is sent as words in the prompt, not read as a setting: the prompt starts at line ${lines[0].line + 1}, and settings are read only above it (move it up)`
            : `${written} is read as words of the element's description, not as a setting: the description starts at line ${lines[0].line + 1}, and settings are read only above it (move it up)`;
      this.out.push(
        diagnostic('setting-in-text', s.keySpan, message, {
          key: s.key,
          move: where !== 'shot',
        }),
      );
    }
  }

  /** Checks sent references; adds the first reference of each defined element new to this scene. */
  private checkSentRefs(
    refs: readonly ElementRef[],
    sceneNumber: number,
    distinct: ElementRef[] | undefined,
  ): ElementRef[] | undefined {
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i];
      if (!this.checkRef(ref) || this.sentInScene.get(ref.name) === sceneNumber) continue;
      this.sentInScene.set(ref.name, sceneNumber);
      (distinct ??= []).push(ref);
    }
    return distinct;
  }

  // ---- look-alike settings ----

  private checkLookalikes(): void {
    // Both lists are in document order: one merge pass keeps this linear.
    let r = 0;
    const silent = this.silentLines;
    for (const look of this.sb.settingLookalikes) {
      while (r < silent.length && silent[r].to < look.line) r++;
      if (r < silent.length && look.line >= silent[r].from) continue;
      const spec = lookalikeSpec(this.sb, look, this.provider);
      if (!spec) continue;
      const key = spec.key;
      const swallowed = look.zone === 'header' ? this.lookalikeSwallows : [];
      const fate =
        look.zone === 'scene'
          ? this.unsentTextLines.has(look.line)
            ? 'is scene text, which is not sent'
            : 'is sent as prompt text'
          : look.zone === 'element'
            ? "is sent as the element's description"
            : swallowed.length
              ? `is ignored, and ${nameSettings(swallowed)} below it ${swallowed.length === 1 ? 'is' : 'are'} read as text`
              : 'is ignored';
      this.out.push(
        diagnostic(
          'unknown-setting',
          look.keySpan,
          `\`${look.key}\` is not read as a setting, so this line ${fate}; did you mean \`${key}:\`?`,
          { key: look.key, suggestion: key, lookalike: true },
        ),
      );
    }
  }
}

/**
 * True when a folder written relative to the storyboard resolves outside its folder: absolute
 * (`/x`, `\\x`, `C:\\x`) or a `..` that climbs above it (`../x`, `a/../../x`).
 */
export function folderLeaves(folder: string): boolean {
  if (/^([A-Za-z]:)?[\\/]/.test(folder)) return true;
  let depth = 0;
  for (const part of folder.split(/[\\/]+/)) {
    if (part === '..') {
      if (--depth < 0) return true;
    } else if (part !== '.' && part !== '') depth++;
  }
  return false;
}

/** `a, b or c`. */
function orList(values: readonly string[]): string {
  if (values.length <= 1) return values.join('');
  return `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

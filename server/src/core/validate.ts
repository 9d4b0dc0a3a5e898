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

import type {
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
  settingSpec,
  splitMediaList,
  valuesFor,
} from './settings';
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

// `key:` followed by a blank or the line end, as the parser reads a setting (parse.ts readSetting).
const SETTING_SHAPE = /^[ \t\ufeff]*([a-z][a-z0-9-]*):(?=[ \t]|$)/;
const HEADER_KEYS = new Set(keysForZone('header').map((k) => k.key));

/** Sorts out the header zone's body text; undefined when there is none (the usual case). */
export function headerText(sb: Storyboard): HeaderText | undefined {
  const lines = sb.preamble.lines;
  if (!lines.length) return undefined;
  // Only the line that ended the zone can be a recorded look-alike; the validator reports it
  // when its key normalises to a known one.
  const look = sb.settingLookalikes.length ? sb.settingLookalikes[0] : undefined;
  const lookalikeLine =
    look && look.zone === 'header' && look.line === lines[0].line && isKnownLookalike(look.key)
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
    const raw = sb.text.slice(l.lineSpan.offset, l.lineSpan.offset + l.lineSpan.length);
    const m = SETTING_SHAPE.exec(raw);
    if (m && HEADER_KEYS.has(m[1])) {
      swallowed.push({
        line: l.line,
        key: m[1],
        value: raw.slice(m[0].length).replace(/^[ \t]+|[ \t]+$/g, ''),
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
    while (isIndent(sb.text.charCodeAt(start))) start++;
    span = { offset: start, length: last.lineSpan.offset + last.lineSpan.length - start };
  }
  return { textLines, swallowed, lookalikeLine, span };
}

function isIndent(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0xfeff;
}

function isKnownLookalike(key: string): boolean {
  return settingSpec(normaliseLookalikeKey(key)) !== undefined;
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
  return v.out;
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
    const header = headerText(this.sb);
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
      case 'media':
      case 'media-list':
      case 'folder':
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
    const shots = scene.shots;
    const multi = shots.length > 0;
    const body = scene.body;

    if (!multi && !body.text) {
      this.out.push(
        diagnostic(
          'empty-scene',
          scene.headerSpan,
          `Scene \`${scene.displayTitle}\` has no prompt and no shots: write what happens below the settings`,
        ),
      );
    }
    if (multi && body.text && body.span) {
      this.out.push(
        diagnostic(
          'scene-text-ignored',
          body.span,
          'This text is not sent: the scene has shots, and each shot sends its own text (move it into a shot or make it a # comment)',
        ),
      );
    }

    // The UTF-16 length bounds the counted length from above: count code points only past it.
    if (!multi && body.text && countedLengthBound(body) > SINGLE_PROMPT_MAX) {
      const counted = countedLength(body);
      if (counted.length > SINGLE_PROMPT_MAX) {
        this.out.push(
          diagnostic(
            'prompt-too-long',
            scene.headerSpan,
            `Prompt is ${describeCounted(counted, SINGLE_PROMPT_MAX)}`,
          ),
        );
      }
    }

    let sum = 0;
    let shotOutOfRange = false;
    for (let i = 0; i < shots.length; i++) {
      if (this.cancelled()) return;
      const shot = shots[i];
      sum += shot.duration;
      if (i === limits.maxShots) {
        this.out.push(
          diagnostic(
            'too-many-shots',
            shot.headerSpan,
            `${shots.length} shots, at most ${limits.maxShots} on ${this.provider}`,
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
              `Shot prompt is ${describeCounted(counted, limits.shotPrompt)} on ${this.provider}`,
            ),
          );
        }
      }
    }

    const durationLine = this.lastOf(DURATION_KEY);
    const lastFrame = this.lastOf(LAST_FRAME_KEY);
    const firstFrame = this.lastOf(FIRST_FRAME_KEY);
    const camera = this.lastOf(CAMERA_KEY);
    if (multi && !shotOutOfRange) {
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
      this.provider === 'kling' &&
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

    // References: the sent ones decide the element count and the first-frame rule; those in
    // ignored scene text are still checked for spelling.
    let distinct: ElementRef[] | undefined;
    const sceneNumber = ++this.scenesChecked;
    if (multi) {
      for (const ref of body.refs) this.checkRef(ref);
      for (const shot of shots)
        distinct = this.checkSentRefs(shot.body.refs, sceneNumber, distinct);
    } else {
      distinct = this.checkSentRefs(body.refs, sceneNumber, distinct);
    }
    if (!distinct) return;
    if (distinct.length > ELEMENTS_MAX) {
      this.out.push(
        diagnostic(
          'too-many-elements',
          distinct[ELEMENTS_MAX].span,
          `${distinct.length} elements referenced, at most ${ELEMENTS_MAX} per scene (${distinct.map((d) => '@' + d.name).join(', ')})`,
        ),
      );
    }
    // A `continue-from` scene has a first frame too (the source's last frame).
    if (!firstFrame && !this.lastOf(CONTINUE_FROM_KEY)?.value) {
      const names = distinct.map((d) => '@' + d.name).join(', ');
      const why =
        this.provider === 'kie'
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
      const key = normaliseLookalikeKey(look.key);
      if (!settingSpec(key)) continue;
      const swallowed = look.zone === 'header' ? this.lookalikeSwallows : [];
      const fate =
        look.zone === 'scene'
          ? 'is sent as prompt text'
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

/** `a, b or c`. */
function orList(values: readonly string[]): string {
  if (values.length <= 1) return values.join('');
  return `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

// The settings table of server/docs/language.md ("Settings"), as data. Completion, hover, validation,
// resolution and the request builder all read this one table, so a key or value added
// here shows up everywhere at once.

import type { Provider } from './ast';

/** Where a `key: value` line can stand: the top of the file, a `[scene]` or an `[element]`. */
export type SettingZone = 'header' | 'scene' | 'element';

/**
 * How a value is read:
 * - `enum`: one of `values` (exact spelling; `aliases` map extra spellings to a value);
 * - `duration`: whole seconds, `10` or `10s` (range checked separately: `duration-range`);
 * - `number`: a decimal number inside `range`;
 * - `camera`: a camera preset or `AXIS N`;
 * - `media`: one path or URL; `media-list`: comma-separated paths or URLs;
 * - `folder`: a folder relative to the storyboard; `text`: free text; `id`: digits.
 */
export type ValueKind =
  'enum' | 'duration' | 'number' | 'camera' | 'media' | 'media-list' | 'folder' | 'text' | 'id';

export interface SettingSpec {
  key: string;
  zones: readonly SettingZone[];
  kind: ValueKind;
  /** `enum`: every value accepted on at least one provider, in the order completion shows them. */
  values?: readonly string[];
  /** `enum`: extra spellings and what they mean (`sound: true` = `on`). */
  aliases?: Readonly<Record<string, string>>;
  /** `enum`: values accepted only on some providers (`mode: 4K` on kie only). */
  providerValues?: Readonly<Partial<Record<Provider, readonly string[]>>>;
  /** `number` / `duration`: inclusive bounds. */
  range?: { min: number; max: number };
  /** `media` / `media-list`: what the file must be. */
  media?: 'image' | 'video';
  /** `media-list`: how many items. */
  count?: { min: number; max: number };
  /** The value used when the key is absent, if it is a plain value. */
  default?: string;
  /** The default in words, for hover (`the shots' sum, else 5`). */
  defaultText?: string;
  /** One line for completion and hover. */
  description: string;
  /** Sent only with provider `kling`; with `kie` it is ignored (`unsupported-setting`). */
  klingOnly: boolean;
  /** Repeated lines add up instead of being duplicates (`image:`). */
  repeatable?: boolean;
  /** Never part of a request (`output`, `frontal`). */
  notSent?: boolean;
}

/** The camera presets of `camera:` (Kling's `camera_control.type` other than `simple`). */
export const CAMERA_PRESETS = [
  'down_back',
  'forward_up',
  'right_turn_forward',
  'left_turn_forward',
] as const;
/** The axes of `camera: AXIS N` (Kling's `camera_control.config`). */
export const CAMERA_AXES = ['horizontal', 'vertical', 'pan', 'tilt', 'roll', 'zoom'] as const;
export type CameraPreset = (typeof CAMERA_PRESETS)[number];
export type CameraAxis = (typeof CAMERA_AXES)[number];

export const SETTINGS: readonly SettingSpec[] = [
  {
    key: 'provider',
    zones: ['header'],
    kind: 'enum',
    values: ['kie', 'kling'],
    default: 'kie',
    description:
      "Which API renders the scenes: `kie` = KIE.ai market API, `kling` = Kling's official API.",
    klingOnly: false,
  },
  {
    key: 'model',
    zones: ['header', 'scene'],
    kind: 'enum',
    values: ['kling-3.0'],
    default: 'kling-3.0',
    description: 'The video model; sent as `kling-3.0/video` (kie) or `kling-v3` (kling).',
    klingOnly: false,
  },
  {
    key: 'mode',
    zones: ['header', 'scene'],
    kind: 'enum',
    values: ['std', 'pro', '4K'],
    providerValues: { kie: ['std', 'pro', '4K'], kling: ['std', 'pro'] },
    default: 'std',
    description: 'Quality: `std` (720p), `pro` (1080p), `4K` (2160p, kie only).',
    klingOnly: false,
  },
  {
    key: 'aspect',
    zones: ['header', 'scene'],
    kind: 'enum',
    values: ['16:9', '9:16', '1:1'],
    default: '16:9',
    defaultText: '16:9, omitted when a frame image is given (the video follows the image)',
    description: 'Aspect ratio of the video.',
    klingOnly: false,
  },
  {
    key: 'duration',
    zones: ['header', 'scene'],
    kind: 'duration',
    range: { min: 3, max: 15 },
    defaultText: "the sum of the scene's shots, else the header's duration, else 5",
    description:
      'Length of the scene in whole seconds, 3–15 (`10` or `10s`). In the header: the default for single-shot scenes.',
    klingOnly: false,
  },
  {
    key: 'sound',
    zones: ['header', 'scene'],
    kind: 'enum',
    values: ['on', 'off'],
    aliases: { true: 'on', false: 'off' },
    defaultText: 'off for single-shot scenes, on for multi-shot scenes',
    description: 'Generate sound with the video: `on` or `off`.',
    klingOnly: false,
  },
  {
    key: 'first-frame',
    zones: ['scene'],
    kind: 'media',
    media: 'image',
    description:
      'Image (path or URL) the video starts from; needed when the scene references elements.',
    klingOnly: false,
  },
  {
    key: 'continue-from',
    zones: ['scene'],
    kind: 'text',
    description:
      "Title of an earlier scene: this scene starts from the last frame of that scene's chosen take (extracted with ffmpeg, sent as the first frame).",
    klingOnly: false,
  },
  {
    key: 'last-frame',
    zones: ['scene'],
    kind: 'media',
    media: 'image',
    description: 'Image (path or URL) the video ends on; single-shot scenes only.',
    klingOnly: false,
  },
  {
    key: 'negative',
    zones: ['header', 'scene'],
    kind: 'text',
    description:
      'Negative prompt: what the video should avoid (kling only, at most 2500 characters).',
    klingOnly: true,
  },
  {
    key: 'cfg-scale',
    zones: ['header', 'scene'],
    kind: 'number',
    range: { min: 0, max: 1 },
    description: 'How strictly the video follows the prompt, 0–1.',
    klingOnly: false,
  },
  {
    key: 'camera',
    zones: ['scene'],
    kind: 'camera',
    description:
      'Camera movement (kling only): `down_back`, `forward_up`, `right_turn_forward`, `left_turn_forward`, or `AXIS N` (horizontal, vertical, pan, tilt, roll, zoom; N in -10..10, not 0).',
    klingOnly: true,
  },
  {
    key: 'shot-type',
    zones: ['scene'],
    kind: 'enum',
    values: ['customize', 'intelligence'],
    defaultText: '`customize` when the scene has shots',
    description:
      "Multi-shot mode (kling only): `customize` sends your [shot] blocks, `intelligence` lets Kling plan the cuts from the scene's own text (its shots are not sent).",
    klingOnly: true,
  },
  {
    key: 'watermark',
    zones: ['header', 'scene'],
    kind: 'enum',
    values: ['on', 'off'],
    default: 'off',
    description: 'Also produce a watermarked video (kling only).',
    klingOnly: true,
  },
  {
    key: 'output',
    zones: ['header'],
    kind: 'folder',
    default: 'renders',
    description: 'Folder, relative to this file, where finished videos are saved.',
    klingOnly: false,
    notSent: true,
  },
  {
    key: 'images',
    zones: ['element'],
    kind: 'media-list',
    media: 'image',
    count: { min: 2, max: 4 },
    description:
      '2–4 reference images (paths or URLs, comma-separated): JPG/PNG, ≤ 10 MB, ≥ 300×300 px.',
    klingOnly: false,
  },
  {
    key: 'image',
    zones: ['element'],
    kind: 'media',
    media: 'image',
    repeatable: true,
    description:
      'One reference image (path or URL); repeated `image:` lines add up to the 2–4 images.',
    klingOnly: false,
  },
  {
    key: 'video',
    zones: ['element'],
    kind: 'media',
    media: 'video',
    description: 'One reference video (path or URL): MP4/MOV, ≤ 50 MB. Not together with images.',
    klingOnly: false,
  },
  {
    key: 'frontal',
    zones: ['element'],
    kind: 'media',
    media: 'image',
    description:
      'Front view image, not sent: Expand Element Views (Kling AI Multi-Shot) makes the views written into `images`.',
    klingOnly: false,
    notSent: true,
  },
  {
    key: 'id',
    zones: ['element'],
    kind: 'id',
    description:
      "The element's id in Kling's element library (how provider `kling` sends elements).",
    klingOnly: false,
  },
];

const BY_KEY = new Map(SETTINGS.map((s) => [s.key, s]));

/** Every known setting key, in table order. */
export const SETTING_KEYS: readonly string[] = SETTINGS.map((s) => s.key);

/** The spec of a key, or undefined when the key is unknown. */
export function settingSpec(key: string): SettingSpec | undefined {
  return BY_KEY.get(key);
}

/** The settings valid in a zone, in table order. */
export function keysForZone(zone: SettingZone): SettingSpec[] {
  return SETTINGS.filter((s) => s.zones.includes(zone));
}

/** The enum values a provider accepts for a key (all `values` when the provider makes no difference). */
export function valuesFor(spec: SettingSpec, provider: Provider): readonly string[] {
  return spec.providerValues?.[provider] ?? spec.values ?? [];
}

/** How a look-alike key (`Duration`, `First Frame`) would be written as a real key. */
export function normaliseLookalikeKey(key: string): string {
  return key
    .trim()
    .toLowerCase()
    .replace(/[ \t_]+/g, '-');
}

// ---- value readers: undefined = not of the allowed form (an `invalid-value`) ----

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/**
 * Whole seconds from `10` / `10s` (1–6 ASCII digits, then an optional `s`; not range-checked),
 * else undefined. Read by hand: it runs for every scene and shot of a first open, where a
 * regular expression's match array and substring cost more than the digits.
 */
export function readDuration(value: string): number | undefined {
  let end = value.length;
  if (end > 0 && value.charCodeAt(end - 1) === 0x73 /* s */) end--;
  if (end < 1 || end > 6) return undefined;
  let seconds = 0;
  for (let i = 0; i < end; i++) {
    const digit = value.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    seconds = seconds * 10 + digit;
  }
  return seconds;
}

/** A decimal number (`0.5`, `.5`, `-3`), else undefined. */
export function readNumber(value: string): number | undefined {
  return DECIMAL.test(value) ? Number(value) : undefined;
}

/** The canonical enum value (aliases resolved) if the provider accepts it, else undefined. */
export function readEnum(spec: SettingSpec, value: string, provider: Provider): string | undefined {
  const canonical = spec.aliases?.[value] ?? value;
  return valuesFor(spec, provider).includes(canonical) ? canonical : undefined;
}

/** `on`/`true` → true, `off`/`false` → false, else undefined. */
export function readSwitch(value: string): boolean | undefined {
  if (value === 'on' || value === 'true') return true;
  if (value === 'off' || value === 'false') return false;
  return undefined;
}

export type CameraControl =
  { type: CameraPreset } | { type: 'simple'; axis: CameraAxis; amount: number };

/** A camera movement from `down_back` or `zoom 5`, else undefined (axis amount must be in -10..10 and not 0). */
export function readCamera(value: string): CameraControl | undefined {
  if ((CAMERA_PRESETS as readonly string[]).includes(value)) return { type: value as CameraPreset };
  const m = /^([a-z]+)[ \t]+(\S+)$/.exec(value);
  if (!m || !(CAMERA_AXES as readonly string[]).includes(m[1])) return undefined;
  const amount = readNumber(m[2]);
  if (amount === undefined || amount === 0 || amount < -10 || amount > 10) return undefined;
  return { type: 'simple', axis: m[1] as CameraAxis, amount };
}

/**
 * True when `value` is of a form the key allows: the same line inside a settings zone would get
 * no `invalid-value` (an out-of-range duration is only `duration-range`, so it counts). A
 * `kling`-only key is judged as on `kling`, whatever the provider. An empty value never counts:
 * it is not a value a line of prose could be mistaken for.
 */
export function valueAllowed(spec: SettingSpec, value: string, provider: Provider): boolean {
  if (!value) return false;
  const p: Provider = spec.klingOnly ? 'kling' : provider;
  switch (spec.kind) {
    case 'enum':
      return readEnum(spec, value, p) !== undefined;
    case 'duration':
      return readDuration(value) !== undefined;
    case 'number': {
      const n = readNumber(value);
      return n !== undefined && n >= spec.range!.min && n <= spec.range!.max;
    }
    case 'camera':
      return readCamera(value) !== undefined;
    case 'id':
      return /^\d+$/.test(value);
    case 'text':
    case 'media':
    case 'media-list':
    case 'folder':
      return true;
  }
}

/** One item of a media value with where it sits in the document. */
export interface MediaItem {
  ref: string;
  offset: number;
  length: number;
}

/** Splits a media value (`a.jpg, b.png`) into trimmed items with their offsets; empty items are kept (length 0). */
export function splitMediaList(value: string, valueOffset: number): MediaItem[] {
  const items: MediaItem[] = [];
  let start = 0;
  for (;;) {
    const comma = value.indexOf(',', start);
    const end = comma === -1 ? value.length : comma;
    let a = start;
    let b = end;
    while (a < b && (value[a] === ' ' || value[a] === '\t')) a++;
    while (b > a && (value[b - 1] === ' ' || value[b - 1] === '\t')) b--;
    items.push({ ref: value.slice(a, b), offset: valueOffset + a, length: b - a });
    if (comma === -1) break;
    start = comma + 1;
  }
  return items;
}

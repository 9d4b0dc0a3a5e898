// Settings: zone, duplicates, provider, values (`unknown-setting`, `duplicate-setting`,
// `unsupported-setting`, `invalid-value`, `duration-range` and `negative-too-long` of a value,
// `unconfirmed-setting`, `output-outside`), and body text written as a setting (`setting-in-text`).

import type { Body, Setting, Span } from '../ast';
import { diagnostic } from '../diagnostics';
import { NEGATIVE_MAX, SCENE_DURATION } from '../limits';
import { isLineIndent, readSettingLine } from '../parse';
import {
  CAMERA_AXES,
  CAMERA_PRESETS,
  type SettingSpec,
  type SettingZone,
  keysForZone,
  readCamera,
  readDuration,
  readEnum,
  readNumber,
  settingSpec,
  valueAllowed,
  valuesFor,
} from '../settings';
import { nearestName } from '../suggest';
import { codePointLength } from '../text';
import { CAMERA_KEY, CFG_SCALE_KEY, SPECS, SPEC_POSITION, type Validation, cutAt } from './context';

const ZONE_NAMES: Record<SettingZone, string> = {
  header: 'the header (before the first block)',
  scene: 'a [scene]',
  element: 'an [element]',
};
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

/**
 * Zone, duplicate, provider and value checks of one settings zone. Afterwards `lastOf()`
 * gives the zone's last line of each key valid in it (what `lastSetting` would), until the
 * next call.
 */
export function checkSettings(
  v: Validation,
  settings: readonly Setting[],
  zone: SettingZone,
): void {
  const stamp = ++v.zoneStamp;
  for (let i = 0; i < settings.length; i++) {
    const s = settings[i];
    const position = SPEC_POSITION.get(s.key);
    const spec = position === undefined ? undefined : SPECS[position];
    if (!spec || position === undefined || !spec.zones.includes(zone)) {
      unknownSetting(v, s, zone, spec);
      continue;
    }
    const earlier = v.keyZone[position] === stamp ? v.keyLast[position] : undefined;
    if (earlier && !spec.repeatable) {
      v.out.push(
        diagnostic(
          'duplicate-setting',
          s.keySpan,
          `\`${s.key}\` is already set on line ${earlier.line + 1}; this later line wins`,
          { key: s.key },
        ),
      );
    }
    v.keyZone[position] = stamp;
    v.keyLast[position] = s;
    if (spec.klingOnly && v.provider === 'kie') {
      v.out.push(
        diagnostic(
          'unsupported-setting',
          s.keySpan,
          `\`${s.key}\` is only sent with provider kling; with kie it is ignored`,
          { key: s.key },
        ),
      );
      continue;
    }
    checkValue(v, s, spec, zone);
  }
  checkUnconfirmed(v, zone);
}

/**
 * `unconfirmed-setting`, once, on the line whose value is sent (the zone's last one): the
 * provider's documents do not confirm the model takes `cfg-scale` (kie, kling) or `camera`
 * (kling) — server/docs/providers.md. Nothing is dropped.
 */
function checkUnconfirmed(v: Validation, zone: SettingZone): void {
  const cfg = v.lastOf(CFG_SCALE_KEY);
  if (cfg && valueAllowed(SPECS[CFG_SCALE_KEY], cfg.value, v.provider)) {
    v.out.push(
      diagnostic(
        'unconfirmed-setting',
        cfg.keySpan,
        v.provider === 'kie'
          ? '`cfg-scale` is sent as `cfg_scale`, but KIE does not document it for kling-3.0: it may be ignored'
          : '`cfg-scale` is sent as `cfg_scale`, but Kling does not confirm kling-v3 supports it: it may be ignored',
        { key: 'cfg-scale' },
      ),
    );
  }
  const camera = zone === 'scene' && v.provider === 'kling' ? v.lastOf(CAMERA_KEY) : undefined;
  if (camera && readCamera(camera.value) !== undefined) {
    v.out.push(
      diagnostic(
        'unconfirmed-setting',
        camera.keySpan,
        '`camera` is sent as `camera_control`, but Kling does not confirm kling-v3 supports it: it may be ignored',
        { key: 'camera' },
      ),
    );
  }
}

function unknownSetting(
  v: Validation,
  s: Setting,
  zone: SettingZone,
  spec: SettingSpec | undefined,
): void {
  const zoneKeys = ZONE_KEYS[zone];
  if (spec) {
    const where = spec.zones.map((z) => ZONE_NAMES[z]).join(' or ');
    v.out.push(
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
  let suggestion = v.keySuggestions.get(cacheKey);
  if (suggestion === undefined) {
    suggestion = nearestName(s.key, zoneKeys) ?? '';
    v.keySuggestions.set(cacheKey, suggestion);
  }
  const message = suggestion
    ? `Unknown setting \`${s.key}\`; did you mean \`${suggestion}\`?`
    : `Unknown setting \`${s.key}\` in ${ZONE_NAMES[zone]}; valid here: ${ZONE_KEY_LIST[zone]}`;
  v.out.push(
    diagnostic(
      'unknown-setting',
      s.keySpan,
      message,
      suggestion ? { key: s.key, suggestion } : { key: s.key },
    ),
  );
}

function invalid(v: Validation, s: Setting, message: string, suggestion?: string): void {
  // An empty value has no extent of its own: mark `key:` instead.
  const span: Span = s.value
    ? s.valueSpan
    : { offset: s.keySpan.offset, length: s.valueSpan.offset - s.keySpan.offset };
  v.out.push(
    diagnostic(
      'invalid-value',
      span,
      message,
      suggestion ? { key: s.key, suggestion } : { key: s.key },
    ),
  );
}

function checkValue(v: Validation, s: Setting, spec: SettingSpec, zone: SettingZone): void {
  const value = s.value;
  if (!value) {
    // An empty `images:` is a wrong number of images (element-image-count), not a bad value.
    if (spec.kind === 'media-list') return;
    invalid(v, s, `\`${s.key}\` needs a value${formHint(v, spec)}`);
    return;
  }
  switch (spec.kind) {
    case 'enum': {
      if (readEnum(spec, value, v.provider) !== undefined) return;
      const allowed = valuesFor(spec, v.provider);
      if (spec.values?.includes(value)) {
        invalid(
          v,
          s,
          `\`${value}\` is not available with provider ${v.provider} (${s.key}: ${allowed.join(', ')})`,
        );
        return;
      }
      const suggestion = nearestName(value, allowed);
      invalid(
        v,
        s,
        `\`${value}\` is not a valid ${s.key}: use ${orList(allowed)}${suggestion ? ` (did you mean \`${suggestion}\`?)` : ''}`,
        suggestion,
      );
      return;
    }
    case 'duration': {
      const d = readDuration(value);
      if (d === undefined) {
        invalid(
          v,
          s,
          `\`${value}\` is not a duration: write whole seconds from 3 to 15, e.g. \`10\` or \`10s\``,
        );
      } else if (d < SCENE_DURATION.min || d > SCENE_DURATION.max) {
        const what = zone === 'header' ? 'Default scene duration' : 'Scene duration';
        v.out.push(
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
        invalid(v, s, `\`${value}\` is not a valid ${s.key}: a number from ${r.min} to ${r.max}`);
      }
      return;
    }
    case 'camera': {
      if (readCamera(value) !== undefined) return;
      const m = /^([a-z]+)[ \t]+(\S+)$/.exec(value);
      if (m && (CAMERA_AXES as readonly string[]).includes(m[1])) {
        invalid(v, s, `\`${value}\`: the ${m[1]} amount must be a number from -10 to 10, not 0`);
      } else {
        const suggestion = nearestName(value, CAMERA_PRESETS);
        invalid(
          v,
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
        v.out.push(
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
        invalid(v, s, `\`${value}\` is not an element id: Kling element ids are whole numbers`);
      }
      return;
    }
    case 'folder': {
      if (folderLeaves(value)) {
        v.out.push(
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

function formHint(v: Validation, spec: SettingSpec): string {
  switch (spec.kind) {
    case 'enum':
      return `: ${orList(valuesFor(spec, v.provider))}`;
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

/**
 * `setting-in-text`: body lines written exactly as a setting the block accepts (a shot: one its
 * scene accepts), with a value of a form that key allows. They are text, not settings.
 */
export function checkSettingsInText(
  v: Validation,
  body: Body,
  where: 'scene' | 'shot' | 'element',
): void {
  const count = body.lineCount;
  if (!count) return;
  const zone: SettingZone = where === 'element' ? 'element' : 'scene';
  const text = v.sb.text;
  for (let i = 0; i < count; i++) {
    const l = body.lineAt(i);
    // Cheap rejection first: a setting starts (after indentation) with a lowercase letter.
    let k = l.offset;
    const end = k + l.length;
    while (k < end && isLineIndent(text.charCodeAt(k))) k++;
    const c = text.charCodeAt(k);
    if (!(c >= 0x61 && c <= 0x7a)) continue;
    const s = readSettingLine(text, l.line, l.offset, end);
    if (!s) continue;
    const spec = settingSpec(s.key);
    if (!spec || !spec.zones.includes(zone) || !valueAllowed(spec, s.value, v.provider)) continue;
    const written = `\`${s.key}: ${s.value.length > 30 ? `${cutAt(s.value, 29)}…` : s.value}\``;
    const message =
      where === 'shot'
        ? `${written} is sent as words in this shot's prompt, not read as a setting: shots take no settings (set it on the scene)`
        : where === 'scene'
          ? `${written} is sent as words in the prompt, not read as a setting: the prompt starts at line ${body.lineAt(0).line + 1}, and settings are read only above it (move it up)`
          : `${written} is read as words of the element's description, not as a setting: the description starts at line ${body.lineAt(0).line + 1}, and settings are read only above it (move it up)`;
    v.out.push(
      diagnostic('setting-in-text', s.keySpan, message, {
        key: s.key,
        move: where !== 'shot',
      }),
    );
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

// The header zone's text and look-alike settings: `header-text-ignored`, and `unknown-setting`
// for the line that ends a settings zone written like a setting (`Duration: 10`).

import type { BodyLine, Provider, Span, Storyboard } from '../ast';
import { diagnostic } from '../diagnostics';
import { isLineIndent, readSettingLine } from '../parse';
import { storyboardProvider } from '../resolve';
import {
  type SettingSpec,
  keysForZone,
  normaliseLookalikeKey,
  settingSpec,
  valueAllowed,
} from '../settings';
import { type Validation, cutAt } from './context';

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

/** `header-text-ignored`: text before the first block, naming the settings it turned into text. */
export function checkHeaderText(v: Validation): void {
  const header = headerText(v.sb, v.options.defaultProvider);
  if (!header?.span) return;
  if (!header.textLines.length) {
    v.lookalikeSwallows = header.swallowed;
    return;
  }
  const n = header.swallowed.length;
  const message = n
    ? `Text before the first block is not sent; ${nameSettings(header.swallowed)} below it ${n === 1 ? 'is' : 'are'} read as text, not ${n === 1 ? 'a setting' : 'settings'} — move ${n === 1 ? 'it' : 'them'} above the text or make the text a # comment`
    : 'Text before the first block is not sent: make it a # comment';
  v.out.push(
    diagnostic(
      'header-text-ignored',
      header.span,
      message,
      n ? { settings: header.swallowed.map((s) => s.key) } : undefined,
    ),
  );
}

/** `unknown-setting` for each line that ends a settings zone written like a setting. */
export function checkLookalikes(v: Validation): void {
  // Both lists are in document order: one merge pass keeps this linear.
  let r = 0;
  const silent = v.silentLines;
  for (const look of v.sb.settingLookalikes) {
    while (r < silent.length && silent[r].to < look.line) r++;
    if (r < silent.length && look.line >= silent[r].from) continue;
    const spec = lookalikeSpec(v.sb, look, v.provider);
    if (!spec) continue;
    const key = spec.key;
    const swallowed = look.zone === 'header' ? v.lookalikeSwallows : [];
    const fate =
      look.zone === 'scene'
        ? v.unsentTextLines.has(look.line)
          ? 'is scene text, which is not sent'
          : 'is sent as prompt text'
        : look.zone === 'element'
          ? "is read as part of the element's description"
          : swallowed.length
            ? `is ignored, and ${nameSettings(swallowed)} below it ${swallowed.length === 1 ? 'is' : 'are'} read as text`
            : 'is ignored';
    v.out.push(
      diagnostic(
        'unknown-setting',
        look.keySpan,
        `\`${look.key}\` is not read as a setting, so this line ${fate}; did you mean \`${key}:\`?`,
        { key: look.key, suggestion: key, lookalike: true },
      ),
    );
  }
}

// Quick fixes: one edit per fix, for the diagnostics the client sends back with the request.

import type { CodeAction, Diagnostic, TextEdit } from 'vscode-languageserver-types';
import { blockAtLine, lineContext, refAt, sceneOf, type Analysis } from './analysis';
import type { ElementBlock, SceneBlock, Setting, Span } from './ast';
import { SCENE_DURATION } from './limits';
import { lastSetting, storyboardProvider } from './resolve';
import { readDuration } from './settings';
import { readSettingLine } from './parse';
import { suppressionFixes } from './suppress';
import { headerText } from './validate';

const BLOCK_KINDS = ['element', 'scene', 'shot'];

/** The quick fixes for the given diagnostics (as the client sent them, with `code` and `data`). */
export function codeActions(a: Analysis, diagnostics: readonly Diagnostic[]): CodeAction[] {
  const out: CodeAction[] = [];
  for (const d of diagnostics) {
    try {
      out.push(...fixesFor(a, d));
      out.push(...suppressionFixes(a, d));
    } catch {
      // A stale diagnostic (from an older version of the text) must not break the others.
    }
  }
  return out;
}

function fixesFor(a: Analysis, d: Diagnostic): CodeAction[] {
  const { storyboard } = a.parsed;
  const start = a.index.offsetAt(d.range.start);
  const line = d.range.start.line;
  const data = (d.data ?? {}) as Record<string, unknown>;
  const suggestion = typeof data.suggestion === 'string' ? data.suggestion : undefined;
  const fix = (title: string, edits: TextEdit[], isPreferred = false): CodeAction => ({
    title,
    kind: 'quickfix',
    diagnostics: [d],
    isPreferred,
    edit: { changes: { [a.uri]: edits } },
  });
  const replace = (span: Span, newText: string): TextEdit => ({
    range: a.index.rangeOf(span),
    newText,
  });
  const scene = () => sceneOf(storyboard, blockAtLine(storyboard, line));

  switch (d.code) {
    case 'undefined-element': {
      const ref = refAt(a, start);
      if (!ref) return [];
      const out: CodeAction[] = [];
      if (suggestion)
        out.push(fix(`Change to @${suggestion}`, [replace(ref.nameSpan, suggestion)], true));
      out.push(fix(`Define element ${ref.name}`, [defineElement(a, ref.name)], !suggestion));
      return out;
    }
    case 'duration-mismatch': {
      const s = scene();
      const duration = s && lastSetting(s.settings, 'duration');
      if (!s || !duration) return [];
      const sum =
        typeof data.sum === 'number' ? data.sum : s.shots.reduce((n, shot) => n + shot.duration, 0);
      return [
        fix(
          `Set the scene's duration to ${sum} s (the shots' sum)`,
          [replace(duration.valueSpan, String(sum))],
          true,
        ),
        fix(
          "Remove the scene's duration line (the shots' sum applies)",
          removeSettings(a, s.settings, 'duration'),
        ),
      ];
    }
    case 'duration-range': {
      const s = scene();
      const duration = s && lastSetting(s.settings, 'duration');
      const seconds = duration && readDuration(duration.value);
      if (!s || !duration || seconds === undefined || s.shots.length) return [];
      const clamped = Math.max(SCENE_DURATION.min, Math.min(SCENE_DURATION.max, seconds));
      return [
        fix(
          `Set the duration to ${clamped} s`,
          [replace(duration.valueSpan, String(clamped))],
          true,
        ),
      ];
    }
    case 'last-frame-multi-shot': {
      const s = scene();
      if (!s) return [];
      return [
        fix(
          'Remove `last-frame` (multi-shot scenes cannot have one)',
          removeSettings(a, s.settings, 'last-frame'),
          true,
        ),
      ];
    }
    case 'last-frame-needs-first-frame': {
      const s = scene();
      if (!s) return [];
      const out = [fix('Remove `last-frame`', removeSettings(a, s.settings, 'last-frame'))];
      if (!lastSetting(s.settings, 'first-frame'))
        out.unshift(
          fix(
            'Add a `first-frame:` line to the scene',
            [insertSettingLine(a, s, 'first-frame')],
            true,
          ),
        );
      return out;
    }
    case 'shots-ignored': {
      const s = scene();
      const shotType = s && lastSetting(s.settings, 'shot-type');
      if (!s || !shotType) return [];
      return [
        fix(
          'Change to `customize` (send the shots)',
          [replace(shotType.valueSpan, 'customize')],
          true,
        ),
        fix('Remove the [shot] blocks (the scene text is the prompt)', [
          deleteLines(a, s.shots[0].headerLine, s.fullEndLine),
        ]),
      ];
    }
    case 'shot-type-needs-shots': {
      const s = scene();
      if (!s) return [];
      return [
        fix(
          'Remove `shot-type` (the scene is sent as a single shot)',
          removeSettings(a, s.settings, 'shot-type'),
          true,
        ),
      ];
    }
    case 'aspect-ignored': {
      const s = scene();
      if (!s) return [];
      return [
        fix(
          'Remove `aspect` (the frame image decides)',
          removeSettings(a, s.settings, 'aspect'),
          true,
        ),
      ];
    }
    case 'setting-in-text': {
      const block = blockAtLine(storyboard, line);
      if (!data.move || (block?.kind !== 'scene' && block?.kind !== 'element')) return [];
      const setting = readSettingLine(
        a.text,
        line,
        a.index.offsetAt({ line, character: 0 }),
        a.index.lineEnd(line),
      );
      if (!setting) return [];
      const eol = a.text.includes('\r\n') ? '\r\n' : '\n';
      const written = a.text.slice(
        setting.keySpan.offset,
        setting.valueSpan.offset + setting.valueSpan.length,
      );
      const last = block.settings[block.settings.length - 1];
      const at = { line: (last ? last.line : block.headerLine) + 1, character: 0 };
      return [
        fix(
          `Move \`${setting.key}\` up into the ${block.kind}'s settings`,
          [{ range: { start: at, end: at }, newText: written + eol }, deleteLines(a, line, line)],
          true,
        ),
      ];
    }
    case 'camera-conflict': {
      const s = scene();
      if (!s) return [];
      return [
        fix('Remove `camera`', removeSettings(a, s.settings, 'camera')),
        fix('Remove `last-frame`', removeSettings(a, s.settings, 'last-frame')),
      ];
    }
    case 'element-needs-first-frame': {
      const s = scene();
      if (!s || lastSetting(s.settings, 'first-frame')) return [];
      return [
        fix(
          'Add a `first-frame:` line to the scene',
          [insertSettingLine(a, s, 'first-frame')],
          true,
        ),
      ];
    }
    case 'element-needs-id': {
      const el = elementAt(a, line);
      if (!el || lastSetting(el.settings, 'id')) return [];
      return [
        fix(
          "Add an `id:` line (the element id in Kling's library)",
          [insertSettingLine(a, el, 'id')],
          true,
        ),
      ];
    }
    case 'element-no-media': {
      const el = elementAt(a, line);
      if (!el) return [];
      const provider = storyboardProvider(storyboard, 'kie');
      const out = [
        fix(
          'Add an `images:` line (2–4 reference images)',
          [insertSettingLine(a, el, 'images')],
          provider === 'kie',
        ),
      ];
      if (provider === 'kling' || lastSetting(el.settings, 'frontal') === undefined) {
        out.push(
          fix(
            "Add an `id:` line (the element id in Kling's library)",
            [insertSettingLine(a, el, 'id')],
            provider === 'kling',
          ),
        );
      }
      return out;
    }
    case 'element-media-conflict': {
      const el = elementAt(a, line);
      if (!el) return [];
      return [
        fix('Remove `video` (keep the images)', removeSettings(a, el.settings, 'video')),
        fix(
          'Remove the images (keep the video)',
          removeSettings(a, el.settings, 'images', 'image'),
        ),
      ];
    }
    case 'unknown-setting': {
      const ctx = lineContext(storyboard, line);
      const setting = ctx.settings?.find((s) => s.line === line);
      const out: CodeAction[] = [];
      if (setting) {
        if (suggestion)
          out.push(
            fix(`Change to \`${suggestion}\``, [replace(setting.keySpan, suggestion)], true),
          );
        out.push(fix(`Remove the \`${setting.key}\` line`, [deleteLines(a, line, line)]));
        return out;
      }
      const look = storyboard.settingLookalikes.find((l) => l.line === line);
      if (look && suggestion) {
        // `Duration: 10` / `mode : pro`: rewrite everything up to the colon as the real key.
        const colon = a.text.indexOf(':', look.keySpan.offset + look.keySpan.length);
        const span = { offset: look.keySpan.offset, length: colon + 1 - look.keySpan.offset };
        out.push(fix(`Change to \`${suggestion}:\``, [replace(span, `${suggestion}:`)], true));
      }
      return out;
    }
    case 'unsupported-setting': {
      const setting = lineContext(storyboard, line).settings?.find((s) => s.line === line);
      return setting
        ? [
            fix(`Remove \`${setting.key}\` (not sent with this provider)`, [
              deleteLines(a, line, line),
            ]),
          ]
        : [];
    }
    case 'duplicate-setting': {
      const settings = lineContext(storyboard, line).settings;
      const later = settings?.find((s) => s.line === line);
      if (!settings || !later) return [];
      const earlier = settings.filter((s) => s.key === later.key && s.line < later.line).pop();
      if (!earlier) return [];
      return [
        fix(
          `Remove the earlier \`${later.key}\` line (line ${earlier.line + 1})`,
          [deleteLines(a, earlier.line, earlier.line)],
          true,
        ),
      ];
    }
    case 'undefined-scene': {
      // `continue-from: Arival` → the nearest scene title.
      if (!suggestion) return [];
      return [fix(`Change to “${suggestion}”`, [{ range: d.range, newText: suggestion }], true)];
    }
    case 'invalid-value': {
      if (!suggestion) return [];
      return [fix(`Change to \`${suggestion}\``, [{ range: d.range, newText: suggestion }], true)];
    }
    case 'unused-element': {
      const el = elementAt(a, line);
      if (!el) return [];
      return [
        fix(`Remove the unused element ${el.name}`, [deleteBlock(a, el.headerLine, el.endLine)]),
      ];
    }
    case 'shot-outside-scene': {
      const block = blockAtLine(storyboard, line);
      if (block?.kind !== 'shot') return [];
      const pos = { line: block.headerLine, character: 0 };
      return [
        fix(
          'Start a scene before this shot',
          [{ range: { start: pos, end: pos }, newText: '[scene]\n\n' }],
          true,
        ),
      ];
    }
    case 'header-text-ignored': {
      const header = blockAtLine(storyboard, line) ? undefined : headerText(storyboard);
      if (!header?.textLines.length) return [];
      const out = [
        fix(
          'Turn into comments',
          header.textLines.map((l) => {
            const pos = a.index.positionAt(afterIndent(a.text, l.lineSpan.offset));
            return { range: { start: pos, end: pos }, newText: '# ' };
          }),
          true,
        ),
      ];
      const firstText = header.textLines[0].line;
      const below = header.swallowed.filter((s) => s.line > firstText);
      if (below.length) {
        const eol = a.text.includes('\r\n') ? '\r\n' : '\n';
        const moved = below
          .map((s) => a.text.slice(s.lineSpan.offset, s.lineSpan.offset + s.lineSpan.length) + eol)
          .join('');
        // After a byte order mark, so the file still starts with it.
        const lineStart = a.index.offsetAt({ line: firstText, character: 0 });
        const at = a.index.positionAt(
          a.text.charCodeAt(lineStart) === 0xfeff ? lineStart + 1 : lineStart,
        );
        const edits: TextEdit[] = [{ range: { start: at, end: at }, newText: moved }];
        // Consecutive lines go in one edit: deleting the last line takes the break before it,
        // which would overlap a separate edit for the line above.
        for (let i = 0; i < below.length;) {
          let j = i;
          while (j + 1 < below.length && below[j + 1].line === below[j].line + 1) j++;
          edits.push(deleteLines(a, below[i].line, below[j].line));
          i = j + 1;
        }
        out.push(
          fix(
            below.length === 1
              ? `Move \`${below[0].key}\` above the text`
              : 'Move the settings above the text',
            edits,
          ),
        );
      }
      return out;
    }
    case 'unknown-block': {
      const block = blockAtLine(storyboard, line);
      if (!block || block.headerLine !== line) return [];
      const m = /^\[[ \t]*([^\s\]]+)/.exec(
        a.text.slice(block.headerSpan.offset, block.headerSpan.offset + block.headerSpan.length),
      );
      if (!m) return [];
      const wordOffset = block.headerSpan.offset + m[0].length - m[1].length;
      const lower = m[1].toLowerCase();
      const kind = suggestion ?? (BLOCK_KINDS.includes(lower) ? lower : undefined);
      if (!kind) return [];
      return [
        fix(
          `Change to \`[${kind}\``,
          [replace({ offset: wordOffset, length: m[1].length }, kind)],
          true,
        ),
      ];
    }
    default:
      return [];
  }
}

/** The offset of a line's first character after spaces, tabs and a byte order mark. */
function afterIndent(text: string, offset: number): number {
  let i = offset;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0xfeff) break;
    i++;
  }
  return i;
}

function elementAt(a: Analysis, line: number): ElementBlock | undefined {
  const block = blockAtLine(a.parsed.storyboard, line);
  return block?.kind === 'element' ? block : undefined;
}

/** Removes whole lines `[from, to]` with their line breaks. */
function deleteLines(a: Analysis, from: number, to: number): TextEdit {
  const { index } = a;
  if (to + 1 < index.lineCount) {
    return {
      range: { start: { line: from, character: 0 }, end: { line: to + 1, character: 0 } },
      newText: '',
    };
  }
  // The last line has no break after it: take the one before it instead.
  const start = from > 0 ? index.positionAt(index.lineEnd(from - 1)) : { line: 0, character: 0 };
  return { range: { start, end: index.positionAt(index.lineEnd(to)) }, newText: '' };
}

/** Removes a block and the blank lines after it. */
function deleteBlock(a: Analysis, headerLine: number, endLine: number): TextEdit {
  let end = endLine;
  while (end + 1 < a.index.lineCount && a.index.lineText(end + 1).trim() === '') end++;
  return deleteLines(a, headerLine, end);
}

/** Deletes every line of the given keys (as one edit per line; lines never overlap). */
function removeSettings(a: Analysis, settings: readonly Setting[], ...keys: string[]): TextEdit[] {
  return settings.filter((s) => keys.includes(s.key)).map((s) => deleteLines(a, s.line, s.line));
}

/** Inserts `key: ` on the line right after a block's header (inside its settings zone). */
function insertSettingLine(a: Analysis, block: SceneBlock | ElementBlock, key: string): TextEdit {
  const { index } = a;
  const eol = a.text.includes('\r\n') ? '\r\n' : '\n';
  if (block.headerLine + 1 < index.lineCount) {
    const pos = { line: block.headerLine + 1, character: 0 };
    return { range: { start: pos, end: pos }, newText: `${key}: ${eol}` };
  }
  const pos = index.positionAt(index.lineEnd(block.headerLine));
  return { range: { start: pos, end: pos }, newText: `${eol}${key}: ` };
}

/** An `[element NAME]` block with an `images:` placeholder, after the last element or before the first block. */
function defineElement(a: Analysis, name: string): TextEdit {
  const { storyboard } = a.parsed;
  const { index } = a;
  const eol = a.text.includes('\r\n') ? '\r\n' : '\n';
  const block = `[element ${name}]${eol}images: `;
  const last = storyboard.elements[storyboard.elements.length - 1];
  if (last) {
    const pos = index.positionAt(index.lineEnd(last.endLine));
    return { range: { start: pos, end: pos }, newText: `${eol}${eol}${block}` };
  }
  const first = storyboard.blocks[0];
  if (first) {
    const pos = { line: first.headerLine, character: 0 };
    return { range: { start: pos, end: pos }, newText: `${block}${eol}${eol}` };
  }
  const end = index.positionAt(a.text.length);
  return { range: { start: end, end }, newText: `${a.text.length ? eol + eol : ''}${block}` };
}

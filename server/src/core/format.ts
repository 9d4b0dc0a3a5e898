// Formatting that never changes what is sent: one blank line between blocks, `key: value`
// settings without indentation, no trailing blanks, one final newline. Body lines keep
// their content (leading blanks are sent), and blank lines inside a body stay, because
// they are part of the prompt; only blank lines no request can see are touched.

import type { TextEdit } from 'vscode-languageserver-types';
import type { Analysis } from './analysis';
import type { Setting } from './ast';

// The characters the parser treats as blank (parse.ts `isBlank`): trimming more or fewer
// would change what is sent.
const BLANK = new Set([0x20, 0x09, 0x0d, 0x0c, 0x0b, 0xfeff]);

function trimEndBlank(s: string): string {
  let end = s.length;
  while (end > 0 && BLANK.has(s.charCodeAt(end - 1))) end--;
  return s.slice(0, end);
}

function trimBlank(s: string): string {
  let start = 0;
  const t = trimEndBlank(s);
  while (start < t.length && BLANK.has(t.charCodeAt(start))) start++;
  return t.slice(start);
}

/** The formatted text of a document. */
export function formatText(a: Analysis): string {
  const { storyboard } = a.parsed;
  const { index, text } = a;
  const settingByLine = new Map<number, Setting>();
  const addSettings = (list: Setting[]) => {
    for (const s of list) settingByLine.set(s.line, s);
  };
  addSettings(storyboard.headerSettings);
  const headerLines = new Set<number>();
  for (const b of storyboard.blocks) {
    headerLines.add(b.headerLine);
    if (b.kind === 'element' || b.kind === 'scene') addSettings(b.settings);
  }
  const commentLines = new Set<number>();
  for (const c of storyboard.comments) commentLines.add(c.line);

  const firstBreak = text.indexOf('\n');
  const eol = firstBreak > 0 && text.charCodeAt(firstBreak - 1) === 13 ? '\r\n' : '\n';
  const out: string[] = [];
  /** Parallel to `out`: which output lines are comments. */
  const isComment: boolean[] = [];
  const push = (s: string, comment = false) => {
    out.push(s);
    isComment.push(comment);
  };
  const dropTrailingBlankLines = () => {
    while (out.length && out[out.length - 1] === '') {
      out.pop();
      isComment.pop();
    }
  };
  for (let line = 0; line < index.lineCount; line++) {
    const raw = index.lineText(line);
    if (headerLines.has(line)) {
      // Comments right above a header belong to it: the blank line goes above them.
      let attached = 0;
      while (attached < out.length && isComment[out.length - 1 - attached]) attached++;
      const comments = out.splice(out.length - attached, attached);
      isComment.splice(isComment.length - attached, attached);
      dropTrailingBlankLines();
      if (out.length) push('');
      for (const c of comments) push(c, true);
      push(trimBlank(raw));
      continue;
    }
    const setting = settingByLine.get(line);
    if (setting) {
      push(setting.value ? `${setting.key}: ${setting.value}` : `${setting.key}:`);
      continue;
    }
    if (commentLines.has(line)) {
      push(trimBlank(raw), true);
      continue;
    }
    const kept = trimEndBlank(raw);
    // A blank line matters only inside a body; at the top of the file nothing can see it.
    if (kept === '' && trimBlank(raw) === '' && out.length === 0) continue;
    push(trimBlank(kept) === '' ? '' : kept);
  }
  dropTrailingBlankLines();
  return out.length ? out.join(eol) + eol : '';
}

/** The edits that format the whole document (one edit covering what changed, or none). */
export function formatDocument(a: Analysis): TextEdit[] {
  const before = a.text;
  const after = formatText(a);
  if (before === after) return [];
  let start = 0;
  const max = Math.min(before.length, after.length);
  while (start < max && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  let endBefore = before.length;
  let endAfter = after.length;
  while (
    endBefore > start &&
    endAfter > start &&
    before.charCodeAt(endBefore - 1) === after.charCodeAt(endAfter - 1)
  ) {
    endBefore--;
    endAfter--;
  }
  // Never split a surrogate pair or a CRLF between the edit and the kept text.
  while (start > 0 && (isLowSurrogate(before.charCodeAt(start)) || isCrlfMiddle(before, start)))
    start--;
  const shift = endAfter - endBefore;
  while (
    endBefore < before.length &&
    (isLowSurrogate(before.charCodeAt(endBefore)) || isCrlfMiddle(before, endBefore))
  ) {
    endBefore++;
  }
  endAfter = endBefore + shift;
  return [
    {
      range: { start: a.index.positionAt(start), end: a.index.positionAt(endBefore) },
      newText: after.slice(start, endAfter),
    },
  ];
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

function isCrlfMiddle(s: string, i: number): boolean {
  return i > 0 && s.charCodeAt(i) === 10 && s.charCodeAt(i - 1) === 13;
}

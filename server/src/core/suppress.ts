// Line-level suppression, as linters do it: `# kling-ignore: CODE[, CODE]` on the line above
// silences those codes for the next line (README, "The format": Silencing a diagnostic).
// validateStoryboard applies it last, so the language service — and through it the language
// server, the CLI and the extension — all see the same result; a code that silences nothing on
// the next line gets an `unused-suppression` hint.

import type { CodeAction, Diagnostic, TextEdit } from 'vscode-languageserver-types';
import type { Analysis } from './analysis';
import type { Comment, Span, Storyboard } from './ast';
import {
  DIAGNOSTIC_SEVERITY,
  diagnostic,
  type DiagnosticCode,
  type StoryboardDiagnostic,
} from './diagnostics';
import { LineIndex } from './text';

/** The directive's name, as written after `#`. */
export const IGNORE_DIRECTIVE = 'kling-ignore';

const DIRECTIVE = /^(\s*#\s*kling-ignore\s*:)(.*)$/;

/** One `# kling-ignore:` comment: the line it silences and the codes it names. */
export interface Suppression {
  /** The comment's line (0-based); it silences line + 1. */
  line: number;
  /** The whole comment line. */
  span: Span;
  codes: { code: string; span: Span }[];
}

/** The `# kling-ignore:` comments of a document, in document order. */
export function findSuppressions(text: string, comments: readonly Comment[]): Suppression[] {
  const out: Suppression[] = [];
  for (const c of comments) {
    const m = DIRECTIVE.exec(text.slice(c.span.offset, c.span.offset + c.span.length));
    if (!m) continue;
    const codes: Suppression['codes'] = [];
    let at = c.span.offset + m[1]!.length;
    for (const part of m[2]!.split(',')) {
      const code = part.trim();
      if (code)
        codes.push({ code, span: { offset: at + part.indexOf(code), length: code.length } });
      at += part.length + 1;
    }
    out.push({ line: c.line, span: c.span, codes });
  }
  return out;
}

/**
 * Drops the diagnostics a suppression names on the line below it, and adds an
 * `unused-suppression` hint for each named code that silenced nothing (and for an empty list).
 */
export function applySuppressions(
  storyboard: Pick<Storyboard, 'text' | 'comments'>,
  list: StoryboardDiagnostic[],
): StoryboardDiagnostic[] {
  const suppressions = findSuppressions(storyboard.text, storyboard.comments);
  if (suppressions.length === 0) return list;
  const index = new LineIndex(storyboard.text);
  const byLine = new Map<number, Suppression>();
  for (const s of suppressions) byLine.set(s.line + 1, s);
  const used = new Set<string>();
  const kept: StoryboardDiagnostic[] = [];
  for (const d of list) {
    const line = index.positionAt(d.span.offset).line;
    const s = byLine.get(line);
    if (s && s.codes.some((c) => c.code === d.code)) used.add(`${s.line}\u0000${d.code}`);
    else kept.push(d);
  }
  for (const s of suppressions) {
    if (s.codes.length === 0) {
      kept.push(unused(s.span, `${IGNORE_DIRECTIVE} names no code; write the codes to silence`));
      continue;
    }
    for (const c of s.codes) {
      if (used.has(`${s.line}\u0000${c.code}`)) continue;
      const known = Object.hasOwn(DIAGNOSTIC_SEVERITY, c.code);
      kept.push(
        unused(
          c.span,
          known
            ? `${IGNORE_DIRECTIVE}: no ${c.code} on the next line, so this silences nothing`
            : `${IGNORE_DIRECTIVE}: "${c.code}" is not a diagnostic code, so this silences nothing`,
          { suppression: s.line },
        ),
      );
    }
  }
  return kept;
}

function unused(span: Span, message: string, data?: Record<string, unknown>): StoryboardDiagnostic {
  return diagnostic('unused-suppression', span, message, data);
}

/**
 * Quick fixes about suppression for one diagnostic: "Ignore CODE on this line" (a comment above
 * it, or the code added to the `# kling-ignore:` already there); for an `unused-suppression`,
 * removing the code (or the whole comment when it is the only one).
 */
export function suppressionFixes(a: Analysis, d: Diagnostic): CodeAction[] {
  const code = typeof d.code === 'string' ? d.code : undefined;
  if (!code || !Object.hasOwn(DIAGNOSTIC_SEVERITY, code)) return [];
  const edit = (title: string, edits: TextEdit[]): CodeAction => ({
    title,
    kind: 'quickfix',
    diagnostics: [d],
    edit: { changes: { [a.uri]: edits } },
  });
  const { text, parsed, index } = a;
  const line = d.range.start.line;
  if (line >= index.lineCount) return []; // stale: from a longer version of the text
  const suppressions = findSuppressions(text, parsed.storyboard.comments);
  if ((code as DiagnosticCode) === 'unused-suppression') {
    const s = suppressions.find((x) => x.line === line);
    if (!s) return [];
    const start = index.offsetAt(d.range.start);
    const named = s.codes.find((c) => c.span.offset === start);
    if (s.codes.length > 1 && named) {
      // Remove the code and the comma that joins it to a neighbour.
      const i = s.codes.indexOf(named);
      const from =
        i === 0 ? named.span.offset : s.codes[i - 1]!.span.offset + s.codes[i - 1]!.span.length;
      const to = i === 0 ? s.codes[1]!.span.offset : named.span.offset + named.span.length;
      return [
        edit(`Remove ${named.code} from ${IGNORE_DIRECTIVE}`, [
          { range: index.rangeOf({ offset: from, length: to - from }), newText: '' },
        ]),
      ];
    }
    const next =
      line + 1 < index.lineCount
        ? { line: line + 1, character: 0 }
        : index.positionAt(index.lineEnd(line));
    return [
      edit(`Remove the unused ${IGNORE_DIRECTIVE} comment`, [
        { range: { start: { line, character: 0 }, end: next }, newText: '' },
      ]),
    ];
  }
  const title = `Ignore ${code} on this line`;
  const above = suppressions.find((s) => s.line === line - 1);
  if (above) {
    if (above.codes.some((c) => c.code === code)) return [];
    const end = above.span.offset + above.span.length;
    const sep = above.codes.length ? ', ' : ' ';
    return [
      edit(title, [{ range: index.rangeOf({ offset: end, length: 0 }), newText: sep + code }]),
    ];
  }
  const indent = /^\s*/.exec(index.lineText(line))![0];
  // The new line ends the way the file's lines do (`\r\n` files stay `\r\n`).
  const eol =
    line + 1 < index.lineCount ? text.slice(index.lineEnd(line), index.lineStarts[line + 1]) : '';
  return [
    edit(title, [
      {
        range: { start: { line, character: 0 }, end: { line, character: 0 } },
        newText: `${indent}# ${IGNORE_DIRECTIVE}: ${code}${eol || '\n'}`,
      },
    ]),
  ];
}

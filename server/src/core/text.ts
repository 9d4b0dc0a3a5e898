// Offsets, lines and lengths. Editors count UTF-16 code units (JS string indices);
// the APIs count Unicode code points. Both live here so nobody mixes them up.

import type { Span } from './ast';

/** Line/character position in UTF-16 code units (the LSP default encoding). */
export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

/**
 * Maps offsets to positions and back for one text; built once per parse.
 *
 * `\r\n`, `\n` and a lone `\r` each end a line: LSP clients count all three, and the parser
 * (parse.ts) splits lines the same way, so its line numbers and these positions agree.
 */
export class LineIndex {
  private starts: number[] | undefined;

  /** `lineStarts`, when given, must be those of `text` (see `edited`). */
  constructor(
    readonly text: string,
    lineStarts?: number[],
  ) {
    this.starts = lineStarts;
  }

  /**
   * Offset of the first character of every line, found on first use: a document that is opened
   * and has nothing to report (no diagnostic, no request yet) needs no positions, and its first
   * diagnostics do not wait for a scan of its text.
   */
  get lineStarts(): number[] {
    return (this.starts ??= scanLineStarts(this.text, 0, this.text.length, [0]));
  }

  /**
   * The index of `text`, which is `old.text` with `[start, oldEnd)` replaced by what now lies in
   * `[start, oldEnd + delta)`: line starts before the edit are kept, those after it moved, and
   * only the edited lines scanned (a `\r\n` split or joined at either end included).
   */
  static edited(
    old: LineIndex,
    text: string,
    start: number,
    oldEnd: number,
    delta: number,
  ): LineIndex {
    // An index never used is not moved: the new one is found on first use as well.
    if (!old.starts) return new LineIndex(text);
    const before = old.starts;
    // Keep the starts whose line break ends before the character preceding the edit.
    let keep = 0;
    let hi = before.length;
    while (keep < hi) {
      const mid = (keep + hi) >> 1;
      if (before[mid] < start) keep = mid + 1;
      else hi = mid;
    }
    // Old starts from here on follow a line break that lies wholly after the edit.
    let from = keep;
    while (from < before.length && before[from] < oldEnd + 2) from++;
    const scanEnd = Math.min(text.length, oldEnd + 2 + delta);
    const starts = keep ? before.slice(0, keep) : [0];
    const kept = starts.length;
    scanLineStarts(text, starts[kept - 1], scanEnd, starts);
    // A break the scan found may also be one of the old ones after the edit: keep one copy.
    const moved = from < before.length ? before[from] + delta : Infinity;
    while (starts.length > kept && starts[starts.length - 1] >= moved) starts.pop();
    for (let i = from; i < before.length; i++) starts.push(before[i] + delta);
    return new LineIndex(text, starts);
  }

  get lineCount(): number {
    return this.lineStarts.length;
  }

  /** The position of an offset (clamped to the text). */
  positionAt(offset: number): Position {
    const o = Math.max(0, Math.min(offset, this.text.length));
    const starts = this.lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: o - starts[lo] };
  }

  /** The offset of a position (clamped to its line, never past the line break). */
  offsetAt(pos: Position): number {
    if (pos.line < 0) return 0;
    const starts = this.lineStarts;
    if (pos.line >= starts.length) return this.text.length;
    const start = starts[pos.line];
    const end = this.lineEnd(pos.line);
    return Math.max(start, Math.min(start + Math.max(0, pos.character), end));
  }

  /** Offset just past the line's content (before its `\r\n`, `\n` or `\r`). */
  lineEnd(line: number): number {
    const starts = this.lineStarts;
    const start = starts[line];
    if (line + 1 >= starts.length) return this.text.length;
    const next = starts[line + 1];
    return next - 2 >= start &&
      this.text.charCodeAt(next - 2) === 13 &&
      this.text.charCodeAt(next - 1) === 10
      ? next - 2
      : next - 1;
  }

  /** The line's text without its line break. */
  lineText(line: number): string {
    return this.text.slice(this.lineStarts[line], this.lineEnd(line));
  }

  /** The range a span covers. */
  rangeOf(span: Span): Range {
    return { start: this.positionAt(span.offset), end: this.positionAt(span.offset + span.length) };
  }
}

/** Appends the starts of the lines that begin in `(from, to]` after a break that starts before `to`. */
function scanLineStarts(text: string, from: number, to: number, starts: number[]): number[] {
  // Next `\n` and `\r`: each searched again only once passed, so the scan stays linear.
  let lf = text.indexOf('\n', from);
  let cr = text.indexOf('\r', from);
  if (lf >= to) lf = -1;
  if (cr >= to) cr = -1;
  while (lf !== -1 || cr !== -1) {
    const next =
      cr !== -1 && (lf === -1 || cr < lf)
        ? text.charCodeAt(cr + 1) === 10
          ? cr + 2
          : cr + 1
        : lf + 1;
    starts.push(next);
    if (lf !== -1 && lf < next) {
      lf = text.indexOf('\n', next);
      if (lf >= to) lf = -1;
    }
    if (cr !== -1 && cr < next) {
      cr = text.indexOf('\r', next);
      if (cr >= to) cr = -1;
    }
  }
  return starts;
}

/** Number of Unicode code points (what API limits count), not UTF-16 units. */
export function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** True when `offset` lies inside the span or at its end (a cursor right after a word is "in" it). */
export function spanContains(span: Span, offset: number): boolean {
  return offset >= span.offset && offset <= span.offset + span.length;
}

/** The span from the start of `a` to the end of `b`. */
export function spanJoin(a: Span, b: Span): Span {
  return { offset: a.offset, length: b.offset + b.length - a.offset };
}

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

/** Maps offsets to positions and back for one text; built once per parse. */
export class LineIndex {
  /** Offset of the first character of every line; a `\r\n` or `\n` ends a line. */
  readonly lineStarts: number[];

  constructor(readonly text: string) {
    const starts = [0];
    let i = text.indexOf('\n');
    while (i !== -1) {
      starts.push(i + 1);
      i = text.indexOf('\n', i + 1);
    }
    this.lineStarts = starts;
  }

  get lineCount(): number {
    return this.lineStarts.length;
  }

  /** The position of an offset (clamped to the text). */
  positionAt(offset: number): Position {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: o - this.lineStarts[lo] };
  }

  /** The offset of a position (clamped to its line, never past the line break). */
  offsetAt(pos: Position): number {
    if (pos.line < 0) return 0;
    if (pos.line >= this.lineStarts.length) return this.text.length;
    const start = this.lineStarts[pos.line];
    const end = this.lineEnd(pos.line);
    return Math.max(start, Math.min(start + Math.max(0, pos.character), end));
  }

  /** Offset just past the line's content (before `\r\n` / `\n`). */
  lineEnd(line: number): number {
    const next = line + 1 < this.lineStarts.length ? this.lineStarts[line + 1] - 1 : this.text.length;
    return next > this.lineStarts[line] && this.text.charCodeAt(next - 1) === 13 ? next - 1 : next;
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

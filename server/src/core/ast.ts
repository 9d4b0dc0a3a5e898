// The syntax tree of a `.kling` storyboard. Every node carries UTF-16 offsets into the
// document text (what editors count); conversion to line/character happens only at the
// LSP edge (see text.ts). The tree may be incomplete: the parser never throws.

/** A half-open range `[offset, offset + length)` of UTF-16 code units in the document. */
export interface Span {
  offset: number;
  length: number;
}

export type Provider = 'kie' | 'kling';
export const PROVIDERS: readonly Provider[] = ['kie', 'kling'];

// Memory: the nodes keep their offsets as numbers and work a span out when one is asked for,
// instead of holding span objects (a setting used to hold three, a reference two; blocks four).
// The tree of the 10 MB benchmark storyboard went from 60.5 MB to 28.8 MB of heap (with Body's
// single line and reference below), and with it the garbage collector's copying of the tree that
// dominates a large parse: parse + validate went from 2.14–2.32× `JSON.parse` of the request JSON
// to 1.61–1.79× (README "Benchmarks"). A span read
// from a node is a new object each time: move a node through its fields (incremental.ts), never
// through a span it returned.

/** A `key: value` line inside a settings zone. */
export class Setting {
  constructor(
    readonly key: string,
    /** The value with surrounding blanks trimmed (may be empty). */
    readonly value: string,
    public line: number,
    /** Where the line starts (its indentation included). */
    public lineOffset: number,
    /** The line's length without its line break. */
    readonly lineLength: number,
    public keyOffset: number,
    /** Where the trimmed value starts; right after the colon when the value is empty. */
    public valueOffset: number,
  ) {}

  get keySpan(): Span {
    return { offset: this.keyOffset, length: this.key.length };
  }

  /** Where the trimmed value sits; zero-length right after the colon when the value is empty. */
  get valueSpan(): Span {
    return { offset: this.valueOffset, length: this.value.length };
  }

  /** The whole line without its line break. */
  get lineSpan(): Span {
    return { offset: this.lineOffset, length: this.lineLength };
  }

  /** Moves the setting by `dOffset` code units and `dLine` lines (incremental reparse). */
  shift(dOffset: number, dLine: number): void {
    this.lineOffset += dOffset;
    this.keyOffset += dOffset;
    this.valueOffset += dOffset;
    this.line += dLine;
  }
}

/** `@NAME` in body text. */
export class ElementRef {
  constructor(
    readonly name: string,
    /** Where the `@` is. */
    public offset: number,
  ) {}

  /** Covers `@NAME`. */
  get span(): Span {
    return { offset: this.offset, length: this.name.length + 1 };
  }

  /** Covers `NAME` only (rename edits this). */
  get nameSpan(): Span {
    return { offset: this.offset + 1, length: this.name.length };
  }
}

/** One line of body text as written, with its sent form. */
export class BodyLine {
  constructor(
    public line: number,
    /** Where the line starts. */
    public offset: number,
    /** The line's length without its line break. */
    readonly length: number,
    /** Sent form: escapes resolved, trailing blanks removed. */
    readonly text: string,
  ) {}

  /** The line without its line break. */
  get lineSpan(): Span {
    return { offset: this.offset, length: this.length };
  }
}

/** The body text of a block: a prompt (scene, shot) or a description (element). */
export class Body {
  /**
   * The lines, or the only line itself (most bodies have one), and likewise the references:
   * a one-element array costs 56 bytes, and a large storyboard has a body per scene or shot.
   */
  private readonly lineList: BodyLine | readonly BodyLine[];
  private readonly refList: ElementRef | readonly ElementRef[];

  constructor(
    /** Exactly what would be sent: lines joined by `\n`, comments left out, escapes resolved, outer blank lines dropped. */
    readonly text: string,
    /** The lines, or the only one. */
    lines: BodyLine | readonly BodyLine[],
    /** The references, or the only one. */
    refs: ElementRef | readonly ElementRef[],
  ) {
    this.lineList = !(lines instanceof BodyLine) && lines.length === 1 ? lines[0] : lines;
    this.refList = !(refs instanceof ElementRef) && refs.length === 1 ? refs[0] : refs;
  }

  /** From the first non-blank line to the last (blank lines between them included); a new array when one line. */
  get lines(): readonly BodyLine[] {
    const l = this.lineList;
    return l instanceof BodyLine ? [l] : l;
  }

  /** The `@NAME` references of the sent text, in order; a new array when one. */
  get refs(): readonly ElementRef[] {
    const r = this.refList;
    return r instanceof ElementRef ? [r] : r;
  }

  // Without an array per call, for the checks that run over every body (validate/).

  get lineCount(): number {
    const l = this.lineList;
    return l instanceof BodyLine ? 1 : l.length;
  }

  lineAt(i: number): BodyLine {
    const l = this.lineList;
    return l instanceof BodyLine ? l : l[i];
  }

  get refCount(): number {
    const r = this.refList;
    return r instanceof ElementRef ? 1 : r.length;
  }

  refAt(i: number): ElementRef {
    const r = this.refList;
    return r instanceof ElementRef ? r : r[i];
  }

  /** Moves the lines and references by `dOffset` and `dLine` (incremental reparse). */
  shift(dOffset: number, dLine: number): void {
    const l = this.lineList;
    if (l instanceof BodyLine) {
      l.offset += dOffset;
      l.line += dLine;
    } else {
      for (const line of l) {
        line.offset += dOffset;
        line.line += dLine;
      }
    }
    const r = this.refList;
    if (r instanceof ElementRef) r.offset += dOffset;
    else for (const ref of r) ref.offset += dOffset;
  }

  /** From the first to the last non-blank body line; undefined when there is no body text. */
  get span(): Span | undefined {
    const l = this.lineList;
    if (l instanceof BodyLine) return { offset: l.offset, length: l.length };
    if (!l.length) return undefined;
    const first = l[0];
    const last = l[l.length - 1];
    return { offset: first.offset, length: last.offset + last.length - first.offset };
  }
}

abstract class BlockBase {
  constructor(
    /** The line of the header. */
    public headerLine: number,
    /** The last line that belongs to the block. */
    public endLine: number,
    /** Where the block (its header line) starts. */
    public offset: number,
    /** From the header line's start to the end of the block's last line. */
    public length: number,
    /** Where the header itself starts (after its indentation). */
    public headerOffset: number,
    /** The header's length, trailing blanks left out. */
    readonly headerLength: number,
  ) {}

  /** The header line (without its line break). */
  get headerSpan(): Span {
    return { offset: this.headerOffset, length: this.headerLength };
  }

  /** From the header to the end of the block's last line (the line before the next header). */
  get span(): Span {
    return { offset: this.offset, length: this.length };
  }

  /** Moves the block's own positions (not its settings or body) by `dOffset` and `dLine`. */
  shift(dOffset: number, dLine: number): void {
    this.offset += dOffset;
    this.headerOffset += dOffset;
    this.headerLine += dLine;
    this.endLine += dLine;
  }
}

export class ElementBlock extends BlockBase {
  readonly kind = 'element';
  /** Set when the block ends (parse.ts). */
  settings: Setting[] = NO_SETTINGS;
  body: Body = NO_BODY;

  constructor(
    headerLine: number,
    offset: number,
    length: number,
    headerOffset: number,
    headerLength: number,
    readonly name: string,
    public nameOffset: number,
  ) {
    super(headerLine, headerLine, offset, length, headerOffset, headerLength);
  }

  get nameSpan(): Span {
    return { offset: this.nameOffset, length: this.name.length };
  }

  override shift(dOffset: number, dLine: number): void {
    super.shift(dOffset, dLine);
    this.nameOffset += dOffset;
  }
}

export class ShotBlock extends BlockBase {
  readonly kind = 'shot';
  body: Body = NO_BODY;
  /** Index into `Storyboard.scenes`, or undefined for a shot before any scene. */
  sceneIndex: number | undefined = undefined;

  constructor(
    headerLine: number,
    offset: number,
    length: number,
    headerOffset: number,
    headerLength: number,
    /** Whole seconds as written. */
    readonly duration: number,
    public durationOffset: number,
    /** The duration as written (`4s`, `4`). */
    readonly durationLength: number,
    readonly label: string | undefined,
    public labelOffset: number,
  ) {
    super(headerLine, headerLine, offset, length, headerOffset, headerLength);
  }

  get durationSpan(): Span {
    return { offset: this.durationOffset, length: this.durationLength };
  }

  get labelSpan(): Span | undefined {
    return this.label ? { offset: this.labelOffset, length: this.label.length } : undefined;
  }

  override shift(dOffset: number, dLine: number): void {
    super.shift(dOffset, dLine);
    this.durationOffset += dOffset;
    this.labelOffset += dOffset;
  }
}

export class SceneBlock extends BlockBase {
  readonly kind = 'scene';
  /** Set when the block ends (parse.ts). */
  settings: Setting[] = NO_SETTINGS;
  body: Body = NO_BODY;
  /** Set when the next scene starts or the text ends (parse.ts). */
  shots: ShotBlock[] = NO_SHOTS;

  constructor(
    headerLine: number,
    offset: number,
    length: number,
    headerOffset: number,
    headerLength: number,
    /** 0-based position among the scenes. */
    public index: number,
    /** The title as written (may be empty). */
    readonly title: string,
    /** The title to show: the written one, else `Scene N` (1-based). */
    public displayTitle: string,
    /** Where the title starts; right after `scene` when there is none. */
    public titleOffset: number,
  ) {
    super(headerLine, headerLine, offset, length, headerOffset, headerLength);
  }

  get titleSpan(): Span {
    return { offset: this.titleOffset, length: this.title.length };
  }

  /** From the scene header to the end of its last shot. */
  get fullSpan(): Span {
    const last = this.shots.length ? this.shots[this.shots.length - 1] : undefined;
    return last
      ? { offset: this.offset, length: last.offset + last.length - this.offset }
      : this.span;
  }

  /** The last line of the scene's last shot, or of the scene when it has none. */
  get fullEndLine(): number {
    return this.shots.length ? this.shots[this.shots.length - 1].endLine : this.endLine;
  }

  override shift(dOffset: number, dLine: number): void {
    super.shift(dOffset, dLine);
    this.titleOffset += dOffset;
  }
}

/** A malformed or unknown header: its lines are swallowed and get no further diagnostics. */
export class InvalidBlock extends BlockBase {
  readonly kind = 'invalid';

  constructor(
    headerLine: number,
    offset: number,
    length: number,
    headerOffset: number,
    headerLength: number,
    /** The word after `[`, if any (e.g. `Scene`, `shots`). */
    readonly word: string,
  ) {
    super(headerLine, headerLine, offset, length, headerOffset, headerLength);
  }
}

export type Block = ElementBlock | SceneBlock | ShotBlock | InvalidBlock;

/** A comment line (`#` as first non-blank character). */
export class Comment {
  constructor(
    public line: number,
    /** Where the `#` is. */
    public offset: number,
    /** To the end of the line. */
    readonly length: number,
  ) {}

  get span(): Span {
    return { offset: this.offset, length: this.length };
  }
}

/** The settings of every block that has none (frozen: nothing may add to it). */
export const NO_SETTINGS: Setting[] = Object.freeze([]) as unknown as Setting[];
/** The shots of every scene that has none (frozen: nothing may add to it). */
export const NO_SHOTS: ShotBlock[] = Object.freeze([]) as unknown as ShotBlock[];
/** The body of every block without body text (frozen: nothing may add to it). */
export const NO_BODY: Body = Object.freeze(
  new Body('', Object.freeze([]), Object.freeze([])),
) as Body;

export interface Storyboard {
  text: string;
  /** Settings of the header zone (before the first block). */
  headerSettings: Setting[];
  /** Text at the top of the file after the header settings zone and before the first block (never sent). */
  preamble: Body;
  /** Every block in document order (shots included). */
  blocks: Block[];
  elements: ElementBlock[];
  scenes: SceneBlock[];
  /** Shots that appear before any scene. */
  orphanShots: ShotBlock[];
  comments: Comment[];
  /**
   * Lines that end a settings zone but look like a mistyped setting (`Duration: 10`, `mode : pro`):
   * they are body text, and the validator may warn about them.
   */
  settingLookalikes: {
    line: number;
    key: string;
    keySpan: Span;
    zone: 'header' | 'scene' | 'element';
  }[];
  lineCount: number;
}

export type ParseErrorCode = 'syntax' | 'unknown-block' | 'shot-outside-scene';

export interface ParseError {
  code: ParseErrorCode;
  message: string;
  span: Span;
}

export interface ParseResult {
  storyboard: Storyboard;
  errors: ParseError[];
}

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

/** A `key: value` line inside a settings zone. */
export interface Setting {
  key: string;
  /** The value with surrounding blanks trimmed (may be empty). */
  value: string;
  keySpan: Span;
  /** Where the trimmed value sits; zero-length right after the colon when the value is empty. */
  valueSpan: Span;
  /** The whole line without its line break. */
  lineSpan: Span;
  line: number;
}

/** `@NAME` in body text. */
export interface ElementRef {
  name: string;
  /** Covers `@NAME`. */
  span: Span;
  /** Covers `NAME` only (rename edits this). */
  nameSpan: Span;
}

/** One line of body text as written, with its sent form. */
export interface BodyLine {
  line: number;
  /** The line without its line break. */
  lineSpan: Span;
  /** Sent form: escapes resolved, trailing blanks removed. */
  text: string;
}

/** The body text of a block: a prompt (scene, shot) or a description (element). */
export interface Body {
  /** Exactly what would be sent: lines joined by `\n`, comments left out, escapes resolved, outer blank lines dropped. */
  text: string;
  /** From the first to the last non-blank body line; undefined when there is no body text. */
  span?: Span;
  lines: BodyLine[];
  refs: ElementRef[];
}

interface BlockBase {
  /** The header line (without its line break). */
  headerSpan: Span;
  /** From the header to the end of the block's last line (the line before the next header). */
  span: Span;
  headerLine: number;
  /** The last line that belongs to the block. */
  endLine: number;
}

export interface ElementBlock extends BlockBase {
  kind: 'element';
  name: string;
  nameSpan: Span;
  settings: Setting[];
  body: Body;
}

export interface ShotBlock extends BlockBase {
  kind: 'shot';
  /** Whole seconds as written. */
  duration: number;
  durationSpan: Span;
  label?: string;
  labelSpan?: Span;
  body: Body;
  /** Index into `Storyboard.scenes`, or undefined for a shot before any scene. */
  sceneIndex?: number;
}

export interface SceneBlock extends BlockBase {
  kind: 'scene';
  /** 0-based position among the scenes. */
  index: number;
  /** The title as written (may be empty). */
  title: string;
  /** The title to show: the written one, else `Scene N` (1-based). */
  displayTitle: string;
  titleSpan: Span;
  settings: Setting[];
  body: Body;
  shots: ShotBlock[];
  /** From the scene header to the end of its last shot. */
  fullSpan: Span;
  fullEndLine: number;
}

/** A malformed or unknown header: its lines are swallowed and get no further diagnostics. */
export interface InvalidBlock extends BlockBase {
  kind: 'invalid';
  /** The word after `[`, if any (e.g. `Scene`, `shots`). */
  word: string;
}

export type Block = ElementBlock | SceneBlock | ShotBlock | InvalidBlock;

/** A comment line (`#` as first non-blank character). */
export interface Comment {
  span: Span;
  line: number;
}

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

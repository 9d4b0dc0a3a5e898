// Incremental reparse after an edit: only the scenes the edit touches are parsed again.
//
// Why this is sound: the parser carries no state across a `[scene]` header except the scene
// count (for `Scene N` titles and shot ownership). So the text from the last scene header at
// or before the edit up to the first scene header after it parses the same on its own as
// inside the whole document; blocks before that region are unchanged, blocks after it only
// move (offsets by the length change, lines by the line-count change). Above the first scene
// the region starts at the block the edit is in; in the header zone (above the first block)
// the region is the header zone alone. When the edit is not inside such a region (a header
// line that stops or starts being one), it returns undefined and the caller parses the
// whole text.
//
// The blocks after the region are shifted IN PLACE: the previous parse must not be used
// afterwards (the service drops it from its cache before calling this).

import type {
  Block,
  Body,
  Comment,
  ElementBlock,
  ParseError,
  ParseResult,
  SceneBlock,
  Setting,
  Storyboard,
} from './ast';
import { blockAtLine } from './analysis';
import { parseStoryboard } from './parse';

/** Below this size a full parse is as fast as working out what to reuse. */
const MIN_INCREMENTAL_LENGTH = 32 * 1024;

/** Moves nodes and lines by a fixed amount (nodes keep their offsets as numbers, ast.ts). */
class Shifter {
  constructor(
    private readonly dOffset: number,
    private readonly dLine: number,
  ) {}

  settings(list: readonly Setting[]): void {
    for (const st of list) st.shift(this.dOffset, this.dLine);
  }

  body(b: Body): void {
    b.shift(this.dOffset, this.dLine);
  }

  block(b: Block): void {
    b.shift(this.dOffset, this.dLine);
    if (b.kind === 'element' || b.kind === 'scene') {
      this.settings(b.settings);
      this.body(b.body);
    } else if (b.kind === 'shot') {
      this.body(b.body);
    }
  }

  /** Moves blocks, comments, look-alikes and the spans of parse errors. */
  all(
    blocks: readonly Block[],
    comments: readonly Comment[],
    lookalikes: Storyboard['settingLookalikes'],
    errors: readonly ParseError[],
  ): void {
    for (const b of blocks) this.block(b);
    for (const c of comments) {
      c.offset += this.dOffset;
      c.line += this.dLine;
    }
    for (const l of lookalikes) {
      l.keySpan.offset += this.dOffset;
      l.line += this.dLine;
    }
    for (const e of errors) e.span.offset += this.dOffset;
  }
}

/** The scene whose header is the last one at or before `line` (undefined above the first scene). */
function sceneAtOrBefore(scenes: readonly SceneBlock[], line: number): number {
  let lo = 0;
  let hi = scenes.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (scenes[mid].headerLine <= line) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * The parse of `newText`, reusing `old` (the parse of `oldText`) outside the scenes the edit
 * touches; undefined when only a full parse can tell. `oldLineStarts` are the line starts of `oldText`;
 * texts shorter than `minLength` are left to a full parse (tests lower it).
 */
export function reparse(
  old: ParseResult,
  oldText: string,
  oldLineStarts: readonly number[],
  newText: string,
  minLength = MIN_INCREMENTAL_LENGTH,
  change: TextChange = textChange(oldText, newText),
): ParseResult | undefined {
  if (newText.length < minLength || oldText.length < minLength) return undefined;
  const sb = old.storyboard;
  if (sb.text !== oldText) return undefined;

  const prefix = change.start;
  if (prefix === oldText.length && prefix === newText.length) return old;
  const oldChangeEnd = change.oldEnd;
  const delta = newText.length - oldText.length;

  const changeLine = lineOf(oldLineStarts, prefix);
  // The region starts at the last scene header at or before the change; above the first scene,
  // at the block the change is in (no scene before it, so shots there are orphans either way).
  const first = sceneAtOrBefore(sb.scenes, changeLine);
  const start: Block | undefined = first >= 0 ? sb.scenes[first] : blockAtLine(sb, changeLine);
  if (!start) return reparseHeaderZone(old, oldLineStarts, newText, oldChangeEnd, delta);
  const scenesBefore = first >= 0 ? first : 0;
  // Line starts come from LineIndex, which breaks lines where the parser does (`\r\n`, `\n`, `\r`).
  const regionStart = oldLineStarts[start.headerLine];

  // The first scene header whose line (and the line break before it) lies after the change.
  let endScene = -1;
  for (let i = first >= 0 ? first + 1 : 0; i < sb.scenes.length; i++) {
    if (
      sb.scenes[i].headerLine > start.headerLine &&
      oldLineStarts[sb.scenes[i].headerLine] - 1 >= oldChangeEnd
    ) {
      endScene = i;
      break;
    }
  }
  const end = endScene >= 0 ? sb.scenes[endScene] : undefined;
  const oldRegionEnd = end ? oldLineStarts[end.headerLine] : oldText.length;
  const newRegionEnd = oldRegionEnd + delta;
  if (newRegionEnd < regionStart) return undefined;

  const chunk = parseStoryboard(newText.slice(regionStart, newRegionEnd));
  const cs = chunk.storyboard;
  // The region must still start with a header (a scene header when a scene starts it), or its
  // first lines belong to the block above.
  if (!cs.blocks.length || cs.blocks[0].headerLine !== 0) return undefined;
  if (first >= 0 && cs.blocks[0].kind !== 'scene') return undefined;

  const oldRegionLines = (end ? end.headerLine : sb.lineCount) - start.headerLine;
  const newRegionLines = end ? cs.lineCount - 1 : cs.lineCount;
  const lineDelta = newRegionLines - oldRegionLines;

  new Shifter(regionStart, start.headerLine).all(
    cs.blocks,
    cs.comments,
    cs.settingLookalikes,
    chunk.errors,
  );

  const inPrefix = (line: number) => line < start.headerLine;
  const inSuffix = (line: number) => end !== undefined && line >= end.headerLine;
  const suffixBlocks = end ? sb.blocks.filter((b) => b.headerLine >= end.headerLine) : [];
  const suffixComments = sb.comments.filter((c) => inSuffix(c.line));
  const suffixLookalikes = sb.settingLookalikes.filter((l) => inSuffix(l.line));
  const suffixErrors = end ? old.errors.filter((e) => e.span.offset >= oldRegionEnd) : [];
  if (delta !== 0 || lineDelta !== 0) {
    new Shifter(delta, lineDelta).all(suffixBlocks, suffixComments, suffixLookalikes, suffixErrors);
  }

  const blocks = [
    ...sb.blocks.filter((b) => inPrefix(b.headerLine)),
    ...cs.blocks,
    ...suffixBlocks,
  ];
  const scenes = [
    ...sb.scenes.slice(0, scenesBefore),
    ...cs.scenes,
    ...(end ? sb.scenes.slice(endScene) : []),
  ];
  for (let i = scenesBefore; i < scenes.length; i++) {
    const scene = scenes[i];
    scene.index = i;
    scene.displayTitle = scene.title || `Scene ${i + 1}`;
    for (const shot of scene.shots) shot.sceneIndex = i;
  }
  const storyboard: Storyboard = {
    text: newText,
    headerSettings: sb.headerSettings,
    preamble: sb.preamble,
    blocks,
    elements: blocks.filter((b): b is ElementBlock => b.kind === 'element'),
    scenes,
    orphanShots: [...sb.orphanShots.filter((o) => inPrefix(o.headerLine)), ...cs.orphanShots],
    comments: [...sb.comments.filter((c) => inPrefix(c.line)), ...cs.comments, ...suffixComments],
    settingLookalikes: [
      ...sb.settingLookalikes.filter((l) => inPrefix(l.line)),
      ...cs.settingLookalikes,
      ...suffixLookalikes,
    ],
    lineCount: sb.lineCount + lineDelta,
  };
  const errors = [
    ...old.errors.filter((e) => e.span.offset < regionStart),
    ...chunk.errors,
    ...suffixErrors,
  ];
  return { storyboard, errors };
}

/**
 * An edit in the header zone (above the first block): only the header zone is parsed again.
 * The parser carries nothing from the header zone into the blocks, so they parse the same and
 * only move. Undefined (parse everything) when the edit reaches the first block's header line
 * or makes a new block header: then the blocks themselves change.
 */
function reparseHeaderZone(
  old: ParseResult,
  oldLineStarts: readonly number[],
  newText: string,
  oldChangeEnd: number,
  delta: number,
): ParseResult | undefined {
  const sb = old.storyboard;
  const firstBlock = sb.blocks[0];
  // No block at all: the whole text is the header zone, so a full parse is this parse.
  if (!firstBlock) return undefined;
  const oldZoneEnd = oldLineStarts[firstBlock.headerLine];
  // The line break before the first header must be untouched (it ends the zone).
  if (oldZoneEnd - 1 < oldChangeEnd) return undefined;
  const chunk = parseStoryboard(newText.slice(0, oldZoneEnd + delta));
  const cs = chunk.storyboard;
  if (cs.blocks.length || chunk.errors.length) return undefined;

  // The chunk ends with the line break before the first header: its last line is that header's.
  const lineDelta = cs.lineCount - 1 - firstBlock.headerLine;
  const comments = sb.comments.filter((c) => c.line >= firstBlock.headerLine);
  const lookalikes = sb.settingLookalikes.filter((l) => l.line >= firstBlock.headerLine);
  if (delta !== 0 || lineDelta !== 0) {
    new Shifter(delta, lineDelta).all(sb.blocks, comments, lookalikes, old.errors);
  }
  const storyboard: Storyboard = {
    text: newText,
    headerSettings: cs.headerSettings,
    preamble: cs.preamble,
    blocks: sb.blocks,
    elements: sb.elements,
    scenes: sb.scenes,
    orphanShots: sb.orphanShots,
    comments: [...cs.comments, ...comments],
    settingLookalikes: [...cs.settingLookalikes, ...lookalikes],
    lineCount: sb.lineCount + lineDelta,
  };
  return { storyboard, errors: old.errors };
}

/** What an edit changed: `[start, oldEnd)` of the old text is `[start, newEnd)` of the new. */
export interface TextChange {
  start: number;
  oldEnd: number;
  newEnd: number;
}

/** The smallest change that turns `oldText` into `newText` (common prefix and suffix left out). */
export function textChange(oldText: string, newText: string): TextChange {
  const prefix = commonPrefix(oldText, newText);
  const suffix = commonSuffix(oldText, newText, Math.min(oldText.length, newText.length) - prefix);
  return { start: prefix, oldEnd: oldText.length - suffix, newEnd: newText.length - suffix };
}

/**
 * Chunk sizes for comparing texts, largest first: string equality of slices is far faster than
 * a character loop, and big chunks first make a 1 MB document about thirty comparisons.
 */
const CHUNKS = [65536, 2048, 64];

function commonPrefix(a: string, b: string): number {
  const min = Math.min(a.length, b.length);
  let i = 0;
  for (const chunk of CHUNKS) {
    while (i + chunk <= min && a.slice(i, i + chunk) === b.slice(i, i + chunk)) i += chunk;
  }
  while (i < min && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

function commonSuffix(a: string, b: string, max: number): number {
  let n = 0;
  for (const chunk of CHUNKS) {
    while (
      n + chunk <= max &&
      a.slice(a.length - n - chunk, a.length - n) === b.slice(b.length - n - chunk, b.length - n)
    ) {
      n += chunk;
    }
  }
  while (n < max && a.charCodeAt(a.length - 1 - n) === b.charCodeAt(b.length - 1 - n)) n++;
  return n;
}

function lineOf(lineStarts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lineStarts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

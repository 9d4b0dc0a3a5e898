// The error-tolerant parser for `.kling` storyboards (server/docs/language.md §2).
// It never throws: any text gives a tree plus a list of errors. One line at a time,
// no backtracking, so a 10 MB document parses in linear time.
//
// Line breaks: `\r\n`, `\n` and a lone `\r` each end one line. That is what LSP clients count,
// and LineIndex (text.ts) uses the same rule, so the line numbers recorded here are the ones
// editors show. U+FEFF (a byte order mark, also an invisible "zero width no-break space")
// counts as a blank at the start of a line, so a file that starts with a BOM still has its
// `provider: kie` read as a setting; offsets count it, as editors do.
//
// Speed: this runs over whole documents on open, and over the edited part (a scene, the header
// zone) on every edit, so the loop scans character codes instead of running regexes,
// slices each line at most once and searches for each line break and `@` once (linear time).
// Memory: the tree is what stays in the server, so its arrays are copied out at their exact
// size and short strings are shared (see OpenBlock and internAt, with the figures).

import type { Block, ParseError, ParseResult, Storyboard } from './ast';
import {
  Body,
  BodyLine,
  Comment,
  ElementBlock,
  ElementRef,
  InvalidBlock,
  NO_BODY,
  SceneBlock,
  Setting,
  ShotBlock,
} from './ast';
import { SETTING_KEYS } from './settings';

/** Element names: `[A-Za-z_][A-Za-z0-9_]*`. */
export const ELEMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Bounded (at most 41 key characters), and run at most once per settings zone.
const LOOKALIKE_LINE = /^[ \t\ufeff]*([A-Za-z][A-Za-z0-9_ -]{0,40}?)[ \t]*:(?=[ \t]|$)/;

type Zone = 'header' | 'scene' | 'element' | 'none';

/**
 * The block being read. One object per parse, reset at each header; its lists are scratch
 * space (only the first `…Count` entries count) copied out at their exact size when the block
 * ends, so the tree keeps no arrays grown with spare room and nothing is ever truncated.
 * Measured on the bundle (heap after parsing the 10 MB benchmark storyboard, 31,136 scenes):
 * 63.7 MB this way, 82.4 MB with a fresh array per block grown by push (V8 gives a pushed-to
 * empty array room for 17 elements; most blocks have one to three settings and lines).
 */
interface OpenBlock {
  block: Block | undefined; // undefined = the top of the file
  zone: Zone;
  settings: Setting[];
  settingCount: number;
  /** Body lines from the first non-blank one on; blank lines are added once text follows them. */
  bodyLines: BodyLine[];
  bodyLineCount: number;
  refs: ElementRef[];
  refCount: number;
  /**
   * Blank lines after the last body line, waiting for more text: four numbers each (line, start,
   * end, 1 when it ends with a plain `\n` — see `plain`), the first `pendingBlankCount` of them.
   * Numbers, not an object per blank line: most blank lines end a block and are dropped.
   */
  pendingBlanks: number[];
  pendingBlankCount: number;
  /** Short strings cut out of the text so far (see internAt). */
  strings: Map<string, string>;
  /** Last line that belongs to the block (for its end); comments and text count, blank lines do not. */
  lastContentLine: number;
  /** Offset just past that line's content. */
  lastContentEnd: number;
  swallow: boolean;
  /**
   * True while the body text equals one slice of the document: every body line so far is
   * written without escapes, and each but the last follows the one before directly (no comment
   * between), without trailing blanks, and ends with a plain `\n`. Then no join is needed.
   */
  plain: boolean;
  /** Line of the previous body line, and whether the next body line could continue its slice. */
  prevBodyLine: number;
  prevJoinable: boolean;
}

function resetOpen(
  open: OpenBlock,
  block: Block | undefined,
  zone: Zone,
  line: number,
  end: number,
  swallow: boolean,
): void {
  open.block = block;
  open.zone = zone;
  open.settingCount = 0;
  open.bodyLineCount = 0;
  open.refCount = 0;
  open.pendingBlankCount = 0;
  open.lastContentLine = line;
  open.lastContentEnd = end;
  open.swallow = swallow;
  open.plain = true;
  open.prevBodyLine = -1;
  open.prevJoinable = false;
}

/** Parses a storyboard. Never throws; the tree may be incomplete where the text is. */
export function parseStoryboard(text: string): ParseResult {
  const errors: ParseError[] = [];
  const blocks: Block[] = [];
  const elements: ElementBlock[] = [];
  const scenes: SceneBlock[] = [];
  const orphanShots: ShotBlock[] = [];
  const comments: Comment[] = [];
  const lookalikes: Storyboard['settingLookalikes'] = [];
  /** Shots of the last scene so far, copied out at their exact size when it ends (endShots). */
  const sceneShots: ShotBlock[] = [];
  let headerSettings: Setting[] = [];
  let preamble: Body | undefined;

  const open: OpenBlock = {
    block: undefined,
    zone: 'header',
    settings: [],
    settingCount: 0,
    bodyLines: [],
    bodyLineCount: 0,
    refs: [],
    refCount: 0,
    pendingBlanks: [],
    pendingBlankCount: 0,
    strings: new Map(),
    lastContentLine: -1,
    lastContentEnd: 0,
    swallow: false,
    plain: true,
    prevBodyLine: -1,
    prevJoinable: false,
  };

  const length = text.length;
  // Next `\n`, `\r` and `@` at or after the current line: each found once by indexOf and
  // searched again only once passed, so every search covers new text (linear overall).
  let nextLf = text.indexOf('\n');
  let nextCr = text.indexOf('\r');
  let nextAt = text.indexOf('@');
  let ls = 0;
  let line = 0;
  for (; ; line++) {
    if (nextLf !== -1 && nextLf < ls) nextLf = text.indexOf('\n', ls);
    if (nextCr !== -1 && nextCr < ls) nextCr = text.indexOf('\r', ls);
    let le: number;
    let next: number;
    if (nextCr !== -1 && (nextLf === -1 || nextCr < nextLf)) {
      le = nextCr;
      next = nextLf === nextCr + 1 ? nextCr + 2 : nextCr + 1;
    } else if (nextLf !== -1) {
      le = nextLf;
      next = nextLf + 1;
    } else {
      le = length;
      next = -1;
    }

    let first = ls;
    while (first < le && isBlank(text.charCodeAt(first))) first++;
    const firstChar = first < le ? text.charCodeAt(first) : -1;

    if (firstChar === 0x5b /* [ */) {
      if (open.block) closeBlock(open, text);
      else {
        headerSettings = open.settings.slice(0, open.settingCount);
        preamble = makeBody(open, text);
      }
      const block = parseHeader(text, line, ls, first, le, errors);
      blocks.push(block);
      let zone: Zone = 'none';
      if (block.kind === 'element') {
        elements.push(block);
        zone = 'element';
      } else if (block.kind === 'scene') {
        endShots(scenes, sceneShots);
        block.index = scenes.length;
        block.displayTitle = block.title || `Scene ${scenes.length + 1}`;
        scenes.push(block);
        zone = 'scene';
      } else if (block.kind === 'shot') {
        const scene = scenes.length ? scenes[scenes.length - 1] : undefined;
        if (scene) {
          block.sceneIndex = scene.index;
          sceneShots.push(block);
        } else {
          orphanShots.push(block);
          errors.push({
            code: 'shot-outside-scene',
            message: 'A [shot] must follow a [scene] header: this shot belongs to no scene',
            span: block.headerSpan,
          });
        }
      }
      resetOpen(
        open,
        block,
        zone,
        line,
        le,
        block.kind === 'invalid' || (block.kind === 'shot' && block.sceneIndex === undefined),
      );
    } else if (firstChar === -1) {
      // Blank: never ends a settings zone; inside body text it is part of the text (blank
      // lines before the first or after the last text line are not: nothing keeps them).
      if (open.zone === 'none' && !open.swallow && open.bodyLineCount) {
        const blanks = open.pendingBlanks;
        const at = 4 * open.pendingBlankCount++;
        blanks[at] = line;
        blanks[at + 1] = ls;
        blanks[at + 2] = le;
        blanks[at + 3] = le === ls && isLf(text, le, next) ? 1 : 0;
      }
    } else {
      open.lastContentLine = line;
      open.lastContentEnd = le;
      if (firstChar === 0x23 /* # */) {
        comments.push(new Comment(line, first, le - first));
      } else if (!open.swallow) {
        let isSetting = false;
        if (open.zone !== 'none') {
          const setting = readSetting(text, line, ls, le, open.strings);
          if (setting) {
            isSetting = true;
            open.settings[open.settingCount++] = setting;
          }
          if (!isSetting) {
            const look = readLookalike(text, line, ls, le, open.zone);
            if (look) lookalikes.push(look);
            open.zone = 'none';
          }
        }
        if (!isSetting) {
          // A body line: resolve escapes, trim trailing blanks, record `@NAME` references.
          let end = le;
          while (end > first && isBlank(text.charCodeAt(end - 1))) end--;
          let out = '';
          let from = ls;
          // `\#` / `\[` at the start of a line: the backslash is not sent.
          if (firstChar === 0x5c && first + 1 < end) {
            const c = text.charCodeAt(first + 1);
            if (c === 0x23 || c === 0x5b) {
              out = text.slice(ls, first);
              from = first + 1;
            }
          }
          if (nextAt !== -1 && nextAt < from) nextAt = text.indexOf('@', from);
          while (nextAt !== -1 && nextAt < end) {
            const i = nextAt;
            nextAt = text.indexOf('@', i + 1);
            if (i > ls && text.charCodeAt(i - 1) === 0x5c) {
              // `\@` is a literal `@`: drop the backslash.
              out += text.slice(from, i - 1);
              from = i;
              continue;
            }
            let j = i + 1;
            if (j < end && isNameStart(text.charCodeAt(j))) {
              j++;
              while (j < end && isNameChar(text.charCodeAt(j))) j++;
              open.refs[open.refCount++] = new ElementRef(
                internAt(open.strings, text, i + 1, j),
                i,
              );
            }
          }
          const clean = from === ls;
          if (open.pendingBlankCount) flushBlanks(open);
          pushBodyLine(
            open,
            new BodyLine(
              line,
              ls,
              le - ls,
              clean ? text.slice(ls, end) : out + text.slice(from, end),
            ),
            clean && end === le && isLf(text, le, next),
          );
          if (!clean) open.plain = false;
        }
      }
    }

    if (next === -1) break;
    ls = next;
  }
  const lineCount = line + 1;
  endShots(scenes, sceneShots);
  if (open.block) closeBlock(open, text);
  else {
    headerSettings = open.settings.slice(0, open.settingCount);
    preamble = makeBody(open, text);
  }

  const storyboard: Storyboard = {
    text,
    headerSettings,
    preamble: preamble ?? NO_BODY,
    blocks,
    elements,
    scenes,
    orphanShots,
    comments,
    settingLookalikes: lookalikes,
    lineCount,
  };
  return { storyboard, errors };
}

/** Gives the last scene its shots read so far (a copy of their exact size), and clears them. */
function endShots(scenes: SceneBlock[], shots: ShotBlock[]): void {
  if (!shots.length) return;
  scenes[scenes.length - 1].shots = shots.slice();
  shots.length = 0;
}

/** True when the line break at `le` is a lone `\n` (the next line starts right after it). */
function isLf(text: string, le: number, next: number): boolean {
  return next === le + 1 && text.charCodeAt(le) === 10;
}

/** Adds the blank lines waiting since the last body line: more text follows them. */
function flushBlanks(open: OpenBlock): void {
  const blanks = open.pendingBlanks;
  for (let at = 0; at < 4 * open.pendingBlankCount; at += 4) {
    const start = blanks[at + 1];
    pushBodyLine(
      open,
      new BodyLine(blanks[at], start, blanks[at + 2] - start, ''),
      blanks[at + 3] === 1,
    );
  }
  open.pendingBlankCount = 0;
}

function pushBodyLine(open: OpenBlock, bodyLine: BodyLine, joinable: boolean): void {
  if (open.bodyLineCount && !(open.prevJoinable && bodyLine.line === open.prevBodyLine + 1)) {
    open.plain = false;
  }
  open.bodyLines[open.bodyLineCount++] = bodyLine;
  open.prevBodyLine = bodyLine.line;
  open.prevJoinable = joinable;
}

/** Ends the block being read: its extent, settings and body. */
function closeBlock(open: OpenBlock, text: string): void {
  const b = open.block;
  if (!b) return;
  b.endLine = open.lastContentLine;
  b.length = open.lastContentEnd - b.offset;
  if (b.kind === 'element' || b.kind === 'scene') {
    if (open.settingCount) b.settings = open.settings.slice(0, open.settingCount);
    b.body = makeBody(open, text);
  } else if (b.kind === 'shot') {
    b.body = makeBody(open, text);
  }
}

/** The known setting keys: a key read is taken from here, not kept as a new string. */
const KNOWN_KEYS = new Map<string, string>(SETTING_KEYS.map((k) => [k, k]));

/** Most distinct short strings a parse shares (see internAt); past it the cache starts again. */
const STRING_CACHE_MAX = 4096;

/**
 * `text[start, end)` as a string, shared with an earlier equal one from the cache. Element names
 * and setting values repeat all over a storyboard (`@dog`, `mode: pro`, frame paths); one string
 * each means fewer objects to keep, and Map lookups on them hash each string once. Only short
 * strings: hashing and comparing cost their length. The lookup is the Map's own (native) hashing
 * of the cut string: a first parse runs before V8 has optimised this code, and a loop over the
 * characters in interpreted code cost more than the whole lookup.
 */
function internAt(cache: Map<string, string>, text: string, start: number, end: number): string {
  const s = text.slice(start, end);
  if (end - start > 40) return s;
  const hit = cache.get(s);
  if (hit !== undefined) return hit;
  if (cache.size >= STRING_CACHE_MAX) cache.clear();
  cache.set(s, s);
  return s;
}

/**
 * Up to the colon of a setting (`[a-z][a-z0-9-]*:` after spaces, tabs or U+FEFF), tried at a
 * line's start with `lastIndex`: the regex engine's compiled code instead of a character loop.
 * The indentation is matched atomically (lookahead + backreference), so a failing line costs
 * one pass over it.
 */
const SETTING_KEY = /(?=([ \t\ufeff]*))\1[a-z][a-z0-9-]*:/y;

/** A run of non-whitespace (JavaScript's `\S`, as isWhitespace), tried with `lastIndex`. */
const WORD = /\S*/y;

/**
 * The start of a line that may be a mistyped setting: after the indentation, key characters,
 * spaces, tabs and `-` up to a colon (LOOKALIKE_LINE decides; this rejects most lines first).
 */
const LOOKALIKE_START = /(?=([ \t\ufeff]*))\1[A-Za-z0-9_ \t-]*:/y;

/**
 * Reads `key: value` (key `[a-z][a-z0-9-]*`, after spaces, tabs or U+FEFF; a space, a tab or
 * the line end after the colon); undefined when the line is not a setting.
 */
function readSetting(
  text: string,
  line: number,
  ls: number,
  le: number,
  strings: Map<string, string>,
): Setting | undefined {
  SETTING_KEY.lastIndex = ls;
  if (!SETTING_KEY.test(text)) return undefined;
  const colon = SETTING_KEY.lastIndex - 1;
  // The key's characters are never line breaks, so the colon is on this line.
  if (colon + 1 < le && !isSpaceOrTab(text.charCodeAt(colon + 1))) return undefined;
  let k = ls;
  while (isLineIndent(text.charCodeAt(k))) k++;
  let vs = colon + 1;
  while (vs < le && isSpaceOrTab(text.charCodeAt(vs))) vs++;
  let ve = le;
  while (ve > vs && isSpaceOrTab(text.charCodeAt(ve - 1))) ve--;
  const written = text.slice(k, colon);
  return new Setting(
    KNOWN_KEYS.get(written) ?? written,
    vs < ve ? internAt(strings, text, vs, ve) : '',
    line,
    ls,
    le - ls,
    k,
    vs < ve ? vs : colon + 1,
  );
}

/** Scratch string cache of readSettingLine (values are short-lived there). */
const LINE_STRINGS = new Map<string, string>();

/**
 * Reads the line `[ls, le)` of `text` the way the parser reads a setting, wherever the line
 * stands: the validator uses it to find body text written as a setting.
 */
export function readSettingLine(
  text: string,
  line: number,
  ls: number,
  le: number,
): Setting | undefined {
  return readSetting(text, line, ls, le, LINE_STRINGS);
}

/**
 * The line that ends a settings zone, if it looks like a mistyped setting (`Duration: 10`,
 * `First frame : x`). LOOKALIKE_START rejects most lines before the full regex runs.
 */
function readLookalike(
  text: string,
  line: number,
  ls: number,
  le: number,
  zone: 'header' | 'scene' | 'element',
): Storyboard['settingLookalikes'][number] | undefined {
  LOOKALIKE_START.lastIndex = ls;
  if (!LOOKALIKE_START.test(text)) return undefined;
  const raw = text.slice(ls, le);
  const look = LOOKALIKE_LINE.exec(raw);
  if (!look) return undefined;
  return {
    line,
    key: look[1],
    keySpan: { offset: ls + raw.indexOf(look[1]), length: look[1].length },
    zone,
  };
}

/** What may stand before a setting's key: spaces, tabs and U+FEFF. */
export function isLineIndent(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0xfeff;
}

function isSpaceOrTab(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39);
}

/** Blanks around lines and header parts: space, tab, CR, form feed, vertical tab, U+FEFF. */
function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0c || c === 0x0b || c === 0xfeff;
}

/** JavaScript's `\s` (what separates the words of a block header). */
function isWhitespace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/**
 * The body of the block being read as sent: its lines joined by `\n` (the reader keeps no blank
 * lines before the first or after the last text line, so there is nothing to drop).
 */
function makeBody(open: OpenBlock, text: string): Body {
  const count = open.bodyLineCount;
  if (!count) return NO_BODY;
  const refCount = open.refCount;
  const refs =
    refCount === 1 ? open.refs[0] : refCount ? open.refs.slice(0, refCount) : NO_BODY.refs;
  const lines = open.bodyLines;
  if (count === 1) return new Body(lines[0].text, lines[0], refs);
  const firstLine = lines[0];
  const lastLine = lines[count - 1];
  let sent: string;
  if (open.plain) {
    sent = text.slice(firstLine.offset, lastLine.offset + lastLine.text.length);
  } else {
    sent = firstLine.text;
    for (let i = 1; i < count; i++) sent += '\n' + lines[i].text;
  }
  return new Body(sent, lines.slice(0, count), refs);
}

function invalidBlock(
  errors: ParseError[],
  /** The header, trailing blanks left out: `[first, end)`. */
  first: number,
  end: number,
  line: number,
  ls: number,
  le: number,
  word: string,
  code: 'syntax' | 'unknown-block',
  message: string,
): InvalidBlock {
  errors.push({ code, message, span: { offset: first, length: end - first } });
  return new InvalidBlock(line, ls, le - ls, first, end - first, word);
}

/** Parses a header line; a malformed or unknown header still makes a block (of kind `invalid`). */
function parseHeader(
  text: string,
  line: number,
  ls: number,
  first: number,
  le: number,
  errors: ParseError[],
): Block {
  let end = le;
  while (end > first && isBlank(text.charCodeAt(end - 1))) end--;
  const closed = end - first >= 2 && text.charCodeAt(end - 1) === 0x5d;
  const innerStart = first + 1;
  const innerEnd = closed ? end - 1 : end;
  // The kind word: after spaces and tabs, up to the next whitespace; trailing `]`s dropped.
  let wordStart = innerStart;
  while (wordStart < innerEnd && isSpaceOrTab(text.charCodeAt(wordStart))) wordStart++;
  WORD.lastIndex = wordStart;
  WORD.test(text);
  let wordEnd = Math.min(WORD.lastIndex, innerEnd);
  const hasWord = wordEnd > wordStart;
  while (wordEnd > wordStart && text.charCodeAt(wordEnd - 1) === 0x5d) wordEnd--;
  const word = text.slice(wordStart, wordEnd);
  if (!closed) {
    return invalidBlock(
      errors,
      first,
      end,
      line,
      ls,
      le,
      word,
      'syntax',
      'Block header must end with `]`',
    );
  }
  if (!hasWord) {
    return invalidBlock(
      errors,
      first,
      end,
      line,
      ls,
      le,
      '',
      'syntax',
      'Empty block header: write [element NAME], [scene TITLE] or [shot DURATION]',
    );
  }
  // The rest after the kind word, trimmed, with its offset.
  let restStart = wordEnd;
  let restEnd = innerEnd;
  while (restStart < restEnd && isBlank(text.charCodeAt(restStart))) restStart++;
  while (restEnd > restStart && isBlank(text.charCodeAt(restEnd - 1))) restEnd--;

  if (word === 'element') {
    const name = text.slice(restStart, restEnd);
    if (!name) {
      return invalidBlock(
        errors,
        first,
        end,
        line,
        ls,
        le,
        word,
        'syntax',
        'An element needs a name: [element NAME]',
      );
    }
    if (!isElementName(text, restStart, restEnd)) {
      return invalidBlock(
        errors,
        first,
        end,
        line,
        ls,
        le,
        word,
        'syntax',
        `\`${name}\` is not a valid element name: use letters, digits and _, not starting with a digit`,
      );
    }
    return new ElementBlock(line, ls, le - ls, first, end - first, name, restStart);
  }

  if (word === 'scene') {
    const title = text.slice(restStart, restEnd);
    return new SceneBlock(
      line,
      ls,
      le - ls,
      first,
      end - first,
      0,
      title,
      title,
      title ? restStart : wordEnd,
    );
  }

  if (word === 'shot') {
    // DURATION: the next run of non-whitespace, digits with an optional `s`.
    let durEnd = restStart;
    while (durEnd < restEnd && !isWhitespace(text.charCodeAt(durEnd))) durEnd++;
    if (durEnd === restStart) {
      return invalidBlock(
        errors,
        first,
        end,
        line,
        ls,
        le,
        word,
        'syntax',
        'A shot needs a duration in whole seconds: [shot 4s]',
      );
    }
    let digitsEnd = restStart;
    while (digitsEnd < durEnd && isDigit(text.charCodeAt(digitsEnd))) digitsEnd++;
    const unitEnd =
      digitsEnd < durEnd && text.charCodeAt(digitsEnd) === 0x73 /* s */ ? digitsEnd + 1 : digitsEnd;
    if (digitsEnd === restStart || unitEnd !== durEnd) {
      return invalidBlock(
        errors,
        first,
        end,
        line,
        ls,
        le,
        word,
        'syntax',
        `\`${text.slice(restStart, durEnd)}\` is not a whole number of seconds: write e.g. [shot 4s]`,
      );
    }
    let labelStart = durEnd;
    while (labelStart < restEnd && isBlank(text.charCodeAt(labelStart))) labelStart++;
    const label = text.slice(labelStart, restEnd);
    return new ShotBlock(
      line,
      ls,
      le - ls,
      first,
      end - first,
      Number(text.slice(restStart, digitsEnd)),
      restStart,
      durEnd - restStart,
      label || undefined,
      labelStart,
    );
  }

  const lower = word.toLowerCase();
  const hint =
    lower === 'element' || lower === 'scene' || lower === 'shot'
      ? ` (block kinds are lowercase: \`${lower}\`)`
      : ': use element, scene or shot';
  return invalidBlock(
    errors,
    first,
    end,
    line,
    ls,
    le,
    word,
    'unknown-block',
    `Unknown block \`[${word}]\`${hint}`,
  );
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** True when `text[start, end)` is an element name (`[A-Za-z_][A-Za-z0-9_]*`). */
function isElementName(text: string, start: number, end: number): boolean {
  if (start >= end || !isNameStart(text.charCodeAt(start))) return false;
  for (let i = start + 1; i < end; i++) if (!isNameChar(text.charCodeAt(i))) return false;
  return true;
}

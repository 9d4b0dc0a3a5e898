// The error-tolerant parser for `.kling` storyboards (storyboard-format.md §2).
// It never throws: any text gives a tree plus a list of errors. One line at a time,
// no backtracking, so a 10 MB document parses in linear time.

import type {
  Block,
  Body,
  BodyLine,
  Comment,
  ElementBlock,
  ElementRef,
  InvalidBlock,
  ParseError,
  ParseResult,
  SceneBlock,
  Setting,
  ShotBlock,
  Span,
  Storyboard,
} from './ast';

/** Element names: `[A-Za-z_][A-Za-z0-9_]*`. */
export const ELEMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// The value is trimmed by hand: a lazy `(.*?)[ \t]*$` is quadratic on long runs of blanks.
const SETTING_LINE = /^([ \t]*)([a-z][a-z0-9-]*):(?=[ \t]|$)(.*)$/;
const LOOKALIKE_LINE = /^[ \t]*([A-Za-z][A-Za-z0-9_ -]{0,40}?)[ \t]*:(?=[ \t]|$)/;
const SHOT_DURATION = /^(\d+)s?$/;
const REF_NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const BLOCK_KINDS = ['element', 'scene', 'shot'] as const;

type Zone = 'header' | 'scene' | 'element' | 'none';

interface OpenBlock {
  block: Block | undefined; // undefined = the top of the file
  zone: Zone;
  settings: Setting[];
  bodyLines: BodyLine[];
  refs: ElementRef[];
  /** Lines that belong to the block (for its end); comments and text count, blank lines do not. */
  lastContentLine: number;
  swallow: boolean;
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
  let headerSettings: Setting[] = [];
  let preamble: Body = emptyBody();

  const lineStarts: number[] = [];
  const lineEnds: number[] = [];
  {
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      const end = nl === -1 ? text.length : nl;
      lineStarts.push(start);
      lineEnds.push(end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
      if (nl === -1) break;
      start = nl + 1;
    }
  }
  const lineSpan = (line: number): Span => ({
    offset: lineStarts[line],
    length: lineEnds[line] - lineStarts[line],
  });

  let open: OpenBlock = {
    block: undefined,
    zone: 'header',
    settings: [],
    bodyLines: [],
    refs: [],
    lastContentLine: -1,
    swallow: false,
  };

  const close = (nextHeaderLine: number) => {
    const body = makeBody(open.bodyLines, open.refs, lineStarts, lineEnds);
    const b = open.block;
    if (!b) {
      headerSettings = open.settings;
      preamble = body;
      return;
    }
    const endLine = Math.max(b.headerLine, Math.min(open.lastContentLine, nextHeaderLine - 1));
    b.endLine = endLine;
    b.span = {
      offset: lineStarts[b.headerLine],
      length: lineEnds[endLine] - lineStarts[b.headerLine],
    };
    if (b.kind === 'element' || b.kind === 'scene') {
      b.settings = open.settings;
      b.body = body;
    } else if (b.kind === 'shot') {
      b.body = body;
    }
  };

  const lineCount = lineStarts.length;
  for (let line = 0; line < lineCount; line++) {
    const ls = lineStarts[line];
    const le = lineEnds[line];
    let first = ls;
    while (first < le && isBlank(text.charCodeAt(first))) first++;
    const firstChar = first < le ? text.charCodeAt(first) : -1;

    if (firstChar === 0x5b /* [ */) {
      close(line);
      const block = parseHeader(text, line, ls, first, le, errors);
      blocks.push(block);
      let zone: Zone = 'none';
      if (block.kind === 'element') {
        elements.push(block);
        zone = 'element';
      } else if (block.kind === 'scene') {
        block.index = scenes.length;
        block.displayTitle = block.title || `Scene ${scenes.length + 1}`;
        scenes.push(block);
        zone = 'scene';
      } else if (block.kind === 'shot') {
        const scene = scenes[scenes.length - 1];
        if (scene) {
          block.sceneIndex = scene.index;
          scene.shots.push(block);
        } else {
          orphanShots.push(block);
          errors.push({
            code: 'shot-outside-scene',
            message: 'A [shot] must follow a [scene] header: this shot belongs to no scene',
            span: block.headerSpan,
          });
        }
      }
      open = {
        block,
        zone,
        settings: [],
        bodyLines: [],
        refs: [],
        lastContentLine: line,
        swallow:
          block.kind === 'invalid' || (block.kind === 'shot' && block.sceneIndex === undefined),
      };
      continue;
    }

    if (firstChar === -1) {
      // Blank: never ends a settings zone; inside body text it is part of the text.
      if (open.zone === 'none' && !open.swallow)
        open.bodyLines.push({ line, lineSpan: lineSpan(line), text: '' });
      continue;
    }

    open.lastContentLine = line;
    if (firstChar === 0x23 /* # */) {
      comments.push({ span: { offset: first, length: le - first }, line });
      continue;
    }
    if (open.swallow) continue;

    const raw = text.slice(ls, le);
    if (open.zone !== 'none') {
      const m = SETTING_LINE.exec(raw);
      if (m) {
        const keyOffset = ls + m[1].length;
        const key = m[2];
        const value = trimBlanks(m[3]);
        const valueOffset = value
          ? ls + raw.indexOf(value, m[1].length + key.length + 1)
          : keyOffset + key.length + 1;
        open.settings.push({
          key,
          value,
          keySpan: { offset: keyOffset, length: key.length },
          valueSpan: { offset: valueOffset, length: value.length },
          lineSpan: { offset: ls, length: le - ls },
          line,
        });
        continue;
      }
      const look = LOOKALIKE_LINE.exec(raw);
      if (look) {
        const keyOffset = ls + raw.indexOf(look[1]);
        lookalikes.push({
          line,
          key: look[1],
          keySpan: { offset: keyOffset, length: look[1].length },
          zone: open.zone,
        });
      }
      open.zone = 'none';
    }
    open.bodyLines.push(bodyLine(raw, line, ls, le, open.refs));
  }
  close(lineCount);

  for (const scene of scenes) {
    const last = scene.shots.length ? scene.shots[scene.shots.length - 1] : scene;
    scene.fullEndLine = last.endLine;
    scene.fullSpan = {
      offset: scene.span.offset,
      length: last.span.offset + last.span.length - scene.span.offset,
    };
  }

  const storyboard: Storyboard = {
    text,
    headerSettings,
    preamble,
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

/** The text without leading and trailing spaces and tabs. */
function trimBlanks(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
  return s.slice(a, b);
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0c || c === 0x0b || c === 0xfeff;
}

function emptyBody(): Body {
  return { text: '', lines: [], refs: [] };
}

/** Reads one body line: resolves escapes, trims trailing blanks, and records `@NAME` references. */
function bodyLine(raw: string, line: number, ls: number, le: number, refs: ElementRef[]): BodyLine {
  let end = raw.length;
  while (end > 0 && isBlank(raw.charCodeAt(end - 1))) end--;
  let lead = 0;
  while (lead < end && isBlank(raw.charCodeAt(lead))) lead++;
  let out = '';
  let from = 0;
  // `\#` / `\[` at the start of a line: the backslash is not sent.
  if (raw.charCodeAt(lead) === 0x5c && (raw[lead + 1] === '#' || raw[lead + 1] === '[')) {
    out = raw.slice(0, lead);
    from = lead + 1;
  }
  for (let i = raw.indexOf('@', from); i !== -1 && i < end; i = raw.indexOf('@', i + 1)) {
    if (i > 0 && raw.charCodeAt(i - 1) === 0x5c) {
      // `\@` is a literal `@`: drop the backslash.
      out += raw.slice(from, i - 1);
      from = i;
      continue;
    }
    REF_NAME.lastIndex = i + 1;
    const m = REF_NAME.exec(raw);
    if (m && i + 1 + m[0].length <= end) {
      refs.push({
        name: m[0],
        span: { offset: ls + i, length: m[0].length + 1 },
        nameSpan: { offset: ls + i + 1, length: m[0].length },
      });
    }
  }
  out += raw.slice(from, end);
  return { line, lineSpan: { offset: ls, length: le - ls }, text: out };
}

/** Joins body lines into the sent text: outer blank lines dropped. */
function makeBody(
  lines: BodyLine[],
  refs: ElementRef[],
  lineStarts: number[],
  lineEnds: number[],
): Body {
  let a = 0;
  let b = lines.length - 1;
  while (a <= b && lines[a].text === '') a++;
  while (b >= a && lines[b].text === '') b--;
  if (a > b) return { text: '', lines: [], refs };
  const kept = lines.slice(a, b + 1);
  const first = kept[0].line;
  const last = kept[kept.length - 1].line;
  return {
    text: kept.map((l) => l.text).join('\n'),
    span: { offset: lineStarts[first], length: lineEnds[last] - lineStarts[first] },
    lines: kept,
    refs,
  };
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
  const headerSpan: Span = { offset: first, length: end - first };
  // Plain literals, not `{ ...base }`: V8 makes spread copies slow to update, and close()
  // writes `span`/`endLine` on every block (a 1 MB file of `[[[[` lines took seconds).
  const invalid = (
    word: string,
    code: 'syntax' | 'unknown-block',
    message: string,
  ): InvalidBlock => {
    errors.push({ code, message, span: headerSpan });
    return {
      headerSpan,
      span: { offset: ls, length: le - ls },
      headerLine: line,
      endLine: line,
      kind: 'invalid',
      word,
    };
  };

  const closed = text.charCodeAt(end - 1) === 0x5d && end - first >= 2;
  const innerStart = first + 1;
  const innerEnd = closed ? end - 1 : end;
  const inner = text.slice(innerStart, innerEnd);
  const wordMatch = /^[ \t]*(\S+)/.exec(inner);
  const word = wordMatch ? wordMatch[1].replace(/\]+$/, '') : '';
  if (!closed) {
    return invalid(word, 'syntax', 'Block header must end with `]`');
  }
  if (!wordMatch) {
    return invalid(
      '',
      'syntax',
      'Empty block header: write [element NAME], [scene TITLE] or [shot DURATION]',
    );
  }
  const wordOffset = innerStart + wordMatch[0].length - wordMatch[1].length;
  // The rest after the kind word, trimmed, with its offset.
  let restStart = wordOffset + word.length;
  let restEnd = innerEnd;
  while (restStart < restEnd && isBlank(text.charCodeAt(restStart))) restStart++;
  while (restEnd > restStart && isBlank(text.charCodeAt(restEnd - 1))) restEnd--;
  const rest = text.slice(restStart, restEnd);
  const restSpan: Span = { offset: restStart, length: restEnd - restStart };

  if (!(BLOCK_KINDS as readonly string[]).includes(word)) {
    const lower = word.toLowerCase();
    const hint = (BLOCK_KINDS as readonly string[]).includes(lower)
      ? ` (block kinds are lowercase: \`${lower}\`)`
      : ': use element, scene or shot';
    return invalid(word, 'unknown-block', `Unknown block \`[${word}]\`${hint}`);
  }

  if (word === 'element') {
    if (!rest) return invalid(word, 'syntax', 'An element needs a name: [element NAME]');
    if (!ELEMENT_NAME.test(rest)) {
      return invalid(
        word,
        'syntax',
        `\`${rest}\` is not a valid element name: use letters, digits and _, not starting with a digit`,
      );
    }
    return {
      headerSpan,
      span: { offset: ls, length: le - ls },
      headerLine: line,
      endLine: line,
      kind: 'element',
      name: rest,
      nameSpan: restSpan,
      settings: [],
      body: emptyBody(),
    };
  }

  if (word === 'scene') {
    return {
      headerSpan,
      span: { offset: ls, length: le - ls },
      headerLine: line,
      endLine: line,
      kind: 'scene',
      index: 0,
      title: rest,
      displayTitle: rest,
      titleSpan: restSpan.length ? restSpan : { offset: wordOffset + word.length, length: 0 },
      settings: [],
      body: emptyBody(),
      shots: [],
      fullSpan: { offset: ls, length: le - ls },
      fullEndLine: line,
    };
  }

  // shot
  const durMatch = /^(\S+)/.exec(rest);
  if (!durMatch)
    return invalid(word, 'syntax', 'A shot needs a duration in whole seconds: [shot 4s]');
  const d = SHOT_DURATION.exec(durMatch[1]);
  if (!d) {
    return invalid(
      word,
      'syntax',
      `\`${durMatch[1]}\` is not a whole number of seconds: write e.g. [shot 4s]`,
    );
  }
  const durationSpan: Span = { offset: restStart, length: durMatch[1].length };
  let labelStart = restStart + durMatch[1].length;
  while (labelStart < restEnd && isBlank(text.charCodeAt(labelStart))) labelStart++;
  const label = text.slice(labelStart, restEnd);
  return {
    headerSpan,
    span: { offset: ls, length: le - ls },
    headerLine: line,
    endLine: line,
    kind: 'shot',
    duration: Number(d[1]),
    durationSpan,
    label: label || undefined,
    labelSpan: label ? { offset: labelStart, length: restEnd - labelStart } : undefined,
    body: emptyBody(),
  };
}

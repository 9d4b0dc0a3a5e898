// One parsed document plus the lookups every editor feature needs (which block a line is
// in, which reference or setting an offset is on). Built once per document version.

import type {
  Block,
  ElementBlock,
  ElementRef,
  ParseResult,
  SceneBlock,
  Setting,
  Storyboard,
} from './ast';
import { LineIndex, spanContains } from './text';

/** A parsed document: the text, its tree and its line index. */
export interface Analysis {
  uri: string;
  version: number;
  text: string;
  parsed: ParseResult;
  index: LineIndex;
}

/** Where a line sits: in the top-of-file zone (`block` undefined) or in a block. */
export interface LineContext {
  block: Block | undefined;
  /** The settings of the zone the line belongs to (header zone when block is undefined). */
  settings: Setting[] | undefined;
  /** First line of body text of the block (the line that ended its settings zone), if any. */
  firstBodyLine: number | undefined;
}

/** The block whose lines include `line` (the last header at or above it); undefined above the first header. */
export function blockAtLine(storyboard: Storyboard, line: number): Block | undefined {
  const blocks = storyboard.blocks;
  let lo = 0;
  let hi = blocks.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (blocks[mid].headerLine <= line) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found === -1 ? undefined : blocks[found];
}

/** The zone facts of a line. */
export function lineContext(storyboard: Storyboard, line: number): LineContext {
  const block = blockAtLine(storyboard, line);
  if (!block) {
    return {
      block,
      settings: storyboard.headerSettings,
      firstBodyLine: storyboard.preamble.lines[0]?.line,
    };
  }
  if (block.kind === 'element' || block.kind === 'scene') {
    return { block, settings: block.settings, firstBodyLine: block.body.lines[0]?.line };
  }
  return { block, settings: undefined, firstBodyLine: undefined };
}

/** Every `@NAME` reference in the document, in document order (preamble, then blocks). */
export function allRefs(storyboard: Storyboard): ElementRef[] {
  const out: ElementRef[] = [...storyboard.preamble.refs];
  for (const b of storyboard.blocks) {
    if (b.kind === 'element' || b.kind === 'scene' || b.kind === 'shot') out.push(...b.body.refs);
  }
  return out;
}

/** The reference under `offset`, searching only the block that holds the offset's line. */
export function refAt(a: Analysis, offset: number): ElementRef | undefined {
  const line = a.index.positionAt(offset).line;
  const block = blockAtLine(a.parsed.storyboard, line);
  const refs = block
    ? block.kind === 'invalid'
      ? []
      : block.body.refs
    : a.parsed.storyboard.preamble.refs;
  return refs.find((r) => spanContains(r.span, offset));
}

/** The element header whose name is under `offset`. */
export function elementNameAt(a: Analysis, offset: number): ElementBlock | undefined {
  const line = a.index.positionAt(offset).line;
  const block = blockAtLine(a.parsed.storyboard, line);
  if (
    block?.kind === 'element' &&
    block.headerLine === line &&
    spanContains(block.nameSpan, offset)
  ) {
    return block;
  }
  return undefined;
}

/** The first element defined with this name (later duplicates are errors). */
export function findElement(storyboard: Storyboard, name: string): ElementBlock | undefined {
  return storyboard.elements.find((e) => e.name === name);
}

/** The setting on `line`, if the line is a recognised setting. */
export function settingOnLine(storyboard: Storyboard, line: number): Setting | undefined {
  const ctx = lineContext(storyboard, line);
  return ctx.settings?.find((s) => s.line === line);
}

/** The scene a block belongs to (a scene itself, or a shot's scene). */
export function sceneOf(storyboard: Storyboard, block: Block | undefined): SceneBlock | undefined {
  if (!block) return undefined;
  if (block.kind === 'scene') return block;
  if (block.kind === 'shot' && block.sceneIndex !== undefined)
    return storyboard.scenes[block.sceneIndex];
  return undefined;
}

/** Converts a document URI to a file-system-style path with `/` separators (`file:` URIs only). */
export function uriToPath(uri: string): string | undefined {
  if (!uri.startsWith('file://')) return undefined;
  let rest = uri.slice('file://'.length);
  // file://host/share → //host/share (UNC); file:///x → /x
  if (!rest.startsWith('/')) rest = '//' + rest;
  let path: string;
  try {
    path = decodeURIComponent(rest);
  } catch {
    path = rest;
  }
  // Windows drive letters: /c:/x → c:/x
  if (/^\/[A-Za-z]:/.test(path)) path = path.slice(1);
  return path;
}

/** Converts an absolute path (with `/` or `\` separators) to a `file:` URI. */
export function pathToUri(path: string): string {
  let p = path.replace(/\\/g, '/');
  if (/^[A-Za-z]:/.test(p)) p = '/' + p;
  const encoded = p
    .split('/')
    .map((seg) => encodeURIComponent(seg).replace(/%3A/gi, ':'))
    .join('/');
  return 'file://' + (encoded.startsWith('//') ? encoded.slice(2) : encoded);
}

/** The folder of a path (without a trailing slash). */
export function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? (i === 0 ? '/' : '.') : path.slice(0, i);
}

/** Resolves a media reference as written (relative, `./`, `../`, absolute) against a folder. */
export function resolvePath(folder: string, written: string): string {
  const w = written.replace(/\\/g, '/');
  const absolute = w.startsWith('/') || /^[A-Za-z]:\//.test(w);
  const base = absolute ? '' : folder;
  const parts: string[] = [];
  const prefixMatch = /^([A-Za-z]:|\/\/[^/]+|)/.exec(absolute ? w : base);
  const prefix = prefixMatch ? prefixMatch[1] : '';
  const joined = (absolute ? w : base + '/' + w).slice(prefix.length);
  for (const seg of joined.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return prefix + '/' + parts.join('/');
}

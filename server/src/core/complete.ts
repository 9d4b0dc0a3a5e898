// Completion: setting keys for the zone at the cursor, their values, block snippets after
// `[`, element names after `@`, and workspace media files after media keys.

import type {
  CompletionItem,
  CompletionList,
  MarkupContent,
  Range,
} from 'vscode-languageserver-types';
import { lineContext, settingOnLine, type Analysis } from './analysis';
import type { Provider, Storyboard } from './ast';
import {
  CAMERA_AXES,
  CAMERA_PRESETS,
  keysForZone,
  settingSpec,
  valuesFor,
  type SettingSpec,
  type SettingZone,
} from './settings';
import type { CancellationToken } from './cancel';
import { storyboardProvider } from './resolve';

/** Lists files under a folder, as `/`-separated paths relative to it (injected: the core does no I/O). */
export type WorkspaceFileLister = (folder: string, token: CancellationToken) => Promise<string[]>;

export interface CompletionDeps {
  /** Folder of the storyboard as a path; undefined for an unsaved document. */
  folder?: string;
  listFiles?: WorkspaceFileLister;
  defaultProvider: Provider;
}

// LSP numbers, written out so the core needs the protocol's types only.
const KIND = {
  Property: 10,
  Value: 12,
  Snippet: 15,
  File: 17,
  Reference: 18,
  EnumMember: 20,
} as const;
const SNIPPET = 2;
const RETRIGGER = { title: 'Suggest values', command: 'editor.action.triggerSuggest' };

const IMAGE_FILE = /\.(jpe?g|png)$/i;
const VIDEO_FILE = /\.(mp4|mov)$/i;
/** Most media files offered at once; a huge workspace should not flood the list. */
const MAX_FILE_ITEMS = 500;

/** Completion items at an offset. */
export async function complete(
  a: Analysis,
  offset: number,
  deps: CompletionDeps,
  token: CancellationToken,
): Promise<CompletionList> {
  const items = await completionItems(a, offset, deps, token);
  return { isIncomplete: false, items };
}

async function completionItems(
  a: Analysis,
  offset: number,
  deps: CompletionDeps,
  token: CancellationToken,
): Promise<CompletionItem[]> {
  const { storyboard } = a.parsed;
  const pos = a.index.positionAt(offset);
  const line = pos.line;
  const lineText = a.index.lineText(line);
  const before = lineText.slice(0, pos.character);
  const after = lineText.slice(pos.character);
  const range = (fromChar: number, toChar: number): Range => ({
    start: { line, character: fromChar },
    end: { line, character: toChar },
  });

  const trimmed = lineText.trimStart();
  if (trimmed.startsWith('#')) return [];

  // `[` at the start of a line: block snippets.
  const bracket = /^[ \t]*\[([A-Za-z]*)$/.exec(before);
  if (bracket) {
    const from = before.length - bracket[1].length - 1;
    const tail = /^[A-Za-z]*\]?[ \t]*$/.exec(after);
    return blockSnippets(range(from, pos.character + (tail ? tail[0].length : 0)), storyboard);
  }
  if (trimmed.startsWith('[')) return [];

  const ctx = lineContext(storyboard, line);
  const zone: SettingZone | undefined = !ctx.block
    ? 'header'
    : ctx.block.kind === 'element' || ctx.block.kind === 'scene'
      ? ctx.block.kind
      : undefined;
  const inZone =
    zone !== undefined && (ctx.firstBodyLine === undefined || line <= ctx.firstBodyLine);

  if (inZone) {
    const setting = settingOnLine(storyboard, line);
    const colon = setting
      ? setting.keySpan.offset + setting.key.length - a.index.lineStarts[line]
      : -1;
    if (setting && pos.character > colon) {
      const spec = settingSpec(setting.key);
      if (!spec || !spec.zones.includes(zone)) return [];
      return valueItems(a, spec, line, colon + 1, pos.character, lineText, deps, token);
    }
    const typing = /^[ \t]*([a-z][a-z0-9-]*)?$/.exec(before);
    const rest = /^[a-z0-9-]*[ \t]*$/.exec(after);
    if (typing && rest) {
      const from = before.length - (typing[1]?.length ?? 0);
      const taken = new Set((ctx.settings ?? []).filter((s) => s.line !== line).map((s) => s.key));
      const provider = storyboardProvider(storyboard, deps.defaultProvider);
      return keysForZone(zone)
        .filter((spec) => spec.repeatable || !taken.has(spec.key))
        .map((spec, i) =>
          keyItem(spec, range(from, pos.character + rest[0].trimEnd().length), i, provider),
        );
    }
  }

  // `@` in body text: element names.
  const at = /(^|[^\\])@([A-Za-z_][A-Za-z0-9_]*)?$/.exec(before);
  if (at && !(inZone && settingOnLine(storyboard, line))) {
    const typed = at[2] ?? '';
    const tail = /^[A-Za-z0-9_]*/.exec(after)?.[0] ?? '';
    const r = range(pos.character - typed.length, pos.character + tail.length);
    // A name defined twice (a duplicate-element error) is offered once: the first definition, as `findElement` resolves it.
    const seen = new Set<string>();
    const elements = storyboard.elements.filter((el) => !seen.has(el.name) && !!seen.add(el.name));
    return elements.map((el, i) => ({
      label: el.name,
      kind: KIND.Reference,
      detail: elementDetail(el.settings.map((s) => s.key)),
      documentation: el.body.text ? markdown(el.body.text) : undefined,
      sortText: String(i).padStart(5, '0'),
      textEdit: { range: r, newText: el.name },
    }));
  }
  return [];
}

function elementDetail(keys: string[]): string {
  const media = keys.filter((k) => k === 'images' || k === 'image' || k === 'video' || k === 'id');
  return media.length ? `element (${[...new Set(media)].join(', ')})` : 'element';
}

function markdown(value: string): MarkupContent {
  return { kind: 'markdown', value };
}

function keyItem(
  spec: SettingSpec,
  range: Range,
  order: number,
  provider: Provider,
): CompletionItem {
  const hasValues = (spec.kind !== 'text' || spec.key === 'continue-from') && spec.kind !== 'id';
  const notes: string[] = [spec.description];
  const def = spec.defaultText ?? spec.default;
  if (def) notes.push(`Default: ${def}`);
  if (spec.klingOnly && provider === 'kie') notes.push('Sent only with `provider: kling`.');
  return {
    label: spec.key,
    kind: KIND.Property,
    detail: spec.klingOnly ? 'setting (kling only)' : 'setting',
    documentation: markdown(notes.join('\n\n')),
    sortText: String(order).padStart(3, '0'),
    textEdit: { range, newText: `${spec.key}: ` },
    command: hasValues ? RETRIGGER : undefined,
  };
}

async function valueItems(
  a: Analysis,
  spec: SettingSpec,
  line: number,
  colonEnd: number,
  cursor: number,
  lineText: string,
  deps: CompletionDeps,
  token: CancellationToken,
): Promise<CompletionItem[]> {
  let start = colonEnd;
  while (start < cursor && (lineText[start] === ' ' || lineText[start] === '\t')) start++;
  let end = lineText.length;
  while (end > start && (lineText[end - 1] === ' ' || lineText[end - 1] === '\t')) end--;
  if (end < cursor) end = cursor;
  // A list value: complete the item the cursor is in.
  if (spec.kind === 'media-list') {
    const lastComma = lineText.lastIndexOf(',', cursor - 1);
    if (lastComma >= start) {
      start = lastComma + 1;
      while (start < cursor && (lineText[start] === ' ' || lineText[start] === '\t')) start++;
    }
    const nextComma = lineText.indexOf(',', cursor);
    if (nextComma !== -1) {
      end = nextComma;
      while (end > cursor && (lineText[end - 1] === ' ' || lineText[end - 1] === '\t')) end--;
    }
  }
  const prefixSpace = start === colonEnd || lineText[start - 1] === ',' ? ' ' : '';
  const range: Range = { start: { line, character: start }, end: { line, character: end } };
  const provider = storyboardProvider(a.parsed.storyboard, deps.defaultProvider);
  const value = (label: string, detail?: string, order = 0): CompletionItem => ({
    label,
    kind: KIND.EnumMember,
    detail,
    sortText: String(order).padStart(3, '0'),
    filterText: label,
    textEdit: { range, newText: prefixSpace + label },
  });

  switch (spec.kind) {
    case 'enum':
      return valuesFor(spec, provider).map((v, i) =>
        value(
          v,
          v === spec.default ? 'default' : spec.key === 'provider' ? providerDetail(v) : undefined,
          i,
        ),
      );
    case 'duration': {
      const out: CompletionItem[] = [];
      for (let s = spec.range?.min ?? 3; s <= (spec.range?.max ?? 15); s++)
        out.push(value(String(s), `${s} s`, s));
      return out;
    }
    case 'number':
      return [value('0.5', `${spec.range?.min ?? 0}–${spec.range?.max ?? 1}`)];
    case 'folder':
      return spec.default ? [value(spec.default, 'default')] : [];
    case 'camera': {
      const presets = CAMERA_PRESETS.map((p, i) => value(p, 'camera preset', i));
      const axes = CAMERA_AXES.map((axis, i): CompletionItem => ({
        label: `${axis} N`,
        kind: KIND.Snippet,
        detail: `move along ${axis}, N in -10..10 (not 0)`,
        sortText: String(10 + i).padStart(3, '0'),
        filterText: axis,
        insertTextFormat: SNIPPET,
        textEdit: { range, newText: `${prefixSpace}${axis} \${1:5}` },
      }));
      return [...presets, ...axes];
    }
    case 'media':
    case 'media-list':
      return mediaItems(spec, range, prefixSpace, deps, token);
    case 'text': {
      // `continue-from:` takes the title of an earlier scene.
      if (spec.key !== 'continue-from') return [];
      const storyboard = a.parsed.storyboard;
      const here = storyboard.scenes.find((s) => s.headerLine <= line && line <= s.endLine);
      return storyboard.scenes
        .filter((s) => !here || s.index < here.index)
        .map((s, i) => value(s.displayTitle, `scene ${s.index + 1}`, i));
    }
    default:
      return [];
  }
}

function providerDetail(p: string): string {
  return p === 'kie' ? 'KIE.ai market API' : "Kling's official API";
}

async function mediaItems(
  spec: SettingSpec,
  range: Range,
  prefixSpace: string,
  deps: CompletionDeps,
  token: CancellationToken,
): Promise<CompletionItem[]> {
  if (!deps.folder || !deps.listFiles) return [];
  let files: string[];
  try {
    files = await deps.listFiles(deps.folder, token);
  } catch {
    return [];
  }
  const wanted = spec.media === 'video' ? VIDEO_FILE : IMAGE_FILE;
  const out: CompletionItem[] = [];
  for (const f of files) {
    if (!wanted.test(f)) continue;
    out.push({
      label: f,
      kind: KIND.File,
      detail: spec.media === 'video' ? 'video' : 'image',
      sortText: String(f.split('/').length).padStart(3, '0') + f,
      textEdit: { range, newText: prefixSpace + f },
    });
    if (out.length >= MAX_FILE_ITEMS) break;
  }
  return out;
}

function blockSnippets(range: Range, storyboard: Storyboard): CompletionItem[] {
  const sceneNumber = storyboard.scenes.length + 1;
  const snippet = (label: string, detail: string, body: string, order: number): CompletionItem => ({
    label,
    kind: KIND.Snippet,
    detail,
    sortText: String(order),
    filterText: `[${label.replace(/^\[/, '').split(/[ \]]/)[0]}`,
    insertTextFormat: SNIPPET,
    textEdit: { range, newText: body },
  });
  return [
    snippet(
      '[scene]',
      'a scene: one video of 3–15 s',
      `[scene \${1:Scene ${sceneNumber}}]\nduration: \${2:5}\n\${0:What happens, and how the camera moves.}`,
      1,
    ),
    snippet(
      '[shot]',
      'a shot inside the scene above',
      '[shot ${1:4}s]\n${0:What this shot shows.}',
      2,
    ),
    snippet(
      '[element]',
      'a reusable character or prop',
      '[element ${1:name}]\nimages: ${2:refs/front.jpg}, ${3:refs/side.jpg}\n${0:What it looks like.}',
      3,
    ),
  ];
}

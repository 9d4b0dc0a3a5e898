// Hover: elements (description and thumbnails), shot and scene headers (counted length
// against the provider's limit, durations, settings, elements), media paths (preview,
// pixel size, bytes) and setting keys.

import type { Hover } from 'vscode-languageserver-types';
import {
  blockAtLine,
  elementNameAt,
  findElement,
  lineContext,
  pathToUri,
  refAt,
  resolvePath,
  type Analysis,
} from './analysis';
import type { ElementBlock, SceneBlock, ShotBlock, Span, Storyboard } from './ast';
import type { CancellationToken } from './cancel';
import {
  estimateRequest,
  formatEstimate,
  type CostObservation,
  type EstimateOptions,
} from './estimate';
import { countedLength, describeCounted, limitsFor, PROMPT_MAX } from './limits';
import {
  CONTINUE_FROM_KEY,
  continuityFrameRef,
  sceneByTitle,
  storyboardNameFromPath,
} from './continuity';
import { isUrl, type MediaFacts } from './media';
import { buildSceneRequest } from './request';
import { resolveElement, resolveScene, storyboardProvider, type ResolvedScene } from './resolve';
import { settingSpec, splitMediaList } from './settings';
import { spanContains } from './text';

/** Facts about a file by absolute path (injected: the core does no I/O); undefined when unknown. */
export type MediaFactsProvider = (
  absolutePath: string,
  token: CancellationToken,
) => Promise<MediaFacts | undefined> | MediaFacts | undefined;

export interface HoverDeps {
  /** Folder of the storyboard as a path; undefined for an unsaved document. */
  folder?: string;
  media?: MediaFactsProvider;
  defaultProvider: 'kie' | 'kling';
  /** Output folder of storyboards without `output:` (`kling.outputFolder`): where continuity frames are. */
  defaultOutput?: string;
  /** The user's rates for the scene header's cost estimate. */
  estimate?: EstimateOptions;
  /** Costs reported for this storyboard's earlier takes (read only for a scene header hover). */
  history?: () => Promise<readonly CostObservation[]> | readonly CostObservation[];
}

const THUMBNAIL_WIDTH = 160;
const PREVIEW_WIDTH = 320;

/** The hover at an offset, or null. */
export async function hover(
  a: Analysis,
  offset: number,
  deps: HoverDeps,
  token: CancellationToken,
): Promise<Hover | null> {
  const { storyboard } = a.parsed;
  // Ranges are taken before any await: a newer version of the document may reuse (and move)
  // these nodes while a media lookup is pending.
  const ref = refAt(a, offset);
  if (ref) {
    const range = a.index.rangeOf(ref.span);
    const el = findElement(storyboard, ref.name);
    const value = el
      ? await elementMarkdown(el, storyboard, deps, token)
      : `**@${ref.name}** — no \`[element ${ref.name}]\` is defined`;
    return { contents: { kind: 'markdown', value }, range };
  }
  const el = elementNameAt(a, offset);
  if (el) {
    const range = a.index.rangeOf(el.nameSpan);
    return {
      contents: { kind: 'markdown', value: await elementMarkdown(el, storyboard, deps, token) },
      range,
    };
  }

  const line = a.index.positionAt(offset).line;
  const block = blockAtLine(storyboard, line);
  if (block && block.headerLine === line && spanContains(block.headerSpan, offset)) {
    if (block.kind === 'shot')
      return markdownHover(shotMarkdown(block, storyboard, deps), a, block.headerSpan);
    if (block.kind === 'scene') {
      // Everything that reads the tree happens before the history is awaited (see above).
      const range = a.index.rangeOf(block.headerSpan);
      const markdown = sceneMarkdown(block, storyboard, deps);
      const request = buildSceneRequest(storyboard, block, '', {
        defaultProvider: deps.defaultProvider,
      });
      const history = deps.history ? await deps.history() : undefined;
      if (token.isCancellationRequested) return null;
      const estimate = estimateRequest(request, { ...deps.estimate, history });
      const cost = `Cost: **${formatEstimate(estimate)}** — estimate (${escapeMarkdown(estimate.basis)})`;
      return { contents: { kind: 'markdown', value: `${markdown}\n\n${cost}` }, range };
    }
    return null;
  }

  const ctx = lineContext(storyboard, line);
  const setting = ctx.settings?.find((s) => s.line === line);
  if (!setting) return null;
  const spec = settingSpec(setting.key);
  if (!spec) return null;
  if (spanContains(setting.keySpan, offset)) {
    const notes = [`**${spec.key}** — ${spec.description}`];
    const def = spec.defaultText ?? spec.default;
    if (def) notes.push(`Default: ${def}`);
    if (spec.klingOnly) notes.push('Sent only with `provider: kling`.');
    return markdownHover(notes.join('\n\n'), a, setting.keySpan);
  }
  if (
    (spec.kind === 'media' || spec.kind === 'media-list') &&
    spanContains(setting.valueSpan, offset)
  ) {
    const items =
      spec.kind === 'media-list'
        ? splitMediaList(setting.value, setting.valueSpan.offset)
        : [
            {
              ref: setting.value,
              offset: setting.valueSpan.offset,
              length: setting.valueSpan.length,
            },
          ];
    const item = items.find((i) => i.ref && spanContains(i, offset));
    if (!item) return null;
    const range = a.index.rangeOf({ offset: item.offset, length: item.length });
    const value = await mediaMarkdown(item.ref, deps, token, PREVIEW_WIDTH);
    return { contents: { kind: 'markdown', value }, range };
  }
  if (setting.key === CONTINUE_FROM_KEY && spanContains(setting.valueSpan, offset)) {
    const range = a.index.rangeOf(setting.valueSpan);
    const source = sceneByTitle(storyboard, setting.value);
    if (!source)
      return {
        contents: {
          kind: 'markdown',
          value: `No scene is titled “${escapeMarkdown(setting.value)}”`,
        },
        range,
      };
    const title = escapeMarkdown(source.displayTitle);
    const ref = continuityFrameRef(
      storyboard,
      storyboardNameFromPath(a.uri),
      source.index,
      deps.defaultOutput,
    );
    const image = await thumbnail(ref, deps, token, PREVIEW_WIDTH);
    const value = image
      ? `First frame: the last frame of **${title}**'s chosen take\n\n${image}\n\n\`${ref}\``
      : `First frame: the last frame of **${title}**'s chosen take — **${title}** has no take yet, so this scene is generated after it`;
    return { contents: { kind: 'markdown', value }, range };
  }
  return null;
}

function markdownHover(value: string, a: Analysis, span: Span): Hover {
  return { contents: { kind: 'markdown', value }, range: a.index.rangeOf(span) };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Markdown-safe inline text (prompts and titles are free text). */
function escapeMarkdown(s: string): string {
  return s.replace(/([\\`*_{}[\]()#+!|<>])/g, '\\$1');
}

async function elementMarkdown(
  el: ElementBlock,
  storyboard: Storyboard,
  deps: HoverDeps,
  token: CancellationToken,
): Promise<string> {
  const resolved = resolveElement(el);
  const parts = [`**@${el.name}** — element`];
  if (resolved.description) parts.push(escapeMarkdown(resolved.description));
  const thumbs: string[] = [];
  for (const img of resolved.images) {
    const t = await thumbnail(img.ref, deps, token, THUMBNAIL_WIDTH);
    if (t) thumbs.push(t);
  }
  if (resolved.frontal && !resolved.images.length) {
    const t = await thumbnail(resolved.frontal.ref, deps, token, THUMBNAIL_WIDTH);
    if (t) thumbs.push(t);
  }
  if (thumbs.length) parts.push(thumbs.join(' '));
  const facts: string[] = [];
  if (resolved.images.length) facts.push(plural(resolved.images.length, 'image'));
  if (resolved.video) facts.push(`video \`${resolved.video.ref}\``);
  if (resolved.frontal) facts.push(`frontal \`${resolved.frontal.ref}\``);
  if (resolved.id) facts.push(`id \`${resolved.id}\``);
  const scenes = storyboard.scenes.filter(
    (s) =>
      s.body.refs.some((r) => r.name === el.name) ||
      s.shots.some((sh) => sh.body.refs.some((r) => r.name === el.name)),
  );
  facts.push(`used in ${plural(scenes.length, 'scene')}`);
  parts.push(facts.join(' · '));
  return parts.join('\n\n');
}

/** `![name](file:///…|width=N)` for a local image that exists, else undefined. */
async function thumbnail(
  ref: string,
  deps: HoverDeps,
  token: CancellationToken,
  width: number,
): Promise<string | undefined> {
  if (isUrl(ref) || !deps.folder) return undefined;
  const abs = resolvePath(deps.folder, ref);
  const facts = deps.media ? await deps.media(abs, token) : undefined;
  if (!facts?.exists || !isImageFormat(facts.format)) return undefined;
  return `![${escapeMarkdown(ref)}](${markdownUri(abs)}|width=${width})`;
}

function isImageFormat(format: MediaFacts['format']): boolean {
  return (
    format === 'jpeg' ||
    format === 'png' ||
    format === 'webp' ||
    format === 'gif' ||
    format === 'bmp'
  );
}

function markdownUri(abs: string): string {
  return pathToUri(abs).replace(/\(/g, '%28').replace(/\)/g, '%29');
}

/** Preview, pixel size, bytes and format of a media reference. */
export async function mediaMarkdown(
  ref: string,
  deps: HoverDeps,
  token: CancellationToken,
  width: number,
): Promise<string> {
  if (isUrl(ref)) return `\`${ref}\` — URL, passed through unchecked`;
  if (!deps.folder) return `\`${ref}\` — save the storyboard to check its media`;
  const abs = resolvePath(deps.folder, ref);
  const facts = deps.media ? await deps.media(abs, token) : undefined;
  if (!facts) return `\`${ref}\``;
  if (!facts.exists) return `\`${ref}\` — file not found (\`${abs}\`)`;
  const bits: string[] = [];
  if (facts.width && facts.height) bits.push(`${facts.width}×${facts.height} px`);
  if (facts.bytes !== undefined) bits.push(formatBytes(facts.bytes));
  if (facts.format)
    bits.push(facts.format === 'unknown' ? 'unknown format' : facts.format.toUpperCase());
  const lines: string[] = [];
  if (isImageFormat(facts.format))
    lines.push(`![${escapeMarkdown(ref)}](${markdownUri(abs)}|width=${width})`);
  lines.push(`\`${ref}\` — ${bits.join(' · ')}`);
  return lines.join('\n\n');
}

/** Bytes for people: `812 bytes`, `234.5 KB`, `10.4 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function durationLine(scene: SceneBlock, r: ResolvedScene): string {
  const sourceText: Record<string, string> = {
    scene: 'set in the scene',
    header: 'from the header',
    shots: "the shots' sum",
    default: 'default',
  };
  let line = `Duration: **${r.duration} s** (${sourceText[r.durationSource]})`;
  if (scene.shots.length && !r.intelligence) {
    const parts = scene.shots.map((s) => `${s.duration}`).join(' + ');
    line += ` · shots ${parts} = ${r.shotSum} s`;
    if (r.durationSource === 'scene' && r.duration !== r.shotSum) {
      line += ` — shots sum to ${r.shotSum} s, scene is ${r.duration} s`;
    }
  }
  return line;
}

/** What the request sends (request.ts): kie multi-shot has sound; kling frame scenes take the frame's ratio. */
function settingsLine(r: ResolvedScene): string {
  const klingFrame = r.provider === 'kling' && (r.firstFrame || (r.lastFrame && !r.multiShot));
  const frameRatio = r.provider === 'kie' ? !r.aspectGiven && r.firstFrame : klingFrame;
  const kieMultiShot = r.provider === 'kie' && r.multiShot;
  const bits = [
    r.provider,
    r.mode,
    frameRatio ? 'aspect of the frame image' : r.aspect,
    kieMultiShot && !r.sound ? 'sound on (kie multi-shot)' : `sound ${r.sound ? 'on' : 'off'}`,
  ];
  return bits.join(' · ');
}

function elementsLine(r: ResolvedScene): string | undefined {
  const names = [
    ...r.elements.map((e) => `@${e.name}`),
    ...r.undefinedNames.map((n) => `@${n} (undefined)`),
  ];
  return names.length ? `Elements: ${names.join(', ')}` : undefined;
}

function shotMarkdown(shot: ShotBlock, storyboard: Storyboard, deps: HoverDeps): string {
  const scene = shot.sceneIndex === undefined ? undefined : storyboard.scenes[shot.sceneIndex];
  const provider = storyboardProvider(storyboard, deps.defaultProvider);
  const limit = limitsFor(provider).shotPrompt;
  if (!scene) return `**Shot** · ${shot.duration} s — outside any scene (not sent)`;
  const n = scene.shots.indexOf(shot) + 1;
  if (resolveScene(storyboard, scene, { defaultProvider: deps.defaultProvider }).intelligence)
    return `**Shot ${n} of ${scene.shots.length}** in *${escapeMarkdown(scene.displayTitle)}* — not sent: with \`shot-type: intelligence\` Kling plans the cuts from the scene's text`;
  const parts = [
    `**Shot ${n} of ${scene.shots.length}** in *${escapeMarkdown(scene.displayTitle)}* · ${shot.duration} s${shot.label ? ` · ${escapeMarkdown(shot.label)}` : ''}`,
    `Prompt: ${describeCounted(countedLength(shot.body), limit)}`,
  ];
  const r = resolveScene(storyboard, scene, { defaultProvider: deps.defaultProvider });
  parts.push(durationLine(scene, r));
  parts.push(settingsLine(r));
  const refs = [...new Set(shot.body.refs.map((x) => `@${x.name}`))];
  if (refs.length) parts.push(`Elements in this shot: ${refs.join(', ')}`);
  return parts.join('\n\n');
}

function sceneMarkdown(scene: SceneBlock, storyboard: Storyboard, deps: HoverDeps): string {
  const r = resolveScene(storyboard, scene, { defaultProvider: deps.defaultProvider });
  const limit = limitsFor(r.provider).shotPrompt;
  const parts = [`**Scene ${scene.index + 1}: ${escapeMarkdown(scene.displayTitle)}**`];
  parts.push(durationLine(scene, r));
  if (r.intelligence) {
    parts.push(
      `Prompt (shot-type: intelligence): ${describeCounted(countedLength(scene.body), PROMPT_MAX)}` +
        (scene.shots.length ? ` · ${plural(scene.shots.length, 'shot')} not sent` : ''),
    );
  } else if (scene.shots.length) {
    const rows = scene.shots.map((s, i) => {
      const label = s.label ? ` ${escapeMarkdown(s.label)}` : '';
      return `- Shot ${i + 1}${label}: ${s.duration} s, ${describeCounted(countedLength(s.body), limit)}`;
    });
    parts.push(
      `${plural(scene.shots.length, 'shot')} (at most ${limitsFor(r.provider).maxShots} on ${r.provider}):\n${rows.join('\n')}`,
    );
  } else {
    parts.push(`Prompt: ${describeCounted(countedLength(scene.body), PROMPT_MAX)}`);
  }
  parts.push(settingsLine(r));
  const els = elementsLine(r);
  if (els) parts.push(els);
  if (r.firstFrame) parts.push(`First frame: \`${r.firstFrame}\``);
  if (r.lastFrame) parts.push(`Last frame: \`${r.lastFrame}\``);
  return parts.join('\n\n');
}

// Continuity across cuts: `continue-from: <scene title>` makes a scene's first frame the last frame
// of that scene's chosen take. The frame is a file the render layer extracts with ffmpeg and keeps
// next to the source scene's takes, `<output>/<storyboard>/<scene folder>/last-frame.png`
// (server/src/render/continuity.ts); here, purely, which scene a title names, where its frame
// lives, and the diagnostics (README, "The format": continue-from).
import type { SceneBlock, Setting, Storyboard } from './ast';
import { diagnostic, type StoryboardDiagnostic } from './diagnostics';
import type { MediaLookup } from './media';
import { sceneSlugs } from './request';
import { lastSetting, outputAsWritten } from './resolve';
import { nearestName } from './suggest';

export const CONTINUE_FROM_KEY = 'continue-from';
/** The file name of a scene's continuity frame (its chosen take's last frame). */
export const CONTINUITY_FRAME_NAME = 'last-frame.png';

/** A scene that continues from another. */
export interface ContinuityLink {
  scene: SceneBlock;
  setting: Setting;
  /** The scene the title names (undefined: no such scene). */
  source?: SceneBlock;
  /** True when the link can be followed: the source exists, comes earlier, and there is no `first-frame`. */
  valid: boolean;
}

/** The scene a `continue-from` title names: the exact title first, else the same title in any case. */
export function sceneByTitle(storyboard: Storyboard, title: string): SceneBlock | undefined {
  return titleIndex(storyboard).find(title);
}

/** Title → scene lookups over one storyboard: built once, so many links stay linear. */
interface TitleIndex {
  find(title: string): SceneBlock | undefined;
}

function titleIndex(storyboard: Storyboard): TitleIndex {
  let exact: Map<string, SceneBlock> | undefined;
  let folded: Map<string, SceneBlock> | undefined;
  return {
    find(title) {
      const t = title.trim();
      if (!exact) {
        exact = new Map();
        // The first scene with a title wins, as a search from the top would find it.
        for (const s of storyboard.scenes)
          if (!exact.has(s.displayTitle)) exact.set(s.displayTitle, s);
      }
      const hit = exact.get(t);
      if (hit) return hit;
      if (!folded) {
        folded = new Map();
        for (const s of storyboard.scenes) {
          const lower = s.displayTitle.toLowerCase();
          if (!folded.has(lower)) folded.set(lower, s);
        }
      }
      return folded.get(t.toLowerCase());
    },
  };
}

/** The links of each parsed storyboard: the language server asks for them twice per check. */
const linksOf = new WeakMap<Storyboard, readonly ContinuityLink[]>();

/** Every scene with a non-empty `continue-from` (its last line wins), in scene order. */
export function continuityLinks(storyboard: Storyboard): readonly ContinuityLink[] {
  const known = linksOf.get(storyboard);
  if (known) return known;
  const out: ContinuityLink[] = [];
  // Most storyboards have no `continue-from` at all: one search of the text (native code) instead
  // of a look at every scene's settings (about 1.4 ms on a fresh server for 2,000 scenes).
  if (!storyboard.text.includes(CONTINUE_FROM_KEY)) {
    linksOf.set(storyboard, out);
    return out;
  }
  let titles: TitleIndex | undefined;
  for (const scene of storyboard.scenes) {
    const setting = lastSetting(scene.settings, CONTINUE_FROM_KEY);
    if (!setting?.value) continue;
    const source = (titles ??= titleIndex(storyboard)).find(setting.value);
    const firstFrame = lastSetting(scene.settings, 'first-frame');
    const valid = !!source && source.index < scene.index && !firstFrame?.value;
    out.push({ scene, setting, source, valid });
  }
  linksOf.set(storyboard, out);
  return out;
}

export { outputAsWritten };

/**
 * The continuity frame of a source scene, relative to the storyboard's folder (or absolute when
 * the output folder is): `<output>/<storyboard name>/<scene folder>/last-frame.png`.
 */
export function continuityFrameRef(
  storyboard: Storyboard,
  storyboardName: string,
  sourceIndex: number,
  defaultOutput?: string,
  slugs: readonly string[] = sceneSlugs(storyboard),
): string {
  const output = outputAsWritten(storyboard, defaultOutput).replace(/[\\/]+$/, '');
  return `${output}/${storyboardName}/${slugs[sourceIndex]}/${CONTINUITY_FRAME_NAME}`;
}

/** The storyboard's name from its file path or URI (the file name without `.kling`). */
export function storyboardNameFromPath(pathOrUri: string): string {
  const base =
    pathOrUri
      .replace(/[\\/]+$/, '')
      .split(/[\\/]/)
      .pop() ?? '';
  return decodeURIComponentSafe(base).replace(/\.kling$/i, '');
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The frame refs of every valid link, by dependent scene index (what the request builder sends). */
export function continuityFrames(
  storyboard: Storyboard,
  storyboardName: string,
  defaultOutput?: string,
): Map<number, { ref: string; source: SceneBlock }> {
  const out = new Map<number, { ref: string; source: SceneBlock }>();
  // The scene folders are only worked out when some scene continues from another.
  let slugs: string[] | undefined;
  for (const link of continuityLinks(storyboard)) {
    if (!link.valid || !link.source) continue;
    slugs ??= sceneSlugs(storyboard);
    out.set(link.scene.index, {
      ref: continuityFrameRef(storyboard, storyboardName, link.source.index, defaultOutput, slugs),
      source: link.source,
    });
  }
  return out;
}

export interface ContinuityCheckOptions {
  /** Facts of local files by the path as written (the continuity frame included). */
  media?: MediaLookup;
  /** The storyboard's name (file name without `.kling`); without it `continuity-pending` is not judged. */
  storyboardName?: string;
  defaultOutput?: string;
}

/** `undefined-scene`, `continuity-order`, `continuity-conflict`, `continuity-pending`. */
export function checkContinuity(
  storyboard: Storyboard,
  options: ContinuityCheckOptions = {},
): StoryboardDiagnostic[] {
  const out: StoryboardDiagnostic[] = [];
  const links = continuityLinks(storyboard);
  if (links.length === 0) return out;
  const slugs = sceneSlugs(storyboard);
  for (const link of links) {
    const { scene, setting, source } = link;
    const title = setting.value.trim();
    if (!source) {
      const suggestion = nearestName(
        title,
        storyboard.scenes.filter((s) => s !== scene).map((s) => s.displayTitle),
      );
      out.push(
        diagnostic(
          'undefined-scene',
          setting.valueSpan,
          `No scene is titled “${title}”${suggestion ? `; did you mean “${suggestion}”?` : ''}`,
          suggestion ? { suggestion } : undefined,
        ),
      );
      continue;
    }
    if (source.index >= scene.index) {
      out.push(
        diagnostic(
          'continuity-order',
          setting.valueSpan,
          source === scene
            ? 'A scene cannot continue from itself: name an earlier scene'
            : `“${source.displayTitle}” comes after this scene (scene ${source.index + 1}, this is scene ${scene.index + 1}): a scene can only continue from an earlier one`,
        ),
      );
      continue;
    }
    const firstFrame = lastSetting(scene.settings, 'first-frame');
    if (firstFrame?.value) {
      out.push(
        diagnostic(
          'continuity-conflict',
          setting.keySpan,
          `\`continue-from\` sets this scene's first frame (the last frame of “${source.displayTitle}”), and so does \`first-frame\` on line ${firstFrame.line + 1}: keep one`,
        ),
      );
      continue;
    }
    if (options.storyboardName !== undefined && options.media) {
      const ref = continuityFrameRef(
        storyboard,
        options.storyboardName,
        source.index,
        options.defaultOutput,
        slugs,
      );
      if (options.media(ref)?.exists === false) {
        out.push(
          diagnostic(
            'continuity-pending',
            setting.valueSpan,
            `“${source.displayTitle}” has no take yet: this scene starts from the last frame of its chosen take, so it is generated after “${source.displayTitle}” (Generate All does both, in order)`,
            { source: source.index },
          ),
        );
      }
    }
  }
  return out;
}

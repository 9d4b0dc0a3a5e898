// The validator: every diagnostic code of server/docs/language.md except the three the parser
// reports (which are passed through). One pass over the blocks, linear in the text. The checks
// live in validate/ by what they check: header.ts, settings.ts, elements.ts, scenes.ts; they
// share one Validation (validate/context.ts).
//
// Rules that keep "one mistake, one diagnostic":
// - an invalid block's lines get nothing (the parser swallows them);
// - a duplicate `[element]` block carries `duplicate-element` and nothing else; references
//   resolve to the first definition;
// - a setting that is unknown in its zone, or `kling`-only under `kie`, gets no value check;
// - a malformed `duration` is only `invalid-value`; an out-of-range one is only `duration-range`
//   (no `duration-mismatch`); shot sums are not range- or mismatch-checked while a shot's own
//   duration is out of 1–12 s;
// - an undefined `@NAME` is only `undefined-element`: it does not count toward
//   `too-many-elements` or `element-needs-first-frame`;
// - a `first-frame:` line with a bad value is `invalid-value`, not also `element-needs-first-frame`;
// - a `last-frame` in a multi-shot scene is `last-frame-multi-shot` only (no media or camera checks);
// - an element with `images` and `video` is `element-media-conflict`, not also `element-image-count`;
// - an empty `images:` is a wrong number of images (`element-image-count`), not `invalid-value`;
// - a misspelt `@Dgo` with a suggestion marks the suggested element as used (no `unused-element`);
// - a bad media file is wrong format (then nothing else), or any of too large / too small / aspect;
// - text in the header zone is one `header-text-ignored` (naming the settings it swallows), but a
//   look-alike setting that ends the zone is only `unknown-setting`: when nothing but settings
//   follows it, that warning names them, since fixing its key makes them settings again.

import type { ParseResult } from './ast';
import { type StoryboardDiagnostic, diagnostic } from './diagnostics';
import { readSwitch } from './settings';
import { checkContinuity, continuityFrames } from './continuity';
import { isUrl, type MediaLookup } from './media';
import { applySuppressions } from './suppress';
import { mediaDiagnostics, SOUND_KEY, type ValidateOptions, Validation } from './validate/context';
import { checkElement } from './validate/elements';
import { checkHeaderText, checkLookalikes } from './validate/header';
import { checkScene } from './validate/scenes';
import { checkSceneCached, keepChecked } from './validate/sceneCache';
import { checkSettings } from './validate/settings';

export type { ValidateOptions } from './validate/context';
export { createSceneCache, type SceneCache } from './validate/sceneCache';
export { headerText, type HeaderText, type SwallowedSetting } from './validate/header';
export { folderLeaves } from './validate/settings';

/** All diagnostics of a parsed storyboard: the parser's errors plus every check. Never throws. */
export function validateStoryboard(
  parsed: ParseResult,
  options: ValidateOptions = {},
): StoryboardDiagnostic[] {
  const run = beginValidation(parsed, options);
  const out = run.finish(options.media);
  run.keep();
  return out;
}

/** A validation whose checks have run, waiting for the facts of the media files they name. */
export interface ValidationRun {
  /**
   * The local files the rest depends on, by the path as written, each once, in the order the
   * checks named them (elements before scenes): those the media checks name (URLs left out),
   * then the `continue-from` frames.
   */
  readonly mediaRefs: readonly string[];
  /**
   * The complete list: the checks' diagnostics, the media diagnostics by the facts `media` knows
   * (a file not known yet gets none), `continuity-pending`, then suppressions. Cheap next to the
   * checks, and callable again with more facts (the list is built anew each time).
   */
  finish(media: MediaLookup | undefined): StoryboardDiagnostic[];
  /**
   * Puts the scenes this run checked into the scene cache (ValidateOptions.sceneCache), so the
   * next run reuses them (each was checked to the end, even in a run cancelled since). Not needed
   * for this run's result: the language service calls it once that result is published
   * (validate/sceneCache.ts).
   */
  keep(): void;
}

/**
 * Runs every check that does not read media facts — all but the media diagnostics and
 * `continuity-pending` — so the language service can read the files the run names meanwhile
 * (service.ts), and re-judge only those when a file changes.
 */
export function beginValidation(parsed: ParseResult, options: ValidateOptions): ValidationRun {
  const v = new Validation(parsed.storyboard, options);
  for (const e of parsed.errors) v.out.push(diagnostic(e.code, e.span, e.message));
  run(v);
  return new Run(v, options);
}

// A class, not an object literal with a getter closure: with the literal, every run and its parse
// tree stayed in the heap until the next full collection (measured: the bench's 1 MB rounds
// promoted each tree to the old generation, scavenges took 8–10 ms instead of 1–3, and the
// parse + validate / JSON.parse ratio spread over 0.7–2.8 instead of 1.3–1.9).
class Run implements ValidationRun {
  private refs: string[] | undefined;

  constructor(
    private readonly v: Validation,
    private readonly options: ValidateOptions,
  ) {}

  // Worked out when asked (validateStoryboard does not ask): most checks name the same files.
  get mediaRefs(): readonly string[] {
    if (this.refs) return this.refs;
    const { v, options } = this;
    const named = new Set<string>(v.mediaNamed.keys());
    if (options.storyboardName !== undefined && v.sb.scenes.length) {
      for (const f of continuityFrames(
        v.sb,
        options.storyboardName,
        options.defaultOutput,
      ).values())
        named.add(f.ref);
    }
    return (this.refs = [...named].filter((ref) => !isUrl(ref)));
  }

  finish(media: MediaLookup | undefined): StoryboardDiagnostic[] {
    const { v, options } = this;
    const out = v.out.slice();
    if (media) mediaDiagnostics(v.mediaChecks, v.mediaNamed, media, out);
    if (!v.cancelled()) out.push(...checkContinuity(v.sb, { ...options, media }));
    // Suppressions apply to the complete list only: a cancelled run would call them unused.
    return v.cancelled() ? out : applySuppressions(v.sb, out);
  }

  keep(): void {
    const cache = this.options.sceneCache;
    if (cache) keepChecked(this.v, cache);
  }
}

/** The order of the checks: header, elements, scenes, then what needs all of them. */
function run(v: Validation): void {
  // Header `duration` range and `negative` length are checked here once, on the header
  // line, rather than once per scene that inherits them.
  checkSettings(v, v.sb.headerSettings, 'header');
  const headerSound = v.lastOf(SOUND_KEY);
  if (headerSound && readSwitch(headerSound.value) === false) v.headerSoundOff = headerSound;
  checkHeaderText(v);

  for (const element of v.sb.elements) {
    if (v.cancelled()) return;
    if (v.elements.get(element.name) !== element) {
      v.out.push(
        diagnostic(
          'duplicate-element',
          element.headerSpan,
          `Element \`${element.name}\` is already defined on line ${v.elements.get(element.name)!.headerLine + 1}; this block is ignored`,
        ),
      );
      v.silentLines.push({ from: element.headerLine, to: element.endLine });
      continue;
    }
    checkElement(v, element);
  }

  const cache = v.options.sceneCache;
  for (const scene of v.sb.scenes) {
    if (v.cancelled()) return;
    if (cache) checkSceneCached(v, scene, cache);
    else checkScene(v, scene);
  }

  checkLookalikes(v);

  for (const element of v.elements.values()) {
    if (!v.used.has(element.name)) {
      v.out.push(
        diagnostic(
          'unused-element',
          element.headerSpan,
          `Element \`${element.name}\` is never referenced: write @${element.name} in a prompt to send it`,
        ),
      );
    }
  }
}

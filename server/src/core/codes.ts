// What each diagnostic code means and how to fix it, for tools that list rules (the CLI's SARIF
// output). The severities live in diagnostics.ts; a code added there without an entry here
// fails the typecheck.

import type { DiagnosticCode } from './diagnostics';

/** One line on when the code is reported, and one on what to do about it. */
export interface CodeDoc {
  summary: string;
  help: string;
}

export const CODE_DOCS: Record<DiagnosticCode, CodeDoc> = {
  syntax: {
    summary: 'Malformed block header (e.g. `[shot four]`, a missing `]`).',
    help: 'Write headers as `[element NAME]`, `[scene TITLE]` or `[shot Ns]`; the block below a malformed header is ignored until it is fixed.',
  },
  'unknown-block': {
    summary: 'A block kind other than element, scene or shot.',
    help: 'Use `[element …]`, `[scene …]` or `[shot …]`; the quick fix offers the nearest kind.',
  },
  'unknown-setting': {
    summary:
      'A key not valid in its zone (the line is not sent), or the line ending a settings zone written like a setting (`Duration: 10`) with a value the real key allows (it is text).',
    help: 'Fix the spelling (the message suggests the nearest key) or move the setting to a zone where it is valid.',
  },
  'invalid-value': {
    summary: 'A value not of the form the setting allows (`mode: ultra`, `duration: ten`).',
    help: 'Use one of the values the hover and completion list for the setting.',
  },
  'duplicate-setting': {
    summary: 'The same key twice in one zone; the last one wins.',
    help: 'Remove the line that is not meant.',
  },
  'unsupported-setting': {
    summary:
      'A key the provider does not take (a Kling-only key with provider kie); it is not sent.',
    help: 'Remove it, or switch the storyboard to `provider: kling`.',
  },
  'shot-outside-scene': {
    summary: 'A `[shot]` before any `[scene]`.',
    help: 'Put a `[scene TITLE]` header above the shot.',
  },
  'empty-scene': {
    summary: 'A scene with no prompt text and no shots.',
    help: 'Write the prompt below the scene header, or add `[shot Ns]` blocks.',
  },
  'empty-shot': {
    summary: 'A shot with no prompt text.',
    help: 'Write the prompt below the shot header, or remove the shot.',
  },
  'scene-text-ignored': {
    summary: 'A scene has shots and body text; the text is not sent.',
    help: 'Move the text into a shot, or turn it into a comment.',
  },
  'header-text-ignored': {
    summary:
      'Text before the first block; it is never sent and turns the header settings below it into text.',
    help: 'Turn the text into comments, or move the settings above it.',
  },
  'shot-too-long': {
    summary:
      'A shot prompt longer than the provider allows (500 on KIE, 512 on Kling; each @element counts 37).',
    help: 'Shorten the prompt; the message gives the counted length.',
  },
  'prompt-too-long': {
    summary: 'A single-shot prompt longer than 2500 characters.',
    help: 'Shorten the prompt.',
  },
  'negative-too-long': {
    summary: 'A negative prompt longer than 2500 characters.',
    help: 'Shorten the negative prompt.',
  },
  'too-many-shots': {
    summary: 'More shots in a scene than the provider allows (5 on KIE, 6 on Kling).',
    help: 'Merge shots or split the scene in two.',
  },
  'shot-duration-range': {
    summary: 'A shot shorter than 1 s or longer than 12 s.',
    help: 'Give the shot 1–12 seconds.',
  },
  'duration-range': {
    summary: 'A scene total outside 3–15 s.',
    help: 'Set `duration` (or the shot durations) so that the scene lasts 3–15 seconds.',
  },
  'duration-mismatch': {
    summary: "The scene's `duration` differs from the sum of its shots.",
    help: 'Make `duration` the sum of the shots (quick fix), or remove it.',
  },
  'undefined-element': {
    summary: '`@NAME` with no `[element NAME]`.',
    help: 'Fix the spelling (the message suggests the nearest name) or define the element (quick fix).',
  },
  'unused-element': {
    summary: 'An element that no prompt references; it is not sent.',
    help: 'Reference it as `@NAME` in a prompt, or remove it.',
  },
  'duplicate-element': {
    summary: 'An element whose name is already defined above; this block is ignored.',
    help: 'Rename one of the two elements, or remove the later one.',
  },
  'too-many-elements': {
    summary: 'A scene references more than 3 distinct elements.',
    help: 'Use at most 3 elements per scene.',
  },
  'element-needs-first-frame': {
    summary: 'A scene references elements but has no `first-frame`.',
    help: 'Add `first-frame:` with an image to the scene (quick fix).',
  },
  'element-no-media': {
    summary: 'An element with nothing to send.',
    help: 'Give it `images:` (KIE) or an `id:` (Kling); a `frontal:` alone is expanded by Expand Element Views.',
  },
  'element-media-conflict': {
    summary: 'An element with both `images` and `video`.',
    help: 'Keep one of the two.',
  },
  'element-image-count': {
    summary: 'An element whose `images` are not 2–4 files.',
    help: 'List 2 to 4 images.',
  },
  'element-needs-id': {
    summary: 'Provider kling and an element without `id`.',
    help: "Add the element's `id:` from Kling's element library.",
  },
  'media-not-found': {
    summary: 'A local media file that does not exist.',
    help: 'Fix the path (relative to the storyboard) or add the file.',
  },
  'media-format': {
    summary: 'A file of the wrong type, judged by its bytes (images: JPG/PNG; videos: MP4/MOV).',
    help: 'Convert the file to an accepted format.',
  },
  'media-too-large': {
    summary: 'An image over 10 MB or a video over 50 MB.',
    help: 'Compress or scale the file down.',
  },
  'image-too-small': {
    summary: 'An image with a side under 300 px.',
    help: 'Use an image at least 300 px on each side.',
  },
  'image-aspect': {
    summary: 'An image whose aspect is outside 1:2.5 – 2.5:1.',
    help: 'Crop the image to an aspect between 1:2.5 and 2.5:1.',
  },
  'last-frame-multi-shot': {
    summary: '`last-frame` in a scene with shots.',
    help: 'Remove `last-frame` (quick fix) or make the scene single-shot.',
  },
  'camera-conflict': {
    summary: '`camera` together with `last-frame` on Kling.',
    help: 'Remove one of the two.',
  },
  'setting-in-text': {
    summary:
      'A body line written as a setting the block accepts, below the first prompt line: it is prompt text.',
    help: 'Move the setting up into the settings zone (quick fix); shots take no settings.',
  },
  'last-frame-needs-first-frame': {
    summary: 'KIE: a single-shot scene with `last-frame` and no `first-frame`.',
    help: 'Add a `first-frame` (quick fix), or remove `last-frame`.',
  },
  'sound-forced-on': {
    summary: 'KIE: a multi-shot scene with sound off; the video will have sound.',
    help: 'Set `sound: on`, or make the scene single-shot.',
  },
  'shots-ignored': {
    summary: '`shot-type: intelligence` in a scene with shots; the shots are not sent.',
    help: 'Change to `shot-type: customize` (quick fix), or remove the shots.',
  },
  'shot-type-needs-shots': {
    summary: '`shot-type: customize` in a scene without shots.',
    help: 'Remove `shot-type` (quick fix), or add `[shot Ns]` blocks.',
  },
  'aspect-ignored': {
    summary: "Kling: a scene's own `aspect` with a frame image; it is not sent.",
    help: 'Remove `aspect`: the video takes the ratio of the frame image.',
  },
  'unconfirmed-setting': {
    summary:
      "A setting that is sent although the provider's documents do not confirm the model takes it.",
    help: 'Nothing is dropped; remove the setting if the result ignores it.',
  },
  'output-outside': {
    summary: "`output` resolves outside the storyboard's folder.",
    help: "Use a folder inside the storyboard's folder, e.g. `output: renders`.",
  },
  'unused-suppression': {
    summary: 'A `# kling-ignore:` code that silences nothing on the next line.',
    help: 'Remove the code (quick fix), or move the comment to the line above the diagnostic.',
  },
  'undefined-scene': {
    summary: '`continue-from` names no scene of the storyboard.',
    help: 'Write the title of an earlier scene exactly (the message suggests the nearest one).',
  },
  'continuity-order': {
    summary: '`continue-from` names this scene or one that comes after it.',
    help: 'A scene can only continue from an earlier scene: name one above it, or move the scenes.',
  },
  'continuity-conflict': {
    summary: 'A scene sets both `continue-from` and `first-frame`; both decide its first frame.',
    help: 'Keep one of the two.',
  },
  'continuity-pending': {
    summary:
      'The scene named by `continue-from` has no finished take yet, so this scene has no first frame yet.',
    help: 'Generate the source scene first (Generate All and `kling-storyboard render` run it first, then this one).',
  },
};

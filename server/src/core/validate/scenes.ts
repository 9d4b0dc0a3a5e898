// Scenes and their shots: prompts, durations, frames, sound, aspect, shot-type and the elements
// a scene sends (every scene code of server/docs/language.md not about a single setting's value).

import type { Body, ElementRef, SceneBlock, Setting, Span } from '../ast';
import { diagnostic } from '../diagnostics';
import {
  MAX_ELEMENTS,
  PROMPT_MAX,
  SCENE_DURATION,
  SHOT_DURATION,
  countedLength,
  countedLengthBound,
  describeCounted,
} from '../limits';
import { readCamera, readDuration, readEnum, readSwitch } from '../settings';
import {
  ASPECT_KEY,
  CAMERA_KEY,
  CONTINUE_FROM_KEY,
  DURATION_KEY,
  FIRST_FRAME_KEY,
  LAST_FRAME_KEY,
  SHOT_TYPE_KEY,
  SOUND_KEY,
  SPECS,
  type Validation,
} from './context';
import { checkSettings, checkSettingsInText } from './settings';

/** What a scene sends, as the request builder decides it (resolve.ts). */
interface SceneShape {
  /** The scene has `[shot]` blocks. */
  multi: boolean;
  /** `shot-type: intelligence` on kling: the scene text is the prompt, the shots are not sent. */
  intelligence: boolean;
  /** The scene's own text is sent (single-shot, or intelligence). */
  sendsText: boolean;
  /** The scene's `shot-type` line and its value when it counts (kling, valid), else undefined. */
  shotTypeLine: Setting | undefined;
  shotType: string | undefined;
}

/** Every check of one scene and its shots. */
export function checkScene(v: Validation, scene: SceneBlock): void {
  checkSettings(v, scene.settings, 'scene');
  const shotTypeLine = v.lastOf(SHOT_TYPE_KEY);
  const shotType =
    v.provider === 'kling' && shotTypeLine
      ? readEnum(SPECS[SHOT_TYPE_KEY], shotTypeLine.value, v.provider)
      : undefined;
  const multi = scene.shots.length > 0;
  const intelligence = shotType === 'intelligence';
  const shape: SceneShape = {
    multi,
    intelligence,
    sendsText: !multi || intelligence,
    shotTypeLine,
    shotType,
  };
  checkSceneText(v, scene, shape);
  checkShotType(v, scene, shape);
  if (multi && !intelligence) {
    const shots = checkShots(v, scene);
    if (!shots) return;
    if (!shots.outOfRange) checkShotSum(v, scene, shots.sum);
  }
  checkFrames(v, scene, shape);
  checkSound(v, scene, multi);
  checkSentElements(v, scene, shape);
}

/** The scene's own text: sent as the prompt, or not sent at all (`scene-text-ignored`). */
function checkSceneText(v: Validation, scene: SceneBlock, shape: SceneShape): void {
  const body = scene.body;
  if (shape.sendsText && !body.text) {
    v.out.push(
      diagnostic(
        'empty-scene',
        scene.headerSpan,
        shape.multi
          ? `Scene \`${scene.displayTitle}\` has no prompt: with \`shot-type: intelligence\` the scene's own text is the prompt, write it below the settings`
          : `Scene \`${scene.displayTitle}\` has no prompt and no shots: write what happens below the settings`,
      ),
    );
  }
  if (!shape.sendsText) {
    if (body.text && body.span) {
      v.out.push(
        diagnostic(
          'scene-text-ignored',
          body.span,
          'This text is not sent: the scene has shots, and each shot sends its own text (move it into a shot or make it a # comment)',
        ),
      );
    }
    if (body.lineCount) v.unsentTextLines.add(body.lineAt(0).line);
    return;
  }
  checkSettingsInText(v, body, 'scene');
  // The UTF-16 length bounds the counted length from above: count code points only past it.
  if (body.text && countedLengthBound(body) > PROMPT_MAX) {
    const counted = countedLength(body);
    if (counted.length > PROMPT_MAX) {
      v.out.push(
        diagnostic(
          'prompt-too-long',
          scene.headerSpan,
          `${shape.intelligence ? 'Prompt (the scene text, shot-type: intelligence)' : 'Prompt'} is ${describeCounted(counted, PROMPT_MAX)}`,
        ),
      );
    }
  }
}

/** `shots-ignored` and `shot-type-needs-shots`: a `shot-type` that does not match the scene. */
function checkShotType(v: Validation, scene: SceneBlock, shape: SceneShape): void {
  const n = scene.shots.length;
  if (shape.intelligence && shape.multi) {
    v.out.push(
      diagnostic(
        'shots-ignored',
        shape.shotTypeLine!.valueSpan,
        `With \`shot-type: intelligence\` Kling plans the cuts from the scene's text: the ${n} [shot] block${n === 1 ? ' is' : 's are'} not sent`,
        { shots: n },
      ),
    );
  }
  if (shape.shotType === 'customize' && !shape.multi) {
    v.out.push(
      diagnostic(
        'shot-type-needs-shots',
        shape.shotTypeLine!.valueSpan,
        "`shot-type: customize` sends the scene's [shot] blocks, and this scene has none: it is sent as a single shot",
      ),
    );
  }
}

/** Each sent shot; the sum of their durations, or undefined when cancelled. */
function checkShots(
  v: Validation,
  scene: SceneBlock,
): { sum: number; outOfRange: boolean } | undefined {
  const { limits, provider } = v;
  const shots = scene.shots;
  let sum = 0;
  let outOfRange = false;
  for (let i = 0; i < shots.length; i++) {
    if (v.cancelled()) return undefined;
    const shot = shots[i];
    sum += shot.duration;
    if (i === limits.maxShots) {
      v.out.push(
        diagnostic(
          'too-many-shots',
          shot.headerSpan,
          `${shots.length} shots, at most ${limits.maxShots} on ${provider}`,
          { max: limits.maxShots },
        ),
      );
    }
    if (shot.duration < SHOT_DURATION.min || shot.duration > SHOT_DURATION.max) {
      outOfRange = true;
      v.out.push(
        diagnostic(
          'shot-duration-range',
          shot.durationSpan,
          `Shot is ${shot.duration} s; a shot lasts ${SHOT_DURATION.min}–${SHOT_DURATION.max} s`,
        ),
      );
    }
    if (!shot.body.text) {
      v.out.push(
        diagnostic('empty-shot', shot.headerSpan, 'Shot has no prompt: write what happens in it'),
      );
    } else if (countedLengthBound(shot.body) > limits.shotPrompt) {
      const counted = countedLength(shot.body);
      if (counted.length > limits.shotPrompt) {
        v.out.push(
          diagnostic(
            'shot-too-long',
            shot.headerSpan,
            `Shot prompt is ${describeCounted(counted, limits.shotPrompt)} on ${provider}`,
          ),
        );
      }
    }
    checkSettingsInText(v, shot.body, 'shot');
  }
  return { sum, outOfRange };
}

/** `duration-mismatch` / `duration-range` of a multi-shot scene whose shots are each in range. */
function checkShotSum(v: Validation, scene: SceneBlock, sum: number): void {
  const durationLine = v.lastOf(DURATION_KEY);
  const own = durationLine ? readDuration(durationLine.value) : undefined;
  if (own !== undefined) {
    if (own >= SCENE_DURATION.min && own <= SCENE_DURATION.max && own !== sum) {
      v.out.push(
        diagnostic(
          'duration-mismatch',
          durationLine!.valueSpan,
          `Shots sum to ${sum} s, scene is ${own} s`,
          { sum },
        ),
      );
    }
  } else if (!durationLine && (sum < SCENE_DURATION.min || sum > SCENE_DURATION.max)) {
    v.out.push(
      diagnostic(
        'duration-range',
        scene.headerSpan,
        `Shots sum to ${sum} s; a scene lasts ${SCENE_DURATION.min}–${SCENE_DURATION.max} s`,
      ),
    );
  }
}

/** Frames and what depends on them: `last-frame-multi-shot`, `camera-conflict`, `aspect-ignored`, the frame files. */
function checkFrames(v: Validation, scene: SceneBlock, shape: SceneShape): void {
  const { provider } = v;
  const multi = shape.multi;
  const lastFrame = v.lastOf(LAST_FRAME_KEY);
  const firstFrame = v.lastOf(FIRST_FRAME_KEY);
  const camera = v.lastOf(CAMERA_KEY);
  if (multi && lastFrame?.value) {
    v.out.push(
      diagnostic(
        'last-frame-multi-shot',
        lastFrame.keySpan,
        '`last-frame` only works in a single-shot scene: a scene with shots sends only a first frame',
      ),
    );
  }
  if (
    !multi &&
    provider === 'kling' &&
    camera &&
    readCamera(camera.value) !== undefined &&
    lastFrame?.value
  ) {
    const later = camera.line > lastFrame.line ? camera : lastFrame;
    v.out.push(
      diagnostic(
        'camera-conflict',
        later.keySpan,
        '`camera` cannot be combined with `last-frame`: remove one of them',
      ),
    );
  }
  if (firstFrame?.value) v.checkMedia(firstFrame.value, firstFrame.valueSpan, 'image');
  if (lastFrame?.value && !multi) v.checkMedia(lastFrame.value, lastFrame.valueSpan, 'image');
  // Kling's image-to-video takes the frame's ratio: a scene's own `aspect` is not sent.
  const aspect = v.lastOf(ASPECT_KEY);
  if (
    provider === 'kling' &&
    aspect &&
    readEnum(SPECS[ASPECT_KEY], aspect.value, provider) !== undefined &&
    (firstFrame?.value || v.lastOf(CONTINUE_FROM_KEY)?.value || (lastFrame?.value && !multi))
  ) {
    v.out.push(
      diagnostic(
        'aspect-ignored',
        aspect.keySpan,
        `\`aspect: ${aspect.value}\` is not sent: with a ${firstFrame?.value || v.lastOf(CONTINUE_FROM_KEY)?.value ? 'first' : 'last'} frame Kling makes an image-to-video, which takes the frame image's ratio`,
        { key: 'aspect' },
      ),
    );
  }
}

/**
 * The elements a scene sends (`too-many-elements`, `element-needs-first-frame`) and, on kie, a
 * last frame without a first (`last-frame-needs-first-frame`, unless the elements already ask for
 * the first frame: one diagnostic for the one missing line).
 */
function checkSentElements(v: Validation, scene: SceneBlock, shape: SceneShape): void {
  const { provider } = v;
  const body = scene.body;
  // A `continue-from` scene has a first frame too (the source's last frame).
  const hasFirstFrame = !!v.lastOf(FIRST_FRAME_KEY) || !!v.lastOf(CONTINUE_FROM_KEY)?.value;
  const lastFrame = v.lastOf(LAST_FRAME_KEY);
  // References: the sent ones decide the element count and the first-frame rule; those in
  // ignored scene text are still checked for spelling (ignored shots get nothing of their own).
  let distinct: ElementRef[] | undefined;
  const sceneNumber = ++v.scenesChecked;
  if (shape.intelligence) {
    for (const shot of scene.shots) v.useAll(shot.body);
    distinct = checkSentRefs(v, body, sceneNumber, distinct);
  } else if (shape.multi) {
    for (let i = 0, n = body.refCount; i < n; i++) v.checkRef(body.refAt(i));
    for (const shot of scene.shots) distinct = checkSentRefs(v, shot.body, sceneNumber, distinct);
  } else {
    distinct = checkSentRefs(v, body, sceneNumber, distinct);
  }
  if (distinct && distinct.length > MAX_ELEMENTS) {
    v.out.push(
      diagnostic(
        'too-many-elements',
        distinct[MAX_ELEMENTS].span,
        `${distinct.length} elements referenced, at most ${MAX_ELEMENTS} per scene (${distinct.map((d) => '@' + d.name).join(', ')})`,
      ),
    );
  }
  if (distinct && !hasFirstFrame) {
    const names = distinct.map((d) => '@' + d.name).join(', ');
    const why =
      provider === 'kie'
        ? 'kie sends elements only together with a first frame image'
        : 'kling sends elements only with image-to-video, which needs a first frame';
    v.out.push(
      diagnostic(
        'element-needs-first-frame',
        scene.headerSpan,
        `Scene references ${names} but has no \`first-frame\`: ${why}`,
        { sceneIndex: scene.index },
      ),
    );
  } else if (provider === 'kie' && !shape.multi && lastFrame?.value && !hasFirstFrame) {
    v.out.push(
      diagnostic(
        'last-frame-needs-first-frame',
        lastFrame.keySpan,
        '`last-frame` needs a `first-frame` on kie: KIE takes frames as `image_urls` = [first, last], so a last frame alone cannot be sent',
        { sceneIndex: scene.index },
      ),
    );
  }
}

/**
 * `sound-forced-on`: on kie a multi-shot scene has sound whatever it says (`false` must not be
 * sent). Sits on the scene's `sound` line, else on the header when the off comes from there.
 */
function checkSound(v: Validation, scene: SceneBlock, multi: boolean): void {
  if (v.provider !== 'kie' || !multi) return;
  const own = v.lastOf(SOUND_KEY);
  const ownValue = own ? readSwitch(own.value) : undefined;
  let off: Span | undefined;
  let where = 'this scene';
  if (ownValue !== undefined) {
    if (!ownValue) off = own!.valueSpan;
  } else if (v.headerSoundOff) {
    off = scene.headerSpan;
    where = `the header (line ${v.headerSoundOff.line + 1})`;
  }
  if (!off) return;
  v.out.push(
    diagnostic(
      'sound-forced-on',
      off,
      `Sound is off in ${where}, but on kie a multi-shot scene (${scene.shots.length} shots) always has sound: sound off is not sent to KIE, so the video will have sound (and may cost more)`,
    ),
  );
}

/** Checks sent references; adds the first reference of each defined element new to this scene. */
function checkSentRefs(
  v: Validation,
  body: Body,
  sceneNumber: number,
  distinct: ElementRef[] | undefined,
): ElementRef[] | undefined {
  for (let i = 0, n = body.refCount; i < n; i++) {
    const ref = body.refAt(i);
    if (!v.checkRef(ref) || v.sentInScene.get(ref.name) === sceneNumber) continue;
    v.sentInScene.set(ref.name, sceneNumber);
    (distinct ??= []).push(ref);
  }
  return distinct;
}

// Scene → the exact provider request (server/docs/providers.md). Pure and
// deterministic: the same text gives the same body, key order included, so a preview can be
// shown before anything is spent and an interrupted submission can be recognised by its hash.
// Local media are left as placeholders with a slot list; the engine fills them (KIE: uploaded
// URL, Kling: raw base64) and hashes them by content.

import type { Provider, SceneBlock, Storyboard } from './ast';
import { continuityFrames, continuityLinks } from './continuity';
import { isUrl } from './media';
import { elementsByName, resolveElement, resolveScene, type ResolveOptions } from './resolve';
import type { CameraControl } from './settings';

export type Endpoint = 'kie.createTask' | 'kling.text2video' | 'kling.image2video';

/** Where a local file goes in the body: a JSON path and the reference as written. */
export interface MediaSlot {
  /** Keys and array indexes from the body root to the string to replace. */
  path: (string | number)[];
  /** The media reference as written in the storyboard (relative to its folder, or absolute). */
  ref: string;
  kind: 'image' | 'video';
}

export interface SceneRequest {
  sceneIndex: number;
  sceneTitle: string;
  /** Folder-safe name of the scene, unique within the storyboard. */
  sceneSlug: string;
  provider: Provider;
  endpoint: Endpoint;
  /** The body to send; local media appear as `<to upload: REF>` (kie) or `<base64 of REF>` (kling). */
  body: Record<string, unknown>;
  /** Local media the engine must resolve before sending (URLs are already in the body). */
  media: MediaSlot[];
  /** Output folder as written (header `output`, else `renders`), relative to the storyboard. */
  output: string;
  /** Why this scene cannot be sent as is (empty when it can). */
  problems: string[];
  /** Things the preview should mention (a setting that cannot be expressed on this provider). */
  notes: string[];
}

export interface BuildOptions extends ResolveOptions {
  /** Scene indexes to build; default all. */
  scenes?: number[];
  /**
   * How `@name` appears in Kling prompts: `numbered` rewrites it to Kling's documented
   * `<<<element_N>>>` (N = position in `element_list`; that kling-v3 uses this form is
   * unconfirmed), `as-written` leaves `@name`. Default `numbered`. KIE always keeps `@name`.
   */
  klingRefStyle?: 'numbered' | 'as-written';
  /**
   * Where `continue-from` frames are (core/continuity.ts): with it, such a scene's first frame is
   * `<output>/<storyboardName>/<source scene folder>/last-frame.png`; without it, the request
   * has no first frame and a note says what will be sent.
   */
  continuity?: { storyboardName: string; defaultOutput?: string };
}

/** The placeholder a local file shows in a body before the engine resolves it. */
export function mediaPlaceholder(provider: Provider, ref: string): string {
  return provider === 'kie' ? `<to upload: ${ref}>` : `<base64 of ${ref}>`;
}

/** Builds the request of every (or the selected) scene of a parsed storyboard. */
export function buildRequests(storyboard: Storyboard, options: BuildOptions = {}): SceneRequest[] {
  const slugs = sceneSlugs(storyboard);
  const wanted = options.scenes ? new Set(options.scenes) : undefined;
  const out: SceneRequest[] = [];
  const links = new Map(continuityLinks(storyboard).map((l) => [l.scene.index, l]));
  const frames = options.continuity
    ? continuityFrames(
        storyboard,
        options.continuity.storyboardName,
        options.continuity.defaultOutput,
      )
    : undefined;
  for (const scene of storyboard.scenes) {
    if (wanted && !wanted.has(scene.index)) continue;
    const link = links.get(scene.index);
    const frame = frames?.get(scene.index)?.ref;
    const sr = buildSceneRequest(storyboard, scene, slugs[scene.index]!, options, frame);
    if (link && !link.valid)
      sr.problems.push(
        `continue-from: ${link.source ? (link.source.index >= scene.index ? `“${link.source.displayTitle}” is not an earlier scene` : 'the scene also has a first-frame') : `no scene is titled “${link.setting.value}”`}`,
      );
    else if (link && !frame)
      sr.notes.push(
        `The first frame is the last frame of “${link.source!.displayTitle}”'s chosen take, added when the scene is generated.`,
      );
    out.push(sr);
  }
  return out;
}

/** Folder-safe slugs for every scene, in scene order; duplicates get `-2`, `-3`, … */
export function sceneSlugs(storyboard: Storyboard): string[] {
  const used = new Map<string, number>();
  return storyboard.scenes.map((scene) => {
    const base = slugify(scene.title) || `scene-${scene.index + 1}`;
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    return n === 1 ? base : `${base}-${n}`;
  });
}

/** Lowercase ASCII words joined by `-` (accents dropped), at most 60 characters. */
export function slugify(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/g, '');
}

/**
 * The Kling `external_task_id` for a request hash and take: deterministic, so a create whose
 * answer was lost can be looked up, and different per take, so a new take is a new task.
 */
export function externalTaskIdFor(requestHash: string, take: number): string {
  return `ksb-${requestHash.slice(0, 32)}-t${take}`;
}

/** Builds one scene's request. */
export function buildSceneRequest(
  storyboard: Storyboard,
  scene: SceneBlock,
  sceneSlug: string,
  options: BuildOptions = {},
  continuityFrame?: string,
): SceneRequest {
  const elements = elementsByName(storyboard);
  const r = resolveScene(storyboard, scene, options, elements);
  // `continue-from`: the source's last frame is this scene's first frame (core/continuity.ts).
  if (continuityFrame !== undefined && r.firstFrame === undefined) r.firstFrame = continuityFrame;
  const media: MediaSlot[] = [];
  const problems: string[] = [];
  const notes: string[] = [];
  for (const name of r.undefinedNames) problems.push(`@${name} is not defined`);
  if ((scene.shots.length === 0 || r.intelligence) && scene.body.text === '')
    problems.push('the scene has no prompt');
  if (!r.intelligence)
    for (const shot of scene.shots)
      if (shot.body.text === '') problems.push('a shot has no prompt');

  /** A media value: URLs pass through; local files become a placeholder plus a slot. */
  const mediaValue = (ref: string, kind: 'image' | 'video', path: (string | number)[]): string => {
    if (isUrl(ref)) return ref;
    media.push({ path, ref, kind });
    return mediaPlaceholder(r.provider, ref);
  };

  const base = {
    sceneIndex: scene.index,
    sceneTitle: scene.displayTitle,
    sceneSlug,
    provider: r.provider,
    output: r.output,
    media,
    problems,
    notes,
  };

  if (r.provider === 'kie') {
    const input: Record<string, unknown> = {};
    if (r.multiShot) {
      input.multi_shots = true;
      input.multi_prompt = scene.shots.map((s) => ({ prompt: s.body.text, duration: s.duration }));
      input.duration = String(r.shotSum);
      // KIE: sound defaults to on with multi-shot and `false` is not documented there.
      if (r.sound) input.sound = true;
      else notes.push('KIE multi-shot scenes always have sound; `sound: off` is not sent.');
    } else {
      input.multi_shots = false;
      input.prompt = scene.body.text;
      input.sound = r.sound;
      input.duration = String(r.duration);
    }
    input.mode = r.mode;
    const frames: string[] = [];
    if (r.firstFrame) frames.push(r.firstFrame);
    if (r.lastFrame && !r.multiShot) {
      if (r.firstFrame) frames.push(r.lastFrame);
      else problems.push('on kie a last-frame needs a first-frame');
    }
    if (!r.firstFrame || r.aspectGiven) input.aspect_ratio = r.aspect;
    if (frames.length)
      input.image_urls = frames.map((f, i) => mediaValue(f, 'image', ['input', 'image_urls', i]));
    if (r.cfgScale !== undefined) input.cfg_scale = r.cfgScale;
    if (r.elements.length) {
      input.kling_elements = r.elements.map((block, i) => {
        const e = resolveElement(block);
        const item: Record<string, unknown> = {
          name: e.name,
          description: e.description || e.name,
        };
        if (e.video) {
          item.element_input_video_urls = [
            mediaValue(e.video.ref, 'video', [
              'input',
              'kling_elements',
              i,
              'element_input_video_urls',
              0,
            ]),
          ];
        } else {
          item.element_input_urls = e.images.map((img, j) =>
            mediaValue(img.ref, 'image', ['input', 'kling_elements', i, 'element_input_urls', j]),
          );
          if (e.images.length === 0) problems.push(`@${e.name} has no images or video to send`);
        }
        return item;
      });
    }
    return { ...base, endpoint: 'kie.createTask', body: { model: 'kling-3.0/video', input } };
  }

  // Kling official: image2video whenever a frame image is given, else text2video.
  const i2v = r.firstFrame !== undefined || (r.lastFrame !== undefined && !r.multiShot);
  const numbered = new Map<string, number>();
  if (i2v && (options.klingRefStyle ?? 'numbered') === 'numbered') {
    let n = 0;
    for (const block of r.elements) {
      const e = resolveElement(block);
      if (e.id && /^\d+$/.test(e.id)) numbered.set(e.name, ++n);
    }
  }
  const klingPrompt = (text: string) => rewriteRefs(text, numbered);
  const body: Record<string, unknown> = { model_name: 'kling-v3' };
  if (r.intelligence) {
    // The model plans the cuts: the scene's own text is the prompt; its [shot] blocks are not sent.
    body.multi_shot = true;
    body.shot_type = 'intelligence';
    body.prompt = klingPrompt(scene.body.text);
    if (scene.shots.length)
      notes.push(
        `shot-type: intelligence: the scene's ${scene.shots.length} [shot] block${scene.shots.length === 1 ? ' is' : 's are'} not sent; Kling plans the cuts from the scene text.`,
      );
  } else if (r.multiShot) {
    body.multi_shot = true;
    body.shot_type = 'customize';
    body.multi_prompt = scene.shots.map((s, i) => ({
      index: i + 1,
      prompt: klingPrompt(s.body.text),
      duration: String(s.duration),
    }));
  } else {
    body.multi_shot = false;
    body.prompt = klingPrompt(scene.body.text);
  }
  if (r.negative !== undefined) body.negative_prompt = r.negative;
  body.sound = r.sound ? 'on' : 'off';
  if (r.cfgScale !== undefined) body.cfg_scale = r.cfgScale;
  body.mode = r.mode;
  if (!i2v) body.aspect_ratio = r.aspect;
  else if (r.aspectGiven)
    notes.push(
      `aspect ${r.aspect} is not sent: Kling's image-to-video takes the ratio of the frame image.`,
    );
  body.duration = String(r.multiShot && !r.intelligence ? r.shotSum : r.duration);
  if (r.camera) body.camera_control = cameraControl(r.camera);
  body.watermark_info = { enabled: r.watermark };
  if (i2v) {
    if (r.firstFrame) body.image = mediaValue(r.firstFrame, 'image', ['image']);
    if (r.lastFrame && !r.multiShot)
      body.image_tail = mediaValue(r.lastFrame, 'image', ['image_tail']);
  }
  if (r.elements.length) {
    if (!i2v) problems.push('on kling, elements are sent only with a first-frame (image-to-video)');
    const list: { element_id: number | string }[] = [];
    for (const block of r.elements) {
      const e = resolveElement(block);
      if (!e.id || !/^\d+$/.test(e.id)) {
        problems.push(`@${e.name} has no element id (add \`id:\` from Kling's element library)`);
        continue;
      }
      const n = Number(e.id);
      list.push({ element_id: Number.isSafeInteger(n) ? n : e.id });
    }
    if (i2v && list.length) body.element_list = list;
  }
  return { ...base, endpoint: i2v ? 'kling.image2video' : 'kling.text2video', body };
}

/** `@name` → `<<<element_N>>>` for the names in `numbers` (longest name match, as the parser reads refs). */
function rewriteRefs(text: string, numbers: Map<string, number>): string {
  if (numbers.size === 0) return text;
  return text.replace(/@([A-Za-z_][A-Za-z0-9_]*)/g, (whole, name: string) => {
    const n = numbers.get(name);
    return n === undefined ? whole : `<<<element_${n}>>>`;
  });
}

function cameraControl(camera: CameraControl): Record<string, unknown> {
  if (camera.type === 'simple') {
    const config: Record<string, number> = {
      horizontal: 0,
      vertical: 0,
      pan: 0,
      tilt: 0,
      roll: 0,
      zoom: 0,
    };
    config[camera.axis] = camera.amount;
    return { type: 'simple', config };
  }
  return { type: camera.type };
}

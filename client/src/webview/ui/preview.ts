// Browser side of the storyboard preview: one row per scene, shots as cards whose widths are
// proportional to their durations (on one scale for all scenes, 15 s = full width), element chips
// with thumbnails, frame thumbnails, diagnostics counts and the latest take.
import type {
  ElementView,
  MediaView,
  PreviewModel,
  PreviewPersisted,
  PreviewToWebview,
  SceneView,
} from '../messages';
import { StoryboardPlayer } from './player';
import { h, render, vscodeApi } from './lib/dom';

const MAX_SCENE_SECONDS = 15;
const vscode = vscodeApi<PreviewPersisted>();
const player = new StoryboardPlayer();
const initial = readInitial();
if (initial) vscode.setState(initial);
let elements = new Map<string, ElementView>();
let latestModel: PreviewModel | undefined;

window.addEventListener('message', (event: MessageEvent<PreviewToWebview>) => {
  const model = event.data;
  if (model?.type !== 'model') return;
  latestModel = model;
  elements = new Map(model.elements.map((e) => [e.name, e]));
  player.update(model.scenes);
  render(
    h(
      'header',
      { className: 'toolbar' },
      h('h1', {}, model.title),
      h(
        'span',
        { className: 'muted' },
        `${model.scenes.length} scene${model.scenes.length === 1 ? '' : 's'} · ${model.totalDuration} s in all`,
      ),
      model.totalCost
        ? h(
            'span',
            {
              className: 'muted total-cost',
              title:
                'What generating every scene would pay, by estimate: a scene whose unchanged request already has a take reuses it and is not charged',
            },
            model.totalCost,
          )
        : undefined,
      model.scenes.length
        ? h(
            'button',
            {
              className: 'play-storyboard',
              title:
                'Play the chosen takes in order; a scene without a take shows its first frame (or its title) for its duration',
              onclick: () => player.start(latestModel?.scenes ?? []),
            },
            '▶ Play storyboard',
          )
        : undefined,
    ),
    player.element(),
    model.elements.length
      ? h(
          'div',
          { className: 'chips elements', 'aria-label': 'Elements' },
          ...model.elements.map((e) => chip(e.name, e.line)),
        )
      : undefined,
    model.scenes.length
      ? h('div', { className: 'rows' }, ...model.scenes.map(sceneRow))
      : h('p', { className: 'muted' }, 'No scenes yet. Type [scene Title] to start one.'),
  );
});

function reveal(line: number): void {
  vscode.postMessage({ type: 'reveal', line });
}

function chip(name: string, fallbackLine: number): HTMLElement {
  const el = elements.get(name);
  return h(
    'button',
    {
      className: `chip${el ? '' : ' chip-missing'}`,
      title: el ? el.description || `@${name}` : `@${name} is not defined`,
      onclick: (e: Event) => {
        e.stopPropagation();
        reveal(el?.line ?? fallbackLine);
      },
    },
    el?.thumb?.src
      ? h('img', { src: el.thumb.src, alt: '' })
      : h('span', { className: 'chip-icon' }, el?.hasVideo ? '🎞' : '@'),
    `@${name}`,
  );
}

function frame(label: string, media: MediaView | undefined): HTMLElement | undefined {
  if (!media) return undefined;
  return h(
    'button',
    { className: 'frame', title: `${label}: ${media.value}`, onclick: () => reveal(media.line) },
    media.src
      ? h('img', { src: media.src, alt: `${label} ${media.value}` })
      : h('span', { className: 'frame-missing' }, '?'),
    h('span', { className: 'frame-label' }, label),
  );
}

function sceneRow(scene: SceneView): HTMLElement {
  const shots = scene.shots.length
    ? scene.shots
    : [
        {
          duration: scene.duration,
          label: scene.shotsLabel,
          prompt: scene.prompt,
          line: scene.line,
          elementNames: scene.elementNames,
        },
      ];
  const timelineWidth = Math.min(100, (Math.max(scene.duration, 1) / MAX_SCENE_SECONDS) * 100);
  const meta = [
    `${scene.duration} s`,
    scene.mode,
    scene.provider,
    scene.sound ? 'sound' : 'silent',
  ].join(' · ');
  return h(
    'section',
    { className: 'scene-row', 'data-scene': scene.index },
    h(
      'div',
      { className: 'scene-info' },
      h('button', { className: 'scene-title', onclick: () => reveal(scene.line) }, scene.title),
      h('div', { className: 'muted' }, meta),
      scene.cost
        ? h('div', { className: 'muted scene-cost', title: scene.cost.basis }, scene.cost.text)
        : undefined,
      h(
        'div',
        { className: 'counts' },
        scene.errors
          ? h(
              'span',
              { className: 'badge badge-failed' },
              `${scene.errors} error${scene.errors === 1 ? '' : 's'}`,
            )
          : undefined,
        scene.warnings
          ? h(
              'span',
              { className: 'badge badge-warning' },
              `${scene.warnings} warning${scene.warnings === 1 ? '' : 's'}`,
            )
          : undefined,
        !scene.errors && !scene.warnings
          ? h('span', { className: 'badge badge-done' }, 'no problems')
          : undefined,
      ),
      h(
        'div',
        { className: 'frames' },
        frame('first', scene.firstFrame),
        frame('last', scene.lastFrame),
      ),
      latest(scene),
    ),
    h(
      'div',
      { className: 'timeline', style: `width: ${timelineWidth}%` },
      ...shots.map((shot, i) =>
        h(
          'div',
          {
            className: 'shot-card',
            style: `flex: ${Math.max(shot.duration, 0.5)} 1 0`,
            role: 'button',
            tabindex: 0,
            title: `Shot ${i + 1}: ${shot.duration} s — click to show it in the editor`,
            onclick: () => reveal(shot.line),
            onkeydown: (e: Event) => {
              if ((e as KeyboardEvent).key === 'Enter') reveal(shot.line);
            },
          },
          h(
            'div',
            { className: 'shot-head' },
            h('strong', {}, `${shot.duration} s`),
            shot.label ? h('span', { className: 'muted' }, shot.label) : undefined,
          ),
          h('p', { className: 'shot-prompt' }, shot.prompt || '(no text)'),
          shot.elementNames.length
            ? h('div', { className: 'chips' }, ...shot.elementNames.map((n) => chip(n, shot.line)))
            : undefined,
        ),
      ),
    ),
  );
}

function latest(scene: SceneView): HTMLElement | undefined {
  const take = scene.latestTake;
  const used = scene.chosenTake;
  const usedNote = used
    ? h(
        'span',
        {
          className: 'badge badge-chosen',
          title:
            used.by === 'choice'
              ? 'Chosen with “Use this take” in the results panel'
              : 'The latest finished take (no take was chosen)',
        },
        `🎬 take ${used.take}${used.by === 'choice' ? ' (chosen)' : ''}`,
      )
    : undefined;
  if (!take) {
    return scene.errors
      ? undefined
      : h(
          'button',
          {
            className: 'secondary small',
            onclick: () => vscode.postMessage({ type: 'generate', sceneIndex: scene.index }),
          },
          '▶ Generate',
        );
  }
  return h(
    'div',
    { className: 'latest' },
    take.videoSrc
      ? h('video', {
          src: take.videoSrc,
          controls: true,
          preload: 'metadata',
          className: 'thumb-video',
        })
      : undefined,
    h(
      'button',
      {
        className: 'secondary small',
        title: take.error ?? '',
        onclick: () =>
          vscode.postMessage({ type: 'showResults', sceneIndex: scene.index, take: take.take }),
      },
      take.state === 'done' ? `▶ Take ${take.take}` : `Take ${take.take}: ${take.state}`,
    ),
    usedNote,
  );
}

function readInitial(): PreviewPersisted | undefined {
  try {
    const raw = document.getElementById('initial-state')?.textContent;
    const parsed = raw ? (JSON.parse(raw) as PreviewPersisted | null) : null;
    return parsed && typeof parsed.documentUri === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

vscode.postMessage({ type: 'ready' });

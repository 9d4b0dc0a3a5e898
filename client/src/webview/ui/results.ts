// Browser side of the results panel: draws the takes the extension sends, ticks elapsed times of
// running takes, and lets two takes play side by side (compare mode).
import type { ResultsPersisted, ResultsToWebview, SceneResultsView, TakeView } from '../messages';
import { formatSeconds, h, render, vscodeApi } from './lib/dom';

const vscode = vscodeApi<ResultsPersisted>();
let state: ResultsToWebview | undefined;
let clockSkewMs = 0;
const compare = new Set<string>();
const FINAL = new Set(['done', 'failed', 'cancelled', 'unknown-submit']);

window.addEventListener('message', (event: MessageEvent<ResultsToWebview>) => {
  const msg = event.data;
  if (msg?.type !== 'state') return;
  state = msg;
  clockSkewMs = msg.now - Date.now();
  vscode.setState({ storyboardPath: msg.storyboardPath });
  draw();
  if (msg.focus) scrollToFocus(msg.focus.sceneIndex, msg.focus.take);
});

// Elapsed times of running takes move every second without a round trip to the extension.
setInterval(() => {
  for (const el of Array.from(document.querySelectorAll<HTMLElement>('[data-since]'))) {
    const since = Number(el.dataset.since);
    el.textContent = formatSeconds((Date.now() + clockSkewMs - since) / 1000);
  }
}, 1000);

function draw(): void {
  if (!state) return;
  if (!state.storyboardPath) {
    render(
      h('p', { className: 'muted' }, 'Open a .kling storyboard and run “Kling: Show Results”.'),
    );
    return;
  }
  const takes = new Map<string, TakeView>();
  for (const s of state.scenes) for (const t of s.takes) takes.set(t.key, t);
  for (const key of [...compare]) if (!takes.get(key)?.videoSrc) compare.delete(key);
  render(
    h(
      'header',
      { className: 'toolbar' },
      h('h1', {}, `Results — ${state.storyboardName}`),
      h(
        'span',
        { className: 'muted' },
        compare.size
          ? `${compare.size}/2 takes selected for comparison`
          : 'Tick “Compare” on two takes to see them side by side.',
      ),
    ),
    compareView(takes),
    state.scenes.length
      ? h('div', { className: 'scenes' }, ...state.scenes.map(sceneView))
      : h('p', { className: 'muted' }, 'No takes yet. Use ▶ Generate above a scene.'),
  );
}

function compareView(takes: Map<string, TakeView>): HTMLElement | undefined {
  if (compare.size !== 2 || !state) return undefined;
  const chosen = [...compare].map((k) => takes.get(k)!);
  const titleOf = (t: TakeView) =>
    state!.scenes.find((s) => s.takes.some((x) => x.key === t.key))?.title ?? '';
  const videos = chosen.map((t) =>
    h('video', { src: t.videoSrc, controls: true, preload: 'metadata', className: 'player' }),
  );
  return h(
    'section',
    { className: 'compare', 'aria-label': 'Compare two takes' },
    h(
      'div',
      { className: 'compare-row' },
      ...chosen.map((t, i) =>
        h('figure', {}, videos[i], h('figcaption', {}, `${titleOf(t)} — take ${t.take}`)),
      ),
    ),
    h(
      'div',
      { className: 'actions' },
      h(
        'button',
        {
          onclick: () => {
            for (const v of videos) {
              v.currentTime = 0;
              void v.play();
            }
          },
        },
        '▶ Play both from the start',
      ),
      h(
        'button',
        { className: 'secondary', onclick: () => (compare.clear(), draw()) },
        'Close comparison',
      ),
    ),
  );
}

function sceneView(scene: SceneResultsView): HTMLElement {
  const takes = [...scene.takes].sort((a, b) => b.take - a.take || b.createdAt - a.createdAt);
  return h(
    'section',
    { className: 'scene', id: `scene-${scene.sceneIndex}` },
    h(
      'h2',
      {},
      h(
        'a',
        {
          href: '#',
          title: 'Show this scene in the storyboard',
          onclick: (e: Event) => {
            e.preventDefault();
            vscode.postMessage({ type: 'openStoryboard', sceneIndex: scene.sceneIndex });
          },
        },
        scene.title,
      ),
      h(
        'button',
        {
          className: 'secondary small',
          onclick: () => vscode.postMessage({ type: 'newTake', sceneIndex: scene.sceneIndex }),
        },
        '↻ New take',
      ),
    ),
    h('div', { className: 'takes' }, ...takes.map(takeView)),
  );
}

function takeView(t: TakeView): HTMLElement {
  const running = !FINAL.has(t.state);
  const since = t.submittedAt ?? t.createdAt;
  const timing: (HTMLElement | string)[] = [];
  if (running)
    timing.push(
      'elapsed ',
      h('span', { 'data-since': since }, formatSeconds((Date.now() + clockSkewMs - since) / 1000)),
    );
  else if (t.finishedAt) timing.push(`took ${formatSeconds((t.finishedAt - since) / 1000)}`);
  const checkbox = h('input', {
    type: 'checkbox',
    disabled: !t.videoSrc,
    checked: compare.has(t.key),
    onchange: (e: Event) => {
      const on = (e.target as HTMLInputElement).checked;
      if (on) {
        if (compare.size >= 2) compare.delete([...compare][0]);
        compare.add(t.key);
      } else compare.delete(t.key);
      draw();
    },
  });
  return h(
    'article',
    { className: `take state-${t.state}`, id: `take-${t.key}`, 'data-take': t.take },
    h(
      'div',
      { className: 'take-head' },
      h('strong', {}, `Take ${t.take}`),
      h('span', { className: `badge badge-${t.state}` }, t.state),
      t.chosen
        ? h(
            'span',
            {
              className: 'badge badge-chosen',
              title: 'The storyboard preview and the cut use this take',
            },
            '✓ used in the cut',
          )
        : undefined,
      h('span', { className: 'muted' }, ...timing),
      h('label', { className: 'compare-toggle' }, checkbox, ' Compare'),
    ),
    t.videoSrc
      ? h('video', { src: t.videoSrc, controls: true, preload: 'metadata', className: 'player' })
      : t.state === 'done'
        ? h(
            'p',
            { className: 'warning' },
            'The video file is missing or outside the output folder.',
          )
        : undefined,
    t.hasSound && t.videoSrc
      ? h(
          'p',
          { className: 'note' },
          `This take has sound (AAC). VS Code’s built-in player cannot play AAC audio, so it plays silently here — ${state?.labels.soundAdvice ?? ''}`,
        )
      : undefined,
    t.error ? h('p', { className: 'error' }, t.error) : undefined,
    h(
      'dl',
      { className: 'facts' },
      h('dt', {}, 'Provider'),
      h('dd', {}, `${t.provider} (${t.endpoint})`),
      h('dt', {}, 'Task id'),
      h('dd', {}, h('code', {}, t.taskId ?? '—')),
      h('dt', {}, 'Created'),
      h('dd', {}, new Date(t.createdAt).toLocaleString()),
      h('dt', {}, 'Cost'),
      h(
        'dd',
        { className: 'take-cost' },
        t.cost ?? (t.state === 'done' ? 'not reported by the provider' : '—'),
      ),
      t.videoName ? h('dt', {}, 'File') : undefined,
      t.videoName ? h('dd', {}, t.videoName) : undefined,
    ),
    t.prompt
      ? h(
          'details',
          {},
          h('summary', {}, 'Prompt sent'),
          h('pre', { className: 'prompt' }, t.prompt),
        )
      : undefined,
    t.videoSrc
      ? h(
          'div',
          { className: 'actions' },
          t.chosen
            ? undefined
            : h(
                'button',
                {
                  className: 'use-take',
                  title: 'Use this take in the storyboard preview, its playback and the cut',
                  onclick: () => vscode.postMessage({ type: 'useTake', key: t.key }),
                },
                'Use this take',
              ),
          h(
            'button',
            { onclick: () => vscode.postMessage({ type: 'reveal', key: t.key }) },
            state?.labels.reveal ?? 'Reveal',
          ),
          h(
            'button',
            {
              className: 'secondary',
              onclick: () => vscode.postMessage({ type: 'openExternal', key: t.key }),
            },
            state?.labels.open ?? 'Open',
          ),
        )
      : undefined,
  );
}

function scrollToFocus(sceneIndex: number, take?: number): void {
  const scene = document.getElementById(`scene-${sceneIndex}`);
  const target =
    (take !== undefined ? scene?.querySelector<HTMLElement>(`[data-take="${take}"]`) : undefined) ??
    scene;
  if (!target) return;
  target.scrollIntoView({ block: 'start' });
  target.classList.add('focused');
  setTimeout(() => target.classList.remove('focused'), 1600);
}

vscode.postMessage({ type: 'ready' });

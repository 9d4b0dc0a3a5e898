// ▶ Play storyboard: the scenes' chosen takes in order in one player, the scene title shown, and a
// timeline whose marks are the scene boundaries. A scene without a take (or whose video cannot be
// played here) shows its first frame, else a title card, for its duration: an animatic.
import type { SceneView } from '../messages';
import { h } from './lib/dom';

export class StoryboardPlayer {
  private root?: HTMLElement;
  private scenes: SceneView[] = [];
  private index = -1;
  private timer?: ReturnType<typeof setTimeout>;
  private ticker?: ReturnType<typeof setInterval>;
  /** When the current still started (ms), for the playhead. */
  private stillStart = 0;
  private readonly video: HTMLVideoElement;
  private readonly still: HTMLImageElement;
  private readonly card: HTMLElement;
  private readonly caption: HTMLElement;
  private readonly timeline: HTMLElement;
  private readonly playhead: HTMLElement;

  constructor() {
    this.video = h('video', { className: 'film-video', preload: 'auto', playsinline: true });
    this.video.addEventListener('ended', () => this.next());
    // A take that cannot be played here (codec, deleted file) falls back to a still.
    this.video.addEventListener('error', () => {
      if (this.index >= 0 && this.video.getAttribute('src')) this.showStill(this.index);
    });
    this.still = h('img', { className: 'film-still', alt: '' });
    this.card = h('div', { className: 'film-card' });
    this.caption = h('div', { className: 'film-caption', 'aria-live': 'polite' });
    this.playhead = h('div', { className: 'film-playhead' });
    this.timeline = h('div', { className: 'film-timeline' });
  }

  /** The player section while it is open (kept across re-renders so playback goes on). */
  element(): HTMLElement | undefined {
    return this.root;
  }

  /** Opens the player and plays from the first scene. */
  start(scenes: SceneView[]): void {
    this.scenes = scenes;
    this.root ??= h(
      'section',
      { className: 'film', 'aria-label': 'Storyboard playback' },
      h('div', { className: 'film-stage' }, this.video, this.still, this.card),
      this.caption,
      this.timeline,
      h(
        'div',
        { className: 'actions' },
        h('button', { className: 'secondary small', onclick: () => this.play(0) }, '⟲ Restart'),
        h('button', { className: 'secondary small', onclick: () => this.close() }, '■ Close'),
      ),
    );
    if (!this.root.isConnected) document.getElementById('app')?.prepend(this.root);
    this.drawTimeline();
    clearInterval(this.ticker);
    this.ticker = setInterval(() => this.movePlayhead(), 200);
    this.play(0);
  }

  /** New document model: later scenes play with their new takes; the timeline is redrawn. */
  update(scenes: SceneView[]): void {
    if (!this.root) return;
    this.scenes = scenes;
    if (this.index >= scenes.length) this.close();
    else this.drawTimeline();
  }

  private total(): number {
    return this.scenes.reduce((n, s) => n + Math.max(0, s.duration), 0) || 1;
  }

  private offsetOf(i: number): number {
    let n = 0;
    for (let k = 0; k < i; k++) n += Math.max(0, this.scenes[k]!.duration);
    return n;
  }

  private drawTimeline(): void {
    const total = this.total();
    const parts = this.scenes.map((s, i) =>
      h(
        'button',
        {
          className: `film-segment${i === this.index ? ' current' : ''}${s.chosenTake?.videoSrc ? '' : ' no-take'}`,
          style: `flex: ${Math.max(s.duration, 0.1)} 1 0`,
          title: `${s.title} · ${s.duration} s${s.chosenTake ? ` · take ${s.chosenTake.take}` : ' · no take yet'}`,
          'data-scene': i,
          onclick: () => this.play(i),
        },
        s.title,
      ),
    );
    // Marks at the scene boundaries (not at 0 and the end).
    const marks = this.scenes.slice(1).map((_, k) =>
      h('span', {
        className: 'film-mark',
        style: `left: ${(this.offsetOf(k + 1) / total) * 100}%`,
      }),
    );
    this.timeline.replaceChildren(...parts, ...marks, this.playhead);
  }

  private play(i: number): void {
    clearTimeout(this.timer);
    this.video.pause();
    if (i >= this.scenes.length) {
      this.index = this.scenes.length;
      this.caption.textContent = 'End of the storyboard';
      this.root?.setAttribute('data-scene-index', 'end');
      this.movePlayhead();
      return;
    }
    this.index = i;
    const scene = this.scenes[i]!;
    this.root?.setAttribute('data-scene-index', String(i));
    for (const seg of Array.from(this.timeline.querySelectorAll('.film-segment')))
      seg.classList.toggle('current', seg.getAttribute('data-scene') === String(i));
    const src = scene.chosenTake?.videoSrc;
    if (src) {
      this.setCaption(scene, `take ${scene.chosenTake!.take}`);
      this.still.hidden = true;
      this.card.hidden = true;
      this.video.hidden = false;
      this.video.src = src;
      this.video.currentTime = 0;
      void this.video.play().catch(() => {
        // Autoplay refused or no decoder: the still stands in, so the sequence still moves on.
        if (this.index === i && this.video.paused) this.showStill(i);
      });
    } else this.showStill(i);
  }

  /** Shows the scene's first frame (or a title card) for its duration, then moves on. */
  private showStill(i: number): void {
    const scene = this.scenes[i]!;
    clearTimeout(this.timer);
    this.video.pause();
    this.video.removeAttribute('src');
    this.video.hidden = true;
    const frame = scene.firstFrame?.src;
    this.still.hidden = !frame;
    if (frame) this.still.src = frame;
    this.card.hidden = !!frame;
    this.card.replaceChildren(h('strong', {}, scene.title), h('span', {}, `${scene.duration} s`));
    this.setCaption(scene, frame ? 'first frame (no take yet)' : 'title card (no take yet)');
    this.stillStart = Date.now();
    this.timer = setTimeout(() => this.next(), Math.max(0.1, scene.duration) * 1000);
  }

  private setCaption(scene: SceneView, what: string): void {
    this.caption.textContent = `${this.index + 1}/${this.scenes.length} · ${scene.title} · ${what}`;
  }

  private next(): void {
    if (this.index >= 0 && this.index < this.scenes.length) this.play(this.index + 1);
  }

  private movePlayhead(): void {
    if (!this.root) return;
    const total = this.total();
    let at = this.offsetOf(Math.min(this.index, this.scenes.length));
    if (this.index >= 0 && this.index < this.scenes.length) {
      const d = this.scenes[this.index]!.duration;
      const within = this.video.hidden
        ? (Date.now() - this.stillStart) / 1000
        : this.video.currentTime;
      at += Math.min(d, Math.max(0, within));
    }
    this.playhead.style.setProperty('left', `${Math.min(100, (at / total) * 100)}%`);
  }

  private close(): void {
    clearTimeout(this.timer);
    clearInterval(this.ticker);
    this.video.pause();
    this.video.removeAttribute('src');
    this.root?.remove();
    this.root = undefined;
    this.index = -1;
  }
}

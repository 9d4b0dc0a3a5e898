// From storyboard to film in the browser end-to-end suite (run by run.mjs in its main workbench,
// once scene 1 has two takes and the storyboard preview is open): "Use this take" in the results
// panel (badge, CodeLens, the choice on disk), ▶ Play storyboard in the preview (the player moves
// on to the second scene), and Kling: Export Cut (an MP4 with one video and one audio stream whose
// length is the scenes' durations, and cut.json naming the chosen take). The fake API serves real
// MP4s made with ffmpeg (test/fake-server/videos.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from './codeserver/with-code-server.mjs';

/** The first file called `name` under `dir` (depth-first), or undefined. */
function findFile(dir, name) {
  if (!existsSync(dir)) return undefined;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isFile() && entry.name === name) return full;
    if (entry.isDirectory() && entry.name !== 'node_modules') {
      const hit = findFile(full, name);
      if (hit) return hit;
    }
  }
  return undefined;
}

/** Duration and stream counts of a media file, from ffprobe. */
function probe(file) {
  const json = JSON.parse(
    execFileSync('ffprobe', [
      ...['-v', 'error', '-show_entries', 'format=duration:stream=codec_type', '-of', 'json'],
      file,
    ]).toString(),
  );
  return {
    duration: Number(json.format.duration),
    video: json.streams.filter((s) => s.codec_type === 'video').length,
    audio: json.streams.filter((s) => s.codec_type === 'audio').length,
  };
}

/**
 * Adds the film checks to `suite`. `ctx`: wb (Workbench), cs (its code-server), facts
 * (exampleFacts), needs (checks that left scene 1 with two takes and the preview open).
 */
export async function filmChecks(suite, { wb, cs, facts, needs }) {
  const check = suite.check.bind(suite);
  const { page } = wb;
  const scene = facts.scenes[0];
  let chosenTake;

  const choose = 'results panel: "Use this take" makes an older take the one the scene uses';
  await check(
    choose,
    async () => {
      await wb.clearNotifications().catch(() => {});
      await wb.gotoLine(facts.file, scene.line);
      await wb.runCommand('Kling: Show Results');
      // The oldest take with a "Use this take" button (the newest is used by default).
      const { frame, value: take } = await wb.inWebviews(
        () => {
          const takes = [...document.querySelectorAll('#scene-0 article.take')].filter((a) =>
            a.querySelector('button.use-take'),
          );
          const numbers = takes.map((a) => Number(a.getAttribute('data-take')));
          return numbers.length && document.querySelector('#scene-0 .badge-chosen')
            ? Math.min(...numbers)
            : undefined;
        },
        undefined,
        { timeoutMs: 20_000, what: 'the results page with a take to choose in scene 1' },
      );
      chosenTake = take;
      await frame.locator(`#scene-0 article.take[data-take="${take}"] button.use-take`).click();
      await waitFor(
        () =>
          frame.evaluate(
            (n) =>
              !!document.querySelector(`#scene-0 article.take[data-take="${n}"] .badge-chosen`) &&
              !document.querySelector(`#scene-0 article.take[data-take="${n}"] button.use-take`),
            take,
          ),
        { timeoutMs: 15_000, what: `take ${take} marked as used in the results page` },
      );
      const stored = await waitFor(
        () => {
          const file = findFile(cs.ws, '.chosen-takes.json');
          if (!file) return undefined;
          const json = JSON.parse(readFileSync(file, 'utf8'));
          const boards = Object.values(json.storyboards ?? {});
          return boards.some((b) => Object.values(b).some((c) => c.take === take))
            ? path.relative(cs.ws, file)
            : undefined;
        },
        { timeoutMs: 10_000, what: `take ${take} in .chosen-takes.json` },
      );
      await wb.gotoLine(facts.file, scene.line);
      const lens = await waitFor(
        async () =>
          (await wb.codeLensTexts()).find((t) => t.includes(`Cut uses take ${take} (chosen)`)),
        { timeoutMs: 20_000, what: `the CodeLens "Cut uses take ${take} (chosen)"` },
      );
      await suite.snap('use-this-take');
      return `take ${take}: badge in the results page, ${stored}, CodeLens "${lens}"`;
    },
    { needs },
  );

  await check(
    'storyboard preview: ▶ Play storyboard plays the chosen take and moves on to the second scene',
    async () => {
      if (facts.scenes.length < 2) throw new Error('the example has fewer than two scenes');
      // The results panel opened beside covers the preview: bring the preview back to the front.
      await wb.gotoLine(facts.file, 1);
      await wb.runCommand('Kling: Open Storyboard Preview');
      const { frame } = await wb.inWebviews(
        () => !!document.querySelector('button.play-storyboard'),
        undefined,
        { timeoutMs: 20_000, what: 'the storyboard preview with "▶ Play storyboard"' },
      );
      await frame.locator('button.play-storyboard').click();
      const first = await waitFor(
        () =>
          frame.evaluate(() => {
            const film = document.querySelector('section.film');
            if (film?.getAttribute('data-scene-index') !== '0') return undefined;
            const video = film.querySelector('video.film-video');
            return {
              caption: film.querySelector('.film-caption')?.textContent ?? '',
              marks: film.querySelectorAll('.film-mark').length,
              segments: film.querySelectorAll('.film-segment').length,
              src: video?.getAttribute('src') ?? '',
            };
          }),
        { timeoutMs: 15_000, what: 'the player on scene 1' },
      );
      if (!first.caption.includes(scene.title) || !first.caption.includes(`take ${chosenTake}`))
        throw new Error(`scene 1 caption is "${first.caption}"`);
      if (!first.src.includes(`take-${chosenTake}.mp4`))
        throw new Error(`scene 1 plays ${first.src}, not take ${chosenTake}`);
      if (first.segments !== facts.scenes.length || first.marks !== facts.scenes.length - 1)
        throw new Error(`timeline: ${first.segments} segments, ${first.marks} marks`);
      await suite.snap('play-storyboard-scene-1');
      const second = await waitFor(
        () =>
          frame.evaluate(() => {
            const film = document.querySelector('section.film');
            return film?.getAttribute('data-scene-index') === '1'
              ? (film.querySelector('.film-caption')?.textContent ?? '')
              : undefined;
          }),
        { timeoutMs: 60_000, intervalMs: 200, what: 'the player on scene 2' },
      );
      if (!second.includes(facts.scenes[1].title))
        throw new Error(`scene 2 caption is "${second}"`);
      await suite.snap('play-storyboard-scene-2');
      return `"${first.caption}" → "${second}"; ${first.marks} scene marks`;
    },
    { needs },
  );

  await check(
    'Kling: Export Cut writes cut.mp4 (1 video + 1 audio stream, the scenes’ length) and cut.json',
    async () => {
      await wb.clearNotifications().catch(() => {});
      await wb.gotoLine(facts.file, 1);
      await wb.runCommand('Kling: Export Cut');
      const toast = await wb.toastShowing(/cut written to/, 180_000);
      const out = findFile(cs.ws, 'cut.mp4');
      if (!out) throw new Error(`no cut.mp4 under ${cs.ws} (toast: ${toast.text})`);
      const sidecar = JSON.parse(readFileSync(out.replace(/\.mp4$/, '.json'), 'utf8'));
      const first = sidecar.scenes[0];
      if (first.scene !== scene.title || first.take !== chosenTake)
        throw new Error(`cut.json starts with ${JSON.stringify(first)}`);
      if (sidecar.scenes.length !== facts.scenes.length)
        throw new Error(`cut.json lists ${sidecar.scenes.length} scenes`);
      const p = probe(out);
      const expected = sidecar.scenes.reduce((n, s) => n + s.seconds, 0);
      if (p.video !== 1 || p.audio !== 1)
        throw new Error(`${p.video} video / ${p.audio} audio streams`);
      if (Math.abs(p.duration - expected) > 0.25)
        throw new Error(`cut lasts ${p.duration} s, the scenes ${expected} s`);
      await suite.snap('export-cut');
      return `${path.relative(cs.ws, out)}: ${p.duration.toFixed(2)} s (scenes ${expected} s), ${sidecar.mode}; "${toast.text.slice(0, 90)}"`;
    },
    { needs },
  );
  void page;
}

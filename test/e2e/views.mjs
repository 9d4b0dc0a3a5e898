// Storyboard preview and inline preview checks of the browser end-to-end suite (run by run.mjs in
// its main workbench, once the storyboard preview is open): the preview follows typing without any
// command, clicking a shot card moves the editor's cursor to the shot, element chips show their
// thumbnails, and the editor shows the pixel size after a media path.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from './codeserver/with-code-server.mjs';

/** 1-based line numbers of the `[shot …]` headers of the storyboard, in order. */
function shotHeaderLines(file) {
  return readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .flatMap((l, i) => (/^\s*\[shot\b/.test(l) ? [i + 1] : []));
}

/** The first `first-frame:` path of the storyboard and its 1-based line. */
function firstFrameRef(file) {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  const i = lines.findIndex((l) => /^\s*first-frame:\s*\S/.test(l));
  if (i < 0) throw new Error(`no first-frame: line in ${file}`);
  return { value: lines[i].replace(/^\s*first-frame:\s*/, '').trim(), line: i + 1 };
}

/** The inline preview's text for a PNG, as client/src/inlinePreviews.ts formats it. */
function pngDescription(bytes) {
  if (bytes.toString('latin1', 12, 16) !== 'IHDR') throw new Error('not a PNG');
  const size =
    bytes.length < 1024
      ? `${bytes.length} B`
      : bytes.length < 1024 * 1024
        ? `${Math.round(bytes.length / 1024)} KB`
        : `${(bytes.length / (1024 * 1024)).toFixed(1)} MB`;
  return `${bytes.readUInt32BE(16)}×${bytes.readUInt32BE(20)} · PNG · ${size}`;
}

/**
 * Adds the preview and inline preview checks to `suite`. `ctx`: wb (Workbench), cs (its
 * code-server), facts (exampleFacts), needs (the check that opened the storyboard preview).
 */
export async function viewChecks(suite, { wb, cs, facts, needs }) {
  const check = suite.check.bind(suite);
  const { page } = wb;
  const storyboard = path.join(cs.ws, facts.file);
  const isPreview = () => !!document.querySelector('.timeline .shot-card');
  const previewFrame = async () =>
    (await wb.inWebviews(isPreview, undefined, { timeoutMs: 15_000, what: 'the preview page' }))
      .frame;
  const shotPrompts = () =>
    [...document.querySelectorAll('.shot-card .shot-prompt')].map((p) => p.textContent ?? '');

  await check(
    'storyboard preview: typing in a shot updates it, with no command run',
    async () => {
      const frame = await previewFrame();
      const marker = 'zqxpreviewmark';
      await wb.gotoLine(facts.file, facts.firstShotBodyLine);
      await page.keyboard.type(` ${marker}`);
      const t0 = Date.now();
      await waitFor(
        async () => (await frame.evaluate(shotPrompts)).some((p) => p.includes(marker)),
        { timeoutMs: 15_000, intervalMs: 100, what: `"${marker}" in a shot card of the preview` },
      );
      const shownAfter = Date.now() - t0;
      await suite.snap('preview-follows-typing');
      await wb.undoUntilGone(marker, 'undo of the typed marker');
      await waitFor(
        async () => !(await frame.evaluate(shotPrompts)).some((p) => p.includes(marker)),
        { timeoutMs: 15_000, intervalMs: 100, what: `"${marker}" gone from the preview` },
      );
      return `shown ${shownAfter} ms after typing; gone again after undo`;
    },
    { needs },
  );

  await check(
    "storyboard preview: clicking a shot card puts the editor's cursor on that shot's line",
    async () => {
      const headers = shotHeaderLines(storyboard);
      if (headers.length < 2) throw new Error(`the example has ${headers.length} shot(s), not 2`);
      const target = headers[1];
      await wb.gotoLine(facts.file, 1);
      const position = page.locator('#status\\.editor\\.selection');
      await waitFor(async () => /Ln 1,/.test(await position.innerText()), {
        timeoutMs: 5_000,
        what: 'the cursor on line 1',
      });
      const frame = await previewFrame();
      // The card's head: its middle may be an @element chip, which reveals the element instead.
      await frame.locator('.shot-card').nth(1).locator('.shot-head').click();
      const shown = await waitFor(
        async () => {
          const text = await position.innerText().catch(() => '');
          return new RegExp(`Ln ${target},`).test(text) ? text : undefined;
        },
        { timeoutMs: 15_000, what: `"Ln ${target}," in the status bar` },
      );
      const tab = await page
        .locator('.editor-group-container.active .tab.active')
        .first()
        .getAttribute('aria-label');
      if (!tab?.includes(facts.file)) throw new Error(`the active editor is "${tab}"`);
      return `${shown.replace(/\s+/g, ' ')} in ${facts.file}`;
    },
    { needs },
  );

  await check(
    'storyboard preview: element chips show their thumbnails',
    async () => {
      const frame = await previewFrame();
      const chips = await waitFor(
        () =>
          frame.evaluate((count) => {
            const imgs = [...document.querySelectorAll('.chips.elements .chip img')];
            if (imgs.length < count || imgs.some((i) => !i.complete || !i.naturalWidth))
              return undefined;
            return imgs.map((i) => `${i.naturalWidth}×${i.naturalHeight}`);
          }, facts.elements.length),
        {
          timeoutMs: 15_000,
          what: `${facts.elements.length} loaded <img> in the preview's element chips`,
        },
      );
      return `${chips.length} thumbnails: ${chips.join(', ')}`;
    },
    { needs },
  );

  await check(
    'inline previews: the pixel size, format and file size follow a media path in the editor',
    async () => {
      const ref = firstFrameRef(storyboard);
      const expected = pngDescription(readFileSync(path.resolve(cs.ws, ref.value)));
      await wb.gotoLine(facts.file, ref.line);
      // Monaco draws an `after` decoration as an empty span whose ::after carries the text.
      const found = await waitFor(
        () =>
          page.evaluate((want) => {
            const lines = document.querySelector('.editor-group-container.active .view-lines');
            for (const el of lines?.querySelectorAll('span') ?? []) {
              const after = getComputedStyle(el, '::after').content;
              const text = `${after === 'none' ? '' : after} ${el.textContent ?? ''}`.replace(
                /\u00a0/g,
                ' ',
              );
              if (text.includes(want)) return text.trim();
            }
            return undefined;
          }, expected),
        { timeoutMs: 15_000, intervalMs: 200, what: `"${expected}" after ${ref.value}` },
      );
      await suite.snap('inline-preview');
      return `${ref.value} →${found.replace(/^"|"$/g, '')}`;
    },
    { needs },
  );
}

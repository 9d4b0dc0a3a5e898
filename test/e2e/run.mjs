#!/usr/bin/env node
// The browser end-to-end suite: the packaged .vsix installed into a throw-away code-server (the real
// VS Code 1.100.3 workbench), opened on a copy of examples/rehearsal, driven in Debian's Chromium the
// way a user would — Problems panel, completion, command palette, input box, webviews, dialogs —
// against the fake KIE/Kling API server on 127.0.0.1. The storyboard preview and inline previews
// are checked in the main workbench (views.mjs). A second code-server with workspace trust enabled
// checks Restricted Mode (trust.mjs); two more are SIGKILLed mid-generation and restarted on the
// same folder to check that the take resumes and that the results panel survives a window reload
// (resume.mjs). Last, the README's own `KLING_FAKE=1 npm start` runs on free ports and a newcomer's
// ▶ Generate on a KIE and a Kling scene must bring the take (demo.mjs). Every step is a named check; the last line is
// `N passed, M failed`; exit 1 on any failure. Screenshots go to test-results/e2e/.
// Usage: node test/e2e/run.mjs [--vsix FILE (skip build+package)] [--example DIR] [--headed]
//        [--update-readme-screenshot (or KLING_E2E_UPDATE_SCREENSHOT=1): a green run of the
//        project's own build replaces client/media/screenshot.png, the README picture]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumArgs, startCodeServer, waitFor } from './codeserver/with-code-server.mjs';
import { startFakeApi } from './fake-api.mjs';
import { demoChecks } from './demo.mjs';
import { filmChecks } from './film.mjs';
import { resumeChecks } from './resume.mjs';
import { trustChecks } from './trust.mjs';
import { viewChecks } from './views.mjs';
import { activationLogged, exampleFacts, Suite, Workbench } from './workbench.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? path.resolve(args[i + 1]) : undefined;
};
const exampleDir = opt('--example') ?? path.join(root, 'examples/rehearsal');
const givenVsix = opt('--vsix');
const vsixPath = givenVsix ?? path.join(root, 'dist/kling-storyboard.vsix');
const shots = path.join(root, 'test-results/e2e');
const readmeShot = path.join(root, 'client/media/screenshot.png');
const updateReadmeShot =
  args.includes('--update-readme-screenshot') || process.env.KLING_E2E_UPDATE_SCREENSHOT === '1';
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const extensionId = `${pkg.publisher}.${pkg.name}`.toLowerCase();
const fakeKieKey = process.env.KLING_E2E_KIE_KEY ?? 'e2e-fake-kie-key';
// Measured: 2.2–4.5 min on 2 cores (34 checks, four code-servers; the slower runs beside other load);
// the rest is room for a loaded machine.
const SUITE_BUDGET_MS = Number(process.env.KLING_E2E_BUDGET_MS ?? 600_000);

const started = Date.now();
const since = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const suite = new Suite({ shots });
const check = suite.check.bind(suite);
const snap = suite.snap.bind(suite);

function run(cmd, cmdArgs) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0)
    throw new Error(`${cmd} ${cmdArgs.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** Width and height of a PNG, from its IHDR chunk (undefined for anything else). */
function pngSize(bytes) {
  if (bytes.length < 24 || bytes.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** An example PNG of at least 300×300 px whose bytes the fake API has not received yet. */
function freshExampleImage(uploadedShas) {
  const pngs = readdirSync(exampleDir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.png'))
    .sort();
  for (const f of pngs) {
    const bytes = readFileSync(path.join(exampleDir, f));
    const size = pngSize(bytes);
    if (size && size.width >= 300 && size.height >= 300 && !uploadedShas.has(sha256(bytes)))
      return { file: path.join(exampleDir, f), bytes };
  }
  throw new Error(`no PNG ≥300×300 in ${exampleDir} that was not uploaded already`);
}

// ---- the suite -----------------------------------------------------------------------------------
let fake;
let cs;
let browser;
let page;
let wb;
let bestShot;
const closers = [];
const watchdog = setTimeout(() => {
  console.log(`suite budget of ${SUITE_BUDGET_MS} ms exceeded; stopping`);
  suite.results.push({ name: 'suite finishes within its time budget', ok: false, ms: 0 });
  void finish();
}, SUITE_BUDGET_MS);

let finishing = false;
async function finish() {
  if (finishing) return;
  finishing = true;
  clearTimeout(watchdog);
  await browser?.close().catch(() => {});
  const failed = suite.results.filter((r) => !r.ok);
  for (const close of closers.reverse()) await close(failed.length > 0).catch(() => {});
  await Promise.resolve(fake?.close()).catch(() => {});
  // Only a full green run of the project's own build and example may replace the README picture,
  // and only when asked: the picture is committed, so a routine run must leave the tree clean.
  if (bestShot && !failed.length && !givenVsix && !args.includes('--example')) {
    const size = statSync(bestShot).size;
    if (!updateReadmeShot)
      console.log(
        `README screenshot left alone (--update-readme-screenshot replaces it with ${path.relative(root, bestShot)})`,
      );
    else if (size < 400 * 1024) {
      copyFileSync(bestShot, readmeShot);
      console.log(
        `README screenshot: ${path.relative(root, readmeShot)} (${Math.round(size / 1024)} KB)`,
      );
    } else
      console.log(`README screenshot not updated: ${Math.round(size / 1024)} KB is over 400 KB`);
  }
  console.log(`\ne2e finished in ${since()}; screenshots in ${path.relative(root, shots)}/`);
  for (const r of failed) console.log(`FAILED: ${r.name}${r.error ? ` — ${r.error}` : ''}`);
  console.log(`${suite.results.length - failed.length} passed, ${failed.length} failed`);
  process.exit(failed.length ? 1 : 0);
}

/** Stops a code-server; a failed run keeps its log next to the screenshots. */
const closeServer = (server, logName) => async (anyFailed) => {
  if (anyFailed) copyFileSync(server.logFile, path.join(shots, logName));
  await server.close();
};

rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });

try {
  const facts = exampleFacts(exampleDir);
  const scene = facts.scenes[0];
  const sceneIndex = 0;

  if (!givenVsix) {
    await check('build (esbuild --production)', () => {
      run('node', ['esbuild.mjs', '--production']);
    });
    await check(
      'package the .vsix',
      () => {
        rmSync(vsixPath, { force: true });
        // vsce refuses relative README images without a GitHub/GitLab repository URL; the
        // README's own links are not under test here.
        run('npx', [
          'vsce',
          'package',
          '--no-dependencies',
          '--baseImagesUrl',
          'https://example.invalid/kling-storyboard/raw/HEAD',
          '--out',
          vsixPath,
        ]);
        return `${path.relative(root, vsixPath)} ${(statSync(vsixPath).size / 1024).toFixed(0)} KB`;
      },
      { needs: ['build (esbuild --production)'] },
    );
  }

  await check('fake API server starts', async () => {
    // Real MP4s per task (a colour each, with sound) for the film checks (film.mjs).
    fake = await startFakeApi({ kieApiKey: fakeKieKey, taskVideos: true });
    if (!fake) throw new Error('test/fake-server does not export startFakeServer yet');
    return fake.url;
  });

  await check('install the .vsix into a fresh code-server', async () => {
    if (!existsSync(vsixPath)) throw new Error(`no ${vsixPath}`);
    cs = await startCodeServer({
      vsix: vsixPath,
      workspaceFrom: exampleDir,
      env: { ...fake?.env, KLING_STORYBOARD_TEST: '1' },
    });
    closers.push(closeServer(cs, 'code-server.log'));
    const installed = readdirSync(cs.ext).filter((d) => d.toLowerCase().startsWith(extensionId));
    if (!installed.length) throw new Error(`not in ${cs.ext}: ${readdirSync(cs.ext).join(', ')}`);
    return `${installed[0]} on ${cs.url}`;
  });

  const ready = 'install the .vsix into a fresh code-server';
  await check(
    'workbench opens the example storyboard',
    async () => {
      browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: chromiumArgs,
        headless: !args.includes('--headed'),
      });
      page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      page.setDefaultTimeout(20_000);
      suite.page = page;
      wb = new Workbench(page);
      await wb.open(cs, path.join(cs.ws, facts.file));
    },
    { needs: [ready] },
  );

  await check(
    'extension activates',
    async () => {
      await waitFor(() => activationLogged(cs, extensionId), {
        timeoutMs: 30_000,
        intervalMs: 250,
        what: `"_doActivateExtension ${extensionId}" in the extension host log`,
      });
    },
    { needs: ['workbench opens the example storyboard'] },
  );

  await check(
    "Problems panel shows the example storyboard's diagnostics",
    async () => {
      // The example is meant to be clean; the panel must open and report on it without errors.
      const rows = await wb.problemRows();
      const errors = rows.filter((r) => r.startsWith('Error'));
      await snap('problems-panel');
      if (errors.length) throw new Error(`the example has errors:\n${errors.join('\n')}`);
      return `${rows.length} row(s): ${rows.slice(0, 3).join(' | ') || 'no problems'}`;
    },
    { needs: ['extension activates'] },
  );

  const ghost = 'ghoost';
  await check(
    'typing an undefined @element shows an error row in Problems',
    async () => {
      if (!facts.firstShotBodyLine) throw new Error('the example has no shot text to edit');
      const row = await wb.typeUndefinedElement(facts.file, facts.firstShotBodyLine, ghost);
      await snap('undefined-element-error');
      return row;
    },
    { needs: ['extension activates'] },
  );

  await check(
    'undoing the edit clears the error',
    () => wb.undoUntilNoProblem(facts.file, facts.firstShotBodyLine, ghost),
    { needs: ['typing an undefined @element shows an error row in Problems'] },
  );

  await check(
    'completion after @ offers the elements and inserts one',
    async () => {
      if (!facts.elements.length) throw new Error('the example defines no elements');
      await wb.gotoLine(facts.file, facts.firstShotBodyLine);
      const marker = 'qzx';
      await page.keyboard.type(` ${marker} @`);
      const widget = page.locator('.editor-widget.suggest-widget.visible');
      // '@' should trigger it; ask explicitly if the widget did not come up on its own.
      if (
        !(await widget.waitFor({ timeout: 5_000 }).then(
          () => true,
          () => false,
        ))
      ) {
        await page.keyboard.press('Control+Space');
      }
      const wanted = facts.elements[0];
      const rowFor = widget.locator(`.monaco-list-row[aria-label*="${wanted}"]`).first();
      await rowFor.waitFor({ timeout: 15_000 });
      const labels = await widget
        .locator('.monaco-list-row')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-label') ?? ''));
      await snap('completion');
      await rowFor.click();
      await waitFor(async () => (await wb.activeEditorText()).includes(`${marker} @${wanted}`), {
        timeoutMs: 10_000,
        what: `"${marker} @${wanted}" in the editor`,
      });
      // Put the document back the way it was.
      await wb.undoUntilGone(marker, 'undo of the completion');
      return `offered: ${labels.slice(0, 4).join(' | ')}`;
    },
    { needs: ['extension activates'] },
  );

  await check(
    'Kling: Preview Request shows the request JSON',
    async () => {
      await wb.gotoLine(facts.file, scene.line + 1);
      await wb.runCommand('Kling: Preview Request');
      // The preview opens beside the storyboard (focus may stay in the storyboard).
      const requestJson = /"(model|model_name)"\s*:\s*"kling/;
      const [shown] = await waitFor(
        async () => {
          const groups = await wb.groupsShowing(requestJson);
          return groups.length ? groups : undefined;
        },
        { timeoutMs: 30_000, what: 'an editor showing the request JSON with its "model"' },
      );
      await snap('preview-request');
      await wb.closeActiveEditorOf(shown.group);
      return shown.text
        .split('\n')
        .find((l) => requestJson.test(l))
        .trim();
    },
    { needs: ['extension activates'] },
  );

  await check(
    'Kling: Set KIE API Key through the input box',
    async () => {
      await wb.runCommand('Kling: Set KIE API Key');
      const box = page.locator('.quick-input-widget input.input[type="password"]');
      await box.waitFor({ state: 'visible', timeout: 15_000 });
      await box.fill(fakeKieKey);
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 15_000 });
      const settings = readFileSync(path.join(cs.ud, 'User/settings.json'), 'utf8');
      if (settings.includes(fakeKieKey)) throw new Error('the key was written into settings.json');
    },
    { needs: ['extension activates'] },
  );

  /**
   * Waits until some webview shows what `probe` looks for, meanwhile answering confirmations,
   * failing early on an error toast, and asking for the results panel as a user would: the
   * toast's "Show Results" button, else (10 s after the fake server served a video) the palette.
   */
  async function awaitResults(probe, arg, what) {
    let askedForResults = false;
    let downloadedAt;
    const videoHits = () =>
      [...(fake?.server.state.videoHits.values() ?? [])].reduce((a, b) => a + b, 0);
    const hitsBefore = videoHits();
    return waitFor(
      async () => {
        await wb.acceptDialogIfAny(/^(Generate|Yes|OK|Continue)/);
        const hit = await wb.inWebviews(probe, arg, { timeoutMs: 0, what }).catch(() => undefined);
        if (hit) return hit;
        const errorToast = wb
          .toasts()
          .filter({ has: page.locator('.codicon-error') })
          .first();
        if (await errorToast.isVisible().catch(() => false)) {
          throw new Error(`error toast: ${(await errorToast.innerText()).replace(/\s+/g, ' ')}`);
        }
        const showButton = wb
          .toasts()
          .locator('.monaco-button')
          .filter({ hasText: 'Show Results' })
          .first();
        if (!askedForResults && (await showButton.isVisible().catch(() => false))) {
          askedForResults = true;
          await showButton.click();
          return undefined;
        }
        if (videoHits() > hitsBefore) downloadedAt ??= Date.now();
        if (downloadedAt && !askedForResults && Date.now() - downloadedAt > 10_000) {
          askedForResults = true;
          await wb.runCommand('Kling: Show Results');
        }
        return undefined;
      },
      { timeoutMs: 150_000, intervalMs: 300, what },
    );
  }

  await check(
    'Kling: Generate Scene shows the video in the results panel',
    async () => {
      await wb.tidyForScreenshot();
      await wb.gotoLine(facts.file, scene.line + 1);
      await wb.runCommand('Kling: Generate Scene');
      const videoProbe = () => {
        const v = document.querySelector('video');
        const src = v && (v.currentSrc || v.getAttribute('src') || v.querySelector('source')?.src);
        return src ? { src } : undefined;
      };
      const found = await awaitResults(
        videoProbe,
        undefined,
        'a <video> with a source in a webview',
      );
      // Let the player settle (metadata or error) so the screenshot shows it.
      const state = await found.frame
        .waitForFunction(
          () => {
            const v = document.querySelector('video');
            return v && (v.readyState >= 1 || v.error)
              ? { ready: v.readyState, error: v.error?.code }
              : null;
          },
          undefined,
          { timeout: 10_000 },
        )
        .then((h) => h.jsonValue())
        .catch(() => ({ ready: 0 }));
      bestShot = await snap('generate-scene-results');
      const created = fake?.server?.state?.createdCount?.();
      return `video ${found.value.src.slice(-50)} readyState ${state.ready}${
        state.error ? ` (media error ${state.error})` : ''
      }${created !== undefined ? `; createTask calls: ${created}` : ''}`;
    },
    { needs: ['Kling: Set KIE API Key through the input box'] },
  );

  // ---- the results panel's own controls ----------------------------------------------------------
  /**
   * Runs in the results page: the scene's takes (take number, video src, file name, button
   * labels) once at least `minVideos` of them have a video, else undefined.
   */
  const takesWithVideos = ([index, minVideos]) => {
    const section = document.getElementById(`scene-${index}`);
    if (!section) return undefined;
    const takes = [...section.querySelectorAll('article.take')].map((a) => {
      const fileLabel = [...a.querySelectorAll('dl.facts dt')].find(
        (dt) => dt.textContent === 'File',
      );
      return {
        take: Number(a.getAttribute('data-take')),
        src: a.querySelector('video')?.getAttribute('src') ?? undefined,
        file: fileLabel?.nextElementSibling?.textContent ?? undefined,
      };
    });
    return takes.filter((t) => t.src).length >= minVideos ? takes : undefined;
  };
  /** The results page frame once the scene shows at least `count` takes with a video. */
  const resultsWithVideos = (count) =>
    wb.inWebviews(takesWithVideos, [sceneIndex, count], {
      timeoutMs: 10_000,
      what: `the results page with ${count} take video(s) of scene ${sceneIndex}`,
    });

  /**
   * The first take with a video and its action button at `index` (0 reveal, 1 open), which must
   * read `label`: code-server is a browser window onto a remote machine, so the take is shown with
   * VS Code's own Explorer and video preview, not the OS file manager or player.
   */
  const takeButton = async (label) => {
    const { frame, value: takes } = await resultsWithVideos(1);
    const take = takes.find((t) => t.src);
    if (!take.file?.endsWith('.mp4')) throw new Error(`take file name is ${take.file}`);
    // Found by its label: other buttons (Use this take, …) may stand before it.
    const buttons = frame.locator(
      `#scene-${sceneIndex} article.take[data-take="${take.take}"] .actions button`,
    );
    const labels = (await buttons.allInnerTexts()).map((t) => t.trim());
    if (!labels.includes(label)) throw new Error(`no "${label}" button; the take has ${labels}`);
    return { take, button: buttons.filter({ hasText: label }).first() };
  };

  const generated = 'Kling: Generate Scene shows the video in the results panel';
  const newTake = 'results panel: "↻ New take" finishes a second take of the scene';
  await check(
    newTake,
    async () => {
      const { frame, value: takesBefore } = await resultsWithVideos(1);
      const createdBefore = fake.server.state.createdCount();
      await frame.locator(`#scene-${sceneIndex} h2 button`).filter({ hasText: 'New take' }).click();
      const wanted = takesBefore.filter((t) => t.src).length + 1;
      const { value: takes } = await awaitResults(
        takesWithVideos,
        [sceneIndex, wanted],
        `${wanted} take videos of scene ${sceneIndex} in the results page`,
      );
      const created = fake.server.state.createdCount() - createdBefore;
      if (created !== 1) throw new Error(`expected 1 new createTask, the fake API got ${created}`);
      const numbers = takes.map((t) => t.take).sort();
      if (new Set(numbers).size !== numbers.length)
        throw new Error(`take numbers repeat: ${numbers.join(', ')}`);
      return `takes ${numbers.join(', ')}: ${takes.map((t) => t.file).join(', ')}`;
    },
    { needs: [generated] },
  );

  const compare = 'results panel: "Compare" on two takes shows them side by side';
  await check(
    compare,
    async () => {
      await wb.clearNotifications();
      const { frame, value: takes } = await resultsWithVideos(2);
      const chosen = takes.filter((t) => t.src).slice(0, 2);
      for (const t of chosen) {
        // Each tick redraws the page, so the checkbox is looked up afresh every time.
        const box = frame.locator(
          `#scene-${sceneIndex} article.take[data-take="${t.take}"] .compare-toggle input`,
        );
        await box.click();
        await waitFor(() => box.isChecked(), { timeoutMs: 5_000, what: `take ${t.take} ticked` });
      }
      const players = await waitFor(
        () =>
          frame.evaluate(() => {
            const section = document.querySelector('section.compare');
            const videos = section ? [...section.querySelectorAll('video')] : [];
            if (videos.length !== 2 || videos.some((v) => v.readyState < 1)) return undefined;
            section.scrollIntoView({ block: 'start' });
            return videos.map((v) => {
              const r = v.getBoundingClientRect();
              return { src: v.getAttribute('src'), top: r.top, left: r.left, width: r.width };
            });
          }),
        { timeoutMs: 15_000, what: 'section.compare with two loaded <video> players' },
      );
      const [a, b] = players;
      if (a.src === b.src) throw new Error(`both players show ${a.src}`);
      const wanted = new Set(chosen.map((t) => t.src));
      if (!players.every((p) => wanted.has(p.src)))
        throw new Error(`players show ${a.src}, ${b.src}; ticked ${[...wanted].join(', ')}`);
      if (Math.abs(a.top - b.top) > 4 || Math.abs(a.left - b.left) < a.width / 2 || !a.width)
        throw new Error(`players are not side by side: ${JSON.stringify(players)}`);
      await snap('compare-takes');
      return `tops ${a.top.toFixed(0)}/${b.top.toFixed(0)}, lefts ${a.left.toFixed(0)}/${b.left.toFixed(0)}, width ${a.width.toFixed(0)}`;
    },
    { needs: [newTake] },
  );

  await check(
    'results panel: "Reveal in Explorer" selects the take in the Explorer',
    async () => {
      const { take, button } = await takeButton('Reveal in Explorer');
      await button.click();
      await page.locator('#workbench\\.parts\\.sidebar .explorer-folders-view').waitFor();
      const selected = await waitFor(
        async () => {
          const rows = await page
            .locator(
              '#workbench\\.parts\\.sidebar .explorer-folders-view .monaco-list-row.selected',
            )
            .evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
          return rows.includes(take.file) ? rows : undefined;
        },
        { timeoutMs: 15_000, what: `the Explorer row "${take.file}" selected` },
      );
      await snap('reveal-in-explorer');
      return `selected: ${selected.join(', ')}`;
    },
    { needs: [generated] },
  );

  await check(
    'results panel: "Open in VS Code" opens the take in VS Code\'s video preview',
    async () => {
      const { take, button } = await takeButton('Open in VS Code');
      const before = new Set(page.frames());
      await button.click();
      await page
        .locator(`.tabs-container .tab[aria-label*="${take.file}"]`)
        .first()
        .waitFor({ timeout: 15_000 });
      // The built-in media preview is a webview of its own: it appears now and has no takes list.
      const preview = await wb.inWebviews(
        () => {
          const v = document.querySelector('video');
          return v && !document.querySelector('.takes') ? v.getAttribute('src') || 'video' : '';
        },
        undefined,
        {
          timeoutMs: 15_000,
          what: 'a new webview with a <video> (the video preview)',
          skip: before,
        },
      );
      await snap('open-in-vscode');
      return `tab "${take.file}", preview <video> ${String(preview.value).slice(-40)}`;
    },
    { needs: [generated] },
  );

  await check(
    'Kling: Open Storyboard Preview shows a row per scene',
    async () => {
      await wb.gotoLine(facts.file, 1);
      // Only a webview that appears now counts: the results panel may name the scenes too.
      const before = new Set(page.frames());
      await wb.runCommand('Kling: Open Storyboard Preview');
      const titles = facts.scenes.map((s) => s.title);
      await wb.inWebviews(
        (wanted) => {
          const text = document.body?.innerText ?? '';
          return wanted.every((t) => text.includes(t));
        },
        titles,
        {
          timeoutMs: 30_000,
          what: `a new webview listing the scenes ${titles.join(', ')}`,
          skip: before,
        },
      );
      const shot = await snap('storyboard-preview');
      if (!bestShot) bestShot = shot;
      return `${titles.length} scenes`;
    },
    { needs: ['extension activates'] },
  );
  await viewChecks(suite, {
    wb,
    cs,
    facts,
    needs: ['Kling: Open Storyboard Preview shows a row per scene'],
  });
  await filmChecks(suite, {
    wb,
    cs,
    facts,
    needs: [newTake, 'Kling: Open Storyboard Preview shows a row per scene'],
  });
  // Later phases compare downloads with test/fixtures/tiny.mp4.
  fake?.setTaskVideos?.(false);

  // ---- media outside the workspace need the user's consent before they are uploaded -------------
  const outsideName = 'outside.kling';
  let outside;
  const askCancel = 'outside-workspace media: Generate asks first; "Cancel" sends nothing';
  await check(
    askCancel,
    async () => {
      const uploaded = new Set(fake.server.state.uploads.map((u) => u.sha256));
      const image = freshExampleImage(uploaded);
      const dir = path.join(cs.runDir, 'outside-media');
      mkdirSync(dir, { recursive: true });
      const imagePath = path.join(dir, `outside-${path.basename(image.file)}`);
      writeFileSync(imagePath, image.bytes);
      const lines = [
        '# Written by the e2e suite: the first frame lies outside the workspace folder.',
        'provider: kie',
        'mode: std',
        '',
        '[scene Outside frame]',
        'duration: 5',
        `first-frame: ${path.relative(cs.ws, imagePath)}`,
        'A sunny corner of the rehearsal room; the camera cranes up slowly.',
        '',
      ];
      writeFileSync(path.join(cs.ws, outsideName), lines.join('\n'));
      outside = { imagePath, sha: sha256(image.bytes), size: image.bytes.length, bodyLine: 8 };

      await wb.clearNotifications();
      await wb.quickOpen(outsideName);
      await wb.gotoLine(outsideName, outside.bodyLine);
      const before = {
        uploads: fake.server.state.uploads.length,
        created: fake.server.state.createdCount(),
      };
      await wb.runCommand('Kling: Generate Scene');
      const question = await wb.dialogShowing(/^Upload .*\?/);
      if (!question.includes(imagePath))
        throw new Error(`the dialog does not name ${imagePath}: ${question}`);
      await snap('outside-upload-question');
      await wb.dialogButton(/^Cancel$/).click();
      const told = await wb.toastShowing(/not sent/);
      const after = {
        uploads: fake.server.state.uploads.length,
        created: fake.server.state.createdCount(),
      };
      if (after.uploads !== before.uploads || after.created !== before.created)
        throw new Error(`after Cancel the fake API got ${JSON.stringify({ before, after })}`);
      return `asked "${question.slice(0, 60)}…"; told: ${told.text.slice(0, 120)}`;
    },
    { needs: ['Kling: Set KIE API Key through the input box'] },
  );

  await check(
    'outside-workspace media: "Upload" sends the file and the take is generated',
    async () => {
      await wb.clearNotifications();
      await wb.gotoLine(outsideName, outside.bodyLine);
      const uploadsBefore = fake.server.state.uploads.length;
      const createdBefore = fake.server.state.createdCount();
      await wb.runCommand('Kling: Generate Scene');
      await wb.dialogShowing(/^Upload .*\?/);
      await wb.dialogButton(/^Upload$/).click();
      const { value } = await awaitResults(
        (name) => {
          const heading = document.querySelector('h1')?.textContent ?? '';
          return heading.includes(name) && document.querySelector('.takes video[src]')
            ? heading
            : undefined;
        },
        outsideName,
        `the results page of ${outsideName} with a <video>`,
      );
      const sent = fake.server.state.uploads.slice(uploadsBefore);
      if (sent.length !== 1 || sent[0].sha256 !== outside.sha || sent[0].size !== outside.size)
        throw new Error(
          `expected one upload of ${outside.size} bytes sha256 ${outside.sha.slice(0, 12)}…; got ${JSON.stringify(sent)}`,
        );
      const created = fake.server.state.createdCount() - createdBefore;
      if (created !== 1) throw new Error(`expected 1 new createTask, the fake API got ${created}`);
      await snap('outside-upload-results');
      return `uploaded ${sent[0].size} bytes (${sent[0].fileName}); ${value}`;
    },
    { needs: [askCancel] },
  );

  // ---- Restricted Mode: a second code-server with workspace trust enabled ------------------------
  if (page) await page.close().catch(() => {});
  page = undefined;
  suite.page = undefined;
  // Each later phase starts its own code-server; the previous one is closed first.
  const phase = async (checks) => {
    for (const close of closers.splice(0)) await close(suite.results.some((r) => !r.ok));
    await checks(suite, {
      browser,
      fake,
      vsixPath,
      exampleDir,
      extensionId,
      closeServer,
      defer: (close) => closers.push(close),
      needs: [ready, 'fake API server starts'],
    });
  };
  await phase(trustChecks);

  // ---- a crash mid-generation, a restart that resumes it, a reload that restores the results ----
  await phase(resumeChecks);

  // ---- the README's demo: `KLING_FAKE=1 npm start`, ▶ Generate on a KIE and a Kling scene ---------
  await phase(demoChecks);
} catch (err) {
  suite.results.push({
    name: 'suite runs to the end',
    ok: false,
    ms: 0,
    error: String(err?.stack ?? err),
  });
  console.log(`suite aborted: ${err?.stack ?? err}`);
}
await finish();

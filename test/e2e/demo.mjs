// The demo phase of the browser end-to-end suite (run by run.mjs; also alone: node test/e2e/demo.mjs):
// the README's own start command, `KLING_FAKE=1 npm start`, on free ports (PORT, FAKE_PORT) with
// a throw-away profile and a copy of examples/ (KLING_TRY_DIR, KLING_TRY_FOLDER), opened at the URL
// it prints. A newcomer presses ▶ Generate on a KIE scene (examples/rehearsal) and on a Kling scene
// (examples/on-kling) and watches the take arrive in the results panel; the take is an MP4 on disk
// and the fake API (started by the script itself) holds one task per provider.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { chromiumArgs, freePort, waitFor } from './codeserver/with-code-server.mjs';
import { Suite, Workbench } from './workbench.mjs';

const root = path.resolve(import.meta.dirname, '../..');

/** The KIE and the Kling scene a newcomer tries, as README's Quick start names them. */
const SCENES = [
  { provider: 'kie', file: 'rehearsal/rehearsal.kling', scene: 'Morning run' },
  { provider: 'kling', file: 'on-kling/window.kling', scene: 'Window light' },
];

/** Stops the start script and everything it started (its own process group). */
function stopGroup(child) {
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

/**
 * Adds the demo checks to `suite`. `browser` is the caller's Chromium (one is launched when
 * absent); `run.defer(close)` hands the shutdown of `npm start` to the caller.
 */
export async function demoChecks(suite, { browser, ...run }) {
  const check = suite.check.bind(suite);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'kling-demo-'));
  const folder = path.join(tmp, 'examples');
  cpSync(path.join(root, 'examples'), folder, { recursive: true });
  let child;
  let output = '';
  let openUrl;
  let fakeUrl;
  let page;
  let wb;
  let ownBrowser;

  const started = 'demo: `KLING_FAKE=1 npm start` prints the URL to open, with the fake API';
  await check(started, async () => {
    const [port, fakePort] = [await freePort(), await freePort()];
    child = spawn('npm', ['start'], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        KLING_FAKE: '1',
        PORT: String(port),
        FAKE_PORT: String(fakePort),
        KLING_TRY_DIR: path.join(tmp, 'profile'),
        KLING_TRY_FOLDER: folder,
        // Keys in the caller's environment must not matter: the demo brings its own.
        KIE_API_KEY: 'a-real-looking-key-that-must-not-be-used',
      },
    });
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    run.defer?.(async (anyFailed) => {
      if (anyFailed) console.log(`npm start output:\n${output.slice(-3000)}`);
      stopGroup(child);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      rmSync(tmp, { recursive: true, force: true });
    });
    [openUrl] = await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`npm start exited:\n${output.slice(-2000)}`);
        return /Open (http:\/\/127\.0\.0\.1:\d+\/\?folder=\S+) in a browser/.exec(output)?.slice(1);
      },
      { timeoutMs: 240_000, intervalMs: 200, what: 'the "Open http://…" line of npm start' },
    );
    fakeUrl = /fake KIE\/Kling API on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    if (!fakeUrl) throw new Error(`no fake API line in:\n${output}`);
    if (new URL(openUrl).port !== String(port)) throw new Error(`${openUrl} is not on ${port}`);
    if (new URL(openUrl).searchParams.get('folder') !== folder)
      throw new Error(`${openUrl} does not open ${folder}`);
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok,
      { timeoutMs: 60_000, intervalMs: 250, what: 'code-server to answer /healthz' },
    );
    await waitFor(async () => (await fetch(`${fakeUrl}/__fake/state`).catch(() => undefined))?.ok, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'the fake API to answer',
    });
    return openUrl;
  });

  const opened = 'demo: the printed URL opens examples/ in VS Code';
  await check(
    opened,
    async () => {
      if (!browser) {
        ownBrowser = await chromium.launch({
          executablePath: '/usr/bin/chromium',
          args: chromiumArgs,
        });
        browser = ownBrowser;
        run.defer?.(() => ownBrowser.close());
      }
      page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      page.setDefaultTimeout(20_000);
      suite.page = page;
      wb = new Workbench(page);
      await page.goto(openUrl);
      await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      await waitFor(
        async () =>
          (await page.locator('.explorer-folders-view .monaco-list-row').allInnerTexts()).some(
            (t) => t.includes('rehearsal'),
          ),
        { timeoutMs: 30_000, what: 'rehearsal/ in the Explorer' },
      );
    },
    { needs: [started] },
  );

  const state = async () => (await fetch(`${fakeUrl}/__fake/state`)).json();

  for (const { provider, file, scene } of SCENES) {
    await check(
      `demo: ▶ Generate on the ${provider} scene "${scene}" shows the take in the results panel`,
      async () => {
        const before = await state();
        await wb.clearNotifications().catch(() => {});
        const name = path.basename(file);
        await wb.quickOpen(name);
        await waitFor(
          async () => (await page.locator('#status\\.editor\\.mode').innerText()).includes('Kling'),
          { timeoutMs: 30_000, what: 'language mode "Kling"' },
        );
        // The CodeLens a newcomer presses: "▶ Generate · 10 s · …" above the scene.
        const lens = page
          .locator('.editor-group-container.active .codelens-decoration a')
          .filter({ hasText: /^▶ Generate/ })
          .first();
        await lens.waitFor({ timeout: 60_000 });
        const lensText = (await lens.innerText()).replace(/\s+/g, ' ');
        await lens.click();
        const found = await waitFor(
          async () => {
            await wb.acceptDialogIfAny(/^(Generate|Yes|OK|Continue)/);
            const errorToast = wb
              .toasts()
              .filter({ has: page.locator('.codicon-error') })
              .first();
            if (await errorToast.isVisible().catch(() => false))
              throw new Error(
                `error toast: ${(await errorToast.innerText()).replace(/\s+/g, ' ')}`,
              );
            const show = wb.toasts().locator('.monaco-button').filter({ hasText: 'Show Results' });
            if (
              await show
                .first()
                .isVisible()
                .catch(() => false)
            )
              await show.first().click();
            return wb
              .inWebviews(
                (title) => {
                  const heading = document.body.innerText;
                  const v = document.querySelector('.takes video[src]');
                  return heading.includes(title) && v ? v.getAttribute('src') : undefined;
                },
                scene,
                { timeoutMs: 0, what: 'results' },
              )
              .catch(() => undefined);
          },
          {
            timeoutMs: 180_000,
            intervalMs: 500,
            what: `a take <video> of "${scene}" in the results panel`,
          },
        );
        await suite.snap(`demo-${provider}-take`);
        const after = await state();
        const tasks = provider === 'kie' ? 'kieTasks' : 'klingTasks';
        const fresh = after[tasks].length - before[tasks].length;
        if (fresh !== 1)
          throw new Error(`${fresh} new ${provider} tasks on the fake API, expected 1`);
        // The take is a real MP4 in the storyboard's renders/ folder.
        const renders = path.join(folder, path.dirname(file), 'renders');
        const mp4s = existsSync(renders)
          ? readdirSync(renders, { recursive: true })
              .map(String)
              .filter((f) => f.endsWith('.mp4'))
          : [];
        const mine = mp4s.filter((f) => f.includes(scene.toLowerCase().replace(/\s+/g, '-')));
        if (mine.length !== 1) throw new Error(`takes in ${renders}: ${mp4s.join(', ') || 'none'}`);
        const bytes = readFileSync(path.join(renders, mine[0]));
        if (bytes.toString('latin1', 4, 8) !== 'ftyp') throw new Error(`${mine[0]} is not an MP4`);
        return `${lensText} → ${mine[0]} (${bytes.length} bytes), <video> ${found.value.slice(-40)}`;
      },
      { needs: [opened] },
    );
  }

  await check(
    'demo: no key from the environment reached the fake API, the made-up ones did',
    async () => {
      const s = await state();
      if (s.kieTasks.length < 1 || s.klingTasks.length < 1)
        throw new Error(`tasks: ${s.kieTasks.length} kie, ${s.klingTasks.length} kling`);
      if (output.includes('a-real-looking-key')) throw new Error('the key was printed');
      return `${s.created} tasks created`;
    },
    { needs: [opened] },
  );
  if (page) await page.close().catch(() => {});
  suite.page = undefined;
}

// Alone: node test/e2e/demo.mjs — prints `N passed, M failed` like the suite.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const shots = path.join(root, 'test-results/e2e-demo');
  rmSync(shots, { recursive: true, force: true });
  (await import('node:fs')).mkdirSync(shots, { recursive: true });
  const suite = new Suite({ shots });
  const closers = [];
  await demoChecks(suite, { defer: (c) => closers.push(c) });
  const failed = suite.results.filter((r) => !r.ok);
  for (const close of closers.reverse()) await close(failed.length > 0).catch(() => {});
  for (const r of failed) console.log(`FAILED: ${r.name}${r.error ? ` — ${r.error}` : ''}`);
  console.log(`${suite.results.length - failed.length} passed, ${failed.length} failed`);
  process.exit(failed.length ? 1 : 0);
}

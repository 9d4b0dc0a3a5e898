#!/usr/bin/env node
// The browser end-to-end suite: the packaged .vsix installed into a throw-away code-server (the real
// VS Code 1.100.3 workbench), opened on a copy of examples/rehearsal, driven in Debian's Chromium the
// way a user would — Problems panel, completion, command palette, input box, webviews — against the
// fake KIE/Kling API server on 127.0.0.1. Every step is a named check; the last line is
// `N passed, M failed`; exit 1 on any failure. Screenshots go to test-results/e2e/.
// Usage: node test/e2e/run.mjs [--vsix FILE (skip build+package)] [--example DIR] [--headed]
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
  chromiumArgs,
  startCodeServer,
  waitFor,
  workbenchUrl,
} from './codeserver/with-code-server.mjs';
import { startFakeApi } from './fake-api.mjs';

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
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const extensionId = `${pkg.publisher}.${pkg.name}`.toLowerCase();
const fakeKieKey = process.env.KLING_E2E_KIE_KEY ?? 'e2e-fake-kie-key';
const SUITE_BUDGET_MS = Number(process.env.KLING_E2E_BUDGET_MS ?? 270_000);

const started = Date.now();
const since = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const results = [];
let screenshotCount = 0;

/** Runs one named check; a failed prerequisite fails it at once instead of waiting for timeouts. */
async function check(name, fn, { needs = [] } = {}) {
  const missing = needs.filter((n) => !results.find((r) => r.name === n && r.ok));
  const t0 = Date.now();
  if (missing.length) {
    results.push({ name, ok: false, ms: 0, error: `skipped: needs "${missing.join('", "')}"` });
    console.log(`✗ ${name} — skipped (needs ${missing.join(', ')})`);
    return false;
  }
  try {
    const info = await fn();
    results.push({ name, ok: true, ms: Date.now() - t0 });
    console.log(`✓ ${name} (${Date.now() - t0} ms)${info ? ` — ${info}` : ''}`);
    return true;
  } catch (err) {
    const error = String(err?.message ?? err)
      .split('\n')
      .slice(0, 6)
      .join('\n  ');
    results.push({ name, ok: false, ms: Date.now() - t0, error });
    console.log(`✗ ${name} (${Date.now() - t0} ms)\n  ${error}`);
    if (page) await snap(`FAILED-${name}`).catch(() => {});
    return false;
  }
}

/** Saves a numbered full-page screenshot under test-results/e2e and returns its path. */
async function snap(label) {
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  const file = path.join(shots, `${String(++screenshotCount).padStart(2, '0')}-${slug}.png`);
  await page.screenshot({ path: file });
  return file;
}

function run(cmd, cmdArgs) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0)
    throw new Error(`${cmd} ${cmdArgs.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

// ---- the example, read so the checks know what to look for -------------------------------------
function exampleFacts() {
  const file = readdirSync(exampleDir).find((f) => f.endsWith('.kling'));
  if (!file) throw new Error(`no .kling file in ${exampleDir}`);
  const lines = readFileSync(path.join(exampleDir, file), 'utf8').split(/\r?\n/);
  const scenes = [];
  const elements = [];
  let kind;
  let firstShotBodyLine;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    const header = /^\[(\w+)\s*(.*?)\]$/.exec(line);
    if (header) {
      kind = header[1];
      if (kind === 'scene')
        scenes.push({ title: header[2] || `Scene ${scenes.length + 1}`, line: i + 1 });
      if (kind === 'element') elements.push(header[2]);
      return;
    }
    if (kind === 'shot' && firstShotBodyLine === undefined && line && !line.startsWith('#')) {
      firstShotBodyLine = i + 1;
    }
  });
  return { file, scenes, elements, firstShotBodyLine };
}

// ---- workbench helpers ---------------------------------------------------------------------------
let page;

const quickInput = () => page.locator('.quick-input-widget input.input');

/** Runs a command from the palette by its title, e.g. "Kling: Preview Request". */
async function runCommand(title) {
  await page.keyboard.press('Control+Shift+P');
  await quickInput().waitFor({ state: 'visible', timeout: 15_000 });
  await quickInput().fill(`>${title}`);
  const row = page.locator(`.quick-input-list .monaco-list-row[aria-label*="${title}"]`).first();
  await row.waitFor({ timeout: 15_000 });
  // Enter runs the focused row; make sure the exact title is the one focused.
  const focused = page.locator('.quick-input-list .monaco-list-row.focused').first();
  const label = (await focused.getAttribute('aria-label').catch(() => null)) ?? '';
  if (label.includes(title)) await page.keyboard.press('Enter');
  else await row.click();
}

/** Focuses the storyboard editor and puts the cursor at the end of a 1-based line. */
async function gotoLine(fileName, line) {
  await page.locator(`.tabs-container .tab[aria-label*="${fileName}"]`).first().click();
  await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor();
  await page.keyboard.press('Control+G');
  await quickInput().waitFor({ state: 'visible', timeout: 10_000 });
  await quickInput().fill(`:${line}`);
  await page.keyboard.press('Enter');
  await quickInput().waitFor({ state: 'hidden', timeout: 10_000 });
  await page.keyboard.press('End');
}

/** Visible text of the active editor (Monaco renders spaces as U+00A0). */
async function activeEditorText() {
  const text = await page
    .locator('.editor-group-container.active .editor-instance .view-lines')
    .first()
    .innerText();
  return text.replace(/\u00a0/g, ' ');
}

/** aria-labels of the Problems panel rows; opens the panel if it is closed. */
async function problemRows() {
  if (
    !(await page
      .locator('.markers-panel')
      .isVisible()
      .catch(() => false))
  ) {
    await page.keyboard.press('Control+Shift+M');
    await page.locator('.markers-panel').waitFor({ state: 'visible', timeout: 10_000 });
  }
  return page
    .locator('.markers-panel .monaco-list-row')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-label') ?? ''));
}

/** Finds a webview frame (not in `skip`) for which `probe` (run inside it) returns something truthy. */
async function inWebviews(probe, arg, { timeoutMs, what, skip = new Set() }) {
  return waitFor(
    async () => {
      for (const frame of page.frames()) {
        if (frame === page.mainFrame() || skip.has(frame)) continue;
        try {
          const value = await frame.evaluate(probe, arg);
          if (value) return { frame, value };
        } catch {
          // frame navigated or detached meanwhile
        }
      }
      return undefined;
    },
    { timeoutMs, intervalMs: 250, what },
  );
}

/** Clears toasts, hides the bottom panel and the side bar, so a screenshot shows editor and webview. */
async function tidyForScreenshot() {
  await runCommand('Notifications: Clear All Notifications').catch(() => {});
  await page.keyboard.press('Escape');
  if (
    await page
      .locator('#workbench\\.parts\\.panel')
      .isVisible()
      .catch(() => false)
  ) {
    await page.keyboard.press('Control+J');
    await page.locator('#workbench\\.parts\\.panel').waitFor({ state: 'hidden', timeout: 5_000 });
  }
  if (
    await page
      .locator('#workbench\\.parts\\.sidebar')
      .isVisible()
      .catch(() => false)
  ) {
    await page.keyboard.press('Control+B');
    await page.locator('#workbench\\.parts\\.sidebar').waitFor({ state: 'hidden', timeout: 5_000 });
  }
}

/** The editor groups whose visible editor text matches `re`, with that text. */
async function groupsShowing(re) {
  const found = [];
  const groups = page.locator('.editor-group-container');
  for (let i = 0; i < (await groups.count()); i++) {
    const group = groups.nth(i);
    const lines = group.locator('.editor-instance .view-lines').first();
    if (!(await lines.isVisible().catch(() => false))) continue;
    const text = (await lines.innerText().catch(() => '')).replace(/\u00a0/g, ' ');
    if (re.test(text)) found.push({ group, text });
  }
  return found;
}

/** Closes a group's active editor (answering "Don't Save" for scratch buffers). */
async function closeActiveEditorOf(group) {
  await group.locator('.tab.active').first().click();
  await page.keyboard.press('Control+W');
  const dontSave = page
    .locator('.monaco-dialog-box .monaco-button')
    .filter({ hasText: "Don't Save" });
  if (
    await dontSave.waitFor({ timeout: 1_000 }).then(
      () => true,
      () => false,
    )
  ) {
    await dontSave.click();
  }
}

/** Answers a modal confirmation (e.g. "Generate … for N credits?") if one shows up. */
async function acceptDialogIfAny(buttonText) {
  const button = page
    .locator('.monaco-dialog-box .dialog-buttons-row .monaco-button')
    .filter({ hasText: buttonText })
    .first();
  if (await button.isVisible().catch(() => false)) {
    console.log(
      `  (answered a dialog: ${await page.locator('.monaco-dialog-box').innerText()})`.replace(
        /\s+/g,
        ' ',
      ),
    );
    await button.click();
  }
}

function activationLogged(cs) {
  const logs = path.join(cs.ud, 'logs');
  if (!existsSync(logs)) return false;
  for (const f of readdirSync(logs, { recursive: true })) {
    if (!String(f).endsWith('remoteexthost.log')) continue;
    const text = readFileSync(path.join(logs, String(f)), 'utf8');
    if (text.toLowerCase().includes(`_doactivateextension ${extensionId}`)) return true;
  }
  return false;
}

// ---- the suite -----------------------------------------------------------------------------------
let fake;
let cs;
let browser;
let bestShot;
const watchdog = setTimeout(() => {
  console.log(`suite budget of ${SUITE_BUDGET_MS} ms exceeded; stopping`);
  results.push({ name: 'suite finishes within its time budget', ok: false, ms: 0 });
  void finish();
}, SUITE_BUDGET_MS);

let finishing = false;
async function finish() {
  if (finishing) return;
  finishing = true;
  clearTimeout(watchdog);
  await browser?.close().catch(() => {});
  const failed = results.filter((r) => !r.ok);
  if (cs && failed.length) {
    copyFileSync(cs.logFile, path.join(shots, 'code-server.log'));
  }
  await cs?.close().catch(() => {});
  await Promise.resolve(fake?.close()).catch(() => {});
  // Only a full green run of the project's own build and example may replace the README picture.
  if (bestShot && !failed.length && !givenVsix && !args.includes('--example')) {
    const size = statSync(bestShot).size;
    if (size < 400 * 1024) {
      copyFileSync(bestShot, readmeShot);
      console.log(
        `README screenshot: ${path.relative(root, readmeShot)} (${Math.round(size / 1024)} KB)`,
      );
    } else
      console.log(`README screenshot not updated: ${Math.round(size / 1024)} KB is over 400 KB`);
  }
  console.log(`\ne2e finished in ${since()}; screenshots in ${path.relative(root, shots)}/`);
  for (const r of failed) console.log(`FAILED: ${r.name}${r.error ? ` — ${r.error}` : ''}`);
  console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
  process.exit(failed.length ? 1 : 0);
}

rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });

try {
  const facts = exampleFacts();
  const scene = facts.scenes[0];

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
    fake = await startFakeApi({ kieApiKey: fakeKieKey });
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
      const storyboard = path.join(cs.ws, facts.file);
      await page.goto(workbenchUrl(cs, cs.ws, [['openFile', cs.remote(storyboard)]]));
      await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      await page
        .locator(`.tabs-container .tab[aria-label*="${facts.file}"]`)
        .first()
        .waitFor({ timeout: 60_000 });
      await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor();
      await waitFor(
        async () => (await page.locator('#status\\.editor\\.mode').innerText()).includes('Kling'),
        { timeoutMs: 30_000, what: 'language mode "Kling" in the status bar' },
      );
    },
    { needs: [ready] },
  );

  await check(
    'extension activates',
    async () => {
      await waitFor(() => activationLogged(cs), {
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
      const rows = await problemRows();
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
      await gotoLine(facts.file, facts.firstShotBodyLine);
      await page.keyboard.type(` @${ghost}`);
      const row = await waitFor(
        async () => (await problemRows()).find((r) => r.startsWith('Error') && r.includes(ghost)),
        { timeoutMs: 30_000, what: `an Error row mentioning @${ghost}` },
      );
      await page.locator('.editor-instance .monaco-editor .squiggly-error').first().waitFor();
      await snap('undefined-element-error');
      return row;
    },
    { needs: ['extension activates'] },
  );

  await check(
    'undoing the edit clears the error',
    async () => {
      await gotoLine(facts.file, facts.firstShotBodyLine);
      await waitFor(
        async () => {
          if (!(await problemRows()).some((r) => r.includes(ghost))) return true;
          if (!(await activeEditorText()).includes(ghost)) return false; // wait for the server
          await page.keyboard.press('Control+Z');
          return false;
        },
        { timeoutMs: 30_000, intervalMs: 300, what: `the @${ghost} row to disappear` },
      );
    },
    { needs: ['typing an undefined @element shows an error row in Problems'] },
  );

  await check(
    'completion after @ offers the elements and inserts one',
    async () => {
      if (!facts.elements.length) throw new Error('the example defines no elements');
      await gotoLine(facts.file, facts.firstShotBodyLine);
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
      await waitFor(async () => (await activeEditorText()).includes(`${marker} @${wanted}`), {
        timeoutMs: 10_000,
        what: `"${marker} @${wanted}" in the editor`,
      });
      // Put the document back the way it was.
      await waitFor(
        async () => {
          if (!(await activeEditorText()).includes(marker)) return true;
          await page.keyboard.press('Control+Z');
          return false;
        },
        { timeoutMs: 10_000, intervalMs: 200, what: 'undo of the completion' },
      );
      return `offered: ${labels.slice(0, 4).join(' | ')}`;
    },
    { needs: ['extension activates'] },
  );

  await check(
    'Kling: Preview Request shows the request JSON',
    async () => {
      await gotoLine(facts.file, scene.line + 1);
      await runCommand('Kling: Preview Request');
      // The preview opens beside the storyboard (focus may stay in the storyboard).
      const requestJson = /"(model|model_name)"\s*:\s*"kling/;
      const [shown] = await waitFor(
        async () => {
          const groups = await groupsShowing(requestJson);
          return groups.length ? groups : undefined;
        },
        { timeoutMs: 30_000, what: 'an editor showing the request JSON with its "model"' },
      );
      await snap('preview-request');
      await closeActiveEditorOf(shown.group);
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
      await runCommand('Kling: Set KIE API Key');
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

  await check(
    'Kling: Generate Scene shows the video in the results panel',
    async () => {
      await tidyForScreenshot();
      await gotoLine(facts.file, scene.line + 1);
      await runCommand('Kling: Generate Scene');
      const videoProbe = () => {
        const v = document.querySelector('video');
        const src = v && (v.currentSrc || v.getAttribute('src') || v.querySelector('source')?.src);
        return src ? { src } : undefined;
      };
      // A confirmation may come first. When the take is ready the extension says so in a toast with
      // a "Show Results" button — click it as a user would; if no toast comes although the fake
      // server has served the video, ask through the palette. An error toast ends the wait early.
      let askedForResults = false;
      let downloadedAt;
      const toasts = page.locator('.notifications-toasts .notification-toast');
      const found = await waitFor(
        async () => {
          await acceptDialogIfAny(/^(Generate|Yes|OK|Continue)/);
          const hit = await inWebviews(videoProbe, undefined, {
            timeoutMs: 0,
            what: 'video',
          }).catch(() => undefined);
          if (hit) return hit;
          const errorToast = toasts.filter({ has: page.locator('.codicon-error') }).first();
          if (await errorToast.isVisible().catch(() => false)) {
            throw new Error(`error toast: ${(await errorToast.innerText()).replace(/\s+/g, ' ')}`);
          }
          const showButton = toasts
            .locator('.monaco-button')
            .filter({ hasText: 'Show Results' })
            .first();
          if (!askedForResults && (await showButton.isVisible().catch(() => false))) {
            askedForResults = true;
            await showButton.click();
            return undefined;
          }
          if (fake && fake.server.state.videoHits.size > 0) downloadedAt ??= Date.now();
          if (downloadedAt && !askedForResults && Date.now() - downloadedAt > 10_000) {
            askedForResults = true;
            await runCommand('Kling: Show Results');
          }
          return undefined;
        },
        { timeoutMs: 150_000, intervalMs: 300, what: 'a <video> with a source in a webview' },
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

  await check(
    'Kling: Open Storyboard Preview shows a row per scene',
    async () => {
      await gotoLine(facts.file, 1);
      // Only a webview that appears now counts: the results panel may name the scenes too.
      const before = new Set(page.frames());
      await runCommand('Kling: Open Storyboard Preview');
      const titles = facts.scenes.map((s) => s.title);
      await inWebviews(
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
} catch (err) {
  results.push({
    name: 'suite runs to the end',
    ok: false,
    ms: 0,
    error: String(err?.stack ?? err),
  });
  console.log(`suite aborted: ${err?.stack ?? err}`);
}
await finish();

// What the browser end-to-end phases share: named checks with screenshots (Suite), the ways a user
// drives the VS Code workbench in Chromium (Workbench: palette, Go to Line, Problems, webviews,
// dialogs, toasts, CodeLens), and facts read from the example storyboard.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor, workbenchUrl } from './codeserver/with-code-server.mjs';

/** Named checks in order; each result is { name, ok, ms, error? }. */
export class Suite {
  /** `shots`: the folder screenshots go to (test-results/e2e). */
  constructor({ shots }) {
    this.shots = shots;
    this.results = [];
    this.page = undefined; // the page a failed check photographs
    this.screenshotCount = 0;
  }

  /** Runs one named check; a failed prerequisite fails it at once instead of waiting for timeouts. */
  async check(name, fn, { needs = [] } = {}) {
    const missing = needs.filter((n) => !this.passed(n));
    const t0 = Date.now();
    if (missing.length) {
      this.results.push({
        name,
        ok: false,
        ms: 0,
        error: `skipped: needs "${missing.join('", "')}"`,
      });
      console.log(`✗ ${name} — skipped (needs ${missing.join(', ')})`);
      return false;
    }
    try {
      const info = await fn();
      this.results.push({ name, ok: true, ms: Date.now() - t0 });
      console.log(`✓ ${name} (${Date.now() - t0} ms)${info ? ` — ${info}` : ''}`);
      return true;
    } catch (err) {
      const error = String(err?.message ?? err)
        .split('\n')
        .slice(0, 6)
        .join('\n  ');
      this.results.push({ name, ok: false, ms: Date.now() - t0, error });
      console.log(`✗ ${name} (${Date.now() - t0} ms)\n  ${error}`);
      if (this.page) await this.snap(`FAILED-${name}`).catch(() => {});
      return false;
    }
  }

  /** True when the check of that name ran and passed. */
  passed(name) {
    return this.results.some((r) => r.name === name && r.ok);
  }

  /** Saves a numbered screenshot of the current page under the shots folder and returns its path. */
  async snap(label) {
    const slug = label
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '');
    const file = path.join(
      this.shots,
      `${String(++this.screenshotCount).padStart(2, '0')}-${slug}.png`,
    );
    await this.page.screenshot({ path: file });
    return file;
  }
}

/** The example storyboard's file name, scenes (title, 1-based header line), elements, first shot line. */
export function exampleFacts(exampleDir) {
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

/** True once the extension host log of that code-server shows the extension's activation. */
export function activationLogged(cs, extensionId) {
  const logs = path.join(cs.ud, 'logs');
  if (!existsSync(logs)) return false;
  for (const f of readdirSync(logs, { recursive: true })) {
    if (!String(f).endsWith('remoteexthost.log')) continue;
    const text = readFileSync(path.join(logs, String(f)), 'utf8');
    if (text.toLowerCase().includes(`_doactivateextension ${extensionId}`)) return true;
  }
  return false;
}

const visible = (locator) => locator.isVisible().catch(() => false);
const appears = (locator, timeout) =>
  locator.waitFor({ timeout }).then(
    () => true,
    () => false,
  );

/** One VS Code workbench page, driven the way a user would. */
export class Workbench {
  constructor(page) {
    this.page = page;
  }

  quickInput() {
    return this.page.locator('.quick-input-widget input.input');
  }

  /**
   * Loads the workbench on a folder with one file open and waits until it shows in Kling mode.
   * `beforeEditor` runs once the workbench is up (e.g. to answer the workspace trust prompt).
   */
  async open(cs, file, { beforeEditor } = {}) {
    await this.page.goto(workbenchUrl(cs, cs.ws, [['openFile', cs.remote(file)]]));
    await this.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    if (beforeEditor) await beforeEditor();
    const name = path.basename(file);
    await this.page
      .locator(`.tabs-container .tab[aria-label*="${name}"]`)
      .first()
      .waitFor({ timeout: 60_000 });
    await this.page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor();
    await waitFor(
      async () =>
        (await this.page.locator('#status\\.editor\\.mode').innerText()).includes('Kling'),
      { timeoutMs: 30_000, what: 'language mode "Kling" in the status bar' },
    );
  }

  /** Runs a command from the palette by its title, e.g. "Kling: Preview Request". */
  async runCommand(title) {
    const { page } = this;
    await page.keyboard.press('Control+Shift+P');
    await this.quickInput().waitFor({ state: 'visible', timeout: 15_000 });
    await this.quickInput().fill(`>${title}`);
    const row = page.locator(`.quick-input-list .monaco-list-row[aria-label*="${title}"]`).first();
    await row.waitFor({ timeout: 15_000 });
    // Enter runs the focused row; make sure the exact title is the one focused.
    const focused = page.locator('.quick-input-list .monaco-list-row.focused').first();
    const label = (await focused.getAttribute('aria-label').catch(() => null)) ?? '';
    if (label.includes(title)) await page.keyboard.press('Enter');
    else await row.click();
  }

  /** Opens a workspace file through Quick Open (Ctrl+P) by its name. */
  async quickOpen(fileName) {
    const { page } = this;
    await page.keyboard.press('Control+P');
    await this.quickInput().waitFor({ state: 'visible', timeout: 15_000 });
    await this.quickInput().fill(fileName);
    const row = page
      .locator(`.quick-input-list .monaco-list-row[aria-label*="${fileName}"]`)
      .first();
    await row.waitFor({ timeout: 20_000 });
    await row.click();
    await page
      .locator(`.tabs-container .tab[aria-label*="${fileName}"]`)
      .first()
      .waitFor({ timeout: 20_000 });
  }

  /** Focuses a file's editor and puts the cursor at the end of a 1-based line. */
  async gotoLine(fileName, line) {
    const { page } = this;
    await page.locator(`.tabs-container .tab[aria-label*="${fileName}"]`).first().click();
    const lines = page.locator('.editor-instance .monaco-editor .view-lines').first();
    await lines.waitFor();
    // Ctrl+G reaches the editor only when it has the focus and no widget (a suggestion list, a
    // hover) takes the key first: once in a CI run the key went nowhere after the tab's click.
    // Focus the text (its input area: a click could land on a CodeLens), close any widget, and
    // press again if the line box does not come up.
    const input = page
      .locator('.editor-group-container.active .monaco-editor :is(textarea, .native-edit-context)')
      .first();
    for (let attempt = 1; ; attempt++) {
      await input.focus();
      await page.keyboard.press('Escape');
      await page.keyboard.press('Control+G');
      try {
        await this.quickInput().waitFor({ state: 'visible', timeout: 5_000 });
        break;
      } catch (e) {
        if (attempt === 3) throw e;
      }
    }
    await this.quickInput().fill(`:${line}`);
    await page.keyboard.press('Enter');
    await this.quickInput().waitFor({ state: 'hidden', timeout: 10_000 });
    await page.keyboard.press('End');
  }

  /** Visible text of the active editor (Monaco renders spaces as U+00A0). */
  async activeEditorText() {
    const text = await this.page
      .locator('.editor-group-container.active .editor-instance .view-lines')
      .first()
      .innerText();
    return text.replace(/\u00a0/g, ' ');
  }

  /** Presses Ctrl+Z until `text` is no longer in the active editor. */
  async undoUntilGone(text, what) {
    await waitFor(
      async () => {
        if (!(await this.activeEditorText()).includes(text)) return true;
        await this.page.keyboard.press('Control+Z');
        return false;
      },
      { timeoutMs: 10_000, intervalMs: 200, what },
    );
  }

  /** aria-labels of the Problems panel rows; opens the panel if it is closed. */
  async problemRows() {
    const { page } = this;
    if (!(await visible(page.locator('.markers-panel')))) {
      await page.keyboard.press('Control+Shift+M');
      await page.locator('.markers-panel').waitFor({ state: 'visible', timeout: 10_000 });
    }
    return page
      .locator('.markers-panel .monaco-list-row')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-label') ?? ''));
  }

  /** Types ` @<ghost>` at the end of a line and waits for the Error row naming it in Problems. */
  async typeUndefinedElement(fileName, line, ghost) {
    await this.gotoLine(fileName, line);
    await this.page.keyboard.type(` @${ghost}`);
    const row = await waitFor(
      async () =>
        (await this.problemRows()).find((r) => r.startsWith('Error') && r.includes(ghost)),
      { timeoutMs: 30_000, what: `an Error row mentioning @${ghost}` },
    );
    await this.page.locator('.editor-instance .monaco-editor .squiggly-error').first().waitFor();
    return row;
  }

  /** Undoes edits on that line until Problems no longer names `ghost`. */
  async undoUntilNoProblem(fileName, line, ghost) {
    await this.gotoLine(fileName, line);
    await waitFor(
      async () => {
        if (!(await this.problemRows()).some((r) => r.includes(ghost))) return true;
        if (!(await this.activeEditorText()).includes(ghost)) return false; // wait for the server
        await this.page.keyboard.press('Control+Z');
        return false;
      },
      { timeoutMs: 30_000, intervalMs: 300, what: `the @${ghost} row to disappear` },
    );
  }

  /** Finds a webview frame (not in `skip`) for which `probe` (run inside it) returns something truthy. */
  async inWebviews(probe, arg, { timeoutMs, what, skip = new Set() }) {
    const { page } = this;
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
  async tidyForScreenshot() {
    const { page } = this;
    await this.runCommand('Notifications: Clear All Notifications').catch(() => {});
    await page.keyboard.press('Escape');
    if (await visible(page.locator('#workbench\\.parts\\.panel'))) {
      await page.keyboard.press('Control+J');
      await page.locator('#workbench\\.parts\\.panel').waitFor({ state: 'hidden', timeout: 5_000 });
    }
    if (await visible(page.locator('#workbench\\.parts\\.sidebar'))) {
      await page.keyboard.press('Control+B');
      await page
        .locator('#workbench\\.parts\\.sidebar')
        .waitFor({ state: 'hidden', timeout: 5_000 });
    }
  }

  /** The editor groups whose visible editor text matches `re`, with that text. */
  async groupsShowing(re) {
    const found = [];
    const groups = this.page.locator('.editor-group-container');
    for (let i = 0; i < (await groups.count()); i++) {
      const group = groups.nth(i);
      const lines = group.locator('.editor-instance .view-lines').first();
      if (!(await visible(lines))) continue;
      const text = (await lines.innerText().catch(() => '')).replace(/\u00a0/g, ' ');
      if (re.test(text)) found.push({ group, text });
    }
    return found;
  }

  /** Closes a group's active editor (answering "Don't Save" for scratch buffers). */
  async closeActiveEditorOf(group) {
    await group.locator('.tab.active').first().click();
    await this.page.keyboard.press('Control+W');
    const dontSave = this.dialogButton("Don't Save");
    if (await appears(dontSave, 1_000)) await dontSave.click();
  }

  /** A button of the modal dialog, by its text (string or RegExp). */
  dialogButton(text) {
    return this.page
      .locator('.monaco-dialog-box .dialog-buttons-row .monaco-button')
      .filter({ hasText: text })
      .first();
  }

  /** Waits for a modal dialog whose message (and detail) matches `re`; returns that text. */
  async dialogShowing(re, timeoutMs = 30_000) {
    const box = this.page.locator('.monaco-dialog-box').first();
    return waitFor(
      async () => {
        if (!(await visible(box))) return undefined;
        const parts = await box
          .locator('.dialog-message-text, .dialog-message-detail')
          .allInnerTexts()
          .catch(() => []);
        const text = parts.join(' ').replace(/\s+/g, ' ').trim();
        return re.test(text) ? text : undefined;
      },
      { timeoutMs, intervalMs: 200, what: `a dialog matching ${re}` },
    );
  }

  /** Answers a modal confirmation (e.g. "Generate … for N credits?") if one shows up. */
  async acceptDialogIfAny(buttonText) {
    const button = this.dialogButton(buttonText);
    if (await visible(button)) {
      const text = await this.page.locator('.monaco-dialog-box').innerText();
      console.log(`  (answered a dialog: ${text})`.replace(/\s+/g, ' '));
      await button.click();
    }
  }

  /** The notification toasts. */
  toasts() {
    return this.page.locator('.notifications-toasts .notification-toast');
  }

  /** Waits for a toast whose message matches `re`; returns { toast, text, severity }. */
  async toastShowing(re, timeoutMs = 30_000) {
    return waitFor(
      async () => {
        const toasts = this.toasts();
        for (let i = 0; i < (await toasts.count()); i++) {
          const toast = toasts.nth(i);
          const text = (
            await toast
              .locator('.notification-list-item-message')
              .innerText()
              .catch(() => '')
          ).replace(/\s+/g, ' ');
          if (!re.test(text)) continue;
          const icon =
            (await toast.locator('.notification-list-item-icon').getAttribute('class')) ?? '';
          const severity = /codicon-error/.test(icon)
            ? 'error'
            : /codicon-warning/.test(icon)
              ? 'warning'
              : 'info';
          // Screenshots taken later must not catch the toast half faded in.
          await toast
            .and(this.page.locator('.notification-fade-in-done'))
            .waitFor({ timeout: 2_000 })
            .catch(() => {});
          return { toast, text, severity };
        }
        return undefined;
      },
      { timeoutMs, intervalMs: 200, what: `a notification matching ${re}` },
    );
  }

  /** Clears every notification (toasts and the centre). */
  async clearNotifications() {
    await this.runCommand('Notifications: Clear All Notifications');
    await waitFor(async () => (await this.toasts().count()) === 0, {
      timeoutMs: 5_000,
      what: 'the toasts to go',
    });
  }

  /** Texts of the CodeLens lines shown in the active editor. */
  async codeLensTexts() {
    const texts = await this.page
      .locator('.editor-group-container.active .editor-instance .codelens-decoration')
      .allInnerTexts();
    return texts.map((t) => t.replace(/\s+/g, ' ').trim());
  }
}

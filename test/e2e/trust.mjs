// The Restricted Mode phase of the browser end-to-end suite (run by run.mjs): a second code-server
// with workspace trust enabled, opened on the example, where the user answers the start-up prompt
// "No, I don't trust the authors". Language features must keep working; nothing may be uploaded or
// generated, even though the fake API's keys are in the environment; granting trust brings
// "▶ Generate" back.
import path from 'node:path';
import { startCodeServer, waitFor } from './codeserver/with-code-server.mjs';
import { activationLogged, exampleFacts, Workbench } from './workbench.mjs';

const RESTRICTED_LENS = 'Restricted Mode: trust this folder to generate';

/**
 * Adds the Restricted Mode checks to `suite`, using the caller's browser and fake API server.
 * `run.defer(close)` hands the code-server's shutdown (made by `run.closeServer`) to the caller;
 * `run.needs` are the caller's checks this phase depends on; `run.extensionId` as in package.json.
 */
export async function trustChecks(suite, { browser, fake, vsixPath, exampleDir, ...run }) {
  const check = suite.check.bind(suite);
  const facts = exampleFacts(exampleDir);
  let cs;
  let wb;
  /** Everything the fake API has seen so far: any request, task or upload. */
  const apiTraffic = () => ({
    requests: fake.server.state.log.length,
    created: fake.server.state.createdCount(),
    uploads: fake.server.state.uploads.length,
  });
  const unchanged = (before, what) => {
    const after = apiTraffic();
    if (JSON.stringify(after) !== JSON.stringify(before)) {
      const routes = fake.server.state.log.slice(before.requests).map((l) => l.path);
      throw new Error(
        `${what}: the fake API saw ${JSON.stringify({ before, after })} ${routes.join(', ')}`,
      );
    }
  };

  const started = 'trust: code-server with workspace trust enabled starts';
  await check(
    started,
    async () => {
      cs = await startCodeServer({
        vsix: vsixPath,
        workspaceFrom: exampleDir,
        trust: true,
        // With keys at hand, a refusal can only come from the missing trust.
        env: { ...fake.env, ...fake.keyEnv, KLING_STORYBOARD_TEST: '1' },
      });
      run.defer(run.closeServer(cs, 'code-server-trust.log'));
      return cs.url;
    },
    { needs: run.needs },
  );

  const restricted = 'trust: answering "No, I don\'t trust the authors" opens Restricted Mode';
  await check(
    restricted,
    async () => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      page.setDefaultTimeout(20_000);
      suite.page = page;
      wb = new Workbench(page);
      let question;
      await wb.open(cs, path.join(cs.ws, facts.file), {
        beforeEditor: async () => {
          question = await wb.dialogShowing(/trust the authors/, 60_000);
          await suite.snap('trust-prompt');
          await wb.dialogButton("No, I don't trust the authors").click();
        },
      });
      // The banner comes with the answer (the status bar item shows while the prompt is open).
      await page
        .locator('#workbench\\.parts\\.banner')
        .getByText(/Restricted Mode/)
        .first()
        .waitFor({ timeout: 15_000 });
      await page.locator('.monaco-dialog-box').waitFor({ state: 'hidden', timeout: 5_000 });
      await waitFor(() => activationLogged(cs, run.extensionId), {
        timeoutMs: 30_000,
        intervalMs: 250,
        what: `"_doActivateExtension ${run.extensionId}" in the extension host log`,
      });
      return `asked: ${question.slice(0, 70)}…`;
    },
    { needs: [started] },
  );

  const ghost = 'ghoost';
  await check(
    'trust: language features work in Restricted Mode (undefined @element → Error row)',
    async () => {
      const row = await wb.typeUndefinedElement(facts.file, facts.firstShotBodyLine, ghost);
      await wb.undoUntilNoProblem(facts.file, facts.firstShotBodyLine, ghost);
      return row;
    },
    { needs: [restricted] },
  );

  const lens = 'trust: the CodeLens above a scene asks to trust the folder instead of Generate';
  await check(
    lens,
    async () => {
      await wb.gotoLine(facts.file, facts.scenes[0].line);
      const texts = await waitFor(
        async () => {
          const all = await wb.codeLensTexts();
          return all.some((t) => t.includes(RESTRICTED_LENS)) ? all : undefined;
        },
        { timeoutMs: 30_000, what: `a CodeLens "${RESTRICTED_LENS}"` },
      );
      if (texts.some((t) => t.includes('▶ Generate')))
        throw new Error(`a Generate lens shows in Restricted Mode: ${texts.join(' | ')}`);
      await suite.snap('restricted-mode-codelens');
      return texts.find((t) => t.includes(RESTRICTED_LENS));
    },
    { needs: [restricted] },
  );

  /** Runs a Kling command that must be refused: a "not trusted" warning naming `action`, no traffic. */
  const refused = (title, action, shot) => async () => {
    const before = apiTraffic();
    await wb.gotoLine(facts.file, facts.scenes[0].line + 1);
    await wb.runCommand(title);
    const told = await wb.toastShowing(/not trusted/);
    if (told.severity !== 'warning') throw new Error(`a ${told.severity} toast: ${told.text}`);
    if (!told.text.includes(action))
      throw new Error(`the toast does not say "${action}": ${told.text}`);
    unchanged(before, `after ${title}`);
    if (shot) await suite.snap(shot);
    await wb.clearNotifications();
    return told.text;
  };
  await check(
    'trust: Kling: Generate Scene is refused ("not trusted") and sends nothing',
    refused('Kling: Generate Scene', 'generate videos', 'restricted-generate-refused'),
    { needs: [restricted] },
  );
  await check(
    'trust: Kling: Upload Media is refused ("not trusted") and uploads nothing',
    refused('Kling: Upload Media', 'upload media'),
    { needs: [restricted] },
  );

  await check(
    'trust: trusting the folder from the CodeLens brings back "▶ Generate"',
    async () => {
      const { page } = wb;
      await wb.gotoLine(facts.file, facts.scenes[0].line);
      // The lens runs "Manage Workspace Trust"; its editor's Trust button grants it.
      await page
        .locator('.editor-group-container.active .codelens-decoration a')
        .filter({ hasText: RESTRICTED_LENS })
        .first()
        .click();
      const trust = page
        .locator('.workspace-trust-editor .workspace-trust-buttons .monaco-button')
        .filter({ hasText: /^Trust$/ })
        .first();
      await trust.waitFor({ timeout: 15_000 });
      await trust.click();
      await page
        .locator('.statusbar')
        .getByText('Restricted Mode')
        .first()
        .waitFor({ state: 'hidden', timeout: 15_000 });
      await wb.gotoLine(facts.file, facts.scenes[0].line);
      const texts = await waitFor(
        async () => {
          const all = await wb.codeLensTexts();
          return all.some((t) => t.startsWith('▶ Generate')) ? all : undefined;
        },
        { timeoutMs: 30_000, what: 'a "▶ Generate" CodeLens' },
      );
      if (texts.some((t) => t.includes(RESTRICTED_LENS)))
        throw new Error(`the Restricted Mode lens stayed: ${texts.join(' | ')}`);
      await suite.snap('trusted-codelens');
      return texts.find((t) => t.startsWith('▶ Generate'));
    },
    { needs: [lens] },
  );
}

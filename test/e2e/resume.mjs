// The crash-and-restart phase of the browser end-to-end suite (run by run.mjs): a generation is
// under way (the fake API holds every status poll open) when the whole code-server process group
// is SIGKILLed, as when VS Code crashes or its window is closed. A new code-server on the same
// workspace folder and state folder is opened without running any Kling command: the ledger's task
// must resume and its video download, with no second createTask. Then the results panel, opened
// from the "▶ Play take" CodeLens, must come back after a window reload through its serializer.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startCodeServer, waitFor, workbenchUrl } from './codeserver/with-code-server.mjs';
import { activationLogged, exampleFacts, Workbench } from './workbench.mjs';

const root = path.resolve(import.meta.dirname, '../..');
/** The fake API serves these bytes as every result video (FakeServerOptions.video's default). */
const fakeVideo = () => readFileSync(path.join(root, 'test/fixtures/tiny.mp4'));

/** Every `take-N.mp4` under `dir`, as paths relative to it. */
function takeFiles(dir) {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => /(^|\/)take-\d+\.mp4$/.test(f) && !f.includes('node_modules'));
}

/**
 * Adds the crash/resume and results-serializer checks to `suite`, using the caller's browser and
 * fake API server. `run` as for trustChecks: defer, closeServer, needs, extensionId.
 */
export async function resumeChecks(suite, { browser, fake, vsixPath, exampleDir, ...run }) {
  const check = suite.check.bind(suite);
  const facts = exampleFacts(exampleDir);
  const scene = facts.scenes[0];
  const sceneIndex = 0;
  // Keys from the environment: the user set them once; SecretStorage lives in the browser profile.
  const env = { ...fake.env, ...fake.keyEnv, KLING_STORYBOARD_TEST: '1' };
  const settings = { 'kling.pollIntervalSeconds': 1 };
  let first;
  let second;
  let wb;
  let page;
  let taskId;
  let createdAfterCrash;
  let take;

  const newPage = async () => {
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(20_000);
    suite.page = page;
    wb = new Workbench(page);
  };

  const killed = 'resume: code-server is SIGKILLed while a generated take is being polled';
  await check(
    killed,
    async () => {
      first = await startCodeServer({ vsix: vsixPath, workspaceFrom: exampleDir, env, settings });
      run.defer(run.closeServer(first, 'code-server-before-crash.log'));
      await newPage();
      await wb.open(first, path.join(first.ws, facts.file));
      await waitFor(() => activationLogged(first, run.extensionId), {
        timeoutMs: 30_000,
        intervalMs: 250,
        what: `"_doActivateExtension ${run.extensionId}" in the extension host log`,
      });
      // Every status poll hangs: the task stays unfinished and a poll is in flight at the kill.
      fake.server.faults.add('kie.recordInfo', { type: 'hang' }, 10_000);
      const createdBefore = fake.server.state.createdCount();
      const logBefore = fake.server.state.log.length;
      await wb.gotoLine(facts.file, scene.line + 1);
      await wb.runCommand('Kling: Generate Scene');
      await waitFor(
        () =>
          fake.server.state.createdCount() > createdBefore &&
          fake.server.state.log
            .slice(logBefore)
            .some((l) => l.route === 'kie.recordInfo' && l.outcome === 'hang'),
        { timeoutMs: 60_000, intervalMs: 100, what: 'a createTask and then a (held) status poll' },
      );
      const created = [...fake.server.state.kieTasks.values()].slice(createdBefore);
      if (created.length !== 1) throw new Error(`${created.length} tasks were created, not 1`);
      taskId = created[0].taskId;
      await suite.snap('resume-before-crash');
      await first.kill();
      createdAfterCrash = fake.server.state.createdCount();
      await page.close().catch(() => {});
      page = undefined;
      suite.page = undefined;
      // The take must really be unfinished on disk: no video yet, its ledger still listed as pending.
      const videos = takeFiles(first.ws);
      if (videos.length) throw new Error(`a video exists before the restart: ${videos.join(', ')}`);
      // The state index: one file per ledger folder with unfinished work (server/src/render/state.ts).
      const indexDir = path.join(first.state, 'ledgers');
      const indexed = existsSync(indexDir)
        ? readdirSync(indexDir).filter((n) => n.endsWith('.json'))
        : [];
      if (indexed.length === 0)
        throw new Error(`no ledger with unfinished work in the state index (${indexDir})`);
      return `task ${taskId} created, killed mid-poll; state index lists ${indexed.length} ledger(s)`;
    },
    { needs: run.needs },
  );

  const resumed =
    'resume: after a restart on the same folder the take resumes, downloads its video and shows "▶ Play take", with no second createTask';
  await check(
    resumed,
    async () => {
      fake.server.faults.clear();
      const pollsBefore = fake.server.state.log.length;
      second = await startCodeServer({
        vsix: vsixPath,
        workspace: first.ws,
        stateDir: first.state,
        env,
        settings,
      });
      run.defer(run.closeServer(second, 'code-server-after-crash.log'));
      await newPage();
      // Only the workbench opens on the storyboard: no Kling command is run from here on.
      await wb.open(second, path.join(second.ws, facts.file));
      const expected = fakeVideo();
      const file = await waitFor(
        () =>
          takeFiles(second.ws).find((f) => readFileSync(path.join(second.ws, f)).equals(expected)),
        { timeoutMs: 90_000, intervalMs: 250, what: "a take-N.mp4 with the fake video's bytes" },
      );
      take = { file, number: Number(/take-(\d+)\.mp4$/.exec(file)[1]) };
      const polled = fake.server.state.log
        .slice(pollsBefore)
        .filter((l) => l.route === 'kie.recordInfo' && l.outcome === 200).length;
      if (!polled) throw new Error('the video appeared without any status poll after the restart');
      await wb.gotoLine(facts.file, scene.line);
      const lens = `▶ Play take ${take.number}`;
      const texts = await waitFor(
        async () => {
          const all = await wb.codeLensTexts();
          return all.some((t) => t.includes(lens)) ? all : undefined;
        },
        { timeoutMs: 30_000, what: `a CodeLens "${lens}"` },
      );
      const created = fake.server.state.createdCount();
      if (created !== createdAfterCrash)
        throw new Error(`${created - createdAfterCrash} more createTask call(s) after the restart`);
      await suite.snap('resume-after-restart');
      return `${take.file} (${expected.length} bytes) after ${polled} poll(s); lenses: ${texts.join(' | ')}`;
    },
    { needs: [killed] },
  );

  /** Runs in a webview: the take's <video> src in the results page, else undefined. */
  const takeVideo = ([sceneIndex, takeNumber]) =>
    document
      .querySelector(`#scene-${sceneIndex} article.take[data-take="${takeNumber}"] video`)
      ?.getAttribute('src') ?? undefined;
  const fileOf = (src) => decodeURIComponent(String(src)).split(/[?#]/)[0];

  await check(
    "results panel survives a window reload (serializer) and still shows the take's <video>",
    async () => {
      await page
        .locator('.editor-group-container.active .codelens-decoration a')
        .filter({ hasText: `▶ Play take ${take.number}` })
        .first()
        .click();
      const before = await wb.inWebviews(takeVideo, [sceneIndex, take.number], {
        timeoutMs: 30_000,
        what: `the results page with take ${take.number}'s <video>`,
      });
      if (!fileOf(before.value).endsWith(take.file))
        throw new Error(`the player shows ${before.value}, not ${take.file}`);
      // The window as a user has it, opened on its folder: the test's first load also asked to open
      // the storyboard, and a workbench given files to open does not restore its editors.
      await page.evaluate(
        (url) => history.replaceState(null, '', url),
        workbenchUrl(second, second.ws),
      );
      // VS Code's own reload saves the editors' state before it unloads (page.reload() races it).
      const reloaded = page.waitForEvent('load', { timeout: 60_000 });
      await wb.runCommand('Developer: Reload Window');
      await reloaded;
      await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      const after = await wb.inWebviews(takeVideo, [sceneIndex, take.number], {
        timeoutMs: 60_000,
        what: `the restored results page with take ${take.number}'s <video>`,
      });
      if (!fileOf(after.value).endsWith(take.file))
        throw new Error(`after the reload the player shows ${after.value}, not ${take.file}`);
      await suite.snap('results-after-reload');
      return `take ${take.number}: ${path.basename(fileOf(after.value))}`;
    },
    { needs: [resumed] },
  );

  if (page) await page.close().catch(() => {});
  suite.page = undefined;
}

// Integration tests that run inside the VS Code extension host (mocha, tdd UI). They drive the
// real extension, language server and (for generation) the fake API server the runner starts and
// points at with KIE_API_BASE / KIE_UPLOAD_BASE. Every wait is for a condition, never a fixed sleep.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { KlingExtensionApi } from '../../client/src/extension';

const EXTENSION_ID = 'kling-storyboard.kling-storyboard';
/** The key the fake API server accepts unless the runner passes another in KIE_API_KEY. */
const FAKE_KIE_KEY = 'test-kie-key';
const FAKE_KLING_ACCESS = 'test-kling-ak';
const FAKE_KLING_SECRET = 'test-kling-sk-0123456789';

const VALID = `# Integration test storyboard
provider: kie
mode: pro

[element dog]
images: https://example.invalid/dog-front.jpg, https://example.invalid/dog-side.jpg
A golden retriever puppy with a red collar.

[scene Ball test]
duration: 5
A red ball bounces across a wooden floor, slow motion.

[scene Dog walk]
first-frame: https://example.invalid/start.jpg

[shot 4s]
The @dog walks into the room.

[shot 6s]
The @dog sits down.
`;

const BROKEN = `[scene Broken]
duration: 10

[shot four]
A shot whose header is malformed.
`;

/** Polls `check` until it returns a truthy value (or throws the last failure after `timeoutMs`). */
async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 30_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    // Yield to the extension host's event loop between checks.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function workspaceRoot(): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the tests need a workspace folder');
  return folder.uri;
}

async function writeStoryboard(name: string, text: string): Promise<vscode.TextDocument> {
  const uri = vscode.Uri.joinPath(workspaceRoot(), 'integration', name);
  await vscode.workspace.fs.writeFile(uri, Buffer.from(text, 'utf8'));
  const doc = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(doc);
  return doc;
}

function codeOf(d: vscode.Diagnostic): string | undefined {
  const c = d.code;
  if (c === undefined) return undefined;
  return typeof c === 'object' ? String(c.value) : String(c);
}

async function api(): Promise<KlingExtensionApi> {
  const ext = vscode.extensions.getExtension<KlingExtensionApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is installed`);
  await waitFor('the extension to activate', () => ext.isActive);
  return ext.exports;
}

suite('Kling Storyboard extension', () => {
  let valid: vscode.TextDocument;

  suiteSetup(async () => {
    valid = await writeStoryboard('valid.kling', VALID);
  });

  test('activates on a .kling file', async () => {
    assert.equal(valid.languageId, 'kling');
    const exports = await api();
    assert.ok(exports.client.isRunning(), 'the language client is running');
  });

  test('diagnostics arrive for a broken document', async () => {
    const broken = await writeStoryboard('broken.kling', BROKEN);
    const diagnostics = await waitFor('a syntax diagnostic', () =>
      vscode.languages.getDiagnostics(broken.uri).filter((d) => codeOf(d) === 'syntax').length
        ? vscode.languages.getDiagnostics(broken.uri)
        : undefined,
    );
    const syntax = diagnostics.find((d) => codeOf(d) === 'syntax')!;
    assert.equal(syntax.severity, vscode.DiagnosticSeverity.Error);
    assert.equal(syntax.range.start.line, 3, 'the diagnostic sits on the [shot four] header');
  });

  test('kling.diagnostics.severity turns a code off in the server', async () => {
    await api();
    const doc = await writeStoryboard(
      'severity.kling',
      '[element spare]\nimages: https://example.invalid/a.jpg, https://example.invalid/b.jpg\nUnused.\n\n[scene One]\nduration: 5\nA quiet room.\n',
    );
    const unused = () =>
      vscode.languages.getDiagnostics(doc.uri).some((d) => codeOf(d) === 'unused-element');
    await waitFor('the unused-element hint', unused);
    const config = vscode.workspace.getConfiguration('kling');
    await config.update(
      'diagnostics.severity',
      { 'unused-element': 'off' },
      vscode.ConfigurationTarget.Workspace,
    );
    try {
      await waitFor('the hint to disappear', () => !unused());
    } finally {
      await config.update('diagnostics.severity', undefined, vscode.ConfigurationTarget.Workspace);
    }
    await waitFor('the hint to come back', unused);
  });

  test('completion after @ lists the elements', async () => {
    await api();
    const doc = await writeStoryboard(
      'complete.kling',
      VALID.replace('The @dog sits down.', 'The @ sits down.'),
    );
    const line = doc.lineAt(doc.lineCount - 2);
    assert.match(line.text, /The @ sits/);
    const position = new vscode.Position(line.lineNumber, line.text.indexOf('@') + 1);
    const labels = await waitFor('completion items with dog', async () => {
      const list = await vscode.commands.executeCommand<vscode.CompletionList>(
        'vscode.executeCompletionItemProvider',
        doc.uri,
        position,
      );
      const names = list.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
      return names.some((n) => n.replace(/^@/, '') === 'dog') ? names : undefined;
    });
    assert.ok(labels.length >= 1);
  });

  test('Preview Request opens read-only JSON with the KIE model', async () => {
    await api();
    const preview = await vscode.commands.executeCommand<vscode.TextDocument>(
      'kling.previewRequest',
      valid.uri,
      0,
    );
    assert.ok(preview, 'the command returns the preview document');
    assert.equal(preview.uri.scheme, 'kling-preview');
    assert.equal(preview.languageId, 'json');
    const request = JSON.parse(preview.getText());
    assert.equal(request.body.model, 'kling-3.0/video');
    assert.match(JSON.stringify(request), /red ball bounces/);
    await waitFor('the preview editor to be visible', () =>
      vscode.window.visibleTextEditors.some(
        (e) => e.document.uri.toString() === preview.uri.toString(),
      ),
    );
  });

  test('CodeLens offers Generate and Preview request above each scene', async () => {
    await api();
    const lenses = await waitFor('Generate lenses on both scenes', async () => {
      const all = await vscode.commands.executeCommand<vscode.CodeLens[]>(
        'vscode.executeCodeLensProvider',
        valid.uri,
        100,
      );
      const generate = all.filter((l) => l.command?.title.startsWith('▶ Generate'));
      return generate.length === 2 ? all : undefined;
    });
    const ballHeader = valid.getText().split('\n').indexOf('[scene Ball test]');
    const onBall = lenses
      .filter((l) => l.range.start.line === ballHeader)
      .map((l) => l.command?.title);
    assert.ok(
      // 5 s of pro without sound at the default 17 credits/s (an estimate, README "Cost estimates").
      onBall.includes('▶ Generate · 5 s · pro · ≈ 85 credits'),
      `lenses on Ball test: ${onBall.join(' | ')}`,
    );
    assert.ok(onBall.includes('Preview request'));
    const dogHeader = valid.getText().split('\n').indexOf('[scene Dog walk]');
    const onDog = lenses
      .filter((l) => l.range.start.line === dogHeader)
      .map((l) => l.command?.title);
    assert.ok(
      // A KIE multi-shot scene has sound: 10 s × 24 credits/s.
      onDog.includes('▶ Generate · 10 s · pro · sound · 2 shots · 1 element · ≈ 240 credits'),
      `lenses on Dog walk: ${onDog.join(' | ')}`,
    );
  });

  test('a scene with errors shows why it cannot be generated', async () => {
    await api();
    const doc = await writeStoryboard(
      'errors.kling',
      '[scene Too long]\nduration: 40\nA very long scene.\n',
    );
    const lens = await waitFor('a Cannot generate lens', async () => {
      const all = await vscode.commands.executeCommand<vscode.CodeLens[]>(
        'vscode.executeCodeLensProvider',
        doc.uri,
        100,
      );
      return all.find((l) => l.command?.title.startsWith('⚠ Cannot generate'));
    });
    assert.match(lens.command!.title, /40/);
  });

  test('Set KIE API Key stores the key in SecretStorage', async () => {
    const exports = await api();
    const stored = await vscode.commands.executeCommand<boolean>(
      'kling.setKieApiKey',
      process.env.KIE_API_KEY || FAKE_KIE_KEY,
    );
    assert.equal(stored, true);
    assert.equal(await exports.keySource('kieApiKey'), 'secret-storage');
  });

  test('generates a scene against the fake API and downloads the video', async function () {
    if (!process.env.KIE_API_BASE) {
      this.skip(); // the runner starts the fake API server and sets KIE_API_BASE
    }
    this.timeout(120_000);
    const exports = await api();
    await vscode.commands.executeCommand(
      'kling.setKieApiKey',
      process.env.KIE_API_KEY || FAKE_KIE_KEY,
    );
    const doc = await writeStoryboard('generate.kling', VALID);
    const entries = await vscode.commands.executeCommand<
      { state: string; videoPath?: string }[] | undefined
    >('kling.generateScene', doc.uri, 0);
    assert.ok(entries && entries.length === 1, 'one ledger entry for one scene');
    const done = await waitFor(
      'the ledger to say done',
      async () =>
        (await exports.tasks.entries(doc.uri.fsPath)).find(
          (e) => e.sceneIndex === 0 && e.state === 'done',
        ),
      90_000,
    );
    assert.ok(done.videoPath, 'the entry names its video');
    await waitFor(
      'the video file',
      () => fs.existsSync(done.videoPath!) && fs.statSync(done.videoPath!).size > 0,
    );
    assert.equal(path.extname(done.videoPath), '.mp4');
    const play = await waitFor('a Play take lens', async () => {
      const all = await vscode.commands.executeCommand<vscode.CodeLens[]>(
        'vscode.executeCodeLensProvider',
        doc.uri,
        100,
      );
      return all.find((l) => /^▶ Play take \d+$/.test(l.command?.title ?? ''));
    });
    assert.equal(play.command?.command, 'kling.showResults');

    // Generate would reuse that take (same request): its lens says so instead of a price, the
    // other scene keeps its estimate, and Generate on it indeed creates nothing.
    const generateLens = async (header: string) => {
      const line = doc.getText().split('\n').indexOf(header);
      const all = await vscode.commands.executeCommand<vscode.CodeLens[]>(
        'vscode.executeCodeLensProvider',
        doc.uri,
        100,
      );
      return all
        .filter((l) => l.range.start.line === line)
        .map((l) => l.command?.title ?? '')
        .find((t) => t.startsWith('▶ Generate'));
    };
    await waitFor(
      'the Generate lens to say the take is reused',
      async () =>
        (await generateLens('[scene Ball test]')) ===
        '▶ Generate · 5 s · pro · reuses take 1, not charged',
    );
    assert.equal(
      await generateLens('[scene Dog walk]'),
      '▶ Generate · 10 s · pro · sound · 2 shots · 1 element · ≈ 240 credits',
    );
    // A damaged ledger entry (it may record a paid take): Generate would refuse the scene, so its
    // lens says so, with the plan's reason and no price; repaired, it is "not charged" again.
    const ledgerDir = path.join(
      path.dirname(path.dirname(path.dirname(done.videoPath))),
      '.ledger',
    );
    const ledgerName = fs
      .readdirSync(ledgerDir)
      .find((n) => n.endsWith(`--${done.sceneSlug}--take-${done.take}.json`))!;
    const ledgerFile = path.join(ledgerDir, ledgerName);
    const entryText = fs.readFileSync(ledgerFile, 'utf8');
    fs.writeFileSync(ledgerFile, entryText.slice(0, 40));
    const refusedLens = await waitFor('the lens to say the scene is not sent', async () => {
      const line = doc.getText().split('\n').indexOf('[scene Ball test]');
      const all = await vscode.commands.executeCommand<vscode.CodeLens[]>(
        'vscode.executeCodeLensProvider',
        doc.uri,
        100,
      );
      return all.find((l) => l.range.start.line === line && l.command?.title.includes('Not sent'))
        ?.command;
    });
    assert.equal(
      refusedLens.title,
      `$(circle-slash) Not sent: the ledger entry ${path.relative(fs.realpathSync(path.dirname(doc.uri.fsPath)), fs.realpathSync(ledgerFile))} is not valid JSON (truncated or garbled)`,
    );
    assert.equal(await generateLens('[scene Ball test]'), undefined, 'no price, no Generate');
    // The entry may record a paid take: the way on is an explicit new take, offered once.
    const ballLine = doc.getText().split('\n').indexOf('[scene Ball test]');
    const newTakes = (
      await vscode.commands.executeCommand<vscode.CodeLens[]>(
        'vscode.executeCodeLensProvider',
        doc.uri,
        100,
      )
    ).filter((l) => l.range.start.line === ballLine && l.command?.title === '↻ New take');
    assert.equal(newTakes.length, 1, 'one ↻ New take beside "Not sent"');
    assert.deepEqual(newTakes[0]!.command!.arguments!.at(-1), { newTake: true });
    fs.writeFileSync(ledgerFile, entryText);
    await waitFor(
      'the Generate lens to say the take is reused again',
      async () =>
        (await generateLens('[scene Ball test]')) ===
        '▶ Generate · 5 s · pro · reuses take 1, not charged',
    );
    const created = async () =>
      (
        (await (await fetch(`${process.env.KIE_API_BASE}/__fake/state`)).json()) as {
          created: number;
        }
      ).created;
    const before = await created();
    const again = await vscode.commands.executeCommand<{ take: number; state: string }[]>(
      'kling.generateScene',
      doc.uri,
      0,
    );
    assert.deepEqual(
      again?.map((e) => [e.take, e.state]),
      [[1, 'done']],
    );
    assert.equal(await created(), before, 'Generate on a reused scene created no task');

    // An edit makes it another request (unsaved text counts): a price again, never "not charged".
    const at = doc.getText().indexOf('red ball');
    const range = new vscode.Range(doc.positionAt(at), doc.positionAt(at + 'red'.length));
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, range, 'blue');
    assert.ok(await vscode.workspace.applyEdit(edit));
    const priced = await waitFor('the Generate lens to show a price again', async () => {
      const title = await generateLens('[scene Ball test]');
      return title && !title.includes('reuses') ? title : undefined;
    });
    assert.match(priced, /^▶ Generate · 5 s · pro · ≈ \d+ credits$/);
    const undo = new vscode.WorkspaceEdit();
    undo.replace(doc.uri, new vscode.Range(range.start, doc.positionAt(at + 'blue'.length)), 'red');
    assert.ok(await vscode.workspace.applyEdit(undo));
    await doc.save();
  });

  test('Generate All and New take show the estimate and ask above kling.confirmAboveCredits; a low balance asks too', async function () {
    if (!process.env.KIE_API_BASE) {
      this.skip();
    }
    this.timeout(120_000);
    const exports = await api();
    await vscode.commands.executeCommand(
      'kling.setKieApiKey',
      process.env.KIE_API_KEY || FAKE_KIE_KEY,
    );
    const fake = process.env.KIE_API_BASE!;
    const fakeState = async () =>
      (await (await fetch(`${fake}/__fake/state`)).json()) as { created: number; credits: number };
    const setCredits = (credits: number) =>
      fetch(`${fake}/__fake/credits`, { method: 'POST', body: JSON.stringify({ credits }) });
    const asked: { message: string; detail: string; action: string }[] = [];
    let answer = false;
    const realAsk = exports.tasks.ask;
    exports.tasks.ask = async (message, detail, action) => {
      asked.push({ message, detail, action });
      return answer;
    };
    const config = vscode.workspace.getConfiguration('kling');
    const initialCredits = (await fakeState()).credits;
    try {
      await config.update('confirmAboveCredits', 100, vscode.ConfigurationTarget.Workspace);
      // Two scenes of 5 s in pro without sound: 85 credits each by the default table.
      const doc = await writeStoryboard(
        'budget.kling',
        'provider: kie\nmode: pro\n\n[scene Budget one]\nduration: 5\nA green kite.\n\n[scene Budget two]\nduration: 5\nA yellow kite.\n',
      );
      const before = (await fakeState()).created;

      // Above the threshold: asked, and Cancel sends nothing.
      const refused = await vscode.commands.executeCommand('kling.generateAll', doc.uri);
      assert.equal(refused, undefined);
      assert.equal(asked.length, 1, JSON.stringify(asked));
      assert.equal(
        asked[0].message,
        'Kling: 2 scenes to submit: ≈ 170 credits (estimate). Generate?',
      );
      assert.match(
        asked[0].detail,
        /Budget one: submit, ≈ 85 credits \(estimate: 17 credits\/s in pro without sound: a community figure/,
      );
      assert.equal(asked[0].action, 'Generate');
      assert.equal((await fakeState()).created, before, 'nothing was created after Cancel');

      // Generate: both scenes are submitted.
      answer = true;
      const entries = await vscode.commands.executeCommand<{ state: string }[]>(
        'kling.generateAll',
        doc.uri,
      );
      assert.equal(entries?.length, 2);
      assert.equal(asked.length, 2);
      assert.equal((await fakeState()).created, before + 2);

      // Generate All again: both takes are reused, nothing to pay, nothing asked.
      await vscode.commands.executeCommand('kling.generateAll', doc.uri);
      assert.equal(asked.length, 2, 'reused takes cost nothing: no question');
      assert.equal(exports.tasks.lastCost?.summary, 'nothing to submit, 2 reused: 0 credits');
      assert.equal((await fakeState()).created, before + 2);

      // New take pays again: above a threshold of 50 it asks first.
      await config.update('confirmAboveCredits', 50, vscode.ConfigurationTarget.Workspace);
      answer = false;
      await vscode.commands.executeCommand('kling.generateScene', doc.uri, 0, { newTake: true });
      assert.equal(asked.length, 3);
      // The fake reported 20 credits/s for the two takes: that refines the estimate (5 s → 100).
      const recorded = (await exports.tasks.entries(doc.uri.fsPath)).map((e) => [
        e.sceneTitle,
        e.state,
        e.reportedCost,
      ]);
      assert.equal(
        asked[2].message,
        'Kling: 1 scene to submit: ≈ 100 credits (estimate). Generate?',
        `recorded takes: ${JSON.stringify(recorded)}`,
      );
      assert.match(asked[2].detail, /\(estimate: from your last 2 takes in pro without sound\)/);
      assert.equal((await fakeState()).created, before + 2);

      // Below the threshold nothing is asked, but a balance below the estimate is: both numbers.
      await config.update('confirmAboveCredits', 500, vscode.ConfigurationTarget.Workspace);
      await setCredits(40);
      await vscode.commands.executeCommand('kling.generateScene', doc.uri, 1, { newTake: true });
      assert.equal(asked.length, 4);
      assert.equal(
        asked[3].message,
        'Kling: the balance of 40 credits is below the estimate of 100 credits for 1 scene to submit. Nothing has been submitted.',
      );
      assert.equal(asked[3].action, 'Generate Anyway');
      assert.equal((await fakeState()).created, before + 2, 'a low balance sends nothing');
    } finally {
      exports.tasks.ask = realAsk;
      await setCredits(initialCredits);
      await config.update('confirmAboveCredits', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  test('Cancel stops waiting for a running generation', async function () {
    if (!process.env.KIE_API_BASE) {
      this.skip();
    }
    this.timeout(60_000);
    const exports = await api();
    await vscode.commands.executeCommand(
      'kling.setKieApiKey',
      process.env.KIE_API_KEY || FAKE_KIE_KEY,
    );
    const doc = await writeStoryboard('cancel.kling', VALID.replace('red ball', 'blue ball'));
    const generation = vscode.commands.executeCommand('kling.generateScene', doc.uri, 0, {
      newTake: true,
    });
    await waitFor('the generation to start', () => exports.tasks.busy);
    const cancelled = await vscode.commands.executeCommand<number>('kling.cancel');
    assert.equal(cancelled, 1);
    await generation; // resolves instead of waiting for the remote task
    assert.equal(exports.tasks.busy, false);
  });

  test('Upload Media uploads each local file the scenes send', async function () {
    if (!process.env.KIE_UPLOAD_BASE) {
      this.skip();
    }
    this.timeout(60_000);
    await api();
    const example = vscode.Uri.joinPath(workspaceRoot(), 'rehearsal.kling');
    try {
      await vscode.workspace.fs.stat(example);
    } catch {
      this.skip(); // the runner copies examples/rehearsal into the workspace
    }
    await vscode.commands.executeCommand(
      'kling.setKieApiKey',
      process.env.KIE_API_KEY || FAKE_KIE_KEY,
    );
    const count = await vscode.commands.executeCommand<number | undefined>(
      'kling.uploadMedia',
      example,
    );
    // Two frames and two images for each of the two elements.
    assert.equal(count, 6);
  });

  test('Expand Element Views writes the generated views into images:', async function () {
    if (!process.env.KLING_API_BASE) {
      this.skip(); // needs the fake Kling API (AI Multi-Shot)
    }
    this.timeout(120_000);
    await api();
    const frontal = vscode.Uri.joinPath(workspaceRoot(), 'refs', 'dog-front.png');
    try {
      await vscode.workspace.fs.stat(frontal);
    } catch {
      this.skip(); // the runner copies examples/rehearsal (with refs/) into the workspace
    }
    const stored = await vscode.commands.executeCommand<boolean>(
      'kling.setKlingKeys',
      process.env.KLING_ACCESS_KEY || FAKE_KLING_ACCESS,
      process.env.KLING_SECRET_KEY || FAKE_KLING_SECRET,
    );
    assert.equal(stored, true);
    await vscode.workspace.fs.copy(
      frontal,
      vscode.Uri.joinPath(workspaceRoot(), 'integration', 'hero.png'),
      {
        overwrite: true,
      },
    );
    const doc = await writeStoryboard(
      'expand.kling',
      'provider: kling\n\n[element hero]\nfrontal: hero.png\nid: 123\nThe hero.\n',
    );
    // The estimate is shown before anything is sent: asked (the price is unknown until Kling
    // reports one), declining sends nothing, accepting pays for one task.
    const exports = await api();
    const fake = process.env.KLING_API_BASE!;
    // AI Multi-Shot tasks the fake API has created.
    const created = async () =>
      (
        (await (await fetch(`${fake}/__fake/state`)).json()) as { klingTasks: { kind: string }[] }
      ).klingTasks.filter((t) => t.kind === 'ai-multi-shot').length;
    const asked: { message: string; detail: string; action: string; created: number }[] = [];
    let answer = false;
    const realAsk = exports.tasks.ask;
    exports.tasks.ask = async (message, detail, action) => {
      asked.push({ message, detail, action, created: await created() });
      return answer;
    };
    let views: string[] | undefined;
    const before = await created();
    try {
      const declined = await vscode.commands.executeCommand<string[] | undefined>(
        'kling.expandElementViews',
        doc.uri,
        'hero',
      );
      assert.equal(declined, undefined);
      assert.equal(asked.length, 1, JSON.stringify(asked));
      assert.match(asked[0].message, /^Kling: @hero views: 1 AI Multi-Shot task to submit: /);
      assert.match(asked[0].detail, /\(estimate: /);
      assert.equal(asked[0].action, 'Expand Views');
      assert.equal(await created(), before, 'declined: nothing was created');
      answer = true;
      views = await vscode.commands.executeCommand<string[] | undefined>(
        'kling.expandElementViews',
        doc.uri,
        'hero',
      );
      assert.equal(asked.length, 2);
      assert.equal(asked[1].created, before, 'asked before the create was sent');
    } finally {
      exports.tasks.ask = realAsk;
    }
    assert.ok(views && views.length === 3, `three views, got ${JSON.stringify(views)}`);
    const imagesLine = await waitFor('the images: line', () =>
      doc
        .getText()
        .split('\n')
        .find((l) => l.startsWith('images: ')),
    );
    assert.equal(imagesLine, `images: ${views.join(', ')}`);
    for (const view of views) {
      await vscode.workspace.fs.stat(vscode.Uri.joinPath(workspaceRoot(), 'integration', view));
    }
  });

  test('hovering a media path shows the image with its pixel size', async () => {
    const uri = vscode.Uri.joinPath(workspaceRoot(), 'rehearsal.kling');
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const line = doc
      .getText()
      .split(/\r?\n/)
      .findIndex((l) => l.startsWith('first-frame:'));
    assert.ok(line >= 0, 'the example has a first-frame: line');
    const column = doc.lineAt(line).text.indexOf('frames/') + 3;
    const hovers = await waitFor('a hover on the media path', async () => {
      const found = await vscode.commands.executeCommand<vscode.Hover[]>(
        'vscode.executeHoverProvider',
        uri,
        new vscode.Position(line, column),
      );
      return found?.length ? found : undefined;
    });
    const text = hovers
      .flatMap((h) => h.contents)
      .map((c) => (typeof c === 'string' ? c : c.value))
      .join('\n');
    // The example's frames are 640×360 PNGs (test/fixtures/make-example-images.mjs).
    assert.match(text, /!\[[^\]]*\]\([^)]*rehearsal-room\.png[^)]*\)/, `an image in: ${text}`);
    assert.match(text, /640\s*×\s*360/, `the pixel size in: ${text}`);
  });

  test('the results panel opens', async () => {
    const exports = await api();
    await vscode.commands.executeCommand('kling.showResults', valid.uri.fsPath);
    const panel = await waitFor('the results panel', () => exports.resultsPanel());
    assert.equal(panel.panel.viewType, 'klingResults');
    assert.equal(panel.storyboard, valid.uri.fsPath);
    await waitFor('a results webview tab', () =>
      vscode.window.tabGroups.all.some((g) =>
        g.tabs.some(
          (t) =>
            t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('klingResults'),
        ),
      ),
    );
  });

  test('the storyboard preview opens beside the editor', async () => {
    const exports = await api();
    await vscode.commands.executeCommand('kling.openPreview', valid.uri);
    const preview = await waitFor('the preview panel', () =>
      exports.previewPanels().find((p) => p.documentUri.toString() === valid.uri.toString()),
    );
    assert.equal(preview.panel.viewType, 'klingPreview');
  });
});

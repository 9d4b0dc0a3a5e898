// `npm run bench`: how fast the shipped code is, next to what a user has without it.
//
// This file is bundled by esbuild.mjs into dist/bench/run.js with the production options of
// every other bundle, so the parser and validator measured here are the code the .vsix ships
// (not tsx's transform of the sources); the server is dist/server.js itself, over stdio.
// Every comparison runs in the same process and interleaved, round by round, so a busy machine
// slows both sides alike; beside each wall-clock latency over LSP is the CPU time the server
// process spent on it, which a busy machine inflates far less.
//
// 1. Parse + validate of generated storyboards of about 100 KB, 1 MB and 10 MB next to
//    JSON.parse of the request JSON their scenes would send.
// 2. Over LSP on a 2,000-scene document (in a temporary folder with its media files, so the
//    document is clean): edit → published diagnostics for every kind of edit, completion, open
//    → first diagnostics, and the server's memory after opening the 10 MB document.
// 3. Beside them, VS Code's own JSON language server (from code-server in .vscode-real/)
//    validating the same 2,000 scenes written as request JSON against a JSON Schema of the API
//    (test/bench/kie-request.schema.json), with pulled diagnostics as VS Code asks for them.
// Prints markdown tables for the README's Benchmarks section.

import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseStoryboard } from '../../server/src/core/parse';
import { validateStoryboard } from '../../server/src/core/validate';
import { SERVER_NODE_OPTIONS } from '../../server/src/launch';
import type { MediaFacts } from '../../server/src/core/media';
import { generate } from './generate';
import { BenchClient, SERVER_NODE } from './rpc';
import schema from './kie-request.schema.json';

/** The repository (this file runs as dist/bench/run.js). */
const ROOT = path.resolve(__dirname, '../..');
const SERVER = path.join(ROOT, 'dist/server.js');
const JSON_SERVER = path.join(
  ROOT,
  '.vscode-real/node_modules/code-server/lib/vscode/extensions/json-language-features/server/dist/node/jsonServerMain.js',
);
const JPEG = path.join(ROOT, 'test/fixtures/media/ok-320x320.jpg');

// ---- statistics and formatting ----

function sorted(xs: number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}
function median(xs: number[]): number {
  const s = sorted(xs);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
function percentile(xs: number[], p: number): number {
  const s = sorted(xs);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
function fmtMs(ms: number): string {
  return ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0);
}
function fmtSize(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / (1024 * 1024)).toFixed(1)} MB`
    : `${Math.round(bytes / 1024)} KB`;
}
function fmtMb(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024))} MB`;
}
function table(head: string[], rows: string[][]): void {
  console.log(`| ${head.join(' | ')} |`);
  console.log(`|${head.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

// ---- 1. parse + validate next to JSON.parse ----

const FACTS: MediaFacts = {
  exists: true,
  bytes: 200_000,
  format: 'jpeg',
  width: 1024,
  height: 768,
};

function coreBench(): string[][] {
  const rows: string[][] = [];
  for (const target of [100 * 1024, 1024 * 1024, 10 * 1024 * 1024]) {
    const g = generate(target);
    const rounds = target > 5 * 1024 * 1024 ? 9 : target > 500 * 1024 ? 21 : 61;
    let diagnostics = 0;
    const core = () => {
      const parsed = parseStoryboard(g.text);
      diagnostics = validateStoryboard(parsed, {
        media: () => FACTS,
        defaultProvider: 'kie',
      }).length;
    };
    const json = () => JSON.parse(g.requestJson);
    // Warm-up: at least 10 calls and 300 ms of each, so V8 has optimised both sides.
    const warmUntil = performance.now() + 300;
    for (let i = 0; i < 10 || performance.now() < warmUntil; i++) {
      core();
      json();
    }
    const coreTimes: number[] = [];
    const jsonTimes: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      // Alternate which side runs first, so neither always inherits the other's garbage.
      const order = r % 2 ? [json, core] : [core, json];
      const times = order.map((fn) => {
        const t = performance.now();
        fn();
        return performance.now() - t;
      });
      const [c, j] = r % 2 ? [times[1], times[0]] : times;
      coreTimes.push(c);
      jsonTimes.push(j);
      ratios.push(c / j);
    }
    rows.push([
      `${fmtSize(g.text.length)} (${g.scenes.toLocaleString('en')} scenes, ${diagnostics} diagnostics)`,
      `${fmtMs(median(coreTimes))} ms`,
      fmtSize(g.requestJson.length),
      `${fmtMs(median(jsonTimes))} ms`,
      `${median(ratios).toFixed(2)}× (${percentile(ratios, 25).toFixed(2)}–${percentile(ratios, 75).toFixed(2)})`,
      String(rounds),
    ]);
  }
  return rows;
}

// ---- the documents on disk ----

interface Workspace {
  dir: string;
  uri: (name: string) => string;
}

/** A temporary folder with the media files the generated storyboards reference. */
function workspace(): Workspace {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kling-bench-'));
  mkdirSync(path.join(dir, 'frames'));
  mkdirSync(path.join(dir, 'refs'));
  for (let i = 0; i < 50; i++) copyFileSync(JPEG, path.join(dir, `frames/f${i}.jpg`));
  for (const name of ['dog', 'cat', 'owl']) {
    for (const n of [1, 2]) copyFileSync(JPEG, path.join(dir, `refs/${name}-${n}.jpg`));
  }
  return { dir, uri: (name) => pathToFileURL(path.join(dir, name)).href };
}

// ---- edits ----

interface Change {
  range: {
    start: { line: number; character: number };
    end: { line: number; character: number };
  };
  text: string;
}

/** A kind of edit: `apply` and `revert` alternate, so the document returns to where it was. */
interface EditKind {
  name: string;
  apply: Change;
  revert: Change;
}

function replace(line: number, character: number, old: string, text: string): EditKind['apply'] {
  return {
    range: { start: { line, character }, end: { line, character: character + old.length } },
    text,
  };
}

/** A toggle between `a` and `b` at a position (a = '' inserts b, then deletes it). */
function toggle(name: string, line: number, character: number, a: string, b: string): EditKind {
  return { name, apply: replace(line, character, a, b), revert: replace(line, character, b, a) };
}

function editKinds(text: string): EditKind[] {
  const lines = text.split('\n');
  const mid = lines.length / 2;
  const find = (test: (l: string, i: number) => boolean) => {
    const i = lines.findIndex((l, j) => j > mid && test(l, j));
    if (i < 0) throw new Error('bench document lacks a line the edits need');
    return i;
  };
  const single = find((_, i) => lines[i - 1] === 'duration: 5');
  const shot = find((_, i) => lines[i - 1].startsWith('[shot'));
  // Another shot's prompt, so that two kinds of edit never touch the same line.
  const shot2 = find((_, i) => i > shot && lines[i - 1].startsWith('[shot'));
  const duration = find((l) => l === 'duration: 5');
  const title = find((l) => l.startsWith('[scene '));
  const element = lines.indexOf('[element dog]') + 2;
  const mode = lines.indexOf('mode: pro');
  const provider = lines.indexOf('provider: kie');
  return [
    toggle('type in a scene prompt', single, 0, '', 'x'),
    toggle('type in a shot prompt', shot, 0, '', 'x'),
    {
      name: 'Enter / Backspace in a shot prompt (lines below move)',
      apply: replace(shot2, 5, '', '\n'),
      revert: {
        range: { start: { line: shot2, character: 5 }, end: { line: shot2 + 1, character: 0 } },
        text: '',
      },
    },
    toggle('change a scene setting (`duration: 5` ↔ `6`)', duration, 10, '5', '6'),
    toggle('type in a scene title', title, 7, '', 'x'),
    toggle("type in an element's description (above the first scene)", element, 0, '', 'x'),
    toggle('type in the header comment', 0, 2, '', 'x'),
    toggle('change a header setting (`mode: pro` ↔ `std`)', mode, 6, 'pro', 'std'),
    toggle('switch the provider (`provider: kie` ↔ `kling`)', provider, 10, 'kie', 'kling'),
    toggle('turn the header comment into text (swallows the settings below)', 0, 0, '', 'x'),
  ];
}

// ---- 2. our server over LSP ----

/** `KLING_BENCH_PROFILE=DIR`: our server writes V8 CPU profiles into DIR (build without --production for names). */
const PROFILE_DIR = process.env.KLING_BENCH_PROFILE;

/**
 * What the bench client declares to our server: file watching (as VS Code and Neovim 0.10 do,
 * so media facts stay cached until a file changes) and pushed diagnostics.
 */
const OUR_CAPABILITIES = { workspace: { didChangeWatchedFiles: { dynamicRegistration: true } } };

/**
 * How our servers find their V8 code cache (server/src/start.ts): a folder of this run's own,
 * written once by `warmCodeCache` (as a user's first start writes it), or none at all (`off`:
 * a first start ever).
 */
type CodeCache = 'on' | 'off';

async function startOurs(
  ws: Workspace,
  capabilities: unknown = OUR_CAPABILITIES,
  codeCache: CodeCache = 'on',
  env: Record<string, string> = {},
): Promise<BenchClient> {
  const profile = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(PROFILE_DIR)}`] : [];
  // Started as the extension and the README's editor configurations start it.
  const client = new BenchClient([...SERVER_NODE_OPTIONS, ...profile, SERVER, '--stdio'], ws.dir, {
    KLING_CODE_CACHE_DIR: path.join(ws.dir, 'code-cache'),
    ...(codeCache === 'off' ? { KLING_CODE_CACHE: 'off' } : {}),
    ...env,
  });
  await client.initialize(capabilities);
  return client;
}

/** The code cache of this run: a first server opens the document and writes it. */
async function warmCodeCache(ws: Workspace, uri: string, text: string): Promise<void> {
  const server = await startOurs(ws, OUR_CAPABILITIES, 'on', { KLING_CODE_CACHE_DELAY_MS: '300' });
  await openOurs(server, uri, text);
  const dir = path.join(ws.dir, 'code-cache');
  for (let i = 0; i < 100 && !(existsSync(dir) && readdirSync(dir).length); i++)
    await new Promise((resolve) => setTimeout(resolve, 50));
  await server.shutdown();
  if (!readdirSync(dir).some((f) => f.endsWith('.cache')))
    throw new Error('the code cache was not written');
}

/** Opens a document and resolves when its first diagnostics are published: the time taken. */
async function openOurs(
  client: BenchClient,
  uri: string,
  text: string,
  cpu?: number[],
): Promise<number> {
  const published = client.published((p) => p.uri === uri && p.version === 1);
  const c = client.cpuMs();
  const t = performance.now();
  await client.notify('textDocument/didOpen', {
    textDocument: { uri, languageId: 'kling', version: 1, text },
  });
  const p = await published;
  const ms = performance.now() - t;
  cpu?.push(client.cpuMs() - c);
  if (p.diagnostics.length) {
    throw new Error(`bench document is not clean: ${JSON.stringify(p.diagnostics[0])}`);
  }
  return ms;
}

// ---- 3. VS Code's JSON language server ----

interface JsonSide {
  client: BenchClient;
  uri: string;
  version: number;
  line: number;
  /** Just inside the prompt's opening quote. */
  character: number;
  /** Edits since open: even ones insert, odd ones delete. */
  edits: number;
}

async function startJson(ws: Workspace): Promise<BenchClient> {
  const client = new BenchClient([JSON_SERVER, '--stdio'], ws.dir);
  // Pulled diagnostics, as VS Code asks for them (pushed ones wait 500 ms after each change).
  await client.initialize(
    { textDocument: { diagnostic: { dynamicRegistration: true } } },
    { provideFormatter: false, handledSchemaProtocols: ['file'] },
  );
  await client.notify('workspace/didChangeConfiguration', {
    settings: {
      json: {
        validate: { enable: true },
        schemas: [{ fileMatch: ['*.json'], schema }],
      },
    },
  });
  return client;
}

async function pullJson(client: BenchClient, uri: string): Promise<{ items: unknown[] }> {
  return client.request('textDocument/diagnostic', { textDocument: { uri } });
}

async function openJson(
  client: BenchClient,
  uri: string,
  text: string,
  cpu?: number[],
): Promise<number> {
  const c = client.cpuMs();
  const t = performance.now();
  await client.notify('textDocument/didOpen', {
    textDocument: { uri, languageId: 'json', version: 1, text },
  });
  const r = await pullJson(client, uri);
  const ms = performance.now() - t;
  cpu?.push(client.cpuMs() - c);
  if (r.items.length) throw new Error(`JSON document is not valid: ${JSON.stringify(r.items[0])}`);
  return ms;
}

async function editJson(side: JsonSide, cpu: number[]): Promise<number> {
  const insert = side.edits++ % 2 === 0;
  const character = side.character;
  const change = insert
    ? replace(side.line, character, '', 'x')
    : replace(side.line, character, 'x', '');
  const c = side.client.cpuMs();
  const t = performance.now();
  await side.client.notify('textDocument/didChange', {
    textDocument: { uri: side.uri, version: ++side.version },
    contentChanges: [change],
  });
  await pullJson(side.client, side.uri);
  const ms = performance.now() - t;
  cpu.push(side.client.cpuMs() - c);
  return ms;
}

// ---- the LSP run ----

/** Wall-clock times, and the server's CPU time for each (see BenchClient.cpuMs). */
interface Timed {
  times: number[];
  cpu: number[];
}
const timed = (): Timed => ({ times: [], cpu: [] });

interface LspResult {
  edits: ({ name: string } & Timed)[];
  completion: number[];
  openCold: Timed;
  openWarm: Timed;
  openFirst: Timed;
  startCold: Timed;
  startFirst: Timed;
  memory: { idle: number; rss: number; peak: number; bytes: number; scenes: number } | undefined;
  json?: { edit: Timed; openCold: Timed; openWarm: Timed; bytes: number };
  bytes: number;
  scenes: number;
}

const EDITS_PER_KIND = 60;
// A fresh server opens within 40–90 ms on a 2-core machine whose speed drifts by ±30 % within
// minutes: twenty rounds (each server, ours and the JSON one, interleaved) make the median steadier
// than ten did (session 8: three runs of ten rounds gave medians 45.0–56.7 ms with p95 near 63 ms).
const OPEN_ROUNDS = 20;

async function lspBench(hasJson: boolean): Promise<LspResult> {
  const ws = workspace();
  try {
    const g = generate(Infinity, 2000);
    const uri = ws.uri('board.kling');
    const jsonText = JSON.stringify(g.requests, null, 2);
    const jsonUri = ws.uri('board.json');
    writeFileSync(path.join(ws.dir, 'board.kling'), g.text);
    writeFileSync(path.join(ws.dir, 'board.json'), jsonText);

    // Open → first diagnostics: a fresh server each round (cold), then the same server
    // re-opening the document (warm); a fresh server without the code cache (a first start
    // ever); the JSON server likewise, interleaved. Start → first diagnostics too: from the
    // process's spawn, what a user waits for when opening a storyboard starts the server.
    await warmCodeCache(ws, uri, g.text);
    const openCold = timed();
    const openWarm = timed();
    const openFirst = timed();
    const startCold = timed();
    const startFirst = timed();
    const jsonCold = timed();
    const jsonWarm = timed();
    const fresh = async (codeCache: CodeCache, open: Timed, start: Timed) => {
      const t = performance.now();
      const server = await startOurs(ws, OUR_CAPABILITIES, codeCache);
      open.times.push(await openOurs(server, uri, g.text, open.cpu));
      start.times.push(performance.now() - t);
      return server;
    };
    for (let r = 0; r < OPEN_ROUNDS; r++) {
      const ours = await fresh('on', openCold, startCold);
      await ours.notify('textDocument/didClose', { textDocument: { uri } });
      openWarm.times.push(await openOurs(ours, uri, g.text, openWarm.cpu));
      await ours.shutdown();
      await (await fresh('off', openFirst, startFirst)).shutdown();
      if (hasJson) {
        const json = await startJson(ws);
        jsonCold.times.push(await openJson(json, jsonUri, jsonText, jsonCold.cpu));
        await json.notify('textDocument/didClose', { textDocument: { uri: jsonUri } });
        jsonWarm.times.push(await openJson(json, jsonUri, jsonText, jsonWarm.cpu));
        await json.shutdown();
      }
    }

    // Edits: every kind in turn, round after round, with a JSON server edit in each round.
    const ours = await startOurs(ws);
    await openOurs(ours, uri, g.text);
    let version = 1;
    const kinds = editKinds(g.text);
    const edits = kinds.map((k) => ({ name: k.name, ...timed() }));
    let json: JsonSide | undefined;
    if (hasJson) {
      const client = await startJson(ws);
      await openJson(client, jsonUri, jsonText);
      const jsonLines = jsonText.split('\n');
      const line = jsonLines.findIndex(
        (l, i) => i > jsonLines.length / 2 && l.trimStart().startsWith('"prompt": "'),
      );
      if (line < 0) throw new Error('JSON document lacks a prompt line');
      const character = jsonLines[line].indexOf('"prompt": "') + '"prompt": "'.length;
      json = { client, uri: jsonUri, version: 1, line, character, edits: 0 };
    }
    const jsonEdits = timed();
    for (let round = 0; round < EDITS_PER_KIND; round++) {
      for (let k = 0; k < kinds.length; k++) {
        const v = ++version;
        const change = round % 2 === 0 ? kinds[k].apply : kinds[k].revert;
        const published = ours.published((p) => p.uri === uri && p.version === v);
        const c = ours.cpuMs();
        const t = performance.now();
        await ours.notify('textDocument/didChange', {
          textDocument: { uri, version: v },
          contentChanges: [change],
        });
        await published;
        edits[k].times.push(performance.now() - t);
        edits[k].cpu.push(ours.cpuMs() - c);
      }
      if (json) {
        jsonEdits.times.push(await editJson(json, jsonEdits.cpu));
        // Its work after answering (collections of its 1.8 MB document) would land on our next
        // edit's time: both servers share the machine's cores here, never in an editor.
        await json.client.idle();
      }
    }

    // The JSON server really validated each change: a wrong value in the same line is reported.
    if (json) {
      const bad = { ...json, edits: 0 };
      await bad.client.notify('textDocument/didChange', {
        textDocument: { uri: bad.uri, version: ++bad.version },
        contentChanges: [
          replace(
            bad.line,
            bad.character - '"prompt": "'.length,
            '"prompt": ',
            '"prompt": 1, "x": ',
          ),
        ],
      });
      const r = await pullJson(bad.client, bad.uri);
      if (!r.items.length)
        throw new Error('the JSON server reported nothing for an invalid request');
    }

    // Completion: after `@` in a shot prompt (element names) and on a setting value.
    const lines = g.text.split('\n');
    const shotLine = lines.findIndex((l, i) => i > lines.length / 2 && l.startsWith('[shot')) + 1;
    const at = { line: shotLine, character: lines[shotLine].indexOf('@') + 1 };
    const valueLine = lines.findIndex((l, i) => i > lines.length / 2 && l.startsWith('duration: '));
    const completion: number[] = [];
    for (let i = 0; i < 200; i++) {
      const position = i % 2 === 0 ? at : { line: valueLine, character: 'duration: '.length };
      const t = performance.now();
      const r = await ours.request<{ items: unknown[] }>('textDocument/completion', {
        textDocument: { uri },
        position,
      });
      completion.push(performance.now() - t);
      if (!r.items.length) throw new Error('completion returned nothing');
    }
    await ours.shutdown();
    await json?.client.shutdown();

    // Memory: a fresh server, idle, then after opening the 10 MB document.
    const big = generate(10 * 1024 * 1024);
    const bigUri = ws.uri('big.kling');
    writeFileSync(path.join(ws.dir, 'big.kling'), big.text);
    const server = await startOurs(ws);
    const idle = server.memory();
    await openOurs(server, bigUri, big.text);
    const after = server.memory();
    await server.shutdown();

    return {
      edits,
      completion,
      openCold,
      openWarm,
      openFirst,
      startCold,
      startFirst,
      memory:
        idle && after
          ? {
              idle: idle.rss,
              rss: after.rss,
              peak: after.peak,
              bytes: big.text.length,
              scenes: big.scenes,
            }
          : undefined,
      json: hasJson
        ? { edit: jsonEdits, openCold: jsonCold, openWarm: jsonWarm, bytes: jsonText.length }
        : undefined,
      bytes: g.text.length,
      scenes: g.scenes,
    };
  } finally {
    rmSync(ws.dir, { recursive: true, force: true });
  }
}

// ---- report ----

async function main() {
  if (!existsSync(SERVER))
    throw new Error('dist/server.js is missing: run `node esbuild.mjs` first');
  const hasJson = existsSync(JSON_SERVER);
  const started = performance.now();

  console.log(
    '\n### Parse + validate next to JSON.parse (bundled core, median of interleaved rounds)\n',
  );
  table(
    ['storyboard', 'parse + validate', 'request JSON', '`JSON.parse`', 'ratio (IQR)', 'rounds'],
    coreBench(),
  );

  const lsp = await lspBench(hasJson);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const row = (name: string, t: Timed, target?: string) => [
    name,
    `${fmtMs(median(t.times))} ms`,
    `${fmtMs(percentile(t.times, 95))} ms`,
    t.cpu.length ? `${fmtMs(mean(t.cpu))} ms` : '—',
    ...(target === undefined ? [] : [target]),
  ];
  const head = ['measure', 'median', 'p95', 'server CPU (mean)'];
  console.log(
    `\n### Over LSP (dist/server.js over stdio), ${lsp.scenes.toLocaleString('en')}-scene document (${fmtSize(lsp.bytes)}, clean)\n`,
  );
  const all: Timed = {
    times: lsp.edits.flatMap((e) => e.times),
    cpu: lsp.edits.flatMap((e) => e.cpu),
  };
  table(
    [...head, 'target'],
    [
      ...lsp.edits.map((e) =>
        row(`edit → diagnostics: ${e.name} (${e.times.length})`, e, 'p95 ≤ 16 ms'),
      ),
      row(`edit → diagnostics: all kinds (${all.times.length})`, all, 'p95 ≤ 16 ms'),
      row(
        `open → first diagnostics, fresh server (${lsp.openCold.times.length})`,
        lsp.openCold,
        '≤ 60 ms',
      ),
      row(`open → first diagnostics, re-opened (${lsp.openWarm.times.length})`, lsp.openWarm, ''),
      row(
        `open → first diagnostics, fresh server, no code cache (a first start ever) (${lsp.openFirst.times.length})`,
        lsp.openFirst,
        '',
      ),
      row(
        `start → first diagnostics (spawn, initialize, open) (${lsp.startCold.times.length})`,
        { times: lsp.startCold.times, cpu: [] },
        '',
      ),
      row(
        `start → first diagnostics, no code cache (${lsp.startFirst.times.length})`,
        { times: lsp.startFirst.times, cpu: [] },
        '',
      ),
      row(
        `completion (${lsp.completion.length})`,
        { times: lsp.completion, cpu: [] },
        'p95 ≤ 10 ms',
      ),
    ],
  );
  if (lsp.memory) {
    const m = lsp.memory;
    console.log(
      `\nServer memory (resident set): ${fmtMb(m.idle)} idle; ${fmtMb(m.rss)} after opening the ${fmtSize(m.bytes)} document (${m.scenes.toLocaleString('en')} scenes) and publishing its diagnostics, peak ${fmtMb(m.peak)}.`,
    );
  }

  console.log(
    `\n### VS Code's JSON language server, the same ${lsp.scenes.toLocaleString('en')} scenes as request JSON against a JSON Schema\n`,
  );
  if (lsp.json) {
    const j = lsp.json;
    console.log(
      `${fmtSize(j.bytes)} of formatted JSON, schema test/bench/kie-request.schema.json, diagnostics pulled (\`textDocument/diagnostic\`) right after each change; run in the same rounds as the rows above.\n`,
    );
    table(head, [
      row(`edit → diagnostics: type in a prompt (${j.edit.times.length})`, j.edit),
      row(`open → first diagnostics, fresh server (${j.openCold.times.length})`, j.openCold),
      row(`open → first diagnostics, re-opened (${j.openWarm.times.length})`, j.openWarm),
    ]);
  } else {
    console.log(
      `Not measured: ${path.relative(ROOT, JSON_SERVER)} is absent (code-server is installed into .vscode-real/ by .ci/run, or link /work/main/.vscode-real).`,
    );
  }
  const servers =
    SERVER_NODE === process.execPath
      ? ''
      : ` (the servers on ${SERVER_NODE}, Node ${execFileSync(SERVER_NODE, ['--version'], { encoding: 'utf8' }).trim()})`;
  console.log(
    `\nMeasured on Node ${process.version}${servers}, ${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')}; the run took ${((performance.now() - started) / 1000).toFixed(0)} s.`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

// One build script, several contexts: extension (client), language server, CLI,
// browser-side webview code and the VS Code integration tests.
// Usage: node esbuild.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** Only entries that exist, so a partial checkout still builds what it has. */
const present = (entries) => entries.filter((e) => existsSync(e));
const filesIn = (dir, re) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => re.test(f))
        .map((f) => path.join(dir, f))
    : [];

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  target: 'node20',
};

/** @type {esbuild.BuildOptions[]} */
const builds = [
  {
    ...common,
    entryPoints: present(['client/src/extension.ts']),
    outfile: 'dist/extension.js',
    platform: 'node',
    format: 'cjs',
    external: ['vscode'],
  },
  {
    // The language server, run by dist/server.js (server/src/start.ts: its V8 code cache).
    ...common,
    entryPoints: present(['server/src/server.ts']),
    outfile: 'dist/server-main.js',
    platform: 'node',
    format: 'cjs',
  },
  {
    ...common,
    entryPoints: present(['server/src/start.ts']),
    outfile: 'dist/server.js',
    platform: 'node',
    format: 'cjs',
  },
  {
    ...common,
    entryPoints: present(['server/src/cli.ts']),
    outfile: 'dist/cli.js',
    platform: 'node',
    format: 'cjs',
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    ...common,
    entryPoints: filesIn('client/src/webview/ui', /\.ts$/),
    outdir: 'dist/webview',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
  },
  {
    // `npm run bench`: the benchmark, bundled like the server so it measures shipped code.
    ...common,
    entryPoints: present(['test/bench/run.ts']),
    outfile: 'dist/bench/run.js',
    platform: 'node',
    format: 'cjs',
  },
  {
    // `node dist/bench/plan.js`: the render-plan benchmark, bundled the same way.
    ...common,
    entryPoints: present(['test/bench/plan.ts']),
    outfile: 'dist/bench/plan.js',
    platform: 'node',
    format: 'cjs',
  },
  {
    ...common,
    entryPoints: filesIn('test/vscode', /\.ts$/),
    outdir: 'dist/test',
    platform: 'node',
    format: 'cjs',
    external: ['vscode', 'mocha'],
  },
].filter((b) => (b.entryPoints?.length ?? 0) > 0);

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
  console.log(`watching ${builds.length} builds`);
} else {
  const started = Date.now();
  await Promise.all(builds.map((b) => esbuild.build(b)));
  console.log(`built ${builds.length} bundles in ${Date.now() - started} ms`);
}

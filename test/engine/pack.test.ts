// The installable CLI: what `npm pack` ships (package.json `files`), installed offline from the
// tarball into a temporary prefix with `npm install -g --prefix`, run from there — check,
// preview, --version — far from this repository's node_modules. The same `files` list is what
// vsce packs into the .vsix (vsce refuses a .vscodeignore beside it), so vsce is checked too.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as esbuild from 'esbuild';

const root = path.join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ksb-pack-'));
const prefix = path.join(tmp, 'prefix');
const bin = path.join(prefix, 'bin', 'kling-storyboard');

/** npm with its cache and config in the temp folder, so nothing outside it is read or written. */
function npm(args: string[], cwd: string): { status: number | null; out: string } {
  const opts: SpawnSyncOptions = {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
    env: {
      PATH: process.env.PATH,
      HOME: tmp,
      npm_config_cache: path.join(tmp, 'npm-cache'),
      npm_config_userconfig: path.join(tmp, 'npmrc'),
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
    },
  };
  const r = spawnSync('npm', args, opts);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Runs the installed command from a folder outside the repository, with a bare environment. */
function installed(args: string[], cwd: string) {
  const r = spawnSync(bin, args, {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: tmp },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let listed: string[] = [];
let tarball = '';

before(async () => {
  // What the root package ships, as npm decides it (`files`), without running prepack here:
  // parallel suites read dist/, which the production build would rewrite.
  const dry = npm(['pack', '--dry-run', '--json', '--ignore-scripts'], root);
  assert.equal(dry.status, 0, dry.out);
  listed = (
    JSON.parse(dry.out.slice(dry.out.indexOf('['))) as { files: { path: string }[] }[]
  )[0]!.files
    .map((f) => f.path)
    .sort();
  // A staging copy of exactly those files, with a fresh production CLI bundle (the others as built).
  const stage = path.join(tmp, 'stage');
  for (const f of listed) {
    if (f === 'dist/cli.js') continue;
    mkdirSync(path.dirname(path.join(stage, f)), { recursive: true });
    cpSync(path.join(root, f), path.join(stage, f));
  }
  await esbuild.build({
    entryPoints: [path.join(root, 'server', 'src', 'cli.ts')],
    outfile: path.join(stage, 'dist', 'cli.js'),
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
    banner: { js: '#!/usr/bin/env node' },
  });
  const packed = npm(['pack', '--ignore-scripts', '--pack-destination', tmp], stage);
  assert.equal(packed.status, 0, packed.out);
  tarball = path.join(tmp, `kling-storyboard-${pkg.version}.tgz`);
  assert.ok(existsSync(tarball), packed.out);
  // Offline: the tarball must have nothing to fetch.
  const install = npm(
    ['install', '-g', '--prefix', prefix, '--offline', '--ignore-scripts', tarball],
    tmp,
  );
  assert.equal(install.status, 0, install.out);
});

after(() => rmSync(tmp, { recursive: true, force: true }));

describe('npm pack', () => {
  test('ships the bundles and assets only: no sources, tests, maps or node_modules', () => {
    assert.ok(listed.includes('dist/cli.js'), listed.join('\n'));
    assert.ok(listed.includes('package.json'));
    for (const f of listed) {
      assert.doesNotMatch(f, /^(server|test|node_modules|\.vscode-real)\/|\.ts$|\.map$/, f);
    }
    // Every entry of `files` ships something (a stale entry is a packaging mistake).
    for (const pattern of pkg.files as string[]) {
      const prefixOf = pattern.replace(/[*{].*$/, '');
      assert.ok(
        listed.some((f) => f.startsWith(prefixOf)),
        `"${pattern}" in files matches nothing`,
      );
    }
  });

  test('the packed package.json has a bin and no dependencies to install', () => {
    const extracted = path.join(tmp, 'extracted');
    mkdirSync(extracted);
    const r = spawnSync('tar', ['-xzf', tarball, '-C', extracted], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const packed = JSON.parse(
      readFileSync(path.join(extracted, 'package', 'package.json'), 'utf8'),
    );
    assert.deepEqual(packed.bin, { 'kling-storyboard': 'dist/cli.js' });
    assert.equal(packed.dependencies, undefined);
    assert.equal(packed.optionalDependencies, undefined);
    assert.equal(packed.peerDependencies, undefined);
    // The bundle requires Node's built-ins only.
    const cli = readFileSync(path.join(extracted, 'package', 'dist', 'cli.js'), 'utf8');
    assert.ok(cli.startsWith('#!/usr/bin/env node\n'));
    const required = [...cli.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!);
    assert.deepEqual(
      required.filter((m) => !m.startsWith('node:')),
      [],
    );
  });
});

describe('the installed kling-storyboard command', () => {
  const work = path.join(tmp, 'work');

  before(() => {
    cpSync(path.join(root, 'examples'), work, { recursive: true });
    assert.ok(existsSync(bin), `no ${bin}: ${readdirSync(prefix).join(', ')}`);
  });

  test('--version prints the package version', () => {
    const r = installed(['--version'], work);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
  });

  test('check finds the mistakes (exit 1) and passes the rehearsal (exit 0)', () => {
    const bad = installed(['check', 'mistakes.kling'], work);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(
      bad.stdout,
      /^mistakes\.kling:\d+:1: warning unknown-setting: Unknown setting `aspekt`/m,
    );
    assert.match(bad.stderr, /1 file checked: \d+ errors/);
    const good = installed(['check', 'rehearsal/rehearsal.kling', 'on-kling/window.kling'], work);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.match(good.stderr, /2 files checked: 0 errors, 0 warnings\./);
  });

  test('preview prints the request JSON of a scene, with no keys and no network', () => {
    const r = installed(['preview', 'rehearsal/rehearsal.kling', '--scene', 'Finale'], work);
    assert.equal(r.code, 0, r.stderr);
    const request = JSON.parse(r.stdout);
    assert.equal(request.scene, 'Finale');
    assert.equal(request.body.model, 'kling-3.0/video');
  });
});

describe('vsce packs the extension from the same files list', () => {
  test('vsce ls lists the extension bundles and assets, nothing else', () => {
    const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
    const r = spawnSync(process.execPath, [vsce, 'ls', '--no-dependencies'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const files = r.stdout.split('\n').filter(Boolean).sort();
    for (const f of [
      'dist/extension.js',
      'dist/server.js',
      'dist/server-main.js',
      'syntaxes/kling.tmLanguage.json',
    ])
      assert.ok(files.includes(f), `${f} not in:\n${files.join('\n')}`);
    for (const f of files) assert.doesNotMatch(f, /^(server|test|node_modules)\/|\.ts$|\.map$/, f);
  });
});

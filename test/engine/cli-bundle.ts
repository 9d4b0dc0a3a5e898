// The CLI bundled on its own into a temp folder (same settings as esbuild.mjs), so a suite that
// spawns it never races the other suites that rebuild dist/ at the same time.
import * as esbuild from 'esbuild';
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');

/** Builds server/src/cli.ts into a fresh temp folder and returns the path of the bundle. */
export async function bundleCli(): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ksb-cli-'));
  // Readable by other users: a test runs the CLI as an unprivileged user (read-only ledger).
  chmodSync(dir, 0o755);
  const outfile = path.join(dir, 'cli.js');
  await esbuild.build({
    entryPoints: [path.join(root, 'server', 'src', 'cli.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
    banner: { js: '#!/usr/bin/env node' },
  });
  return outfile;
}

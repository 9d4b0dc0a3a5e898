#!/usr/bin/env node
// Stands in for the desktop `code` executable under @vscode/test-electron on machines that cannot
// download VS Code: takes the command line runTests() builds (--extensionDevelopmentPath=,
// --extensionTestsPath=, the folder to open, the profile flags) and runs the same tests in
// code-server (VS Code 1.100.3's server + web workbench) driven by Chromium, with the environment
// runTests passes reaching the extension host. Exits with the tests' exit code, as `code` does.
//   VSCODE_EXECUTABLE=test/vscode/code-server-as-code.mjs npm run test:vscode
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { runExtensionTests } from './run-codeserver.mjs';

const args = process.argv.slice(2);
const value = (name) => {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit ? path.resolve(hit.slice(name.length + 3)) : undefined;
};
const extensionPath = value('extensionDevelopmentPath');
const testsPath = value('extensionTestsPath');
// The folder to open is the positional argument, as with `code <folder>`.
const folder = args.find((a) => !a.startsWith('-') && existsSync(a) && statSync(a).isDirectory());
if (!extensionPath || !testsPath) {
  console.error(
    'code-server-as-code: --extensionDevelopmentPath= and --extensionTestsPath= needed',
  );
  process.exit(2);
}
// Only the variables meant for the extension host travel on (runTests merges its
// extensionTestsEnv into a copy of the whole environment).
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => /^(KIE_|KLING_)/.test(k)),
);
const { code } = await runExtensionTests({
  extensionPath,
  testsPath,
  workspaceFrom: folder && path.resolve(folder),
  env,
});
process.exit(code);

// The mocha entry VS Code's extension host calls (`extensionTestsPath` → dist/test/index.js).
// It runs every dist/test/*.test.js beside it, with both the bdd (describe/it) and tdd (suite/test)
// globals, and logs `N passed, M failed` last so the runners can read the count back (also written
// as JSON to $KLING_VSCODE_RESULT_FILE when set, for runners that cannot see the extension host's log).
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';

/** Runs all bundled integration tests; rejects when any fails or none exist. */
export function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'bdd',
    color: false,
    timeout: Number(process.env.KLING_VSCODE_TEST_TIMEOUT ?? 60_000),
    grep: process.env.KLING_VSCODE_TEST_GREP || undefined,
  });
  // Test authors may use either interface; registering tdd as well adds suite/test/setup/teardown.
  Mocha.interfaces.tdd(mocha.suite);

  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.js'))
    .sort();
  for (const f of files) mocha.addFile(path.join(__dirname, f));
  console.log(`integration test files: ${files.join(', ') || '(none)'}`);

  const report = (passed: number, failed: number) => {
    console.log(`${passed} passed, ${failed} failed`);
    const out = process.env.KLING_VSCODE_RESULT_FILE;
    if (out) fs.writeFileSync(out, JSON.stringify({ passed, failed }));
  };

  return new Promise((resolve, reject) => {
    if (files.length === 0) {
      report(0, 1);
      reject(new Error(`no *.test.js files in ${__dirname}`));
      return;
    }
    try {
      const runner = mocha.run((failures) => {
        report(runner.stats?.passes ?? 0, failures);
        if (failures) reject(new Error(`${failures} integration tests failed`));
        else resolve();
      });
    } catch (err) {
      console.error(err);
      report(0, 1);
      reject(err);
    }
  });
}

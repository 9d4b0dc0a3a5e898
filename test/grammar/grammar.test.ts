// Grammar snapshot tests. Each file in test/grammar/cases is a vscode-tmgrammar-test case
// (`# SYNTAX TEST "source.kling"` header, `^^^` / `<-` scope assertions) and runs as its own
// test against syntaxes/kling.tmLanguage.json, in-process with the runner's own functions; the
// runner's command line runs once over all cases, and further tests tokenize the examples.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { createRegistry } from 'vscode-tmgrammar-test/dist/common/index';
import { parseGrammarTestCase, runGrammarTestCase } from 'vscode-tmgrammar-test/dist/unit/index';
import { parseScopeAssertion } from 'vscode-tmgrammar-test/dist/unit/parsing';
import { grammarPath, hasScope, repoRoot, tokenize } from './tokenize';

// vscode-tmgrammar-test has no library entry point; these are the modules its command line uses.
const cli = require.resolve('vscode-tmgrammar-test/dist/unit.js');

const run = promisify(execFile);
const casesDir = path.join(repoRoot, 'test/grammar/cases');
const registry = createRegistry([{ path: grammarPath, scopeName: 'source.kling' }]);

/** Runs one case's assertions; returns one readable line per failed assertion. */
async function failuresOf(text: string): Promise<string[]> {
  const testCase = parseGrammarTestCase(text);
  const failures = await runGrammarTestCase(registry, testCase);
  return failures.map((f) => {
    const covered = testCase.source[f.srcLine].slice(f.start, f.end);
    const missing = f.missing.length ? ` missing ${f.missing.join(' ')}` : '';
    const unexpected = f.unexpected.length ? ` unexpected ${f.unexpected.join(' ')}` : '';
    return `line ${f.srcLine + 1} "${covered}":${missing}${unexpected} (actual: ${f.actual.join(' ')})`;
  });
}

/**
 * The runner silently drops a `<-` line it cannot parse, and compares scope names exactly, so an
 * exclusion like `- comment` never fails. Every assertion line must parse and name full scopes.
 */
function assertionProblems(text: string): string[] {
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!/^#\s*(\^|<~*-)/.test(line)) return;
    const parsed = parseScopeAssertion(i, 1, line);
    if (parsed.length === 0) problems.push(`line ${i + 1} does not parse: ${line}`);
    for (const scope of parsed.flatMap((a) => [...a.scopes, ...a.exclude])) {
      if (!scope.endsWith('.kling')) problems.push(`line ${i + 1} names a partial scope: ${scope}`);
    }
  });
  return problems;
}

/** Runs the vscode-tmgrammar-test command line; resolves to its exit code and output. */
async function runCli(...files: string[]): Promise<{ code: number; output: string }> {
  const args = [cli, '-c', '-g', grammarPath, ...files];
  try {
    const { stdout, stderr } = await run(process.execPath, args, { cwd: repoRoot });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout}${e.stderr}` };
  }
}

const cases = readdirSync(casesDir)
  .filter((f) => f.endsWith('.kling'))
  .sort();

describe('grammar cases', () => {
  test('the cases folder holds every expected case', () => {
    const expected = [
      'comments',
      'header-zone',
      'headers',
      'malformed-headers',
      'prose-first',
      'prose-lookalikes',
      'references-escapes',
      'settings',
      'values',
    ];
    for (const name of expected) assert.ok(cases.includes(`${name}.kling`), `${name} is missing`);
  });

  for (const name of cases) {
    test(`case ${name}`, async () => {
      const text = readFileSync(path.join(casesDir, name), 'utf8');
      assert.match(text, /^# SYNTAX TEST "source\.kling"/);
      assert.deepEqual(assertionProblems(text), []);
      assert.ok(parseGrammarTestCase(text).assertions.length > 0, 'the case checks nothing');
      assert.deepEqual(await failuresOf(text), []);
    });
  }

  test('negative control: wrong required and excluded scopes are reported', async () => {
    const wrong = [
      '# SYNTAX TEST "source.kling"',
      'mode: pro',
      '#     ^^^ support.type.property-name.kling',
      'Camera: slow pan',
      '# <------ - meta.body.kling',
    ].join('\n');
    const failures = await failuresOf(wrong);
    assert.equal(failures.length, 2, failures.join('\n'));
    assert.match(failures[0], /"pro": missing support\.type\.property-name\.kling/);
    assert.match(failures[1], /"Camera: slow pan": unexpected meta\.body\.kling/);
    assert.deepEqual(assertionProblems('mode: x\n#     ^ - constant\n#<- x <- y - z - w'), [
      'line 2 names a partial scope: constant',
      'line 3 does not parse: #<- x <- y - z - w',
    ]);
  });
});

describe('the vscode-tmgrammar-test command line', () => {
  test('passes on all cases', async () => {
    const { code, output } = await runCli(...cases.map((c) => path.join(casesDir, c)));
    assert.equal(code, 0, output);
  });

  test('exits non-zero on a wrong assertion', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kling-grammar-'));
    try {
      const file = path.join(dir, 'wrong.kling');
      const text =
        '# SYNTAX TEST "source.kling"\n[scene A]\n#^^^^^ entity.name.type.element.kling\n';
      writeFileSync(file, text);
      const { code, output } = await runCli(file);
      assert.notEqual(code, 0, output);
      assert.match(output, /entity\.name\.type\.element\.kling/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('examples tokenize as intended', () => {
  test('rehearsal.kling: no invalid tokens, every zone line a known setting', async () => {
    const text = readFileSync(path.join(repoRoot, 'examples/rehearsal/rehearsal.kling'), 'utf8');
    const tokens = await tokenize(text);
    const invalid = tokens.filter((t) => hasScope(t, 'invalid')).map((t) => t.text);
    assert.deepEqual(invalid, []);
    const keys = tokens.filter((t) => hasScope(t, 'support.type.property-name')).map((t) => t.text);
    assert.deepEqual(keys, [
      'provider',
      'mode',
      'aspect',
      'sound',
      'images',
      'images',
      'duration',
      'first-frame',
      'duration',
      'first-frame',
    ]);
    const refs = tokens.filter((t) => hasScope(t, 'variable.other.element') && t.text !== '@');
    assert.deepEqual(
      refs.map((t) => t.text),
      ['dog', 'dog', 'cat', 'dog'],
    );
  });

  test('mistakes.kling: exactly its broken headers are invalid', async () => {
    const text = readFileSync(path.join(repoRoot, 'examples/mistakes.kling'), 'utf8');
    const lines = text.split(/\r?\n/);
    const tokens = await tokenize(text);
    const invalidLines = new Set(tokens.filter((t) => hasScope(t, 'invalid')).map((t) => t.line));
    assert.deepEqual(
      [...invalidLines].map((l) => lines[l]),
      ['[shot four]', '[scene Missing bracket', '[act 1]'],
    );
  });
});

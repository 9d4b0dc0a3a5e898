// `kling-storyboard check` as CI runs it: the bundled CLI in a child process. Its text lines are
// read with the extension's own problem matcher regex (package.json), its GitHub annotations are
// checked against GitHub's escaping rules, its SARIF against the SARIF 2.1.0 JSON schema, and
// its findings against what the language service (the editor) reports for the same settings.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import Ajv from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import * as esbuild from 'esbuild';
import { checkFile, checkService, githubAnnotation, place } from '../../server/src/check';
import { LineIndex } from '../../server/src/core/text';
import { DIAGNOSTIC_CODES } from '../../server/src/core/diagnostics';
import { makePng } from '../fake-server/png';

const root = path.join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const examples = path.join(root, 'examples');
// The SARIF 2.1.0 schema as OASIS publishes it, vendored because tests run offline:
// github.com/oasis-tcs/sarif-spec, sarif-2.1/schema/sarif-schema-2.1.0.json at commit
// a560296ca8c921f3bdb8d4a8db57ab83dae968a7 (the schema's $id is the errata01 OASIS standard).
const SARIF_SCHEMA = path.join(root, 'test', 'fixtures', 'sarif-schema-2.1.0.json');

let cli: string;

/** The parts of a SARIF log these tests read (the schema checks the whole). */
interface SarifLog {
  runs: {
    tool: {
      driver: {
        version: string;
        rules: {
          id: string;
          shortDescription: { text: string };
          help: { text: string };
          defaultConfiguration: { level: string };
        }[];
      };
    };
    invocations: {
      executionSuccessful: boolean;
      toolExecutionNotifications: { message: { text: string } }[];
    }[];
    results: {
      ruleId: string;
      ruleIndex: number;
      message: { text: string };
      locations: {
        physicalLocation: {
          artifactLocation: { uri: string };
          region: { startLine: number; startColumn: number; endLine: number; endColumn: number };
        };
      }[];
    }[];
  }[];
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], cwd = examples): Run {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const lines = (s: string) => s.split('\n').filter((l) => l.length > 0);

/** A temp folder with the given files (`.png` names get a real 400×400 PNG). */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ksb-check-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), name.endsWith('.png') ? makePng(400, 400, 1) : text);
  }
  return dir;
}

before(async () => {
  // Its own bundle in a temp folder beside a copy of package.json (as in the installed
  // package), so parallel suites that rebuild dist/ never see it half-written.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ksb-check-cli-'));
  mkdirSync(path.join(dir, 'dist'));
  copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  cli = path.join(dir, 'dist', 'cli.js');
  await esbuild.build({
    entryPoints: [path.join(root, 'server', 'src', 'cli.ts')],
    outfile: cli,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
    banner: { js: '#!/usr/bin/env node' },
  });
});

describe('text output and the problem matcher', () => {
  const matcher = pkg.contributes.problemMatchers[0];
  const regexp = new RegExp(matcher.pattern.regexp);

  test('the extension contributes the matcher, owner kling', () => {
    assert.equal(matcher.name, 'kling-storyboard');
    assert.equal(matcher.owner, 'kling');
    assert.deepEqual(matcher.fileLocation, ['autoDetect', '${workspaceFolder}']);
  });

  test('every line of a real check is read back as the JSON output says', () => {
    // information is a severity VS Code's matcher knows only as "info": it must be read so.
    const extra = ['--severity', 'duplicate-setting=information'];
    const text = run(['check', 'mistakes.kling', ...extra]);
    const json = run(['check', 'mistakes.kling', '--format', 'json', ...extra]);
    assert.equal(text.code, 1);
    const expected = JSON.parse(json.stdout) as Record<string, string | number>[];
    assert.ok(expected.length >= 20, `only ${expected.length} diagnostics`);
    const VS_CODE_SEVERITY: Record<string, string> = {
      error: 'error',
      warning: 'warning',
      information: 'info',
      hint: 'hint',
    };
    const read = lines(text.stdout).map((line) => {
      const m = regexp.exec(line);
      assert.ok(m, `the problem matcher does not match: ${line}`);
      const g = matcher.pattern;
      return {
        file: m[g.file],
        line: Number(m[g.line]),
        column: Number(m[g.column]),
        severity: m[g.severity],
        code: m[g.code],
        message: m[g.message],
      };
    });
    assert.deepEqual(
      read,
      expected.map((d) => ({
        file: d.file,
        line: d.line,
        column: d.column,
        severity: VS_CODE_SEVERITY[d.severity as string],
        code: d.code,
        message: d.message,
      })),
    );
    assert.ok(read.some((r) => r.severity === 'info'));
    assert.ok(read.some((r) => r.severity === 'hint'));
    assert.ok(read.some((r) => r.severity === 'warning'));
    // The summary goes to stderr, so the matcher never sees it.
    assert.match(
      text.stderr,
      /^1 file checked: \d+ errors, \d+ warnings, \d+ notes?, \d+ hints?\.$/m,
    );
  });

  test('a path with spaces and colons is read whole', () => {
    const dir = project({ 'my: board.kling': '[scene A]\nmode: ultra\nA dog runs.\n' });
    const r = run(['check', 'my: board.kling'], dir);
    const m = regexp.exec(lines(r.stdout)[0]!);
    assert.deepEqual(m?.slice(1), [
      'my: board.kling',
      '2',
      '7',
      'error',
      'invalid-value',
      '`ultra` is not a valid mode: use std, pro or 4K',
    ]);
  });
});

describe('--format github', () => {
  test('one annotation per diagnostic; warnings as ::warning, hints as ::notice', () => {
    const r = run(['check', 'mistakes.kling', '--format', 'github']);
    assert.equal(r.code, 1);
    const json = JSON.parse(run(['check', 'mistakes.kling', '--format', 'json']).stdout) as Record<
      string,
      string | number
    >[];
    const got = lines(r.stdout);
    assert.equal(got.length, json.length);
    const level = { error: 'error', warning: 'warning', hint: 'notice', information: 'notice' };
    got.forEach((line, i) => {
      const d = json[i]!;
      assert.equal(
        line,
        `::${level[d.severity as keyof typeof level]} file=mistakes.kling,line=${d.line},endLine=${d.endLine},` +
          `col=${d.column},endColumn=${d.endColumn},title=${d.code}::${d.message}`,
      );
    });
    assert.ok(got.some((l) => l.startsWith('::warning ')));
    assert.ok(got.some((l) => l.startsWith('::notice ')));
  });

  test('paths are relative to the working directory and escaped as GitHub requires', () => {
    const dir = project({ 'boards/50%, a:b.kling': '[scene A]\nmode: ultra\nA dog runs.\n' });
    const r = run(['check', path.join(dir, 'boards/50%, a:b.kling'), '--format', 'github'], dir);
    assert.deepEqual(lines(r.stdout), [
      '::error file=boards/50%25%2C a%3Ab.kling,line=2,endLine=2,col=7,endColumn=12,title=invalid-value::`ultra` is not a valid mode: use std, pro or 4K',
    ]);
  });

  test('a % in a message is escaped', () => {
    // A value is quoted in its message: `100%` must arrive as `100%25`.
    const dir = project({ 'a.kling': '[scene A]\nmode: 100%\nA dog runs.\n' });
    const r = run(['check', 'a.kling', '--format', 'github'], dir);
    assert.deepEqual(lines(r.stdout), [
      '::error file=a.kling,line=2,endLine=2,col=7,endColumn=11,title=invalid-value::`100%25` is not a valid mode: use std, pro or 4K',
    ]);
  });

  test('CR and LF in a message, and : , % in a path, are escaped (GitHub toolkit rules)', () => {
    const text = 'mode: x\n';
    const line = githubAnnotation(
      {
        file: 'a,b:c%.kling',
        text,
        storyboard: undefined as never,
        lines: new LineIndex(text),
        diagnostics: [],
      },
      {
        code: 'invalid-value',
        severity: 'warning',
        message: 'one\r\ntwo: 5%, three',
        span: { offset: 6, length: 1 },
      },
    );
    assert.equal(
      line,
      '::warning file=a%2Cb%3Ac%25.kling,line=1,endLine=1,col=7,endColumn=8,title=invalid-value::one%0D%0Atwo: 5%25, three',
    );
  });

  test('an unreadable file is an ::error annotation and exit 1', () => {
    const r = run(['check', 'missing.kling', '--format', 'github']);
    assert.equal(r.code, 1);
    assert.deepEqual(lines(r.stdout), [
      '::error file=missing.kling,title=unreadable::cannot read missing.kling: no such file',
    ]);
  });
});

describe('--format sarif', () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(SARIF_SCHEMA, 'utf8')));

  test('the schema validator itself rejects a broken log', () => {
    assert.equal(validate({ version: '2.1.0', runs: [{ tool: {} }] }), false);
    assert.equal(validate({ version: '2.0.0', runs: [] }), false);
    assert.equal(
      validate({
        version: '2.1.0',
        runs: [
          {
            tool: { driver: { name: 'x' } },
            results: [
              {
                message: { text: 'm' },
                locations: [{ physicalLocation: { region: { startLine: 0 } } }],
              },
            ],
          },
        ],
      }),
      false,
    );
  });

  test('a check of the mistakes example is valid SARIF 2.1.0 with rules and regions', () => {
    const r = run([
      'check',
      'mistakes.kling',
      'rehearsal/rehearsal.kling',
      'nope.kling',
      '--format',
      'sarif',
    ]);
    assert.equal(r.code, 1);
    const log = JSON.parse(r.stdout) as SarifLog;
    const ok = validate(log);
    assert.ok(ok, JSON.stringify(validate.errors, null, 2));
    const run0 = log.runs[0];
    const rules = run0.tool.driver.rules;
    assert.deepEqual(
      rules.map((x) => x.id),
      DIAGNOSTIC_CODES,
    );
    for (const rule of rules) {
      assert.ok(rule.shortDescription.text.length > 10, rule.id);
      assert.ok(rule.help.text.length > 5, rule.id);
    }
    assert.equal(rules.find((x) => x.id === 'unused-element')!.defaultConfiguration.level, 'note');
    assert.equal(run0.tool.driver.version, pkg.version);
    const json = JSON.parse(run(['check', 'mistakes.kling', '--format', 'json']).stdout) as Record<
      string,
      string | number
    >[];
    assert.equal(run0.results.length, json.length);
    run0.results.forEach((res, i) => {
      const d = json[i]!;
      assert.equal(res.ruleId, d.code);
      assert.equal(rules[res.ruleIndex]!.id, d.code);
      assert.equal(res.message.text, d.message);
      const loc = res.locations[0]!.physicalLocation;
      assert.equal(loc.artifactLocation.uri, 'mistakes.kling');
      assert.deepEqual(
        [loc.region.startLine, loc.region.startColumn, loc.region.endLine, loc.region.endColumn],
        [d.line, d.column, d.endLine, d.endColumn],
      );
    });
    assert.equal(run0.invocations[0].executionSuccessful, false);
    assert.match(
      run0.invocations[0].toolExecutionNotifications[0].message.text,
      /nope\.kling: no such file/,
    );
  });

  test('a clean storyboard is valid SARIF with no results, exit 0', () => {
    const r = run(['check', 'rehearsal/rehearsal.kling', '--format', 'sarif']);
    assert.equal(r.code, 0);
    const log = JSON.parse(r.stdout) as SarifLog;
    assert.ok(validate(log), JSON.stringify(validate.errors));
    assert.deepEqual(log.runs[0].results, []);
  });
});

describe('the same findings as the editor', () => {
  const BOARD =
    '[element dog]\nimages: a.png, b.png\nA dog.\n\n' +
    '[scene A]\nduration: 10\n# kling-ignore: scene-text-ignored\nNotes for me, not sent.\n' +
    '# kling-ignore: empty-shot\n[shot 4s]\nA run.\n[shot 5s]\nA stop.\n';
  const where = (out: string) => lines(out).map((l) => /^\S+:\d+:\d+: \w+ [\w-]+/.exec(l)?.[0]);
  const SETTINGS =
    '{\n  // comments and trailing commas, as VS Code writes them\n' +
    '  "kling.diagnostics.severity": { "duration-mismatch": "warning", "unused-element": "off", },\n' +
    '  "kling.defaultProvider": "kie", /* the default */\n}\n';

  test('suppressions and the settings file apply; exit 0 once the only error is a warning', () => {
    const dir = project({
      'board.kling': BOARD,
      'a.png': '',
      'b.png': '',
      '.vscode/settings.json': SETTINGS,
    });
    writeFileSync(path.join(dir, 'unsuppressed.kling'), BOARD.replace(/# kling-ignore.*\n/g, ''));
    assert.deepEqual(where(run(['check', 'unsuppressed.kling'], dir).stdout), [
      'unsuppressed.kling:1:1: hint unused-element',
      'unsuppressed.kling:6:11: error duration-mismatch',
      'unsuppressed.kling:7:1: warning scene-text-ignored',
    ]);
    const plain = run(['check', 'board.kling'], dir);
    assert.equal(plain.code, 1);
    assert.deepEqual(where(plain.stdout), [
      'board.kling:1:1: hint unused-element',
      'board.kling:6:11: error duration-mismatch',
      'board.kling:9:17: hint unused-suppression',
    ]);
    const withSettings = run(['check', 'board.kling', '--settings', '.vscode/settings.json'], dir);
    assert.equal(withSettings.code, 0, withSettings.stderr);
    assert.deepEqual(where(withSettings.stdout), [
      'board.kling:6:11: warning duration-mismatch',
      'board.kling:9:17: hint unused-suppression',
    ]);
    // --severity wins over the settings file.
    const flagged = run(
      [
        'check',
        'board.kling',
        '--settings',
        '.vscode/settings.json',
        '--severity',
        'duration-mismatch=error',
        '--severity=unused-suppression=off',
      ],
      dir,
    );
    assert.equal(flagged.code, 1);
    assert.deepEqual(where(flagged.stdout), ['board.kling:6:11: error duration-mismatch']);
  });

  test('the CLI lists exactly what the language service gives the editor', async () => {
    const dir = project({ 'board.kling': BOARD, 'a.png': '', 'b.png': '' });
    const settings = { severity: { 'duration-mismatch': 'information' as const } };
    const cliJson = JSON.parse(
      run(
        ['check', 'board.kling', '--format', 'json', '--severity', 'duration-mismatch=information'],
        dir,
      ).stdout,
    ) as Record<string, unknown>[];
    const service = checkService(settings);
    const c = await checkFile(service, path.join(dir, 'board.kling'));
    const editor = await service.diagnostics({
      uri: `file://${path.join(dir, 'board.kling')}`,
      version: 1,
      getText: () => readFileSync(path.join(dir, 'board.kling'), 'utf8'),
    });
    const severityName = ['', 'error', 'warning', 'information', 'hint'];
    assert.deepEqual(
      cliJson.map((d) => [d.line, d.column, d.endLine, d.endColumn, d.severity, d.code, d.message]),
      editor.map((d) => [
        d.range.start.line + 1,
        d.range.start.character + 1,
        d.range.end.line + 1,
        d.range.end.character + 1,
        severityName[d.severity!],
        d.code,
        d.message,
      ]),
    );
    assert.deepEqual(
      c.diagnostics.map((d) => place(c, d).line),
      cliJson.map((d) => d.line),
    );
  });

  test('bad --severity and --settings values are usage errors (exit 2), named', () => {
    const dir = project({
      'board.kling': BOARD,
      'bad.json': '{"kling.diagnostics.severity": {"nope": "off"}}',
    });
    const cases: [string[], RegExp][] = [
      [['--severity', 'shot-too-long'], /--severity takes CODE=LEVEL/],
      [['--severity', 'nope=off'], /unknown code "nope"/],
      [['--severity', 'shot-too-long=loud'], /error, warning, information, hint, off/],
      [['--settings', 'bad.json'], /bad\.json: unknown code "nope"/],
      [['--settings', 'board.kling'], /board\.kling is not JSON/],
      [['--format', 'xml'], /--format is text, json, github, sarif/],
    ];
    for (const [args, message] of cases) {
      const r = run(['check', 'board.kling', ...args], dir);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, message);
    }
  });
});

test('--version prints the package version', () => {
  const r = run(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), pkg.version);
});

// `kling-storyboard check`: storyboards checked through the language service — the one the
// language server and the extension use — so the CLI reports exactly what the editor shows,
// with the same suppressions and per-code severities; and the reports CI systems read (text
// lines for problem matchers, GitHub Actions annotations, SARIF 2.1.0).
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Storyboard } from './core/ast';
import { pathToUri } from './core/analysis';
import { CODE_DOCS } from './core/codes';
import {
  DIAGNOSTIC_CODES,
  DIAGNOSTIC_SEVERITY,
  type Severity,
  type StoryboardDiagnostic,
} from './core/diagnostics';
import type { MediaFacts } from './core/media';
import { mediaFactsOnDiskSync } from './render/mediafacts';
import {
  createLanguageService,
  type LanguageService,
  type ServiceSettings,
  type SeverityOverride,
} from './core/service';
import { LineIndex } from './core/text';

/** A storyboard as checked: its text, tree and the diagnostics the editor would show. */
export interface Checked {
  file: string;
  text: string;
  storyboard: Storyboard;
  diagnostics: StoryboardDiagnostic[];
  lines: LineIndex;
}

/** The file's text, or one clear line saying why it cannot be read. */
export function readText(file: string): string {
  try {
    // A FIFO or a device would block the read forever: only regular files are read.
    const st = statSync(file);
    if (st.isDirectory()) throw new Error(`cannot read ${file}: it is a directory`);
    if (!st.isFile()) throw new Error(`cannot read ${file}: not a regular file (a FIFO or device)`);
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!code) throw e;
    throw new Error(
      `cannot read ${file}${code === 'ENOENT' ? ': no such file' : code ? ` (${code})` : ''}`,
    );
  }
}

/** Media facts straight from disk (the CLI has no editor cache), by absolute path. */
function diskMediaFacts(): (absPath: string) => MediaFacts | undefined {
  const cache = new Map<string, MediaFacts | undefined>();
  return (abs) => {
    if (!cache.has(abs)) cache.set(abs, mediaFactsOnDiskSync(abs));
    return cache.get(abs);
  };
}

/** The language service the CLI checks with: media from disk, the user's settings. */
export function checkService(settings: Partial<ServiceSettings> = {}): LanguageService {
  return createLanguageService({ media: diskMediaFacts(), settings });
}

/** Checks one file through the service (throws a one-line Error when it cannot be read). */
export async function checkFile(service: LanguageService, file: string): Promise<Checked> {
  const text = readText(file);
  const doc = { uri: pathToUri(path.resolve(file)), version: 1, getText: () => text };
  const diagnostics = await service.check(doc);
  const a = service.analyze(doc);
  service.forget(doc.uri);
  return { file, text, storyboard: a.parsed.storyboard, diagnostics, lines: a.index };
}

const LEVELS: readonly SeverityOverride[] = ['error', 'warning', 'information', 'hint', 'off'];

/** `CODE=LEVEL` flags as a severity table; a wrong code or level is an Error naming it. */
export function severityFlags(flags: readonly string[]): Record<string, SeverityOverride> {
  const out: Record<string, SeverityOverride> = {};
  for (const flag of flags) {
    const m = /^([^=]+)=(.*)$/.exec(flag);
    if (!m) throw new Error(`--severity takes CODE=LEVEL, not "${flag}"`);
    const code = m[1]!.trim();
    const level = m[2]!.trim() as SeverityOverride;
    if (!Object.hasOwn(DIAGNOSTIC_SEVERITY, code))
      throw new Error(`--severity: unknown code "${code}"`);
    if (!LEVELS.includes(level))
      throw new Error(
        `--severity ${code}: the level is one of ${LEVELS.join(', ')}, not "${level}"`,
      );
    out[code] = level;
  }
  return out;
}

/** JSON with comments and trailing commas (VS Code's settings.json) as plain JSON text. */
function stripJsonc(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      out += text.slice(start, i + 1);
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 1;
      out += ' ';
    } else out += c;
  }
  return out.replace(/,(\s*[}\]])/g, '$1');
}

/**
 * The Kling settings of a settings file: VS Code's flat keys (`"kling.diagnostics.severity"`,
 * `"kling.defaultProvider"`, as in .vscode/settings.json) or the nested form other editors
 * send (`{ "kling": { "diagnostics": { "severity": … } } }`). Unknown codes or levels are errors.
 */
export function settingsFile(file: string): Partial<ServiceSettings> {
  let raw: unknown;
  try {
    raw = JSON.parse(stripJsonc(readText(file)));
  } catch (e) {
    throw new Error(
      e instanceof SyntaxError ? `${file} is not JSON: ${e.message}` : (e as Error).message,
    );
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new Error(`${file} is not a JSON object`);
  const o = raw as Record<string, unknown>;
  const nested = (o.kling && typeof o.kling === 'object' ? o.kling : {}) as Record<string, unknown>;
  const provider = o['kling.defaultProvider'] ?? nested.defaultProvider;
  const severity =
    o['kling.diagnostics.severity'] ??
    (nested.diagnostics as Record<string, unknown> | undefined)?.severity ??
    nested['diagnostics.severity'];
  const out: Partial<ServiceSettings> = {};
  if (provider !== undefined) {
    if (provider !== 'kie' && provider !== 'kling')
      throw new Error(
        `${file}: kling.defaultProvider is kie or kling, not ${JSON.stringify(provider)}`,
      );
    out.defaultProvider = provider;
  }
  if (severity !== undefined) {
    if (!severity || typeof severity !== 'object' || Array.isArray(severity))
      throw new Error(`${file}: kling.diagnostics.severity is an object of CODE: LEVEL`);
    try {
      out.severity = severityFlags(
        Object.entries(severity as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`),
      );
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message.replace(/^--severity:? ?/, '')}`);
    }
  }
  return out;
}

/** A diagnostic's 1-based start and end, columns in UTF-16 units as editors count them. */
export function place(c: Checked, d: StoryboardDiagnostic) {
  const r = c.lines.rangeOf(d.span);
  return {
    line: r.start.line + 1,
    column: r.start.character + 1,
    endLine: r.end.line + 1,
    endColumn: r.end.character + 1,
  };
}

/** `FILE:LINE:COL: severity code: message` — the line the problem matcher reads. */
export function textLine(c: Checked, d: StoryboardDiagnostic): string {
  const p = place(c, d);
  return `${c.file}:${p.line}:${p.column}: ${d.severity} ${d.code}: ${d.message}`;
}

/** A path as CI tools want it: relative to the working directory, with `/`. */
function portable(file: string): string {
  const rel = path.relative(process.cwd(), path.resolve(file));
  return (rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : path.resolve(file))
    .split(path.sep)
    .join('/');
}

// GitHub's workflow-command escaping (actions/toolkit, core/src/command.ts): data escapes
// `%`, `\r`, `\n`; property values additionally `:` and `,`.
const escapeData = (s: string) =>
  s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

const GITHUB_LEVEL: Record<Severity, string> = {
  error: 'error',
  warning: 'warning',
  information: 'notice',
  hint: 'notice',
};

/** A GitHub Actions annotation: `::error file=…,line=…,col=…,title=CODE::message`. */
export function githubAnnotation(c: Checked, d: StoryboardDiagnostic): string {
  const p = place(c, d);
  const props = [
    `file=${escapeProperty(portable(c.file))}`,
    `line=${p.line}`,
    `endLine=${p.endLine}`,
    `col=${p.column}`,
    `endColumn=${p.endColumn}`,
    `title=${escapeProperty(d.code)}`,
  ];
  return `::${GITHUB_LEVEL[d.severity]} ${props.join(',')}::${escapeData(d.message)}`;
}

/** The annotation for a file that could not be read. */
export function githubFileError(file: string, message: string): string {
  return `::error file=${escapeProperty(portable(file))},title=unreadable::${escapeData(message)}`;
}

const SARIF_LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  error: 'error',
  warning: 'warning',
  information: 'note',
  hint: 'note',
};

/** A percent-encoded relative URI reference for a path. */
function uriReference(file: string): string {
  const p = portable(file);
  return path.isAbsolute(p) ? pathToUri(p) : p.split('/').map(encodeURIComponent).join('/');
}

/**
 * The SARIF 2.1.0 log of a check run: one rule per diagnostic code (summary, help, default
 * level), one result per diagnostic with its region; unreadable files are tool notifications.
 */
export function sarifLog(
  checked: readonly Checked[],
  unreadable: readonly { file: string; message: string }[],
  version: string,
): Record<string, unknown> {
  const ruleIndex = new Map(DIAGNOSTIC_CODES.map((code, i) => [code, i]));
  const rules = DIAGNOSTIC_CODES.map((code) => ({
    id: code,
    shortDescription: { text: CODE_DOCS[code].summary },
    fullDescription: { text: `${CODE_DOCS[code].summary} ${CODE_DOCS[code].help}` },
    help: { text: CODE_DOCS[code].help },
    defaultConfiguration: { level: SARIF_LEVEL[DIAGNOSTIC_SEVERITY[code]] },
  }));
  const results = checked.flatMap((c) =>
    c.diagnostics.map((d) => {
      const p = place(c, d);
      return {
        ruleId: d.code,
        ruleIndex: ruleIndex.get(d.code),
        level: SARIF_LEVEL[d.severity],
        message: { text: d.message },
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: uriReference(c.file), uriBaseId: '%SRCROOT%' },
              region: {
                startLine: p.line,
                startColumn: p.column,
                endLine: p.endLine,
                endColumn: p.endColumn,
                charOffset: d.span.offset,
                charLength: d.span.length,
              },
            },
          },
        ],
      };
    }),
  );
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'kling-storyboard',
            version,
            rules,
          },
        },
        originalUriBaseIds: {
          '%SRCROOT%': { uri: pathToUri(process.cwd()) + '/' },
        },
        invocations: [
          {
            executionSuccessful: unreadable.length === 0,
            toolExecutionNotifications: unreadable.map((u) => ({
              level: 'error',
              message: { text: u.message },
              locations: [
                {
                  physicalLocation: {
                    artifactLocation: { uri: uriReference(u.file), uriBaseId: '%SRCROOT%' },
                  },
                },
              ],
            })),
          },
        ],
        columnKind: 'utf16CodeUnits',
        results,
      },
    ],
  };
}

/** The version in the package.json beside the bundle (dist/cli.js → ../package.json). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as {
      name?: string;
      version?: string;
    };
    if (pkg.name === 'kling-storyboard' && pkg.version) return pkg.version;
  } catch {
    // fall through: a bundle copied away from its package
  }
  return 'unknown';
}

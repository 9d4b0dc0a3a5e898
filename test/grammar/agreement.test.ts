// The grammar and the parser must agree on what every line is: header (and of which kind),
// setting, comment, body text or blank — including the settings-zone rule, which a TextMate
// grammar can only approximate line by line — and on where the @references are. Checked on the
// examples and on random documents built from tricky lines.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { IGrammar } from 'vscode-textmate';
import { parseStoryboard } from '../../server/src/core/parse';
import { LineIndex } from '../../server/src/core/text';
import { loadKlingGrammar, repoRoot, tokenizeWith } from './tokenize';

type LineKind =
  | 'header:element'
  | 'header:scene'
  | 'header:shot'
  | 'header:invalid'
  | 'setting'
  | 'comment'
  | 'body'
  | 'blank';

/** What the grammar says each line is, and the @references it colours (as `line:name`). */
function grammarView(grammar: IGrammar, text: string): { kinds: LineKind[]; refs: string[] } {
  const lineCount = text.split(/\r?\n/).length;
  const scopesByLine: Set<string>[] = Array.from({ length: lineCount }, () => new Set());
  const refs: string[] = [];
  for (const token of tokenizeWith(grammar, text)) {
    for (const s of token.scopes) scopesByLine[token.line].add(s);
    if (token.scopes.includes('variable.other.element.kling') && token.text !== '@') {
      refs.push(`${token.line}:${token.text}`);
    }
  }
  const kinds = scopesByLine.map((scopes): LineKind => {
    for (const kind of ['element', 'scene', 'shot', 'invalid'] as const) {
      if (scopes.has(`meta.header.${kind}.kling`)) return `header:${kind}`;
    }
    if (scopes.has('comment.line.number-sign.kling')) return 'comment';
    if (scopes.has('meta.setting.kling') || scopes.has('meta.setting.unknown.kling'))
      return 'setting';
    if (scopes.has('meta.body.kling')) return 'body';
    return 'blank';
  });
  return { kinds, refs };
}

/** What the parser says each line is, and the references of the text it would send. */
function parserView(text: string): { kinds: LineKind[]; refs: string[] } {
  const { storyboard } = parseStoryboard(text);
  const index = new LineIndex(text);
  const lines = text.split(/\r?\n/);
  const kinds: LineKind[] = lines.map((l) => (/^[ \t]*$/.test(l) ? 'blank' : 'body'));
  for (const c of storyboard.comments) kinds[c.line] = 'comment';
  const settings = [
    ...storyboard.headerSettings,
    ...storyboard.elements.flatMap((e) => e.settings),
    ...storyboard.scenes.flatMap((s) => s.settings),
  ];
  for (const s of settings) kinds[s.line] = 'setting';
  for (const b of storyboard.blocks) kinds[b.headerLine] = `header:${b.kind}`;
  const bodies = [
    storyboard.preamble,
    ...storyboard.blocks.flatMap((b) => ('body' in b ? [b.body] : [])),
  ];
  const refs = bodies
    .flatMap((body) => body.refs)
    .map((r) => `${index.positionAt(r.span.offset).line}:${r.name}`);
  return { kinds, refs };
}

/** Both views, with the grammar's references limited to lines whose text the parser sends. */
function compare(grammar: IGrammar, text: string): void {
  const g = grammarView(grammar, text);
  const p = parserView(text);
  const numbered = (kinds: LineKind[]) => kinds.map((k, i) => `${i}: ${k}`);
  assert.deepEqual(numbered(g.kinds), numbered(p.kinds), `for the text:\n${text}`);
  const sentLines = new Set(
    parseStoryboard(text)
      .storyboard.blocks.flatMap((b) => ('body' in b ? b.body.lines : []))
      .concat(parseStoryboard(text).storyboard.preamble.lines)
      .map((l) => l.line),
  );
  const grammarRefs = g.refs.filter((r) => sentLines.has(Number(r.split(':')[0])));
  assert.deepEqual(grammarRefs.sort(), [...p.refs].sort(), `for the text:\n${text}`);
}

const trickyLines = [
  '[element dog]',
  '[element cat_2]  ',
  '[element my dog]',
  '[element]',
  '[element 9lives]',
  '[element dog]]',
  '[scene Morning run]',
  '[scene]',
  '[scene]]',
  '[ scene  Spaced ]',
  '[scene Trailing] text',
  '[scene Missing',
  '[Scene Capital]',
  '[sceneX]',
  '[shot 4s]',
  '  [shot 6 Close-up on the window]',
  '[shot four]',
  '[shot]',
  '[shot 4.5s]',
  '[shot 4s]]',
  '[shot 4 s]',
  '[act 1]',
  '[]',
  '[]]',
  '[',
  'provider: kie',
  'mode: pro',
  '  sound: on',
  'duration: 10s',
  'cfg-scale:\t0.5',
  'images: refs/a.png, refs/b.png',
  'first-frame: https://example.com/a.png',
  'camera: zoom -2',
  'note: x',
  'colour:',
  'x-y-z: 1',
  'aspect:16:9',
  'https://example.com/a.png',
  'mode : pro',
  'Camera: slow pan',
  'Duration: 10',
  '# a comment',
  '   # indented comment',
  '#',
  'The @dog runs to @cat_2.',
  'window@dog and \\@home and @ and @9',
  '\\# a hash line',
  '  \\[shot 4s] as text',
  'Mid \\# and \\@dog@cat',
  '@@dog \\\\@cat',
  'plain prose',
  '',
  '   ',
  '\t',
];

describe('grammar and parser agree', () => {
  let grammar: IGrammar;
  before(async () => {
    grammar = await loadKlingGrammar();
  });

  test('on every example and grammar case', () => {
    const files = [
      'examples/rehearsal/rehearsal.kling',
      'examples/mistakes.kling',
      ...readdirSync(path.join(repoRoot, 'test/grammar/cases')).map(
        (f) => `test/grammar/cases/${f}`,
      ),
    ];
    for (const f of files) {
      // Assertion lines are not part of a case's source; drop them as the case runner does.
      const text = readFileSync(path.join(repoRoot, f), 'utf8')
        .split('\n')
        .filter((l) => !/^#\s*(\^|<~*-)/.test(l))
        .join('\n');
      compare(grammar, text);
    }
  });

  test('on random documents of tricky lines', () => {
    const noise = fc.string({
      unit: fc.constantFrom('[', ']', '#', '@', '\\', ':', ' ', '\t', 'a', 's', '4', '-', 'e', 'l'),
      maxLength: 12,
    });
    const line = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...trickyLines) },
      { weight: 1, arbitrary: noise },
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 25 }), (lines) => compare(grammar, lines.join('\n'))),
      { numRuns: 400 },
    );
  });
});

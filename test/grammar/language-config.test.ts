// The editor-side language files: client/language-configuration.json (comments, word pattern,
// folding markers, Enter rules) and client/snippets/kling.code-snippets (each snippet, with its
// placeholders filled by their defaults, must be a well-formed storyboard fragment).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { hasScope, repoRoot, tokenize } from './tokenize';

interface LanguageConfiguration {
  comments: { lineComment: string };
  brackets: [string, string][];
  autoClosingPairs: { open: string; close: string }[];
  wordPattern: string;
  folding: { offSide: boolean; markers: { start: string; end: string } };
  onEnterRules: { beforeText: string; afterText?: string; action: { appendText?: string } }[];
}

interface Snippet {
  scope: string;
  prefix: string | string[];
  description: string;
  body: string[];
}

const config = JSON.parse(
  readFileSync(path.join(repoRoot, 'client/language-configuration.json'), 'utf8'),
) as LanguageConfiguration;
const snippets = parseJsonc(
  readFileSync(path.join(repoRoot, 'client/snippets/kling.code-snippets'), 'utf8'),
) as Record<string, Snippet>;

/** JSON with trailing commas, as VS Code reads snippet files (and prettier writes them). */
function parseJsonc(text: string): unknown {
  return JSON.parse(
    text.replace(/("(?:[^"\\]|\\.)*")|,(\s*[}\]])/g, (_, str, tail) => str ?? tail),
  );
}

/** The words VS Code would see in `text` with our word pattern. */
function words(text: string): string[] {
  return text.match(new RegExp(config.wordPattern, 'g')) ?? [];
}

/** Fills a snippet body as accepting every default would: choices take their first option. */
export function expandSnippet(body: string[]): string {
  const values = new Map<string, string>();
  let text = body.join('\n');
  const placeholder = /\$\{(\d+)(?::([^${}]*)|\|([^|}]*)\|)?\}|\$(\d+)/g;
  for (let previous = ''; previous !== text;) {
    previous = text;
    text = text.replace(placeholder, (whole, n, def, choices, bare) => {
      const id = (n ?? bare) as string;
      if (def !== undefined || choices !== undefined) {
        const value = (def as string | undefined) ?? (choices as string).split(',')[0];
        if (!values.has(id)) values.set(id, value);
        return value;
      }
      // A mirror (`${6}` / `$6`) waits until its placeholder's default is known; `$0` is empty.
      return values.get(id) ?? (id === '0' ? '' : whole);
    });
  }
  return text;
}

describe('language configuration', () => {
  test('comments and brackets', () => {
    assert.equal(config.comments.lineComment, '#');
    assert.deepEqual(config.brackets, [['[', ']']]);
    assert.ok(config.autoClosingPairs.some((p) => p.open === '[' && p.close === ']'));
  });

  test('word pattern keeps @references and hyphenated keys whole', () => {
    assert.deepEqual(words('first-frame: frames/start.png'), [
      'first-frame',
      'frames',
      'start',
      'png',
    ]);
    assert.deepEqual(words('The @dog meets window@cat_2.'), [
      'The',
      '@dog',
      'meets',
      'window',
      '@cat_2',
    ]);
    assert.deepEqual(words('cfg-scale: 0.5 café-au-lait'), ['cfg-scale', '0.5', 'café-au-lait']);
    assert.deepEqual(words('[shot 4s Close-up]'), ['shot', '4s', 'Close-up']);
  });

  test('folding markers are #region / #endregion comments', () => {
    const start = new RegExp(config.folding.markers.start);
    const end = new RegExp(config.folding.markers.end);
    assert.equal(config.folding.offSide, false);
    assert.ok(start.test('# region Act one'));
    assert.ok(start.test('  #region'));
    assert.ok(!start.test('# regional accents'));
    assert.ok(!start.test('The region is cold.'));
    assert.ok(end.test('# endregion'));
    assert.ok(!end.test('# region'));
  });

  test('Enter inside a comment continues the comment, but not after a region marker', () => {
    const [rule] = config.onEnterRules;
    assert.equal(rule.action.appendText, '# ');
    const before = new RegExp(rule.beforeText);
    assert.ok(before.test('# a note for the crew'));
    assert.ok(!before.test('# region Act one'));
    assert.ok(!before.test('The @dog runs.'));
  });
});

describe('snippets', () => {
  const expected = [
    'New storyboard',
    'Element (images)',
    'Element (video)',
    'Single-shot scene',
    'Multi-shot scene',
    'Shot',
  ];

  test('every expected snippet exists, scoped to kling, with a prefix and description', () => {
    assert.deepEqual(Object.keys(snippets).sort(), [...expected].sort());
    for (const [name, s] of Object.entries(snippets)) {
      assert.equal(s.scope, 'kling', name);
      assert.ok(s.prefix.length > 0 && s.description.length > 0, name);
      assert.ok(s.body.join('\n').includes('$0'), `${name} has no final tab stop`);
    }
  });

  test('prefixes are distinct and are whole words of the word pattern', () => {
    const prefixes = Object.values(snippets).flatMap((s) => [s.prefix].flat());
    assert.equal(new Set(prefixes).size, prefixes.length);
    for (const p of prefixes) assert.deepEqual(words(p), [p]);
  });

  test('expanded with defaults, no snippet has an invalid token', async () => {
    for (const [name, s] of Object.entries(snippets)) {
      const text = expandSnippet(s.body);
      assert.doesNotMatch(text, /\$\{?\d/, `${name} left a placeholder: ${text}`);
      const invalid = (await tokenize(text)).filter((t) => hasScope(t, 'invalid'));
      assert.deepEqual(invalid, [], name);
    }
  });

  test('the storyboard skeleton has header settings and references its element', async () => {
    const text = expandSnippet(snippets['New storyboard'].body);
    const tokens = await tokenize(text);
    const values = tokens.filter((t) => hasScope(t, 'constant.language')).map((t) => t.text);
    assert.deepEqual(values, ['kie', 'std', '16:9', 'on']);
    const element = tokens.find((t) => hasScope(t, 'entity.name.type.element'));
    const refs = tokens.filter((t) => hasScope(t, 'variable.other.element') && t.text !== '@');
    assert.ok(element);
    assert.deepEqual(
      refs.map((t) => t.text),
      [element.text],
    );
  });

  test('the multi-shot scene: shot durations add up to the scene duration', () => {
    const text = expandSnippet(snippets['Multi-shot scene'].body);
    const scene = Number(/^duration: (\d+)$/m.exec(text)?.[1]);
    const shots = [...text.matchAll(/^\[shot (\d+)s?\b/gm)].map((m) => Number(m[1]));
    assert.equal(shots.length, 2);
    assert.equal(
      shots.reduce((a, b) => a + b, 0),
      scene,
    );
  });
});

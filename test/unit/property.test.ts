// Properties over arbitrary text: the core never throws, every range it returns lies inside
// the document, formatting is idempotent and never changes what is sent, and the incremental
// reparse gives exactly the full parse.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Range } from 'vscode-languageserver-types';
import { parseStoryboard } from '../../server/src/core/parse';
import { reparse } from '../../server/src/core/incremental';
import { LineIndex } from '../../server/src/core/text';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { doc, sentValues, service } from './service-fixture';

/** Applies edits the way an editor does (`\r\n`, `\n` and a lone `\r` all end lines). */
function applyEdits(text: string, edits: Parameters<typeof TextDocument.applyEdits>[1]): string {
  return TextDocument.applyEdits(TextDocument.create('file:///p.kling', 'kling', 1, text), edits);
}

const TOKENS = [
  '[',
  ']',
  '@',
  '#',
  ':',
  '\\',
  '\r\n',
  '\r',
  '\n',
  '\n',
  '\n',
  ' ',
  '\t',
  '😀',
  'é',
  '\u0000',
  '\ufeff',
  '[scene',
  '[scene A]',
  '[scene]',
  '[shot 4s]',
  '[shot 13]',
  '[shot four]',
  '[element dog]',
  '[element 9x]',
  '[Scene]',
  'mode: pro',
  'mode:  4K',
  'duration: 5',
  'duration: 10s',
  'Duration : 3',
  'provider: kling',
  'sound: on',
  'images: a.jpg, b.jpg',
  'image: c.png',
  'video: v.mp4',
  'first-frame: f.png',
  'last-frame: l.png',
  'camera: zoom 5',
  'dog',
  '@dog',
  '@cat',
  'window@dog',
  '\\@dog',
  '\\#',
  '\\[',
  '# comment',
  'A dog runs.',
  '   ',
  // Non-ASCII whitespace is text, not a blank: a formatter that trimmed it would change the prompt.
  '\u00a0',
  '\u3000',
  '\u2003',
  'A dog\u00a0',
  '\u3000A cat.',
  '\u00a0mode: pro',
  'mode:\u00a0pro',
  'mode: pro\u00a0',
  '[scene A]\u3000',
  '\u00a0[scene B]',
  '# note\u00a0',
];

const storyText = fc
  .array(fc.oneof(fc.constantFrom(...TOKENS), fc.string({ unit: 'binary', maxLength: 6 })), {
    maxLength: 80,
  })
  .map((parts) => parts.join(''));

function assertInside(
  range: Range,
  lines: number,
  lineLength: (line: number) => number,
  what: string,
) {
  for (const p of [range.start, range.end]) {
    assert.ok(p.line >= 0 && p.line < lines, `${what}: line ${p.line} outside 0..${lines - 1}`);
    assert.ok(
      p.character >= 0 && p.character <= lineLength(p.line),
      `${what}: character ${p.character} past line end`,
    );
  }
  assert.ok(
    range.start.line < range.end.line ||
      (range.start.line === range.end.line && range.start.character <= range.end.character),
    `${what}: range ends before it starts`,
  );
}

test('parse never throws; diagnostics, symbols and folding ranges lie inside the document', async () => {
  await fc.assert(
    fc.asyncProperty(storyText, async (text) => {
      const s = service();
      const d = doc(text);
      const index = new LineIndex(text);
      const lineLength = (line: number) => index.lineText(line).length;
      for (const diag of await s.diagnostics(d))
        assertInside(diag.range, index.lineCount, lineLength, `diagnostic ${diag.code}`);
      const visit = (symbols: ReturnType<typeof s.documentSymbols>) => {
        for (const sym of symbols) {
          assertInside(sym.range, index.lineCount, lineLength, `symbol ${sym.name}`);
          assertInside(
            sym.selectionRange,
            index.lineCount,
            lineLength,
            `symbol ${sym.name} selection`,
          );
          visit(sym.children ?? []);
        }
      };
      visit(s.documentSymbols(d));
      for (const f of s.foldingRanges(d))
        assert.ok(f.startLine < f.endLine && f.endLine < index.lineCount);
    }),
    { numRuns: 300 },
  );
});

/** Text with a non-ASCII blank (U+00A0, U+3000) on most lines, where trimming would show. */
const nonAsciiBlankText = fc
  .array(
    fc.tuple(
      fc.constantFrom('', '\u00a0', '\u3000', ' \u00a0', '\u00a0\t'),
      fc.constantFrom(...TOKENS),
      fc.constantFrom('', '\u00a0', '\u3000', '\u3000 ', ' '),
    ),
    { maxLength: 30 },
  )
  .map((lines) => lines.map(([a, b, c]) => a + b + c).join('\n'));

test('formatting is idempotent and never changes the sent values', () => {
  fc.assert(
    fc.property(fc.oneof(storyText, nonAsciiBlankText), (text) => {
      const s = service();
      const once = applyEdits(text, s.format(doc(text)));
      const twice = applyEdits(once, s.format(doc(once, 2)));
      assert.equal(twice, once);
      assert.deepEqual(sentValues(once), sentValues(text));
    }),
    { numRuns: 300 },
  );
});

test('completion, hover and navigation never throw anywhere in arbitrary text', async () => {
  await fc.assert(
    fc.asyncProperty(storyText, fc.nat(), async (text, at) => {
      const s = service();
      const d = doc(text);
      const index = new LineIndex(text);
      const position = index.positionAt(text.length ? at % (text.length + 1) : 0);
      await s.complete(d, position);
      await s.hover(d, position);
      s.definition(d, position);
      s.references(d, position, true);
      s.prepareRename(d, position);
      s.rename(d, position, 'renamed');
    }),
    { numRuns: 200 },
  );
});

/** A storyboard large enough for the incremental path (≥ 32 KB). */
function bigStoryboard(scenes: number): string {
  const out = [
    'provider: kie',
    '',
    '[element dog]',
    'images: a.jpg, b.jpg',
    'A dog.',
    '',
    '[shot 2s]',
    'An orphan shot.',
    '[Bogus]',
    '[element cat]',
    'video: c.mp4',
    '',
  ];
  for (let i = 1; i <= scenes; i++) {
    if (i % 3 === 0)
      out.push(`[scene]`, 'duration: 5', `The @dog runs, take ${i}. # not a comment`, '');
    else
      out.push(
        `[scene Scene ${i}]`,
        'first-frame: f.png',
        '',
        '[shot 2s]',
        `@dog sits ${i}.`,
        '# note',
        '[shot 3s]',
        'It rains.',
        '',
      );
  }
  return out.join('\n');
}

test('the incremental reparse equals a full parse after any edit', () => {
  const base = bigStoryboard(12);
  const edit = fc.record({
    at: fc.nat({ max: base.length }),
    remove: fc.nat({ max: 40 }),
    insert: fc.oneof(fc.constantFrom(...TOKENS), storyText),
  });
  let incrementalEdits = 0;
  let allEdits = 0;
  fc.assert(
    fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
      let text = base;
      let parsed = parseStoryboard(text);
      for (const e of edits) {
        const at = Math.min(e.at, text.length);
        const next =
          text.slice(0, at) + e.insert + text.slice(Math.min(text.length, at + e.remove));
        const reused = reparse(parsed, text, new LineIndex(text).lineStarts, next, 0);
        allEdits++;
        if (reused) incrementalEdits++;
        const incremental = reused ?? parseStoryboard(next);
        const full = parseStoryboard(next);
        // JSON comparison: the trees are plain data, and deepEqual on 50,000 nodes is too slow.
        assert.equal(JSON.stringify(incremental), JSON.stringify(full));
        text = next;
        parsed = incremental;
      }
    }),
    { numRuns: 400 },
  );
  // Most random edits land inside a block, so most must have taken the incremental path.
  assert.ok(
    incrementalEdits > allEdits / 2,
    `${incrementalEdits}/${allEdits} edits reused the parse`,
  );
});

/** A header zone with every kind of line the zone can hold: comments, settings, text, look-alikes. */
const HEADER_ZONE = [
  '\ufeff# Storyboard',
  'provider: kie',
  'mode: pro',
  '  aspect: 16:9',
  '# a comment between settings',
  '',
  'Duration : 10',
  'Some text that ends the zone.',
  'sound: on',
  '',
  '\\# not a comment',
  '@dog in the header',
  '',
].join('\n');

test('the incremental reparse of the header zone equals a full parse', () => {
  const base = HEADER_ZONE + '\n' + bigStoryboard(12);
  const zoneEnd = HEADER_ZONE.length + 1;
  const edit = fc.record({
    // Mostly inside the header zone; sometimes on the first header line or just past it.
    at: fc.nat({ max: zoneEnd + 20 }),
    remove: fc.nat({ max: 12 }),
    insert: fc.oneof(fc.constantFrom(...TOKENS), storyText),
  });
  let headerEdits = 0;
  let allEdits = 0;
  fc.assert(
    fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
      let text = base;
      let parsed = parseStoryboard(text);
      for (const e of edits) {
        const at = Math.min(e.at, text.length);
        const next =
          text.slice(0, at) + e.insert + text.slice(Math.min(text.length, at + e.remove));
        const firstHeader = parsed.storyboard.blocks[0]?.span.offset ?? text.length;
        const reused = reparse(parsed, text, new LineIndex(text).lineStarts, next, 0);
        allEdits++;
        if (reused && at + e.remove < firstHeader) headerEdits++;
        const incremental = reused ?? parseStoryboard(next);
        assert.equal(JSON.stringify(incremental), JSON.stringify(parseStoryboard(next)));
        text = next;
        parsed = incremental;
      }
    }),
    { numRuns: 400 },
  );
  assert.ok(
    headerEdits > allEdits / 3,
    `${headerEdits}/${allEdits} header-zone edits reused the parse`,
  );
});

test('the incremental path is taken for an edit in the header zone', () => {
  const base = HEADER_ZONE + '\n' + bigStoryboard(600);
  for (const [find, insert] of [
    ['Storyboard', 'Big '],
    ['mode: pro', 'duration: 5\n'],
    ['Some text', '\n\n'],
  ]) {
    const at = base.indexOf(find);
    const next = base.slice(0, at) + insert + base.slice(at);
    const result = reparse(parseStoryboard(base), base, new LineIndex(base).lineStarts, next);
    assert.ok(result, `expected the incremental path for ${JSON.stringify(insert)}`);
    assert.equal(JSON.stringify(result), JSON.stringify(parseStoryboard(next)));
  }
});

test('the line index after an edit equals one built from the new text', () => {
  const breaks = fc.constantFrom('\n', '\r', '\r\n', 'a', 'bc', ' ', '😀');
  const text = fc.array(breaks, { maxLength: 30 }).map((p) => p.join(''));
  fc.assert(
    fc.property(text, fc.nat(), fc.nat({ max: 6 }), text, (base, at, remove, insert) => {
      const start = base.length ? at % (base.length + 1) : 0;
      const oldEnd = Math.min(base.length, start + remove);
      const next = base.slice(0, start) + insert + base.slice(oldEnd);
      const edited = LineIndex.edited(
        new LineIndex(base),
        next,
        start,
        oldEnd,
        next.length - base.length,
      );
      assert.deepEqual(edited.lineStarts, new LineIndex(next).lineStarts);
    }),
    { numRuns: 2000 },
  );
});

test("the service's analysis after a run of edits equals a fresh one", () => {
  const base = HEADER_ZONE + '\n' + bigStoryboard(400);
  const edit = fc.record({
    at: fc.nat({ max: base.length }),
    remove: fc.nat({ max: 30 }),
    insert: fc.oneof(fc.constantFrom(...TOKENS), storyText),
  });
  fc.assert(
    fc.property(fc.array(edit, { minLength: 1, maxLength: 6 }), (edits) => {
      const s = service();
      let text = base;
      s.analyze(doc(text, 1));
      edits.forEach((e, i) => {
        const at = Math.min(e.at, text.length);
        text = text.slice(0, at) + e.insert + text.slice(Math.min(text.length, at + e.remove));
        const a = s.analyze(doc(text, i + 2));
        assert.deepEqual(a.index.lineStarts, new LineIndex(text).lineStarts);
        assert.equal(JSON.stringify(a.parsed), JSON.stringify(parseStoryboard(text)));
      });
    }),
    { numRuns: 60 },
  );
});

test('the incremental path is taken for an edit in an element above the first scene', () => {
  const base = bigStoryboard(600);
  const at = base.indexOf('A dog.');
  const next = base.slice(0, at) + 'Big ' + base.slice(at);
  const result = reparse(parseStoryboard(base), base, new LineIndex(base).lineStarts, next);
  assert.ok(result, 'expected the incremental path');
  assert.equal(JSON.stringify(result), JSON.stringify(parseStoryboard(next)));
});

test('the incremental path is taken for an edit inside a scene', () => {
  const base = bigStoryboard(600);
  const at = base.indexOf('It rains.', base.length / 2);
  const next = base.slice(0, at) + 'Heavy ' + base.slice(at);
  const result = reparse(parseStoryboard(base), base, new LineIndex(base).lineStarts, next);
  assert.ok(result, 'expected the incremental path');
  assert.deepEqual(result, parseStoryboard(next));
});

test('a megabyte of [[[[ lines gets diagnostics', async () => {
  const text = '[[[[\n'.repeat(200_000);
  const list = await service().diagnostics(doc(text));
  assert.equal(list.length, 1000);
  assert.equal(list[0].code, 'syntax');
});

test('a megabyte of random bytes gets diagnostics, alone and as a prompt', async () => {
  let seed = 7;
  const bytes = new Uint8Array(1024 * 1024);
  for (let i = 0; i < bytes.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    bytes[i] = seed >>> 24;
  }
  const noise = new TextDecoder().decode(bytes);
  for (const text of [noise, `[scene Noise]\n${noise}`]) {
    const list = await service().diagnostics(doc(text));
    const index = new LineIndex(text);
    for (const d of list) assert.ok(d.range.end.line < index.lineCount);
    if (text !== noise)
      assert.ok(
        list.some((d) => d.code === 'prompt-too-long'),
        JSON.stringify(list.slice(0, 3)),
      );
  }
});

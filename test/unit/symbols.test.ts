import { test } from 'node:test';
import assert from 'node:assert/strict';
import { doc, service, EXAMPLE } from './service-fixture';

test('outline: elements and scenes in order, shots under their scene with durations', () => {
  const symbols = service().documentSymbols(doc(EXAMPLE));
  assert.deepEqual(
    symbols.map((s) => [s.name, s.detail]),
    [
      ['@dog', 'element'],
      ['@cat', 'element'],
      ['Morning run', '2 shots · 10 s'],
      ['Finale', '5 s'],
    ],
  );
  const run = symbols[2];
  assert.deepEqual(
    run.children!.map((c) => [c.name, c.detail]),
    [
      ['Shot 1', '4 s'],
      ['Shot 2', '6 s'],
    ],
  );
  // The scene's range covers its shots.
  assert.equal(run.range.start.line, 13);
  assert.equal(run.range.end.line, 21);
});

test('untitled scenes are numbered, shot labels show', () => {
  const symbols = service().documentSymbols(doc('[scene]\n[shot 3 wide]\nx\n[scene]\ny'));
  assert.deepEqual(
    symbols.map((s) => s.name),
    ['Scene 1', 'Scene 2'],
  );
  assert.equal(symbols[0].children![0].name, 'Shot 1: wide');
});

test('folding: one range per block, a scene folds over its shots, comment runs fold', () => {
  const ranges = service().foldingRanges(doc('# a\n# b\n' + EXAMPLE.replace('# Rehearsal\n', '')));
  assert.deepEqual(
    ranges.find((r) => r.kind === 'comment'),
    { startLine: 0, endLine: 1, kind: 'comment' },
  );
  const blocks = ranges.filter((r) => !r.kind).map((r) => [r.startLine, r.endLine]);
  assert.deepEqual(blocks, [
    [6, 8],
    [10, 12],
    [14, 22],
    [18, 19],
    [21, 22],
    [24, 27],
  ]);
});

test('every range lies inside the document, even for garbage', () => {
  const text = '[[[\n]]]\n[scene\n@@@\n[shot x]\n\r\n';
  const lines = text.split('\n').length;
  for (const r of service().foldingRanges(doc(text)))
    assert.ok(r.startLine < r.endLine && r.endLine < lines);
  for (const s of service().documentSymbols(doc(text))) assert.ok(s.range.end.line < lines);
});

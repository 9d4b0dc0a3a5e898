import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEdits, cursor, doc, service, URI } from './service-fixture';

const BOARD = `[element dog]
images: a.jpg, b.jpg
A puppy.

[scene One]
The @dog runs; mail\\@dog is not a reference; window@dog is.

[shot 4s]
@dog again.
# @dog in a comment is not a reference
`;

function offsetsOf(text: string, needle: string): number[] {
  const out: number[] = [];
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + 1)) out.push(i);
  return out;
}

test('definition: @ref → the name in the element header', () => {
  const c = cursor(BOARD.replace('The @d', 'The @d|'));
  const locs = service().definition(doc(c.text), c.position);
  assert.deepEqual(locs, [
    { uri: URI, range: { start: { line: 0, character: 9 }, end: { line: 0, character: 12 } } },
  ]);
});

test('definition of an undefined element is empty', () => {
  const c = cursor('[scene]\n@cat|');
  assert.deepEqual(service().definition(doc(c.text), c.position), []);
});

test('references: every @dog plus the definition when asked, never \\@dog or comments', () => {
  const c = cursor(BOARD.replace('[element d', '[element d|'));
  const s = service();
  const withDecl = s.references(doc(c.text), c.position, true);
  assert.equal(withDecl.length, 4);
  assert.deepEqual(withDecl[0].range.start, { line: 0, character: 9 });
  const lines = withDecl.slice(1).map((l) => `${l.range.start.line}:${l.range.start.character}`);
  assert.deepEqual(lines, ['5:4', '5:51', '8:0']);
  assert.equal(s.references(doc(c.text), c.position, false).length, 3);
});

test('prepareRename on a reference gives the name range; elsewhere an error', () => {
  const c = cursor(BOARD.replace('@dog again', '@do|g again'));
  const s = service();
  assert.deepEqual(s.prepareRename(doc(c.text), c.position), {
    range: { start: { line: 8, character: 1 }, end: { line: 8, character: 4 } },
    placeholder: 'dog',
  });
  const prose = cursor(BOARD.replace('A pup', 'A pu|p'));
  assert.ok('error' in s.prepareRename(doc(prose.text), prose.position));
});

test('rename edits the header and every reference, never \\@name or comments', () => {
  const c = cursor(BOARD.replace('@dog again', '@|dog again'));
  const edit = service().rename(doc(c.text), c.position, 'puppy');
  assert.ok(!('error' in edit));
  const after = applyEdits(c.text, edit.changes![URI]);
  assert.equal(offsetsOf(after, '@puppy').length, 3);
  assert.match(after, /^\[element puppy\]/);
  assert.match(after, /mail\\@dog is not a reference/);
  assert.match(after, /# @dog in a comment/);
});

test('rename rejects invalid names and names already taken', () => {
  const c = cursor(BOARD.replace('@dog again', '@|dog again'));
  const s = service();
  assert.ok('error' in s.rename(doc(c.text), c.position, '9lives'));
  assert.ok('error' in s.rename(doc(c.text), c.position, 'two words'));
  const taken = BOARD + '\n[element cat]\nimages: c.jpg, d.jpg\n';
  const c2 = cursor(taken.replace('@dog again', '@|dog again'));
  assert.match(
    (s.rename(doc(c2.text), c2.position, 'cat') as { error: string }).error,
    /already exists/,
  );
  const ok = s.rename(doc(c.text), c.position, '@Rex_2');
  assert.ok(!('error' in ok));
  assert.ok(ok.changes![URI].every((e) => e.newText === 'Rex_2'));
});

test('highlights: the definition as write, every reference as read', () => {
  const c = cursor(BOARD.replace('window@d', 'window@d|'));
  const list = service().highlights(doc(c.text), c.position);
  assert.deepEqual(
    list.map((h) => [h.range.start.line, h.range.start.character, h.kind]),
    [
      [0, 9, 3],
      [5, 4, 2],
      [5, 51, 2],
      [8, 0, 2],
    ],
  );
  const prose = cursor(BOARD.replace('A pup', 'A pu|p'));
  assert.deepEqual(service().highlights(doc(prose.text), prose.position), []);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEdits, doc, sentValues, service, EXAMPLE } from './service-fixture';

function format(text: string): string {
  return applyEdits(text, service().format(doc(text)));
}

test('a tidy document is left alone', () => {
  assert.deepEqual(service().format(doc(EXAMPLE)), []);
});

test('one blank line between blocks, settings spaced, trailing blanks and extra final lines removed', () => {
  const messy =
    '\n\nprovider:   kie\n  mode:\tpro   \n[element dog]\n   images:  a.jpg, b.jpg\nA dog.   \n\n\n\n[scene  A ]  \nduration: 5\nThe @dog runs.\n[shot 4s]\nx\n\n\n';
  assert.equal(
    format(messy),
    'provider: kie\nmode: pro\n\n[element dog]\nimages: a.jpg, b.jpg\nA dog.\n\n[scene  A ]\nduration: 5\nThe @dog runs.\n\n[shot 4s]\nx\n',
  );
});

test('blank lines and indentation inside a body are kept (they are sent)', () => {
  const text =
    '[scene A]\nFirst paragraph.\n\n\n   Indented second.\n# a comment between\nThird.\n';
  assert.equal(format(text), text);
});

test('lines that only look like settings are not touched', () => {
  const text = '[scene A]\nA dog.\nmode:   pro\nkey:value\n';
  assert.equal(format(text), text);
  const lookalike = '[scene A]\nDuration :  10\n';
  assert.equal(format(lookalike), lookalike);
});

test('comments right above a header stay with it', () => {
  assert.equal(
    format('[scene A]\nx\n# about B\n# more\n[scene B]\ny\n'),
    '[scene A]\nx\n\n# about B\n# more\n[scene B]\ny\n',
  );
  const tidy = '# title\nmode: pro\n\n# the dog\n[element dog]\nimages: a.jpg, b.jpg\n';
  assert.equal(format(tidy), tidy);
});

test('CRLF documents stay CRLF', () => {
  const text = '[scene A]\r\nmode:  pro\r\nduration:   5\r\nx  \r\n\r\n\r\n[scene B]\r\ny';
  assert.equal(
    format(text),
    '[scene A]\r\nmode: pro\r\nduration: 5\r\nx\r\n\r\n[scene B]\r\ny\r\n',
  );
});

test('a final newline is added; an empty document stays empty', () => {
  assert.equal(format('[scene A]\nx'), '[scene A]\nx\n');
  assert.deepEqual(service().format(doc('')), []);
  assert.equal(format('\n\n  \n'), '');
});

test('formatting is idempotent and never changes what is sent', () => {
  const cases = [
    EXAMPLE,
    '  # c\n\n[element x]\n\n image: a.png \n\n  desc  \n\n[scene]\n\\# not a comment  \n\\[not a header\n  @x  \n',
    '[scene A]\nduration: 4\n[shot 2s]\n\n\na\n\n\nb\n\n[shot 2s]\n\t\tc\t\n',
    '[bogus]\nmode:   pro   \n[shot 4]\nx\n',
  ];
  for (const text of cases) {
    const once = format(text);
    assert.equal(format(once), once, `not idempotent for ${JSON.stringify(text)}`);
    assert.deepEqual(sentValues(once), sentValues(text));
  }
});

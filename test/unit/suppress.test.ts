// `# kling-ignore: CODE[, CODE]`: silences those codes on the next line only, through the
// core (validateStoryboard) and the language service; unused codes get a hint; quick fixes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseStoryboard } from '../../server/src/core/parse';
import { findSuppressions } from '../../server/src/core/suppress';
import { validateStoryboard } from '../../server/src/core/validate';
import { applyEdits, doc, service, URI } from './service-fixture';

const codes = (text: string) =>
  validateStoryboard(parseStoryboard(text)).map((d) => {
    const line = text.slice(0, d.span.offset).split('\n').length;
    return `${line}:${d.code}`;
  });

// Two malformed values on two lines: an invalid-value error each.
const TWO = '[scene A]\nmode: ultra\nduration: ten\nA dog runs.\n';

describe('kling-ignore in the core', () => {
  test('without a suppression both warnings are there', () => {
    assert.deepEqual(codes(TWO), ['2:invalid-value', '3:invalid-value']);
  });

  test('the comment silences the named code on the next line only', () => {
    const text = TWO.replace('mode:', '# kling-ignore: invalid-value\nmode:');
    assert.deepEqual(codes(text), ['4:invalid-value']);
  });

  test('a comment two lines above silences nothing and says so', () => {
    const text = '[scene A]\n# kling-ignore: unknown-setting\n\nDuration: 10\nA dog runs.\n';
    assert.deepEqual(codes(text), ['4:unknown-setting', '2:unused-suppression']);
  });

  test('several codes: each one used silences its diagnostic, each unused one gets a hint', () => {
    const text =
      '[scene A]\nduration: 8\n\n[shot 4s]\nA dog runs.\n' +
      '# kling-ignore: duration-range, shot-duration-range ,  empty-shot\n[shot 13s]\nIt stops.\n';
    const before = codes(text.replace(/# kling-ignore.*\n/, ''));
    assert.ok(before.includes('6:shot-duration-range'), before.join());
    const list = validateStoryboard(parseStoryboard(text));
    const left = list.map((d) => d.code);
    assert.ok(!left.includes('shot-duration-range'), left.join());
    const hints = list.filter((d) => d.code === 'unused-suppression');
    assert.deepEqual(
      hints.map((h) => [text.slice(h.span.offset, h.span.offset + h.span.length), h.severity]),
      [
        ['duration-range', 'hint'],
        ['empty-shot', 'hint'],
      ],
    );
    assert.equal(hints[0]!.unnecessary, true);
  });

  test('other codes on the same line are not silenced', () => {
    const text = '[scene A]\n# kling-ignore: invalid-value\nDuration: 10\nA dog runs.\n';
    assert.deepEqual(codes(text), ['3:unknown-setting', '2:unused-suppression']);
  });

  test('an unknown code and an empty list are named in the hint', () => {
    const text =
      '[scene A]\n# kling-ignore: shot-to-long\nA dog runs.\n# kling-ignore:\nIt stops.\n';
    const msgs = validateStoryboard(parseStoryboard(text)).map((d) => `${d.code}: ${d.message}`);
    assert.equal(msgs.length, 2, msgs.join('\n'));
    assert.match(msgs[0]!, /^unused-suppression: .*"shot-to-long" is not a diagnostic code/);
    assert.match(msgs[1]!, /^unused-suppression: kling-ignore names no code/);
  });

  test('spelling variants: spaces around #, the colon and commas; CRLF lines', () => {
    const text =
      '[scene A]\r\n   #kling-ignore :unknown-setting,\r\nDuration: 10\r\nA dog runs.\r\n';
    assert.deepEqual(codes(text.replace(/\r/g, '')), []);
    assert.deepEqual(
      validateStoryboard(parseStoryboard(text)).map((d) => d.code),
      [],
    );
    const found = findSuppressions(text, parseStoryboard(text).storyboard.comments);
    assert.deepEqual(
      found.map((s) => [
        s.line,
        s.codes.map((c) => text.slice(c.span.offset, c.span.offset + c.span.length)),
      ]),
      [[1, ['unknown-setting']]],
    );
  });

  test('a plain comment or prose that mentions kling-ignore is not a suppression', () => {
    const text = '[scene A]\n# see kling-ignore: unknown-setting\nDuration: 10\nkling-ignore: x\n';
    assert.deepEqual(codes(text), ['3:unknown-setting']);
  });

  test('what is sent does not change', () => {
    const plain = parseStoryboard('[scene A]\nA dog runs.\nIt stops.\n').storyboard.scenes[0]!;
    const ignored = parseStoryboard(
      '[scene A]\nA dog runs.\n# kling-ignore: empty-shot\nIt stops.\n',
    ).storyboard.scenes[0]!;
    assert.equal(ignored.body.text, plain.body.text);
  });
});

describe('kling-ignore through the language service', () => {
  test('LSP diagnostics honour it, and a severity override still applies to what is left', async () => {
    const s = service();
    const text = TWO.replace('mode:', '# kling-ignore: invalid-value\nmode:');
    const before = await s.diagnostics(doc(text));
    assert.deepEqual(
      before.map((d) => [d.range.start.line, d.code, d.severity]),
      [[3, 'invalid-value', 1]],
    );
    s.configure({ severity: { 'invalid-value': 'warning' } });
    const after = await s.diagnostics(doc(text, 2));
    assert.deepEqual(
      after.map((d) => [d.range.start.line, d.code, d.severity]),
      [[3, 'invalid-value', 2]],
    );
    const checked = await s.check(doc(text, 3));
    assert.deepEqual(
      checked.map((d) => [d.code, d.severity]),
      [['invalid-value', 'warning']],
    );
  });

  test('unused-suppression can be turned off like any code', async () => {
    const s = service();
    const text = '[scene A]\n# kling-ignore: empty-shot\nA dog runs.\n';
    assert.deepEqual(
      (await s.diagnostics(doc(text))).map((d) => [d.code, d.severity, d.tags]),
      [['unused-suppression', 4, [1]]],
    );
    s.configure({ severity: { 'unused-suppression': 'off' } });
    assert.deepEqual(await s.diagnostics(doc(text, 2)), []);
  });

  test('a cancelled validation reports no unused suppressions', async () => {
    const s = service();
    const text = '[scene A]\n# kling-ignore: unknown-setting\nDuration: 10\n';
    assert.deepEqual(await s.diagnostics(doc(text), { isCancellationRequested: true }), []);
  });
});

describe('quick fixes', () => {
  async function fix(text: string, code: string, title: string): Promise<string> {
    const s = service();
    const d = doc(text);
    const diags = (await s.diagnostics(d)).filter((x) => x.code === code);
    assert.ok(diags.length, `no ${code} in ${JSON.stringify(text)}`);
    const actions = s.codeActions(d, diags[0]!.range, [diags[0]!]);
    const action = actions.find((a) => a.title === title);
    assert.ok(action, `no "${title}" among ${actions.map((a) => a.title).join(' | ')}`);
    const after = applyEdits(text, action.edit!.changes![URI]!);
    return after;
  }

  test('"Ignore CODE on this line" adds the comment above, indented like the line', async () => {
    const text = '[scene A]\n  Duration: 10\nA dog runs.\n';
    const after = await fix(text, 'unknown-setting', 'Ignore unknown-setting on this line');
    assert.equal(
      after,
      '[scene A]\n  # kling-ignore: unknown-setting\n  Duration: 10\nA dog runs.\n',
    );
    assert.deepEqual(await service().diagnostics(doc(after)), []);
  });

  test('…keeps CRLF line endings', async () => {
    const text = '[scene A]\r\nDuration: 10\r\nA dog runs.\r\n';
    const after = await fix(text, 'unknown-setting', 'Ignore unknown-setting on this line');
    assert.equal(
      after,
      '[scene A]\r\n# kling-ignore: unknown-setting\r\nDuration: 10\r\nA dog runs.\r\n',
    );
  });

  test('…or appends the code to the kling-ignore comment already above', async () => {
    const text = '[scene A]\nmode: ultra\n# kling-ignore: empty-shot\nDuration: 10\nA dog runs.\n';
    const after = await fix(text, 'unknown-setting', 'Ignore unknown-setting on this line');
    assert.equal(
      after,
      '[scene A]\nmode: ultra\n# kling-ignore: empty-shot, unknown-setting\nDuration: 10\nA dog runs.\n',
    );
    // empty-shot is still unused, so its hint stays; unknown-setting is silenced.
    assert.deepEqual(
      (await service().diagnostics(doc(after))).map((d) => d.code),
      ['invalid-value', 'unused-suppression'],
    );
  });

  test('an unused code is removed from the list, a lone one with its comment line', async () => {
    const text =
      '[scene A]\n# kling-ignore: empty-shot, unknown-setting\nDuration: 10\nA dog runs.\n';
    const after = await fix(text, 'unused-suppression', 'Remove empty-shot from kling-ignore');
    assert.equal(after, '[scene A]\n# kling-ignore: unknown-setting\nDuration: 10\nA dog runs.\n');
    assert.deepEqual(await service().diagnostics(doc(after)), []);
    const lone = '[scene A]\n# kling-ignore: empty-shot\nA dog runs.\n';
    assert.equal(
      await fix(lone, 'unused-suppression', 'Remove the unused kling-ignore comment'),
      '[scene A]\nA dog runs.\n',
    );
  });

  test('no "Ignore" fix for unused-suppression itself', async () => {
    const s = service();
    const text = '[scene A]\n# kling-ignore: empty-shot\nA dog runs.\n';
    const diags = await s.diagnostics(doc(text));
    const titles = s.codeActions(doc(text), diags[0]!.range, diags).map((a) => a.title);
    assert.deepEqual(titles, ['Remove the unused kling-ignore comment']);
  });
});

// The parser (server/docs/language.md §2): blocks, the settings zone rule, body text as sent,
// escapes, references, CRLF, UTF-16 spans vs code-point lengths, and garbage input.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { Span } from '../../server/src/core/ast';
import { parseStoryboard } from '../../server/src/core/parse';
import { LineIndex, codePointLength } from '../../server/src/core/text';
import { TextDocument } from 'vscode-languageserver-textdocument';

const at = (text: string, span: Span) => text.slice(span.offset, span.offset + span.length);

const EXAMPLE = `# Rehearsal — settings before the first block apply to every scene
provider: kie
mode: pro
aspect: 16:9
sound: on

[element dog]
images: refs/dog-front.jpg, refs/dog-side.png
A golden retriever puppy with a red collar.

[element cat]
video: refs/cat.mp4
A tabby cat.

[scene Morning run]
duration: 10
first-frame: frames/start.png

[shot 4s]
A happy @dog runs across a sunlit rehearsal room, low-angle tracking shot.

[shot 6s]
The @dog meets the @cat by the window. Slow push-in.

[scene Finale]
duration: 5
first-frame: frames/sunny-corner.png
The @dog sleeps in a patch of sun; the camera cranes up.
`;

describe('parseStoryboard', () => {
  test('the format example: header, elements, scenes, shots', () => {
    const { storyboard: sb, errors } = parseStoryboard(EXAMPLE);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      sb.headerSettings.map((s) => [s.key, s.value]),
      [
        ['provider', 'kie'],
        ['mode', 'pro'],
        ['aspect', '16:9'],
        ['sound', 'on'],
      ],
    );
    assert.deepEqual(
      sb.elements.map((e) => [e.name, e.settings.map((s) => s.key), e.body.text]),
      [
        ['dog', ['images'], 'A golden retriever puppy with a red collar.'],
        ['cat', ['video'], 'A tabby cat.'],
      ],
    );
    assert.deepEqual(
      sb.scenes.map((s) => [s.displayTitle, s.shots.map((sh) => sh.duration), s.body.text]),
      [
        ['Morning run', [4, 6], ''],
        ['Finale', [], 'The @dog sleeps in a patch of sun; the camera cranes up.'],
      ],
    );
    const [run] = sb.scenes;
    assert.deepEqual(
      run.shots[1].body.refs.map((r) => [r.name, at(EXAMPLE, r.span), at(EXAMPLE, r.nameSpan)]),
      [
        ['dog', '@dog', 'dog'],
        ['cat', '@cat', 'cat'],
      ],
    );
    assert.equal(at(EXAMPLE, run.shots[0].durationSpan), '4s');
    assert.equal(at(EXAMPLE, run.settings[1].valueSpan), 'frames/start.png');
    assert.equal(at(EXAMPLE, run.headerSpan), '[scene Morning run]');
    assert.equal(at(EXAMPLE, run.titleSpan), 'Morning run');
    assert.equal(sb.comments.length, 1);
  });

  test('the settings zone ends at the first line that is not a setting, comment or blank', () => {
    const text = '[scene A]\n# note\n\nmode: pro\nThe dog runs.\nsound: on\n';
    const { storyboard: sb } = parseStoryboard(text);
    const [scene] = sb.scenes;
    assert.deepEqual(
      scene.settings.map((s) => s.key),
      ['mode'],
    );
    assert.equal(scene.body.text, 'The dog runs.\nsound: on');
  });

  test('a shot has no settings zone; a look-alike ends a zone and is recorded', () => {
    const text = '[scene A]\nDuration: 10\nmode: pro\n[shot 4s]\nmode: pro\n';
    const { storyboard: sb } = parseStoryboard(text);
    const [scene] = sb.scenes;
    assert.deepEqual(scene.settings, []);
    assert.equal(scene.body.text, 'Duration: 10\nmode: pro');
    assert.equal(scene.shots[0].body.text, 'mode: pro');
    assert.deepEqual(
      sb.settingLookalikes.map((l) => [l.key, l.zone, at(text, l.keySpan)]),
      [['Duration', 'scene', 'Duration']],
    );
  });

  test('setting values are trimmed; an empty value has a zero-length span after the colon', () => {
    const text = '  mode:    pro   \t\nsound:\n\n[scene A]\nx\n';
    const { storyboard: sb } = parseStoryboard(text);
    const [mode, sound] = sb.headerSettings;
    assert.equal(mode.value, 'pro');
    assert.equal(at(text, mode.valueSpan), 'pro');
    assert.equal(at(text, mode.keySpan), 'mode');
    assert.equal(sound.value, '');
    assert.deepEqual(sound.valueSpan, { offset: text.indexOf('sound:') + 6, length: 0 });
  });

  test('body text as sent: comments left out, trailing blanks removed, outer blank lines dropped', () => {
    const text = '[scene A]\n\n  Line one.   \n# hidden\n\n\tLine two.\n\n\n[scene B]\n';
    const [a] = parseStoryboard(text).storyboard.scenes;
    assert.equal(a.body.text, '  Line one.\n\n\tLine two.');
    assert.equal(at(text, a.body.span!), '  Line one.   \n# hidden\n\n\tLine two.');
  });

  test('escapes: \\# and \\[ at the start of a line, \\@ anywhere', () => {
    const text =
      '[scene A]\n\\# not a comment\n  \\[not a header]\nmail me\\@home, see @dog and window@cat\n';
    const { storyboard: sb, errors } = parseStoryboard(text);
    assert.deepEqual(errors, []);
    const [scene] = sb.scenes;
    assert.equal(
      scene.body.text,
      '# not a comment\n  [not a header]\nmail me@home, see @dog and window@cat',
    );
    assert.deepEqual(
      scene.body.refs.map((r) => r.name),
      ['dog', 'cat'],
    );
  });

  test('CRLF: spans exclude \\r, values and text carry no \\r', () => {
    const text = 'mode: pro\r\n\r\n[scene A]\r\nduration: 5\r\nA @dog runs.\r\nSecond line.\r\n';
    const { storyboard: sb, errors } = parseStoryboard(text);
    assert.deepEqual(errors, []);
    const [scene] = sb.scenes;
    assert.equal(scene.settings[0].value, '5');
    assert.equal(at(text, scene.settings[0].lineSpan), 'duration: 5');
    assert.equal(scene.body.text, 'A @dog runs.\nSecond line.');
    assert.equal(at(text, scene.headerSpan), '[scene A]');
    assert.equal(at(text, scene.body.refs[0].span), '@dog');
    const index = new LineIndex(text);
    assert.deepEqual(index.rangeOf(scene.body.refs[0].span), {
      start: { line: 4, character: 2 },
      end: { line: 4, character: 6 },
    });
  });

  test('a lone \r ends a line, as in editors: lines, spans and positions agree with LSP', () => {
    const text = 'mode: pro\r[scene A]\rduration: 5\rA @dog runs.\rSecond\r\nline.\n\rlast\r';
    const { storyboard: sb, errors } = parseStoryboard(text);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      sb.headerSettings.map((s) => [s.key, s.value]),
      [['mode', 'pro']],
    );
    const [scene] = sb.scenes;
    assert.equal(scene.headerLine, 1);
    assert.equal(scene.settings[0].value, '5');
    assert.equal(scene.settings[0].line, 2);
    assert.equal(scene.body.text, 'A @dog runs.\nSecond\nline.\n\nlast');
    assert.deepEqual(
      scene.body.lines.map((l) => [l.line, at(text, l.lineSpan)]),
      [
        [3, 'A @dog runs.'],
        [4, 'Second'],
        [5, 'line.'],
        [6, ''],
        [7, 'last'],
      ],
    );
    assert.equal(sb.lineCount, 9);
    // What an editor shows (vscode-languageserver-textdocument implements LSP's line rule).
    const lsp = TextDocument.create('file:///a.kling', 'kling', 1, text);
    const index = new LineIndex(text);
    assert.equal(index.lineCount, lsp.lineCount);
    assert.equal(index.lineCount, sb.lineCount);
    const ref = scene.body.refs[0];
    assert.deepEqual(index.rangeOf(ref.span), {
      start: { line: 3, character: 2 },
      end: { line: 3, character: 6 },
    });
    assert.deepEqual(index.rangeOf(ref.span), {
      start: lsp.positionAt(ref.span.offset),
      end: lsp.positionAt(ref.span.offset + ref.span.length),
    });
    assert.equal(index.lineText(4), 'Second');
    assert.equal(index.lineText(6), '');
    assert.equal(index.offsetAt({ line: 6, character: 5 }), text.indexOf('\n\r') + 1);
  });

  test('LineIndex and the parser agree with LSP on any mix of \r, \n and \r\n', () => {
    let seed = 99;
    const pick = (s: string) => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return s[seed % s.length];
    };
    for (let n = 0; n < 200; n++) {
      let text = '';
      for (let i = 0; i < 40; i++) text += pick('\r\n\r\na[ ]#:@x');
      const lsp = TextDocument.create('file:///a.kling', 'kling', 1, text);
      const index = new LineIndex(text);
      const { storyboard: sb } = parseStoryboard(text);
      assert.equal(index.lineCount, lsp.lineCount, JSON.stringify(text));
      assert.equal(sb.lineCount, lsp.lineCount, JSON.stringify(text));
      for (let line = 0; line < index.lineCount; line++) {
        assert.equal(
          index.offsetAt({ line, character: 1e6 }),
          lsp.offsetAt({ line, character: 1e6 }),
          JSON.stringify(text),
        );
      }
      for (const b of sb.blocks) {
        assert.equal(index.positionAt(b.headerSpan.offset).line, b.headerLine);
        assert.deepEqual(index.positionAt(b.span.offset), { line: b.headerLine, character: 0 });
      }
      for (const c of sb.comments) assert.equal(lsp.positionAt(c.span.offset).line, c.line);
    }
  });

  test('a byte order mark before the first line does not stop it being a setting', () => {
    const text = '\ufeffprovider: kling\nmode: pro\n\n[scene A]\nA cat.\n';
    const { storyboard: sb, errors } = parseStoryboard(text);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      sb.headerSettings.map((s) => [s.key, s.value]),
      [
        ['provider', 'kling'],
        ['mode', 'pro'],
      ],
    );
    assert.equal(at(text, sb.headerSettings[0].keySpan), 'provider');
    assert.equal(sb.headerSettings[0].keySpan.offset, 1);
    assert.equal(sb.preamble.text, '');
    assert.equal(sb.scenes[0].body.text, 'A cat.');
    // A header or a comment right after the mark is still one.
    const header = parseStoryboard('\ufeff[scene A]\nA cat.\n');
    assert.deepEqual(header.errors, []);
    assert.equal(header.storyboard.scenes[0].title, 'A');
    assert.equal(parseStoryboard('\ufeff# note\n').storyboard.comments.length, 1);
  });

  test('UTF-16 spans with emoji, code-point lengths for limits', () => {
    const text = '[scene 🎬 Take]\n🐶🐶 and @dog 🐱\n';
    const { storyboard: sb } = parseStoryboard(text);
    const [scene] = sb.scenes;
    assert.equal(scene.title, '🎬 Take');
    assert.equal(at(text, scene.titleSpan), '🎬 Take');
    const ref = scene.body.refs[0];
    assert.equal(at(text, ref.span), '@dog');
    // Two emoji before on the line: 4 UTF-16 units, 2 code points.
    assert.deepEqual(new LineIndex(text).positionAt(ref.span.offset), { line: 1, character: 9 });
    assert.equal(scene.body.text.length, 16);
    assert.equal(codePointLength(scene.body.text), 13);
  });

  test('headers: element names, shot durations and labels, empty scene titles', () => {
    const text = '[scene]\n[shot 4 Wide opening]\na\n[shot 3s]\nb\n[element _Cat2]\n';
    const { storyboard: sb, errors } = parseStoryboard(text);
    assert.deepEqual(errors, []);
    assert.equal(sb.scenes[0].displayTitle, 'Scene 1');
    assert.deepEqual(
      sb.scenes[0].shots.map((s) => [s.duration, s.label]),
      [
        [4, 'Wide opening'],
        [3, undefined],
      ],
    );
    assert.equal(sb.elements[0].name, '_Cat2');
  });

  test('malformed and unknown headers: an error on the header, the block swallowed', () => {
    const text =
      '[shot four]\nx\n[element 2dog]\n[element]\n[scene A\n[Scene B]\n[]\n[shots 4s]\nmode: pro\n[shot 4s]\n';
    const { storyboard: sb, errors } = parseStoryboard(text);
    assert.deepEqual(
      errors.map((e) => [e.code, at(text, e.span)]),
      [
        ['syntax', '[shot four]'],
        ['syntax', '[element 2dog]'],
        ['syntax', '[element]'],
        ['syntax', '[scene A'],
        ['unknown-block', '[Scene B]'],
        ['syntax', '[]'],
        ['unknown-block', '[shots 4s]'],
        ['shot-outside-scene', '[shot 4s]'],
      ],
    );
    assert.equal(sb.scenes.length, 0);
    assert.equal(sb.orphanShots.length, 1);
    assert.equal(sb.blocks.filter((b) => b.kind === 'invalid').length, 7);
    assert.deepEqual(sb.headerSettings, []);
  });

  test('block spans end at the last content line, before trailing blank lines', () => {
    const text = '[scene A]\nA dog.\n\n\n[scene B]\nA cat.\n[shot 3s]\nc\n\n';
    const { storyboard: sb } = parseStoryboard(text);
    const [a, b] = sb.scenes;
    assert.equal(at(text, a.span), '[scene A]\nA dog.');
    assert.equal(at(text, b.fullSpan), '[scene B]\nA cat.\n[shot 3s]\nc');
  });

  test('garbage never throws and every span lies inside the text', () => {
    const bracket = '[[[[\n'.repeat(200_000);
    let seed = 12345;
    const bytes = Buffer.from(
      Array.from({ length: 1 << 20 }, () => {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        return seed >>> 24;
      }),
    );
    for (const text of [
      bracket,
      bytes.toString('utf8'),
      bytes.toString('latin1'),
      '\u0000\uffff\ud800',
      ']]]',
    ]) {
      const { storyboard: sb, errors } = parseStoryboard(text);
      const inside = (s: Span) =>
        s.offset >= 0 && s.length >= 0 && s.offset + s.length <= text.length;
      assert.ok(errors.every((e) => inside(e.span)));
      assert.ok(sb.blocks.every((b) => inside(b.span) && inside(b.headerSpan)));
    }
    assert.equal(parseStoryboard(bracket).errors.length, 200_000);
  });
});

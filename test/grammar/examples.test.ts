// The shipped examples stay what their READMEs promise: examples/rehearsal is a valid storyboard
// whose pictures the APIs accept, and examples/mistakes.kling shows exactly the diagnostic its
// comments name, one per mistake. Media facts come from the real files, as the server reads them.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { imageSize } from 'image-size';
import { DIAGNOSTIC_CODES, type StoryboardDiagnostic } from '../../server/src/core/diagnostics';
import { sniffMedia, type MediaFacts } from '../../server/src/core/media';
import { parseStoryboard } from '../../server/src/core/parse';
import { LineIndex } from '../../server/src/core/text';
import { validateStoryboard } from '../../server/src/core/validate';
import { repoRoot } from './tokenize';

const examples = path.join(repoRoot, 'examples');

/** Diagnostics of a storyboard file, with media looked up relative to its folder. */
function check(file: string): {
  diagnostics: StoryboardDiagnostic[];
  lineOf: (d: StoryboardDiagnostic) => number;
} {
  const text = readFileSync(file, 'utf8');
  const media = (ref: string): MediaFacts => {
    const p = path.resolve(path.dirname(file), ref);
    return existsSync(p) ? sniffMedia(readFileSync(p), statSync(p).size) : { exists: false };
  };
  const index = new LineIndex(text);
  return {
    diagnostics: validateStoryboard(parseStoryboard(text), { media }),
    lineOf: (d) => index.positionAt(d.span.offset).line,
  };
}

describe('examples/rehearsal', () => {
  test('rehearsal.kling has no diagnostics at all', () => {
    const { diagnostics } = check(path.join(examples, 'rehearsal/rehearsal.kling'));
    assert.deepEqual(
      diagnostics.map((d) => `${d.code}: ${d.message}`),
      [],
    );
  });

  test('its pictures are PNGs the APIs accept, and small', () => {
    const files = ['refs', 'frames'].flatMap((dir) =>
      readdirSync(path.join(examples, 'rehearsal', dir)).map((f) => path.join('rehearsal', dir, f)),
    );
    assert.equal(files.length, 6);
    for (const rel of files) {
      const bytes = readFileSync(path.join(examples, rel));
      const { width = 0, height = 0, type } = imageSize(bytes);
      assert.equal(type, 'png', rel);
      assert.ok(Math.min(width, height) >= 300, `${rel} is ${width}×${height}`);
      assert.ok(width / height <= 2.5 && height / width <= 2.5, `${rel} is ${width}×${height}`);
      assert.ok(bytes.length < 60_000, `${rel} is ${bytes.length} bytes`);
    }
  });

  test('the extension icon is a 128×128 PNG', () => {
    const { width, height, type } = imageSize(
      readFileSync(path.join(repoRoot, 'client/media/icon.png')),
    );
    assert.deepEqual({ width, height, type }, { width: 128, height: 128, type: 'png' });
  });
});

describe('examples/on-kling', () => {
  test('window.kling is a valid storyboard for provider kling, with no diagnostics', () => {
    const file = path.join(examples, 'on-kling/window.kling');
    assert.match(readFileSync(file, 'utf8'), /^provider: kling$/m);
    assert.deepEqual(
      check(file).diagnostics.map((d) => `${d.code}: ${d.message}`),
      [],
    );
  });
});

describe('examples/mistakes.kling', () => {
  const file = path.join(examples, 'mistakes.kling');
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  // `# CODE: why` comments announce the diagnostic of the lines below them.
  const announced = lines.flatMap((line, i) => {
    const m = /^# ([a-z-]+): /.exec(line);
    return m && (DIAGNOSTIC_CODES as string[]).includes(m[1]) ? [{ line: i, code: m[1] }] : [];
  });

  test('announces at least 25 different codes', () => {
    assert.ok(new Set(announced.map((a) => a.code)).size >= 25, `${announced.length} announced`);
  });

  test('each diagnostic is the one announced above it, one per mistake', () => {
    const { diagnostics, lineOf } = check(file);
    const claimed = diagnostics.map((d) => {
      const line = lineOf(d);
      const above = announced.filter((a) => a.line < line).pop();
      return { code: d.code, line: line + 1, announced: above?.code };
    });
    for (const c of claimed) {
      assert.equal(
        c.code,
        c.announced,
        `line ${c.line}: ${c.code}, but the comment above says ${c.announced}`,
      );
    }
    assert.deepEqual(claimed.map((c) => c.code).sort(), announced.map((a) => a.code).sort());
  });
});

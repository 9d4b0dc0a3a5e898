// server/docs/language.md is the language reference: its code table must equal the code's
// severity table, its settings table must name every setting, and each example must get the
// code it illustrates.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { DIAGNOSTIC_SEVERITY } from '../../server/src/core/diagnostics';
import type { MediaFacts } from '../../server/src/core/media';
import { parseStoryboard } from '../../server/src/core/parse';
import { SETTING_KEYS } from '../../server/src/core/settings';
import { validateStoryboard } from '../../server/src/core/validate';

const DOC = readFileSync(
  path.join(__dirname, '..', '..', 'server', 'docs', 'language.md'),
  'utf8',
).replace(/\r\n/g, '\n');

/** The text of the section that starts with `heading` (up to the next heading of its level). */
function section(heading: string): string {
  const start = DOC.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `no section ${heading}`);
  const level = heading.split(' ')[0];
  const next = DOC.indexOf(`\n${level} `, start + heading.length + 2);
  return DOC.slice(start, next === -1 ? undefined : next);
}

/** The rows of the first Markdown table in `text`, as trimmed cells. */
function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[\s:-]+\|/.test(l.replace(/[^|\s:-]/g, 'x')))
    .map((l) =>
      l
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    )
    .filter((cells) => !cells.every((c) => /^:?-+:?$/.test(c)))
    .slice(1);
}

test('the code table equals the severity table of diagnostics.ts', () => {
  const rows = tableRows(section('## 4. Diagnostics').split('### Examples')[0]);
  const documented = Object.fromEntries(
    rows.map(([code, severity]) => [code.replace(/`/g, ''), severity]),
  );
  assert.deepEqual(documented, { ...DIAGNOSTIC_SEVERITY });
  assert.equal(rows.length, Object.keys(DIAGNOSTIC_SEVERITY).length, 'each code once');
});

test('the settings table names every setting, once', () => {
  const keys = tableRows(section('## 3. Settings')).map(([key]) => key.replace(/`/g, ''));
  assert.deepEqual([...keys].sort(), [...SETTING_KEYS].sort());
});

const OK: MediaFacts = { exists: true, bytes: 50_000, format: 'png', width: 640, height: 480 };
const MEDIA: Record<string, MediaFacts> = {
  'missing.png': { exists: false },
  'photo.webp': { exists: true, bytes: 50_000, format: 'webp', width: 640, height: 480 },
  'huge.png': { ...OK, bytes: 11 * 1024 * 1024 },
  'small.png': { ...OK, width: 200, height: 200 },
  'wide.png': { ...OK, width: 1000, height: 300 },
  // The continue-from frame of the examples' "Arrival" scene (storyboard "example"): not yet made.
  'renders/example/arrival/last-frame.png': { exists: false },
};
const lookup = (ref: string): MediaFacts =>
  MEDIA[ref] ?? (ref.endsWith('.mp4') ? { exists: true, bytes: 1000, format: 'mp4' } : OK);

/** Codes whose example would be thousands of characters long: described in words instead. */
const TOO_LONG_TO_SHOW = ['prompt-too-long', 'negative-too-long'];

test('every code has an example that gets it', () => {
  const examples = section('### Examples');
  const found = new Map<string, string>();
  const re = /^`([a-z-]+)`[^\n]*\n(?:[^`\n][^\n]*\n|\n)*```kling\n([\s\S]*?)```/gm;
  for (const m of examples.matchAll(re)) found.set(m[1], m[2]);
  for (const code of Object.keys(DIAGNOSTIC_SEVERITY)) {
    if (TOO_LONG_TO_SHOW.includes(code)) {
      assert.match(examples, new RegExp(`\`${code}\``), `${code} is described`);
      continue;
    }
    const example = found.get(code);
    assert.ok(example !== undefined, `no example for ${code}`);
    const codes = validateStoryboard(parseStoryboard(example), {
      media: lookup,
      storyboardName: 'example',
    }).map((d) => d.code);
    assert.ok(
      codes.includes(code as never),
      `the ${code} example gets ${codes.join(', ') || 'nothing'}`,
    );
  }
});

// Shared fixtures for the language-feature tests: documents written inline with a `|`
// cursor marker, an in-memory media table and file list instead of a disk.

import {
  createLanguageService,
  type LanguageService,
  type ServiceDocument,
} from '../../server/src/core/service';
import type { MediaFacts } from '../../server/src/core/media';
import type { Position } from 'vscode-languageserver-types';
import { parseStoryboard } from '../../server/src/core/parse';
import { LineIndex } from '../../server/src/core/text';

export const FOLDER = '/work/story';
export const URI = `file://${FOLDER}/board.kling`;

/** A document for the service. */
export function doc(text: string, version = 1, uri = URI): ServiceDocument {
  return { uri, version, getText: () => text };
}

/** Splits `a|b` into the text `ab` and the cursor's position. */
export function cursor(marked: string): { text: string; offset: number; position: Position } {
  const offset = marked.indexOf('|');
  if (offset === -1) throw new Error('no | cursor in fixture');
  const text = marked.slice(0, offset) + marked.slice(offset + 1);
  const before = text.slice(0, offset);
  const line = before.split('\n').length - 1;
  const character = offset - (before.lastIndexOf('\n') + 1);
  return { text, offset, position: { line, character } };
}

export const JPEG_1000: MediaFacts = {
  exists: true,
  bytes: 240_000,
  format: 'jpeg',
  width: 1000,
  height: 800,
};
export const PNG_SMALL: MediaFacts = {
  exists: true,
  bytes: 2_000,
  format: 'png',
  width: 100,
  height: 100,
};
export const MP4: MediaFacts = { exists: true, bytes: 3_000_000, format: 'mp4' };

/** A service over an in-memory folder: `media` maps paths relative to FOLDER to their facts. */
export function service(media: Record<string, MediaFacts> = {}, files?: string[]): LanguageService {
  const byPath = new Map(Object.entries(media).map(([rel, f]) => [`${FOLDER}/${rel}`, f]));
  return createLanguageService({
    media: (abs) => byPath.get(abs) ?? { exists: false },
    listFiles: async (folder) => (folder === FOLDER ? (files ?? Object.keys(media)) : []),
  });
}

/** The text after applying LSP edits (non-overlapping) to a document. */
export function applyEdits(
  text: string,
  edits: { range: { start: Position; end: Position }; newText: string }[],
): string {
  // The core's own LineIndex: the same line breaks (CRLF, LF, lone CR) the server reports in.
  const index = new LineIndex(text);
  const sorted = edits
    .map((e) => ({
      s: index.offsetAt(e.range.start),
      e: index.offsetAt(e.range.end),
      t: e.newText,
    }))
    .sort((x, y) => y.s - x.s);
  let out = text;
  for (const e of sorted) out = out.slice(0, e.s) + e.t + out.slice(e.e);
  return out;
}

export const EXAMPLE = `# Rehearsal
provider: kie
mode: pro
aspect: 16:9

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

/** Everything a request could see: prompts, descriptions, settings. */
export function sentValues(text: string): unknown {
  const { storyboard } = parseStoryboard(text);
  const settings = (list: { key: string; value: string }[]) =>
    list.map((s) => `${s.key}=${s.value}`);
  return {
    header: settings(storyboard.headerSettings),
    elements: storyboard.elements.map((e) => [e.name, settings(e.settings), e.body.text]),
    scenes: storyboard.scenes.map((s) => [
      s.title,
      settings(s.settings),
      s.body.text,
      s.shots.map((shot) => [shot.duration, shot.body.text]),
    ]),
  };
}

// The words of the Generate CodeLens for a scene the render plan refuses (render/cost.ts
// refusalLabel): the plan's own reason, short — without the scene's title, the advice after the
// first sentence, or the storyboard's folder in paths. The full message stays in the tooltip.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { refusalLabel } from '../../server/src/render/cost';

const folder = path.join(path.sep, 'work', 'film');

function check(message: string, expected: string, title = 'Plain'): void {
  assert.equal(refusalLabel(message, title, folder), expected);
}

describe('refusalLabel (the CodeLens of a scene Generate would not send)', () => {
  it('a damaged ledger entry: what is wrong with which file, relative to the storyboard', () => {
    const file = path.join(folder, 'renders', '.ledger', 'board--plain--take-1.json');
    check(
      `Plain: not sent: the ledger entry ${file} is not valid JSON (truncated or garbled). It may record a take already paid for, so nothing is submitted for this scene until it is resolved: repair or delete the file, or ask for a new take to pay for a new one.`,
      'the ledger entry renders/.ledger/board--plain--take-1.json is not valid JSON (truncated or garbled)',
    );
  });

  it('unreadable media and scene problems; a title with a colon is removed whole', () => {
    check(
      'Morning run: cannot read frames/f1.png (ENOENT).',
      'cannot read frames/f1.png (ENOENT)',
      'Morning run',
    );
    check(
      'Act 1: dawn: cannot be sent: shots add up to 7 s, not 5 s; no prompt.',
      'shots add up to 7 s, not 5 s; no prompt',
      'Act 1: dawn',
    );
  });

  it('a path outside the folder stays absolute; a message of another shape is kept as it is', () => {
    const outside = path.join(path.sep, 'elsewhere', 'a.png');
    check(`Plain: cannot read ${outside} (EACCES).`, `cannot read ${outside} (EACCES)`);
    check(`${folder}-old${path.sep}x.png is missing`, `${folder}-old${path.sep}x.png is missing`);
    check(
      'No KIE API key is set (KIE_API_KEY, or "Kling: Set KIE API Key" in VS Code).',
      'No KIE API key is set (KIE_API_KEY, or "Kling: Set KIE API Key" in VS Code)',
    );
  });
});

// How the CodeLens, the storyboard preview and the scene picker describe a scene's shots: as the
// request builder sends it (core/request.ts), so an intelligence scene is never "N shots".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarize } from '../../client/src/storyboardModel';
import { buildRequests } from '../../server/src/core/request';
import { parseStoryboard } from '../../server/src/core/parse';

const text = [
  'provider: kling',
  '',
  '[scene Planned]',
  'shot-type: intelligence',
  'duration: 10',
  'A dog runs along the beach, then a cat sleeps on a porch.',
  '[shot 4s]',
  'A dog runs.',
  '[shot 6s]',
  'A cat sleeps.',
  '',
  '[scene Bare]',
  'shot-type: intelligence',
  'A fox crosses a field.',
  '',
  '[scene Cut]',
  '[shot 3s]',
  'A door opens.',
  '[shot 2s]',
  'A hand waves.',
  '',
  '[scene Still]',
  'A lake at dawn.',
  '',
].join('\n');

test('an intelligence scene is labelled as the one prompt it is sent as, its shots as not sent', () => {
  const { scenes } = summarize(text);
  assert.deepEqual(
    scenes.map((s) => s.shotsLabel),
    [
      'intelligence: one prompt, Kling plans the cuts (2 shots not sent)',
      'intelligence: one prompt, Kling plans the cuts',
      '2 shots',
      'single shot',
    ],
  );
  assert.deepEqual(
    scenes.map((s) => s.intelligence),
    [true, true, false, false],
  );
  // The prompt shown is the one sent: the scene text for intelligence, none for customize.
  const sent = buildRequests(parseStoryboard(text).storyboard, {}).map(
    (r) => r.body as Record<string, unknown>,
  );
  assert.equal(sent[0]!.shot_type, 'intelligence');
  assert.equal(sent[0]!.multi_prompt, undefined, 'the shots are not sent');
  assert.equal(scenes[0]!.prompt, sent[0]!.prompt);
  assert.equal(scenes[1]!.prompt, sent[1]!.prompt);
  assert.equal(scenes[2]!.prompt, '');
  assert.equal((sent[2]!.multi_prompt as unknown[]).length, 2);
  assert.equal(scenes[3]!.prompt, sent[3]!.prompt);
});

test('on kie shot-type: intelligence is not sent, so the scene is its shots', () => {
  const kie = text.replace('provider: kling', 'provider: kie');
  assert.equal(summarize(kie).scenes[0]!.shotsLabel, '2 shots');
  assert.equal(summarize(kie).scenes[0]!.intelligence, false);
});

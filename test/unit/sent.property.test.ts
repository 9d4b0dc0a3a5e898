// What you write is what is sent (server/docs/language.md): over generated storyboards, every
// claim a diagnostic makes about what is or is not sent agrees with the request builder. Text a
// diagnostic calls "sent as words" is in the scene's request, text it calls "not sent" is in
// none, and a scene without errors sends every body line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';

import type { BodyLine, SceneBlock, Span, Storyboard } from '../../server/src/core/ast';
import type { StoryboardDiagnostic } from '../../server/src/core/diagnostics';
import { parseStoryboard } from '../../server/src/core/parse';
import { buildRequests, type SceneRequest } from '../../server/src/core/request';
import { validateStoryboard } from '../../server/src/core/validate';

type LineKind = 'prose' | 'setting' | 'prose-lookalike' | 'lookalike' | 'blank' | 'comment';

const SCENE_SETTINGS = [
  'duration: 8',
  'mode: pro',
  'sound: off',
  'sound: on',
  'shot-type: intelligence',
  'shot-type: customize',
  'first-frame: f.png',
  'last-frame: l.png',
  'aspect: 9:16',
  'cfg-scale: 0.5',
  'camera: zoom 5',
];

const lineKind = fc.constantFrom<LineKind>(
  'prose',
  'prose',
  'prose',
  'setting',
  'setting',
  'prose-lookalike',
  'lookalike',
  'blank',
  'comment',
);

const storyboardShape = fc.record({
  provider: fc.constantFrom('kie', 'kling'),
  header: fc.subarray(['sound: off', 'aspect: 1:1', 'cfg-scale: 0.2']),
  headerText: fc.array(lineKind, { maxLength: 3 }),
  /** An element `dog` (with its description lines), or none; prose may reference @dog or @cat. */
  element: fc.option(fc.array(lineKind, { maxLength: 3 })),
  refs: fc.boolean(),
  scenes: fc.array(
    fc.record({
      settings: fc.subarray(SCENE_SETTINGS),
      body: fc.array(lineKind, { maxLength: 5 }),
      shots: fc.array(
        fc.record({
          seconds: fc.integer({ min: 1, max: 5 }),
          body: fc.array(lineKind, { maxLength: 4 }),
        }),
        { maxLength: 3 },
      ),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});

type Shape = typeof storyboardShape extends fc.Arbitrary<infer T> ? T : never;

/** Writes the storyboard; every non-blank line is unique (a counter), so "in" and "not in" are exact. */
function write(shape: Shape): string {
  let n = 0;
  const line = (kind: LineKind): string => {
    n++;
    switch (kind) {
      case 'prose':
        return shape.refs && n % 3 === 0
          ? `The @${n % 2 ? 'dog' : 'cat'} walks ${n} steps.`
          : `The dog walks ${n} steps.`;
      case 'setting':
        // Forms the scene accepts, with values those keys allow (unique by n).
        return n % 2 ? `negative: grain ${n}` : `cfg-scale: 0.${n}`;
      case 'prose-lookalike':
        return n % 2 ? `Camera: slow pan ${n}.` : `mode: of transport ${n}`;
      case 'lookalike':
        return `Negative: blur ${n}`;
      case 'blank':
        return '';
      case 'comment':
        return `# note ${n}`;
    }
  };
  const out = [`provider: ${shape.provider}`, ...shape.header];
  out.push(...shape.headerText.map(line), '');
  if (shape.element)
    out.push('[element dog]', 'images: a.jpg, b.jpg', 'id: 42', ...shape.element.map(line), '');
  for (const [i, scene] of shape.scenes.entries()) {
    out.push(`[scene S${i}]`, ...scene.settings, ...scene.body.map(line));
    for (const shot of scene.shots) out.push(`[shot ${shot.seconds}s]`, ...shot.body.map(line));
    out.push('');
  }
  return out.join('\n');
}

/** Every line of every prompt a request sends. */
function sentLines(r: SceneRequest): Set<string> {
  const body = r.body as Record<string, unknown>;
  const where = (r.provider === 'kie' ? body.input : body) as Record<string, unknown>;
  const prompts: string[] = [];
  if (typeof where.prompt === 'string') prompts.push(where.prompt);
  if (Array.isArray(where.multi_prompt))
    for (const p of where.multi_prompt as { prompt: string }[]) prompts.push(p.prompt);
  return new Set(prompts.flatMap((p) => p.split('\n')));
}

const inside = (span: Span, offset: number) =>
  offset >= span.offset && offset < span.offset + Math.max(1, span.length);

function sceneAt(sb: Storyboard, offset: number): SceneBlock | undefined {
  return sb.scenes.find((s) => inside(s.fullSpan, offset));
}

function linesIn(lines: readonly BodyLine[], span: Span): BodyLine[] {
  return lines.filter(
    (l) =>
      l.text && l.lineSpan.offset >= span.offset && l.lineSpan.offset < span.offset + span.length,
  );
}

function allBodyLines(scene: SceneBlock): BodyLine[] {
  return [...scene.body.lines, ...scene.shots.flatMap((s) => s.body.lines)].filter((l) => l.text);
}

function lineAt(scene: SceneBlock, offset: number): BodyLine | undefined {
  return allBodyLines(scene).find((l) => inside(l.lineSpan, offset));
}

test('diagnostics agree with the request builder about what is sent', () => {
  let claims = 0;
  const seen = new Set<string>();
  fc.assert(
    fc.property(storyboardShape, (shape) => {
      const text = write(shape);
      const parsed = parseStoryboard(text);
      const sb = parsed.storyboard;
      const diagnostics: StoryboardDiagnostic[] = validateStoryboard(parsed);
      const requests = buildRequests(sb, { klingRefStyle: 'as-written' });
      const sent = requests.map(sentLines);
      const sentAnywhere = new Set(sent.flatMap((s) => [...s]));
      const requestOf = (scene: SceneBlock) => requests[scene.index];
      const notSent = new Set<BodyLine>();

      for (const d of diagnostics) {
        seen.add(d.code);
        const scene = sceneAt(sb, d.span.offset);
        switch (d.code) {
          case 'setting-in-text': {
            assert.match(d.message, /sent as words/);
            const l = lineAt(scene!, d.span.offset)!;
            assert.ok(sent[scene!.index].has(l.text), `"${l.text}" said sent, is not:\n${text}`);
            claims++;
            break;
          }
          case 'unknown-setting': {
            if (!d.data?.lookalike || !scene) break;
            const l = lineAt(scene, d.span.offset)!;
            const says = /is sent as prompt text/.test(d.message);
            assert.equal(sent[scene.index].has(l.text), says, `${d.message}\n${text}`);
            claims++;
            break;
          }
          case 'scene-text-ignored':
          case 'header-text-ignored': {
            const lines = scene
              ? linesIn(scene.body.lines, d.span)
              : linesIn(sb.preamble.lines, d.span);
            for (const l of lines) {
              assert.ok(!sentAnywhere.has(l.text), `"${l.text}" said not sent, is:\n${text}`);
              notSent.add(l);
              claims++;
            }
            break;
          }
          case 'shots-ignored': {
            for (const l of scene!.shots.flatMap((s) => s.body.lines)) {
              if (!l.text) continue;
              assert.ok(!sentAnywhere.has(l.text), `"${l.text}" said not sent, is:\n${text}`);
              notSent.add(l);
              claims++;
            }
            break;
          }
          case 'sound-forced-on': {
            const input = requestOf(scene!).body.input as Record<string, unknown>;
            assert.notEqual(input.sound, false);
            claims++;
            break;
          }
          case 'aspect-ignored': {
            assert.equal(requestOf(scene!).body.aspect_ratio, undefined);
            claims++;
            break;
          }
          case 'unconfirmed-setting': {
            if (!scene) break;
            const body = requestOf(scene).body;
            const where = (requestOf(scene).provider === 'kie' ? body.input : body) as Record<
              string,
              unknown
            >;
            const field = d.data?.key === 'camera' ? 'camera_control' : 'cfg_scale';
            assert.ok(field in where, `${field} said sent:\n${text}`);
            claims++;
            break;
          }
          case 'last-frame-needs-first-frame': {
            assert.ok(requestOf(scene!).problems.length > 0);
            break;
          }
        }
      }

      // A scene without errors sends every body line no diagnostic calls "not sent".
      for (const scene of sb.scenes) {
        const errors = diagnostics.filter(
          (d) => d.severity === 'error' && inside(scene.fullSpan, d.span.offset),
        );
        if (errors.length) continue;
        for (const l of allBodyLines(scene)) {
          if (notSent.has(l)) continue;
          assert.ok(
            sent[scene.index].has(l.text),
            `"${l.text}" is not sent and nothing says so:\n${text}`,
          );
          claims++;
        }
      }
    }),
    { numRuns: 400 },
  );
  assert.ok(claims > 1000, `only ${claims} claims checked`);
  for (const code of [
    'setting-in-text',
    'scene-text-ignored',
    'shots-ignored',
    'sound-forced-on',
    'aspect-ignored',
    'unconfirmed-setting',
    'header-text-ignored',
    'unknown-setting',
  ])
    assert.ok(seen.has(code), `the generator never produced ${code}`);
});

// Which errors stop a scene from being generated: the one home of that fact, shared by the CLI's
// `render` and the extension's Generate (both ask after validating the exact text they send).
import type { SceneBlock, Storyboard } from './ast';
import type { StoryboardDiagnostic } from './diagnostics';
import { resolveScene } from './resolve';

/** Errors that make a scene unsendable: inside the scene, in the header, or in an element it uses. */
export function sceneBlockers(
  storyboard: Storyboard,
  textLength: number,
  diagnostics: readonly StoryboardDiagnostic[],
  scene: SceneBlock,
): StoryboardDiagnostic[] {
  const resolved = resolveScene(storyboard, scene);
  const spans = [scene.fullSpan, ...resolved.elements.map((e) => e.span)];
  const firstBlock = storyboard.blocks[0]?.span.offset ?? textLength;
  return diagnostics.filter(
    (d) =>
      d.severity === 'error' &&
      (d.span.offset < firstBlock ||
        spans.some(
          (s) => d.span.offset >= s.offset && d.span.offset < s.offset + Math.max(1, s.length),
        )),
  );
}

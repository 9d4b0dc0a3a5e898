// Preview Request: the exact requests of a storyboard's scenes without keys or network, local
// media shown as placeholders.
import { parseStoryboard } from '../core/parse';
import { buildRequests } from '../core/request';
import { storyboardProvider } from '../core/resolve';
import { endpointPath, PROVIDER_FACTS } from '../providers/adapter';
import { storyboardNameOf } from './ledger';
import type { ProviderId } from './types';

/** The exact requests of a storyboard's scenes without keys or network: local media as "<to upload: …>". */
export function previewRequests(
  storyboardPath: string,
  text: string,
  scenes?: number[],
  options: { klingRefStyle?: 'numbered' | 'as-written'; defaultProvider?: ProviderId } = {},
): unknown[] {
  const { storyboard } = parseStoryboard(text);
  const provider = storyboardProvider(storyboard, options.defaultProvider);
  const built = buildRequests(storyboard, {
    scenes,
    klingRefStyle: options.klingRefStyle,
    defaultProvider: options.defaultProvider,
    continuity: { storyboardName: storyboardNameOf(storyboardPath) },
  });
  return built.map((sr) => {
    const out: Record<string, unknown> = {
      scene: sr.sceneTitle,
      sceneIndex: sr.sceneIndex,
      provider: sr.provider ?? provider,
      method: 'POST',
      path: endpointPath(sr.endpoint),
      body: sr.body,
    };
    const notes = [...sr.notes];
    if (PROVIDER_FACTS[sr.provider].externalIds)
      notes.push(
        'external_task_id is added at submit time (derived from the request hash and take).',
      );
    if (notes.length) out.notes = notes;
    if (sr.problems.length) out.problems = sr.problems;
    // The path is part of the contract for later use (per-folder defaults); the body does not depend on it.
    void storyboardPath;
    return out;
  });
}

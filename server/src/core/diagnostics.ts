// Diagnostic codes and their severities: the code table of server/docs/language.md, as code
// (test/unit/language-doc.test.ts keeps the two equal).

import type { Span } from './ast';

export const DIAGNOSTIC_SEVERITY = {
  syntax: 'error',
  'unknown-block': 'error',
  'unknown-setting': 'warning',
  'invalid-value': 'error',
  'duplicate-setting': 'warning',
  'unsupported-setting': 'warning',
  'shot-outside-scene': 'error',
  'empty-scene': 'error',
  'empty-shot': 'error',
  'scene-text-ignored': 'warning',
  'header-text-ignored': 'warning',
  'shot-too-long': 'error',
  'prompt-too-long': 'error',
  'negative-too-long': 'error',
  'too-many-shots': 'error',
  'shot-duration-range': 'error',
  'duration-range': 'error',
  'duration-mismatch': 'error',
  'undefined-element': 'error',
  'unused-element': 'hint',
  'duplicate-element': 'error',
  'too-many-elements': 'error',
  'element-needs-first-frame': 'error',
  'element-no-media': 'error',
  'element-media-conflict': 'error',
  'element-image-count': 'error',
  'element-needs-id': 'error',
  'media-not-found': 'error',
  'media-format': 'error',
  'media-too-large': 'error',
  'image-too-small': 'error',
  'image-aspect': 'error',
  'last-frame-multi-shot': 'error',
  'camera-conflict': 'error',
  // v2 (docs/language.md, "What you write is what is sent")
  'setting-in-text': 'warning',
  'last-frame-needs-first-frame': 'error',
  'sound-forced-on': 'warning',
  'shots-ignored': 'warning',
  'shot-type-needs-shots': 'warning',
  'aspect-ignored': 'warning',
  'unconfirmed-setting': 'information',
  'output-outside': 'warning',
  'unused-suppression': 'hint',
  // continue-from (docs/language.md; core/continuity.ts)
  'undefined-scene': 'error',
  'continuity-order': 'error',
  'continuity-conflict': 'error',
  'continuity-pending': 'information',
} as const;

/** The stable code of every diagnostic. */
export type DiagnosticCode = keyof typeof DIAGNOSTIC_SEVERITY;
export type Severity = 'error' | 'warning' | 'information' | 'hint';
export const DIAGNOSTIC_CODES = Object.keys(DIAGNOSTIC_SEVERITY) as DiagnosticCode[];

/** A problem found in a storyboard, positioned by UTF-16 offsets. */
export interface StoryboardDiagnostic {
  code: DiagnosticCode;
  severity: Severity;
  message: string;
  span: Span;
  /** Shown faded (LSP DiagnosticTag.Unnecessary), e.g. an unused element. */
  unnecessary?: boolean;
  /** Facts a quick fix needs (e.g. `{ suggestion: 'dog' }`, `{ sum: 9 }`); plain JSON. */
  data?: Record<string, unknown>;
}

/** Builds a diagnostic with the severity the table assigns to its code. */
export function diagnostic(
  code: DiagnosticCode,
  span: Span,
  message: string,
  data?: Record<string, unknown>,
): StoryboardDiagnostic {
  const d: StoryboardDiagnostic = { code, severity: DIAGNOSTIC_SEVERITY[code], message, span };
  if (code === 'unused-element' || code === 'unused-suppression') d.unnecessary = true;
  if (data) d.data = data;
  return d;
}

// Typed messages between the panels and their browser-side code. What the webview sends is
// untrusted input, so it is parsed with zod before the extension acts on it; it names takes by
// ledger key and lines by number, never by file path, so a page cannot point us at arbitrary files.
import * as z from 'zod/mini';
import type { TaskState } from '../../../server/src/render/types';

// ---- Results panel -------------------------------------------------------------------------

export interface TakeView {
  key: string;
  take: number;
  state: TaskState;
  provider: string;
  endpoint: string;
  taskId?: string;
  error?: string;
  prompt: string;
  /** asWebviewUri of the downloaded video, when it exists and lies inside the allowed roots. */
  videoSrc?: string;
  videoName?: string;
  hasSound: boolean;
  /** What the provider reported charging ("240 credits"), when it did. */
  cost?: string;
  createdAt: number;
  submittedAt?: number;
  finishedAt?: number;
  /** The take this scene uses (in the storyboard preview, its playback and the cut). */
  chosen?: boolean;
}

export interface SceneResultsView {
  sceneIndex: number;
  title: string;
  takes: TakeView[];
}

export interface ResultsState {
  type: 'state';
  storyboardPath: string;
  storyboardName: string;
  scenes: SceneResultsView[];
  /** Scroll to (and highlight) this take once. */
  focus?: { sceneIndex: number; take?: number };
  now: number;
  /** Button labels and advice that depend on where the files are (see openPlan.ts). */
  labels: { reveal: string; open: string; soundAdvice: string };
}

export type ResultsToWebview = ResultsState;

const sceneIndexSchema = z.int().check(z.minimum(0));

export const resultsFromWebview = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('reveal'), key: z.string().check(z.maxLength(200)) }),
  z.object({ type: z.literal('openExternal'), key: z.string().check(z.maxLength(200)) }),
  z.object({ type: z.literal('openStoryboard'), sceneIndex: sceneIndexSchema }),
  z.object({ type: z.literal('newTake'), sceneIndex: sceneIndexSchema }),
  z.object({ type: z.literal('useTake'), key: z.string().check(z.maxLength(200)) }),
]);
export type ResultsFromWebview = z.infer<typeof resultsFromWebview>;

/** What the results page saves with `setState` so the serializer can restore it after a reload. */
export const resultsPersisted = z.object({ storyboardPath: z.string() });
export type ResultsPersisted = z.infer<typeof resultsPersisted>;

// ---- Storyboard preview --------------------------------------------------------------------

export interface MediaView {
  value: string;
  /** asWebviewUri when the file is a local image inside the allowed roots. */
  src?: string;
  line: number;
}

export interface ShotView {
  duration: number;
  label?: string;
  prompt: string;
  line: number;
  elementNames: string[];
}

export interface SceneView {
  index: number;
  title: string;
  line: number;
  duration: number;
  mode: string;
  provider: string;
  sound: boolean;
  prompt: string;
  /** "single shot", "3 shots", or how an intelligence scene is sent (storyboardModel.ts). */
  shotsLabel: string;
  shots: ShotView[];
  elementNames: string[];
  firstFrame?: MediaView;
  lastFrame?: MediaView;
  errors: number;
  warnings: number;
  latestTake?: { take: number; state: TaskState; error?: string; videoSrc?: string };
  /** Estimated cost of generating the scene: "≈ 240 credits" / "cost unknown", and why. */
  cost?: { text: string; basis: string };
  /** The take the scene uses (chosen, else the latest finished): what ▶ Play storyboard plays. */
  chosenTake?: { take: number; by: 'choice' | 'latest'; videoSrc?: string };
}

export interface ElementView {
  name: string;
  line: number;
  description: string;
  thumb?: MediaView;
  hasVideo: boolean;
}

export interface PreviewModel {
  type: 'model';
  title: string;
  scenes: SceneView[];
  elements: ElementView[];
  /** Seconds, all scenes. */
  totalDuration: number;
  /**
   * What generating every scene would pay ("≈ 480 credits to generate (estimate) · 1 scene
   * reused, not charged"): reused takes are not counted (render/cost.ts formatPreviewTotal).
   */
  totalCost?: string;
}

export type PreviewToWebview = PreviewModel;

export const previewFromWebview = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('reveal'), line: z.int().check(z.minimum(0)) }),
  z.object({ type: z.literal('generate'), sceneIndex: sceneIndexSchema }),
  z.object({
    type: z.literal('showResults'),
    sceneIndex: sceneIndexSchema,
    take: z.optional(z.int().check(z.minimum(1))),
  }),
]);
export type PreviewFromWebview = z.infer<typeof previewFromWebview>;

export const previewPersisted = z.object({ documentUri: z.string() });
export type PreviewPersisted = z.infer<typeof previewPersisted>;

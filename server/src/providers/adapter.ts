// One interface over both video APIs, so the render engine never branches on the provider:
// create a task, query it (→ phase, result URLs, failure, cost), find it again by our external id
// where the API has one, and how local media travels in a create body. Static facts (names,
// capabilities, documented paths) are here too, usable without keys.
import type { Provider } from '../core/ast';
import type { Endpoint } from '../core/request';
import type { ProviderError } from './http';
import { KieClient, kieFailureMessage, kiePhase, KIE_PATHS } from './kie';
import {
  KlingClient,
  klingFailureMessage,
  klingPhase,
  KLING_PATHS,
  type KlingVideoKind,
} from './kling';

/** Where a task is, in the engine's words. */
export type TaskPhase = 'queued' | 'running' | 'succeeded' | 'failed';

/** One query answer, provider-neutral. */
export interface TaskStatus {
  phase: TaskPhase;
  /** Result video URLs, best first (empty until the task has succeeded, and possibly just after). */
  urls: string[];
  /** Watermarked copies, same order (Kling `watermark_url`, when watermarking was asked for). */
  watermarkUrls?: (string | undefined)[];
  /** One line when the task failed (never a key). */
  failure?: string;
  /** Generation time the provider reports, when it reports one (KIE `costTime`). */
  costTimeMs?: number;
  /** What the provider reports charging (KIE credits, Kling units), when it reports it. */
  cost?: number;
}

/** What is true of a provider before any key or client exists. */
export interface ProviderFacts {
  readonly id: Provider;
  /** As shown to the user: 'KIE', 'Kling'. */
  readonly name: string;
  /** How local media is sent: uploaded first and sent as a URL, or inline as raw base64. */
  readonly media: 'uploaded-url' | 'base64';
  /** True when a create carries our external id and the task can be found by it later. */
  readonly externalIds: boolean;
  /** How the balance is shown ('KIE credits'), or where to look when the API has no balance endpoint. */
  readonly balance: { label: string } | { elsewhere: string };
}

export const PROVIDER_FACTS: Record<Provider, ProviderFacts> = {
  kie: {
    id: 'kie',
    name: 'KIE',
    media: 'uploaded-url',
    externalIds: false,
    balance: { label: 'KIE credits' },
  },
  kling: {
    id: 'kling',
    name: 'Kling',
    media: 'base64',
    externalIds: true,
    balance: { elsewhere: 'see the resource packs in the Kling developer console' },
  },
};

/** A video API behind one interface; every method throws ProviderError with a one-line message. */
export interface ProviderAdapter extends ProviderFacts {
  /** Sends one create. No abort signal: a create runs to its answer so its task id is never lost. */
  create(endpoint: string, body: unknown): Promise<string>;
  /** The task's phase, result URLs and failure. */
  query(endpoint: string, taskId: string, signal?: AbortSignal): Promise<TaskStatus>;
  /** The task id created under our external id, undefined when none exists (only if `externalIds`). */
  findByExternalId?(
    endpoint: string,
    externalId: string,
    signal?: AbortSignal,
  ): Promise<string | undefined>;
  /** True when a refused create may mean "a task with this external id exists already". */
  maybeDuplicate?(err: ProviderError): boolean;
  /** The account balance, where the API has an endpoint for it. */
  queryBalance?(signal?: AbortSignal): Promise<number>;
}

/**
 * KIE market API: no external id, media uploaded first (server/docs/providers.md, "KIE"). The client is asked
 * for at each call, so a missing key fails the call that needs it, not the adapter's creation.
 */
export function kieAdapter(client: () => KieClient): ProviderAdapter {
  return {
    ...PROVIDER_FACTS.kie,
    async create(_endpoint, body) {
      return (await client().createTask(body)).taskId;
    },
    async query(_endpoint, taskId, signal) {
      const info = await client().recordInfo(taskId, signal);
      const phase = kiePhase(info.state);
      return {
        phase,
        urls: info.resultUrls,
        failure: phase === 'failed' ? kieFailureMessage(info) : undefined,
        costTimeMs: info.costTimeMs,
        cost: info.creditsConsumed,
      };
    },
    queryBalance: async (signal) => client().credits(signal),
  };
}

/** Kling official API: external_task_id lookup, media as raw base64 (providers.md, "Kling"). */
export function klingAdapter(client: () => KlingClient): ProviderAdapter {
  return {
    ...PROVIDER_FACTS.kling,
    async create(endpoint, body) {
      return (await client().createVideo(klingKind(endpoint), body)).taskId;
    },
    async query(endpoint, taskId, signal) {
      const task = await client().queryVideo(klingKind(endpoint), taskId, signal);
      const phase = klingPhase(task.status);
      return {
        phase,
        urls: task.videos.map((v) => v.url),
        watermarkUrls: task.videos.map((v) => v.watermarkUrl),
        failure: phase === 'failed' ? klingFailureMessage(task) : undefined,
        cost: task.unitDeduction,
      };
    },
    async findByExternalId(endpoint, externalId, signal) {
      return (await client().findByExternalId(klingKind(endpoint), externalId, signal))?.taskId;
    },
    // 1200/1201: refused parameters, which is also how a reused external_task_id is refused.
    maybeDuplicate: (err) => err.code === 1200 || err.code === 1201,
  };
}

/** The Kling video kind of an endpoint id. */
export function klingKind(endpoint: string): KlingVideoKind {
  return endpoint === 'kling.image2video' ? 'image2video' : 'text2video';
}

/** The documented path of an endpoint id (for previews and logs). */
export function endpointPath(endpoint: Endpoint | string): string {
  switch (endpoint) {
    case 'kie.createTask':
      return KIE_PATHS.createTask;
    case 'kling.text2video':
      return KLING_PATHS.text2video;
    case 'kling.image2video':
      return KLING_PATHS.image2video;
    default:
      return endpoint;
  }
}

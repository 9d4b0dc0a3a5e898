// Kling official API client (server/docs/providers.md, "Kling"): HS256 JWT from the access/secret
// key pair, text2video / image2video create + query, lookup by external_task_id, AI Multi-Shot.
// No vscode import; usable by the CLI. Everything the server says is redacted (keys and our
// token removed) before it leaves this file.
import * as z from 'zod/mini';
import { klingErrorInfo, KLING_CODES, mayHaveCreated } from './errors';
import {
  apiError,
  shapeError,
  checkBaseUrl,
  joinUrl,
  MAY_HAVE_CREATED,
  ProviderError,
  reportedCost,
  redact,
  retryableStatus,
  sendJson,
  type HttpResult,
} from './http';

export type KlingVideoKind = 'text2video' | 'image2video';

export const KLING_PATHS = {
  text2video: '/v1/videos/text2video',
  image2video: '/v1/videos/image2video',
  aiMultiShot: '/v1/general/ai-multi-shot',
} as const;

export interface KlingClientOptions {
  accessKey: string;
  secretKey: string;
  apiBase: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** Clock in ms (tests move it to exercise re-signing). */
  now?: () => number;
  /** Token lifetime in seconds (doc example: 1800). */
  tokenTtlSec?: number;
  /** Re-sign when fewer than this many seconds remain. */
  reSignMarginSec?: number;
  /** How many list pages (500 items each) to scan when looking up an external_task_id. */
  lookupPages?: number;
}

export interface KlingVideo {
  id?: string;
  url: string;
  watermarkUrl?: string;
  duration?: string;
}

export interface KlingTask {
  taskId: string;
  /** submitted | processing | succeed | failed (unknown strings kept). */
  status: string;
  statusMsg?: string;
  externalTaskId?: string;
  videos: KlingVideo[];
  /** AI Multi-Shot results: urls of the generated views in index order. */
  imageUrls: string[];
  /** Units charged (`final_unit_deduction`), when reported. */
  unitDeduction?: number;
}

const numberAsString = z.pipe(
  z.number(),
  z.transform((v: number) => String(v)),
);
const idSchema = z.union([z.string().check(z.minLength(1)), numberAsString]);
const optText = z.pipe(
  z.optional(z.union([z.string(), numberAsString, z.null()])),
  z.transform((v) => (v === null || v === undefined || v === '' ? undefined : v)),
);

const envelopeSchema = z.object({
  code: z.union([
    z.number(),
    z.pipe(
      z.string().check(z.regex(/^\d+$/)),
      z.transform((v: string) => Number(v)),
    ),
  ]),
  message: z.nullish(z.string()),
  msg: z.nullish(z.string()),
  request_id: z.nullish(z.string()),
  data: z.optional(z.unknown()),
});

const taskSchema = z.pipe(
  z.object({
    task_id: idSchema,
    task_status: z.string(),
    task_status_msg: optText,
    task_info: z.nullish(z.looseObject({ external_task_id: optText })),
    final_unit_deduction: z.optional(z.unknown()),
    task_result: z.nullish(
      z.object({
        videos: z.nullish(
          z.array(
            z.object({
              id: optText,
              url: z.string(),
              watermark_url: optText,
              duration: optText,
            }),
          ),
        ),
        images: z.nullish(
          z.array(
            z.looseObject({
              index: z.nullish(z.number()),
              url: optText,
              url_1: optText,
              url_2: optText,
              url_3: optText,
            }),
          ),
        ),
      }),
    ),
  }),
  z.transform((t): KlingTask => ({
    taskId: t.task_id,
    status: t.task_status,
    statusMsg: t.task_status_msg,
    externalTaskId: t.task_info?.external_task_id,
    videos: (t.task_result?.videos ?? []).map((v) => ({
      id: v.id,
      url: v.url,
      watermarkUrl: v.watermark_url,
      duration: v.duration,
    })),
    imageUrls: (t.task_result?.images ?? [])
      .slice()
      .sort((a, b) => (a.index ?? 0) - (b.index ?? 0))
      .flatMap((img) => [img.url, img.url_1, img.url_2, img.url_3])
      .filter((u): u is string => typeof u === 'string' && u !== ''),
    unitDeduction: reportedCost(t.final_unit_deduction),
  })),
);

type JoseModule = typeof import('jose', { with: { 'resolution-mode': 'import' } });
let josePromise: Promise<JoseModule> | undefined;
// jose is ESM-only; a dynamic import keeps this file loadable from the CommonJS bundles.
function loadJose(): Promise<JoseModule> {
  josePromise ??= import('jose');
  return josePromise;
}

/** Kling HTTP client; every method throws ProviderError with a one-line message. */
export class KlingClient {
  private readonly opts: KlingClientOptions;
  private token?: { jwt: string; exp: number };
  private readonly now: () => number;

  constructor(opts: KlingClientOptions) {
    checkBaseUrl(opts.apiBase, 'the Kling API base URL');
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  /** Creates a text2video or image2video task. Never re-sent here except after a re-signed 1004. */
  async createVideo(kind: KlingVideoKind, body: unknown, signal?: AbortSignal): Promise<KlingTask> {
    return this.task('POST', KLING_PATHS[kind], `${kind} create`, body, signal);
  }

  /** Queries one video task by its task_id. */
  async queryVideo(kind: KlingVideoKind, taskId: string, signal?: AbortSignal): Promise<KlingTask> {
    return this.task(
      'GET',
      `${KLING_PATHS[kind]}/${encodeURIComponent(taskId)}`,
      `${kind} query`,
      undefined,
      signal,
    );
  }

  /**
   * Finds a task by our external_task_id: the single-task path first (the docs say either id
   * fits there, unconfirmed), then the list query. Undefined when no task carries that id.
   */
  async findByExternalId(
    kind: KlingVideoKind,
    externalTaskId: string,
    signal?: AbortSignal,
  ): Promise<KlingTask | undefined> {
    try {
      const direct = await this.queryVideo(kind, externalTaskId, signal);
      if (direct.externalTaskId === externalTaskId) return direct; // already cleaned
    } catch (err) {
      if (err instanceof ProviderError && (err.kind === 'aborted' || err.code === 1004)) throw err;
      // Not found / not supported: fall through to the list scan.
    }
    const pageSize = 500;
    const pages = this.opts.lookupPages ?? 5;
    for (let pageNum = 1; pageNum <= pages; pageNum++) {
      const data = await this.call(
        'GET',
        `${KLING_PATHS[kind]}?pageNum=${pageNum}&pageSize=${pageSize}`,
        `${kind} list`,
        undefined,
        signal,
      );
      const list = z.array(z.unknown()).safeParse(data);
      if (!list.success) throw shapeError('kling', `${kind} list`, 'data[]', false, true);
      for (const item of list.data) {
        const task = taskSchema.safeParse(item);
        if (task.success && task.data.externalTaskId === externalTaskId)
          return this.cleaned(task.data);
      }
      if (list.data.length < pageSize) break;
    }
    return undefined;
  }

  /** AI Multi-Shot: extra views of a subject from one frontal image (URL or raw base64). */
  async createMultiShot(
    frontalImage: string,
    externalTaskId?: string,
    signal?: AbortSignal,
  ): Promise<KlingTask> {
    const body: Record<string, string> = { element_frontal_image: frontalImage };
    if (externalTaskId) body.external_task_id = externalTaskId;
    return this.task('POST', KLING_PATHS.aiMultiShot, 'AI Multi-Shot create', body, signal);
  }

  /** Queries an AI Multi-Shot task. */
  async queryMultiShot(taskId: string, signal?: AbortSignal): Promise<KlingTask> {
    return this.task(
      'GET',
      `${KLING_PATHS.aiMultiShot}/${encodeURIComponent(taskId)}`,
      'AI Multi-Shot query',
      undefined,
      signal,
    );
  }

  /** The current JWT, signed anew when missing or close to expiry. */
  async bearer(forceNew = false): Promise<string> {
    const nowSec = Math.floor(this.now() / 1000);
    const margin = this.opts.reSignMarginSec ?? 300;
    if (!forceNew && this.token && this.token.exp - nowSec > margin) return this.token.jwt;
    const ttl = this.opts.tokenTtlSec ?? 1800;
    const { SignJWT } = await loadJose();
    const exp = nowSec + ttl;
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(this.opts.accessKey)
      .setExpirationTime(exp)
      .setNotBefore(nowSec - 5)
      .sign(new TextEncoder().encode(this.opts.secretKey));
    this.token = { jwt, exp };
    return jwt;
  }

  private async task(
    method: 'GET' | 'POST',
    path: string,
    what: string,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<KlingTask> {
    const data = await this.call(method, path, what, body, signal);
    const parsed = taskSchema.safeParse(data);
    if (!parsed.success)
      throw shapeError('kling', what, 'data.task_id / data.task_status', method === 'POST', true);
    return this.cleaned(parsed.data);
  }

  /** A task whose free text (task_status_msg) no longer holds our keys or token. */
  private cleaned(task: KlingTask): KlingTask {
    return task.statusMsg === undefined
      ? task
      : { ...task, statusMsg: redact(task.statusMsg, this.secrets()) };
  }

  private secrets(): (string | undefined)[] {
    return [this.opts.accessKey, this.opts.secretKey, this.token?.jwt];
  }

  private async call(
    method: 'GET' | 'POST',
    path: string,
    what: string,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<unknown> {
    let reSigned = false;
    for (;;) {
      const jwt = await this.bearer(reSigned);
      const res = await sendJson({
        provider: 'kling',
        method,
        url: joinUrl(this.opts.apiBase, path),
        headers: {
          Authorization: `Bearer ${jwt}`,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        timeoutMs: this.opts.timeoutMs ?? 60_000,
        signal,
        fetch: this.opts.fetch,
        what,
        create: method === 'POST',
        secrets: this.secrets(),
      });
      try {
        return this.unwrap(res, what, method === 'POST');
      } catch (err) {
        // An auth rejection means nothing was created, so one re-signed retry is safe.
        if (
          !reSigned &&
          err instanceof ProviderError &&
          err.code !== undefined &&
          [1002, 1003, 1004].includes(err.code)
        ) {
          reSigned = true;
          continue;
        }
        throw err;
      }
    }
  }

  /**
   * Checks the HTTP status and the body `code`. On a create, only a documented refusal (1000–1304)
   * proves no task was made; 5000–5002, undocumented codes and a bare 5xx may hide one, which
   * the engine resolves by looking up the external_task_id (providers.md, "Creates that fail").
   */
  private unwrap(res: HttpResult, what: string, isCreate: boolean): unknown {
    const httpOk = res.status >= 200 && res.status < 300;
    const env = envelopeSchema.safeParse(res.json);
    if (!env.success) {
      if (httpOk) throw shapeError('kling', what, 'the response envelope', isCreate, true);
      const maybe = isCreate && res.status >= 500;
      const tail = maybe
        ? MAY_HAVE_CREATED
        : retryableStatus(res.status)
          ? 'will be retried'
          : 'will not be retried';
      throw new ProviderError({
        provider: 'kling',
        kind: 'http',
        message: `Kling ${what}: HTTP ${res.status} without an API error code; ${tail}.`,
        retryable: retryableStatus(res.status),
        mayHaveReachedServer: maybe,
        httpStatus: res.status,
        retryAfterMs: res.retryAfterMs,
        rateLimited: res.status === 429,
      });
    }
    const { code } = env.data;
    if (code === 0 && httpOk) return env.data.data;
    const info = klingErrorInfo(
      code,
      env.data.message ?? env.data.msg ?? undefined,
      what,
      res.status,
      { secrets: this.secrets(), create: isCreate },
    );
    // The task may exist: the engine looks it up by external_task_id before anything else.
    throw apiError('kling', info, code, res, isCreate && mayHaveCreated(KLING_CODES, code));
  }
}

/** Maps a Kling task status to the engine's phase; unknown states count as still running. */
export function klingPhase(status: string): 'queued' | 'running' | 'succeeded' | 'failed' {
  switch (status) {
    case 'submitted':
      return 'queued';
    case 'succeed':
      return 'succeeded';
    case 'failed':
      return 'failed';
    default:
      return 'running';
  }
}

/** One line for a failed Kling task. */
export function klingFailureMessage(task: KlingTask): string {
  return `Kling task failed: ${task.statusMsg ?? 'no reason given'}.`;
}

// KIE.ai market API client for `kling-3.0/video` (server/docs/providers.md, "KIE"): createTask,
// recordInfo, File Stream Upload and the credit balance. No vscode import; usable by the CLI.
// Everything the server says is redacted (the key removed) before it leaves this file.
import * as z from 'zod/mini';
import { kieErrorInfo, KIE_CODES, mayHaveCreated } from './errors';
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

export const KIE_PATHS = {
  createTask: '/api/v1/jobs/createTask',
  recordInfo: '/api/v1/jobs/recordInfo',
  credit: '/api/v1/chat/credit',
  streamUpload: '/api/file-stream-upload',
} as const;

export interface KieClientOptions {
  apiKey: string;
  apiBase: string;
  uploadBase: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  uploadTimeoutMs?: number;
}

export type KieState = 'waiting' | 'queuing' | 'generating' | 'success' | 'fail';

export interface KieTaskInfo {
  taskId: string;
  /** One of KieState; unknown strings are kept so a new server state never crashes polling. */
  state: string;
  resultUrls: string[];
  failCode?: string;
  failMsg?: string;
  costTimeMs?: number;
  /** Credits charged, when KIE adds its optional `consumeCredits` / `creditsConsumed`. */
  creditsConsumed?: number;
}

/** A decimal string (as some samples send it) turned into the number it spells. */
const digitsAsNumber = (pattern: RegExp) =>
  z.pipe(
    z.string().check(z.regex(pattern)),
    z.transform((v: string) => Number(v)),
  );
const numberAsString = z.pipe(
  z.number(),
  z.transform((v: number) => String(v)),
);

const codeSchema = z.union([z.number(), digitsAsNumber(/^\d+$/)]);

/** `{code, msg|message, data}`; `msg` preferred, `message` accepted (providers.md, "KIE envelope"). */
const envelopeSchema = z.pipe(
  z.object({
    code: z.optional(codeSchema),
    msg: z.nullish(z.string()),
    message: z.nullish(z.string()),
    success: z.nullish(z.boolean()),
    data: z.optional(z.unknown()),
  }),
  z.transform((e) => ({ code: e.code, msg: e.msg ?? e.message ?? undefined, data: e.data })),
);

const idSchema = z.union([z.string().check(z.minLength(1)), numberAsString]);

const createDataSchema = z.object({ taskId: idSchema });

/** resultJson: a JSON string on the wire, an object in some samples, "" or null when not done. */
const resultJsonSchema = z.pipe(
  z.optional(z.union([z.string(), z.record(z.string(), z.unknown()), z.null()])),
  z.transform((value, ctx): string[] => {
    if (value === null || value === undefined || value === '') return [];
    let obj: unknown = value;
    if (typeof value === 'string') {
      try {
        obj = JSON.parse(value);
      } catch {
        // zod/mini's transform context has no addIssue: the issue goes on the payload directly.
        ctx.issues.push({ code: 'custom', message: 'resultJson is not valid JSON', input: value });
        return z.NEVER;
      }
    }
    // `"null"`, a number or an array on the wire: no URLs, not a TypeError.
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return [];
    const urls = (obj as { resultUrls?: unknown }).resultUrls;
    return Array.isArray(urls) ? urls.filter((u): u is string => typeof u === 'string') : [];
  }),
);

const optionalText = z.pipe(
  z.optional(z.union([z.string(), numberAsString, z.null()])),
  z.transform((v) => (v === null || v === undefined || v === '' ? undefined : v)),
);

const recordDataSchema = z.object({
  taskId: idSchema,
  state: z.string(),
  resultJson: resultJsonSchema,
  failCode: optionalText,
  failMsg: optionalText,
  costTime: z.nullish(z.number()),
  consumeCredits: z.optional(z.unknown()),
  creditsConsumed: z.optional(z.unknown()),
});

const uploadDataSchema = z.object({ downloadUrl: z.string().check(z.minLength(1)) });

const creditDataSchema = z.union([z.number(), digitsAsNumber(/^-?\d+(\.\d+)?$/)]);

/** KIE HTTP client; every method throws ProviderError with a one-line message. */
export class KieClient {
  private readonly opts: Required<Omit<KieClientOptions, 'fetch'>> & { fetch?: typeof fetch };

  constructor(opts: KieClientOptions) {
    checkBaseUrl(opts.apiBase, 'the KIE API base URL');
    checkBaseUrl(opts.uploadBase, 'the KIE upload base URL');
    this.opts = { timeoutMs: 60_000, uploadTimeoutMs: 300_000, ...opts };
  }

  /** POST createTask; returns the task id. Never retried here: the engine decides (no idempotency key). */
  async createTask(body: unknown, signal?: AbortSignal): Promise<{ taskId: string }> {
    const res = await sendJson({
      provider: 'kie',
      method: 'POST',
      url: joinUrl(this.opts.apiBase, KIE_PATHS.createTask),
      headers: { ...this.auth(), 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      timeoutMs: this.opts.timeoutMs,
      signal,
      fetch: this.opts.fetch,
      what: 'createTask',
      create: true,
      secrets: this.secrets(),
    });
    const data = this.unwrap(res, 'createTask', true);
    const parsed = createDataSchema.safeParse(data);
    if (!parsed.success) throw shapeError('kie', 'createTask', 'data.taskId', true, false);
    return { taskId: parsed.data.taskId };
  }

  /** GET recordInfo?taskId=…; state, result URLs (resultJson parsed), failure details. */
  async recordInfo(taskId: string, signal?: AbortSignal): Promise<KieTaskInfo> {
    const url = `${joinUrl(this.opts.apiBase, KIE_PATHS.recordInfo)}?taskId=${encodeURIComponent(taskId)}`;
    const res = await sendJson({
      provider: 'kie',
      method: 'GET',
      url,
      headers: this.auth(),
      timeoutMs: this.opts.timeoutMs,
      signal,
      fetch: this.opts.fetch,
      what: 'recordInfo',
      secrets: this.secrets(),
    });
    const data = this.unwrap(res, 'recordInfo', false);
    const parsed = recordDataSchema.safeParse(data);
    if (!parsed.success)
      throw shapeError('kie', 'recordInfo', 'data.state / data.resultJson', false, false);
    const d = parsed.data;
    return {
      taskId: d.taskId,
      state: d.state,
      resultUrls: d.resultJson,
      failCode: d.failCode,
      // A key echoed by the server (e.g. inside a quoted request) never goes further than here.
      failMsg: d.failMsg === undefined ? undefined : redact(d.failMsg, this.secrets()),
      costTimeMs: d.costTime ?? undefined,
      creditsConsumed: reportedCost(d.consumeCredits) ?? reportedCost(d.creditsConsumed),
    };
  }

  /** File Stream Upload (multipart) to the upload host; returns data.downloadUrl. */
  async uploadFile(
    bytes: Uint8Array,
    fileName: string,
    uploadPath: string,
    mimeType: string,
    signal?: AbortSignal,
  ): Promise<{ downloadUrl: string }> {
    const form = new FormData();
    form.append('file', new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mimeType }), fileName);
    form.append('uploadPath', uploadPath.replace(/^\/+|\/+$/g, ''));
    form.append('fileName', fileName);
    const res = await sendJson({
      provider: 'kie',
      method: 'POST',
      url: joinUrl(this.opts.uploadBase, KIE_PATHS.streamUpload),
      headers: this.auth(),
      body: form,
      timeoutMs: this.opts.uploadTimeoutMs,
      signal,
      fetch: this.opts.fetch,
      what: 'upload',
      secrets: this.secrets(),
    });
    const data = this.unwrap(res, 'upload', false);
    const parsed = uploadDataSchema.safeParse(data);
    if (!parsed.success) throw shapeError('kie', 'upload', 'data.downloadUrl', false, false);
    return { downloadUrl: parsed.data.downloadUrl };
  }

  /** GET /api/v1/chat/credit → remaining credits. */
  async credits(signal?: AbortSignal): Promise<number> {
    const res = await sendJson({
      provider: 'kie',
      method: 'GET',
      url: joinUrl(this.opts.apiBase, KIE_PATHS.credit),
      headers: this.auth(),
      timeoutMs: this.opts.timeoutMs,
      signal,
      fetch: this.opts.fetch,
      what: 'credit balance',
      secrets: this.secrets(),
    });
    const data = this.unwrap(res, 'credit balance', false);
    const parsed = creditDataSchema.safeParse(data);
    if (!parsed.success) throw shapeError('kie', 'credit balance', 'data', false, false);
    return parsed.data;
  }

  private auth(): Record<string, string> {
    return { Authorization: `Bearer ${this.opts.apiKey}` };
  }

  private secrets(): string[] {
    return [this.opts.apiKey];
  }

  /**
   * Checks both layers (HTTP status and envelope code) and returns `data`. On a create, only a
   * documented refusal (or a 429 without a body) proves no task was made; a 5xx with or without a
   * body and KIE's code 500 inside an HTTP 200 may hide one (providers.md, "Creates that fail").
   */
  private unwrap(res: HttpResult, what: string, isCreate: boolean): unknown {
    const env = envelopeSchema.safeParse(res.json);
    const httpOk = res.status >= 200 && res.status < 300;
    if (!env.success || res.json === undefined) {
      if (httpOk) throw shapeError('kie', what, 'the response envelope', isCreate, false);
      const known = KIE_CODES[res.status];
      // A bare status: 5xx came from somewhere between us and the work (a gateway may have
      // forwarded the create); 4xx and 429 were refused at the door.
      const maybe = isCreate && res.status >= 500;
      const info = kieErrorInfo(res.status, undefined, what, { secrets: this.secrets() });
      throw new ProviderError({
        provider: 'kie',
        kind: 'http',
        message: maybe
          ? info.message.replace(/; [^;]*\.$/, `; ${MAY_HAVE_CREATED}.`)
          : info.message,
        retryable: maybe ? false : known ? info.retryable : retryableStatus(res.status),
        mayHaveReachedServer: maybe,
        code: res.status,
        httpStatus: res.status,
        retryAfterMs: res.retryAfterMs,
        rateLimited: res.status === 429,
      });
    }
    const code = env.data.code ?? (httpOk ? 200 : res.status);
    if (code === 200 && httpOk) return env.data.data;
    const effective = code === 200 ? res.status : code;
    const maybe = isCreate && mayHaveCreated(KIE_CODES, effective);
    const info = kieErrorInfo(effective, env.data.msg, what, {
      secrets: this.secrets(),
      create: isCreate,
    });
    throw apiError('kie', info, effective, res, maybe);
  }
}

/** Maps a KIE state to the engine's phase; unknown states count as still running. */
export function kiePhase(state: string): 'queued' | 'running' | 'succeeded' | 'failed' {
  switch (state) {
    case 'waiting':
    case 'queuing':
      return 'queued';
    case 'success':
      return 'succeeded';
    case 'fail':
      return 'failed';
    default:
      return 'running';
  }
}

/** One line for a failed KIE task (failCode + failMsg), never a key. */
export function kieFailureMessage(info: KieTaskInfo): string {
  const code = info.failCode ? Number(info.failCode) : NaN;
  const reason = info.failMsg ?? 'no reason given';
  if (!Number.isNaN(code)) {
    const known = KIE_CODES[code];
    const head = known ? known.text : 'generation failed';
    return `KIE task failed: ${head}: ${reason} (failCode ${info.failCode}).`;
  }
  return `KIE task failed: ${reason}.`;
}

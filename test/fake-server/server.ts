// A fake KIE + Kling API on 127.0.0.1 that behaves like the documented APIs (server/docs/
// providers.md): it checks auth (KIE bearer key; Kling JWT signature/iss/exp/nbf), validates field names
// and types, walks tasks through their states over successive polls, serves uploads and result
// videos, counts every create and upload per key, and injects scripted faults.
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { makePng } from './png';

export type Route =
  | 'kie.createTask'
  | 'kie.recordInfo'
  | 'kie.upload'
  | 'kie.credit'
  | 'kling.create'
  | 'kling.query'
  | 'kling.list'
  | 'kling.multiShot.create'
  | 'kling.multiShot.query'
  | 'video'
  | 'file';

export type Fault =
  /** Answer with this raw status/body/headers instead of handling the request. */
  | {
      type: 'status';
      status: number;
      body?: unknown;
      rawBody?: string;
      headers?: Record<string, string>;
    }
  /** KIE: HTTP 200 whose envelope carries an error code (the common KIE style). */
  | {
      type: 'kieCode';
      code: number;
      msg?: string;
      httpStatus?: number;
      headers?: Record<string, string>;
    }
  /** Kling: documented HTTP status + service code. */
  | {
      type: 'klingCode';
      status: number;
      code: number;
      message?: string;
      headers?: Record<string, string>;
    }
  /** Never answer; `process: true` handles the request first (e.g. the task gets created). */
  | { type: 'hang'; process?: boolean }
  /** Destroy the connection; `process: true` handles the request first. */
  | { type: 'reset'; process?: boolean }
  /** Answer HTTP 200 with a body that is not JSON; `process: true` handles the request first. */
  | { type: 'malformed'; process?: boolean }
  /** Result video: send the headers (full Content-Length) and half the bytes, then hang. */
  | { type: 'partial' };

interface ScriptedFault {
  route: Route;
  fault: Fault;
  remaining: number;
}

export interface KieTask {
  taskId: string;
  apiKey: string;
  body: Record<string, unknown>;
  polls: number;
  state: 'waiting' | 'queuing' | 'generating' | 'success' | 'fail';
  outcome: TaskOutcome;
  createTime: number;
}

export interface KlingTask {
  taskId: string;
  accessKey: string;
  kind: 'text2video' | 'image2video' | 'ai-multi-shot';
  body: Record<string, unknown>;
  externalTaskId?: string;
  polls: number;
  status: 'submitted' | 'processing' | 'succeed' | 'failed';
  outcome: TaskOutcome;
  createdAt: number;
  updatedAt: number;
}

export type TaskOutcome = { ok: true } | { ok: false; message: string; failCode?: string };

export interface UploadRecord {
  apiKey: string;
  fileName: string;
  uploadPath: string;
  sha256: string;
  size: number;
  /** The part's Content-Type as sent. */
  mimeType: string;
}

export interface FakeServerOptions {
  port?: number;
  kieApiKey?: string;
  klingAccessKey?: string;
  klingSecretKey?: string;
  /** recordInfo / query calls a task needs before it finishes (default 3). */
  pollsToFinish?: number;
  /** Kling: concurrently running video tasks allowed before 1303 (default unlimited). */
  klingConcurrency?: number;
  /** KIE: creates allowed per 10 s window per key before 429 (default 20, as documented). */
  kieCreatesPerWindow?: number;
  kieWindowMs?: number;
  /** Also answer the single-task query path with an external_task_id (undocumented; default false). */
  externalIdOnSinglePath?: boolean;
  /**
   * MP4 bytes served as every result video (default test/fixtures/tiny.mp4), or a function making
   * each task's own video (test/fake-server/videos.ts: a solid colour per task, made with ffmpeg).
   */
  video?: Buffer | TaskVideo;
  credits?: number;
  /** What a finished task reports charging per second (see FakeState.costPerSecond). */
  costPerSecond?: { kie?: number; kling?: number };
}

/** Makes the result video of one task: its creation order (0-based) and requested seconds. */
export type TaskVideo = (task: { taskId: string; index: number; seconds: number }) => Buffer;

export interface FakeState {
  kieTasks: Map<string, KieTask>;
  klingTasks: Map<string, KlingTask>;
  uploads: UploadRecord[];
  /** Every request seen, in order: route (or 'other'), method, path, outcome. */
  log: {
    route: Route | 'other';
    method: string;
    path: string;
    outcome: number | 'hang' | 'reset';
    /** Arrival time (ms epoch). */
    at: number;
  }[];
  /** Outcomes the next created tasks take (FIFO); default success. */
  nextOutcomes: TaskOutcome[];
  /** Result-video requests per task id. */
  videoHits: Map<string, number>;
  /** Server clock offset for JWT checks (tests simulate elapsed time). */
  clockOffsetMs: number;
  /** The KIE balance (`GET /api/v1/chat/credit`); tests set it (tasks do not deduct from it). */
  credits: number;
  /**
   * Cost a finished video task reports: KIE `consumeCredits` (default 20/s), Kling
   * `final_unit_deduction` (default 0.5/s), times the request's duration; undefined → not reported.
   */
  costPerSecond: { kie?: number; kling?: number };
  /** Tasks created (not attempts) per key. */
  createdCount(key?: string): number;
  /** Upload calls that stored a file, per key. */
  uploadCount(key?: string): number;
  /** Requests that reached a route (any outcome). */
  hits(route: Route): number;
}

export interface FaultScript {
  /** Queues `fault` for the next `times` requests to `route`. */
  add(route: Route, fault: Fault, times?: number): void;
  /** The next created task fails with this message (KIE failCode defaults to 501). */
  failNextTask(message: string, failCode?: string): void;
  /** The result video of the next download request answers 404 once. */
  videoNotFoundOnce(): void;
  /** The next `times` answers that report a finished success carry no result URL yet. */
  emptyResultsFor(times: number): void;
  clear(): void;
  /** Scripted faults not yet used. */
  pending(): number;
}

export interface FakeServer {
  url: string;
  close(): Promise<void>;
  state: FakeState;
  faults: FaultScript;
  keys: { kieApiKey: string; klingAccessKey: string; klingSecretKey: string };
  /** Forgets every task, upload, request and scripted fault: a fresh server for the next test. */
  reset(): void;
  /** Test hooks, run while the request is held (before it is answered). */
  hooks: FakeHooks;
}

export interface FakeHooks {
  /** Awaited when a create (KIE createTask, Kling text2video/image2video) arrives, before it is handled. */
  beforeCreate?: (route: 'kie.createTask' | 'kling.create') => Promise<void> | void;
}

class BadRequest extends Error {}

const KIE_INPUT_FIELDS = new Set([
  'prompt',
  'image_urls',
  'sound',
  'duration',
  'aspect_ratio',
  'mode',
  'multi_shots',
  'multi_prompt',
  'kling_elements',
  'cfg_scale', // only in a third-party summary of the KIE page; tolerated
]);

const KLING_COMMON_FIELDS = new Set([
  'model_name',
  'multi_shot',
  'shot_type',
  'prompt',
  'multi_prompt',
  'negative_prompt',
  'sound',
  'cfg_scale',
  'mode',
  'camera_control',
  'duration',
  'watermark_info',
  'callback_url',
  'external_task_id',
]);
const KLING_T2V_FIELDS = new Set([...KLING_COMMON_FIELDS, 'aspect_ratio']);
const KLING_I2V_FIELDS = new Set([
  ...KLING_COMMON_FIELDS,
  'image',
  'image_tail',
  'element_list',
  'voice_list',
  'static_mask',
  'dynamic_masks',
]);

/** An MP4 `free` box (size 16) marking the watermarked copy of a result video. */
export const WATERMARK_BOX = Buffer.concat([
  Buffer.from([0, 0, 0, 16]),
  Buffer.from('freeWATERMRK', 'latin1'),
]);

function defaultVideo(): Buffer {
  return readFileSync(path.join(__dirname, '..', 'fixtures', 'tiny.mp4'));
}

/** Starts the fake API on 127.0.0.1 (random port unless given). */
export async function startFakeServer(opts: FakeServerOptions = {}): Promise<FakeServer> {
  const keys = {
    kieApiKey: opts.kieApiKey ?? 'test-kie-key',
    klingAccessKey: opts.klingAccessKey ?? 'test-kling-ak',
    klingSecretKey: opts.klingSecretKey ?? 'test-kling-sk-0123456789',
  };
  const pollsToFinish = opts.pollsToFinish ?? 3;
  const video = opts.video ?? defaultVideo();
  const kieWindowMs = opts.kieWindowMs ?? 10_000;
  const kieCreatesPerWindow = opts.kieCreatesPerWindow ?? 20;
  const scripted: ScriptedFault[] = [];
  const files = new Map<string, { bytes: Buffer; mime: string }>();
  const kieCreateTimes: number[] = [];
  let videoMissingOnce = 0;
  let emptyResults = 0;
  let seq = 0;
  const hooks: FakeHooks = {};
  const jose = await import('jose');
  const secret = new TextEncoder().encode(keys.klingSecretKey);

  const state: FakeState = {
    kieTasks: new Map(),
    klingTasks: new Map(),
    uploads: [],
    log: [],
    nextOutcomes: [],
    videoHits: new Map(),
    clockOffsetMs: 0,
    credits: opts.credits ?? 1234.5,
    costPerSecond: { kie: 20, kling: 0.5, ...opts.costPerSecond },
    createdCount(key?: string) {
      let n = 0;
      for (const t of state.kieTasks.values()) if (!key || t.apiKey === key) n++;
      for (const t of state.klingTasks.values())
        if (t.kind !== 'ai-multi-shot' && (!key || t.accessKey === key)) n++;
      return n;
    },
    uploadCount(key?: string) {
      return state.uploads.filter((u) => !key || u.apiKey === key).length;
    },
    hits(route: Route) {
      return state.log.filter((l) => l.route === route).length;
    },
  };

  const faults: FaultScript = {
    add(route, fault, times = 1) {
      scripted.push({ route, fault, remaining: times });
    },
    failNextTask(message, failCode) {
      state.nextOutcomes.push({ ok: false, message, failCode });
    },
    videoNotFoundOnce() {
      videoMissingOnce++;
    },
    emptyResultsFor(times) {
      emptyResults += times;
    },
    clear() {
      scripted.length = 0;
      state.nextOutcomes.length = 0;
      videoMissingOnce = 0;
      emptyResults = 0;
    },
    pending() {
      return scripted.reduce((n, s) => n + s.remaining, 0);
    },
  };

  function takeFault(route: Route): Fault | undefined {
    const i = scripted.findIndex((s) => s.route === route && s.remaining > 0);
    if (i < 0) return undefined;
    const s = scripted[i]!;
    s.remaining--;
    if (s.remaining === 0) scripted.splice(i, 1);
    return s.fault;
  }

  const sockets = new Set<Socket>();
  let baseUrl = '';

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        sendJson(res, 500, { code: 500, msg: `fake server bug: ${String(err)}` });
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  function sendJson(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(text);
  }

  function routeOf(method: string, pathname: string): Route | 'other' {
    if (method === 'POST' && pathname === '/api/v1/jobs/createTask') return 'kie.createTask';
    if (method === 'GET' && pathname === '/api/v1/jobs/recordInfo') return 'kie.recordInfo';
    if (method === 'POST' && pathname === '/api/file-stream-upload') return 'kie.upload';
    if (method === 'GET' && pathname === '/api/v1/chat/credit') return 'kie.credit';
    if (method === 'POST' && /^\/v1\/videos\/(text2video|image2video)$/.test(pathname))
      return 'kling.create';
    if (method === 'GET' && /^\/v1\/videos\/(text2video|image2video)\/[^/]+$/.test(pathname))
      return 'kling.query';
    if (method === 'GET' && /^\/v1\/videos\/(text2video|image2video)$/.test(pathname))
      return 'kling.list';
    if (method === 'POST' && pathname === '/v1/general/ai-multi-shot')
      return 'kling.multiShot.create';
    if (method === 'GET' && /^\/v1\/general\/ai-multi-shot\/[^/]+$/.test(pathname))
      return 'kling.multiShot.query';
    if (method === 'GET' && pathname.startsWith('/videos/')) return 'video';
    if (method === 'GET' && pathname.startsWith('/files/')) return 'file';
    return 'other';
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', baseUrl);
    const method = req.method ?? 'GET';
    const route = routeOf(method, url.pathname);
    const body = await readBody(req);
    const logEntry: FakeState['log'][number] = {
      route,
      method,
      path: url.pathname,
      outcome: 0,
      at: Date.now(),
    };
    state.log.push(logEntry);

    if (url.pathname.startsWith('/__fake/')) {
      await control(url, method, body, res);
      logEntry.outcome = res.statusCode;
      return;
    }

    if ((route === 'kie.createTask' || route === 'kling.create') && hooks.beforeCreate) {
      await hooks.beforeCreate(route);
    }
    const fault = route === 'other' ? undefined : takeFault(route);
    if (fault?.type === 'partial') {
      const full = typeof video === 'function' ? defaultVideo() : video;
      res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': String(full.length) });
      res.write(full.subarray(0, Math.floor(full.length / 2)));
      logEntry.outcome = 'hang';
      return; // the rest never comes
    }
    if (fault) {
      if (fault.type === 'hang' || fault.type === 'reset' || fault.type === 'malformed') {
        if (fault.process) {
          // Run the real handler against a throwaway response so its side effects happen.
          await dispatch(route, url, req, body, discardResponse());
        }
        if (fault.type === 'hang') {
          logEntry.outcome = 'hang';
          return; // the socket stays open until the client gives up or the server closes
        }
        if (fault.type === 'reset') {
          logEntry.outcome = 'reset';
          req.socket.destroy();
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"code":200,"msg":"success","data":{"taskId":');
        logEntry.outcome = 200;
        return;
      }
      if (fault.type === 'status') {
        res.writeHead(fault.status, {
          'Content-Type': fault.rawBody !== undefined ? 'text/html' : 'application/json',
          ...fault.headers,
        });
        res.end(fault.rawBody ?? (fault.body === undefined ? '' : JSON.stringify(fault.body)));
      } else if (fault.type === 'kieCode') {
        sendJson(
          res,
          fault.httpStatus ?? 200,
          { code: fault.code, msg: fault.msg ?? `error ${fault.code}`, data: null },
          fault.headers,
        );
      } else {
        sendJson(
          res,
          fault.status,
          {
            code: fault.code,
            message: fault.message ?? `error ${fault.code}`,
            request_id: randomUUID(),
          },
          fault.headers,
        );
      }
      logEntry.outcome = res.statusCode;
      return;
    }
    await dispatch(route, url, req, body, res);
    logEntry.outcome = res.statusCode;
  }

  function discardResponse(): ServerResponse {
    const sink = {
      statusCode: 200,
      headersSent: false,
      writeHead(status: number) {
        sink.statusCode = status;
        return sink;
      },
      end() {
        return sink;
      },
      setHeader() {
        return sink;
      },
    };
    return sink as unknown as ServerResponse;
  }

  async function dispatch(
    route: Route | 'other',
    url: URL,
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
  ): Promise<void> {
    try {
      switch (route) {
        case 'kie.createTask':
          return kieCreate(req, body, res);
        case 'kie.recordInfo':
          return kieRecord(req, url, res);
        case 'kie.upload':
          return await kieUpload(req, body, res);
        case 'kie.credit':
          if (!kieAuth(req, res)) return;
          return sendJson(res, 200, { code: 200, msg: 'success', data: state.credits });
        case 'kling.create':
          return await klingCreate(req, url, body, res);
        case 'kling.query':
          return await klingQuery(req, url, res);
        case 'kling.list':
          return await klingList(req, url, res);
        case 'kling.multiShot.create':
          return await klingMultiShotCreate(req, body, res);
        case 'kling.multiShot.query':
          return await klingQuery(req, url, res);
        case 'video':
          return serveVideo(url, res);
        case 'file':
          return serveFile(url, res);
        default:
          if (/^\/api\/v1\/jobs\/[^/]+$/.test(url.pathname)) {
            // The wrong query path of a third-party summary (providers.md, "Query"): 404, so a regression shows.
            return sendJson(res, 404, { code: 404, msg: 'Not Found' });
          }
          return sendJson(res, 404, {
            code: 404,
            msg: `no such endpoint: ${req.method} ${url.pathname}`,
          });
      }
    } catch (err) {
      if (err instanceof BadRequest) {
        if (route.startsWith('kling')) {
          return sendJson(res, 400, { code: 1201, message: err.message, request_id: randomUUID() });
        }
        return sendJson(res, 200, { code: 422, msg: err.message, data: null });
      }
      throw err;
    }
  }

  // ---- KIE -------------------------------------------------------------------------------

  function kieAuth(req: IncomingMessage, res: ServerResponse): string | undefined {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(header);
    if (!m || m[1] !== keys.kieApiKey) {
      sendJson(res, 401, { code: 401, msg: 'You do not have access permissions' });
      return undefined;
    }
    return m[1];
  }

  function parseJson(body: Buffer): Record<string, unknown> {
    try {
      const v: unknown = JSON.parse(body.toString('utf8'));
      if (!v || typeof v !== 'object' || Array.isArray(v))
        throw new BadRequest('body must be a JSON object');
      return v as Record<string, unknown>;
    } catch (err) {
      if (err instanceof BadRequest) throw err;
      throw new BadRequest('body is not valid JSON');
    }
  }

  function kieCreate(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const key = kieAuth(req, res);
    if (!key) return;
    const now = Date.now();
    while (kieCreateTimes.length && kieCreateTimes[0]! <= now - kieWindowMs) kieCreateTimes.shift();
    if (kieCreateTimes.length >= kieCreatesPerWindow) {
      return sendJson(res, 200, { code: 429, msg: 'Rate limit exceeded', data: null });
    }
    const json = parseJson(body);
    validateKie(json);
    kieCreateTimes.push(now);
    const taskId = `task_kling-3.0_${now}${String(++seq).padStart(4, '0')}`;
    state.kieTasks.set(taskId, {
      taskId,
      apiKey: key,
      body: json,
      polls: 0,
      state: 'waiting',
      outcome: state.nextOutcomes.shift() ?? { ok: true },
      createTime: now,
    });
    sendJson(res, 200, { code: 200, msg: 'success', data: { taskId } });
  }

  function kieRecord(req: IncomingMessage, url: URL, res: ServerResponse): void {
    if (!kieAuth(req, res)) return;
    const taskId = url.searchParams.get('taskId');
    if (!taskId)
      return sendJson(res, 200, { code: 400, msg: 'taskId parameter is required', data: null });
    const task = state.kieTasks.get(taskId);
    if (!task) return sendJson(res, 200, { code: 404, msg: 'Task not found', data: null });
    task.polls++;
    const steps: KieTask['state'][] = ['waiting', 'queuing', 'generating'];
    if (task.polls >= pollsToFinish) task.state = task.outcome.ok ? 'success' : 'fail';
    else task.state = steps[Math.min(task.polls, steps.length - 1)]!;
    const done = task.state === 'success';
    const failed = task.state === 'fail';
    const outcome = task.outcome;
    const input = (task.body.input ?? {}) as Record<string, unknown>;
    const rate = state.costPerSecond.kie;
    const consumeCredits = done && rate !== undefined ? rate * Number(input.duration) : undefined;
    const noUrlYet = done && emptyResults > 0 && emptyResults-- > 0;
    sendJson(res, 200, {
      code: 200,
      // Alternate msg/message so both spellings are exercised (providers.md, "KIE envelope").
      ...(task.polls % 2 === 0 ? { message: 'success' } : { msg: 'success' }),
      data: {
        taskId,
        model: 'kling-3.0/video',
        state: task.state,
        param: JSON.stringify(task.body),
        resultJson: done
          ? JSON.stringify({ resultUrls: noUrlYet ? [] : [`${baseUrl}/videos/${taskId}.mp4`] })
          : '',
        failCode: failed && !outcome.ok ? (outcome.failCode ?? '501') : '',
        failMsg: failed && !outcome.ok ? outcome.message : '',
        costTime: done ? 1234 : null,
        ...(consumeCredits === undefined ? {} : { consumeCredits }),
        createTime: task.createTime,
        completeTime: done || failed ? Date.now() : null,
        updateTime: Date.now(),
      },
    });
  }

  async function kieUpload(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(header);
    if (!m || m[1] !== keys.kieApiKey) {
      return sendJson(res, 401, {
        success: false,
        code: 401,
        msg: 'Authentication failed: Invalid API Key',
      });
    }
    const contentType = req.headers['content-type'] ?? '';
    if (!contentType.startsWith('multipart/form-data')) {
      return sendJson(res, 400, { success: false, code: 400, msg: 'Expected multipart/form-data' });
    }
    const form = await new Request('http://fake/upload', {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: new Uint8Array(body),
    }).formData();
    const file = form.get('file');
    const uploadPath = form.get('uploadPath');
    if (typeof uploadPath !== 'string' || uploadPath === '') {
      return sendJson(res, 400, {
        success: false,
        code: 400,
        msg: 'Missing required parameter: uploadPath',
      });
    }
    if (uploadPath.startsWith('/') || uploadPath.endsWith('/')) {
      return sendJson(res, 400, {
        success: false,
        code: 400,
        msg: 'uploadPath must not start or end with /',
      });
    }
    if (!file || typeof file === 'string') {
      return sendJson(res, 400, {
        success: false,
        code: 400,
        msg: 'Missing required parameter: file',
      });
    }
    const bytes = Buffer.from(await file.arrayBuffer());
    const fileNameField = form.get('fileName');
    const fileName =
      typeof fileNameField === 'string' && fileNameField ? fileNameField : `${randomUUID()}.bin`;
    const filePath = `${uploadPath}/${fileName}`;
    files.set(filePath, { bytes, mime: file.type || 'application/octet-stream' });
    state.uploads.push({
      apiKey: m[1],
      fileName,
      uploadPath,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.length,
      mimeType: file.type,
    });
    sendJson(res, 200, {
      success: true,
      code: 200,
      msg: 'File uploaded successfully',
      data: {
        fileName,
        filePath,
        downloadUrl: `${baseUrl}/files/${filePath}`,
        fileSize: bytes.length,
        mimeType: file.type,
        uploadedAt: new Date().toISOString(),
      },
    });
  }

  function validateKie(json: Record<string, unknown>): void {
    for (const k of Object.keys(json)) {
      if (!['model', 'callBackUrl', 'input'].includes(k))
        throw new BadRequest(`unknown field: ${k}`);
    }
    if (json.model !== 'kling-3.0/video') throw new BadRequest('model must be "kling-3.0/video"');
    if (json.callBackUrl !== undefined && typeof json.callBackUrl !== 'string')
      throw new BadRequest('callBackUrl must be a string');
    const input = json.input;
    if (!input || typeof input !== 'object' || Array.isArray(input))
      throw new BadRequest('input must be an object');
    const i = input as Record<string, unknown>;
    for (const k of Object.keys(i))
      if (!KIE_INPUT_FIELDS.has(k)) throw new BadRequest(`unknown input field: ${k}`);
    if (i.prompt !== undefined && typeof i.prompt !== 'string')
      throw new BadRequest('prompt must be a string');
    if (i.sound !== undefined && typeof i.sound !== 'boolean')
      throw new BadRequest('sound must be a boolean');
    if (typeof i.duration !== 'string' || !/^(3|4|5|6|7|8|9|10|11|12|13|14|15)$/.test(i.duration))
      throw new BadRequest('duration must be a string "3".."15"');
    if (i.aspect_ratio !== undefined && !['16:9', '9:16', '1:1'].includes(i.aspect_ratio as string))
      throw new BadRequest('aspect_ratio must be 16:9, 9:16 or 1:1');
    if (i.mode !== undefined && !['std', 'pro', '4K'].includes(i.mode as string))
      throw new BadRequest('mode must be std, pro or 4K');
    if (typeof i.multi_shots !== 'boolean') throw new BadRequest('multi_shots must be a boolean');
    if (i.cfg_scale !== undefined && typeof i.cfg_scale !== 'number')
      throw new BadRequest('cfg_scale must be a number');
    const urls = i.image_urls;
    if (urls !== undefined) {
      if (
        !Array.isArray(urls) ||
        !urls.every((u) => typeof u === 'string' && /^https?:\/\//.test(u))
      )
        throw new BadRequest('image_urls must be an array of URLs');
      if (urls.length > (i.multi_shots ? 1 : 2)) throw new BadRequest('too many image_urls');
    }
    if (i.multi_shots) {
      const shots = i.multi_prompt;
      if (!Array.isArray(shots) || shots.length < 1 || shots.length > 5)
        throw new BadRequest('multi_prompt must have 1-5 shots');
      let sum = 0;
      for (const s of shots as unknown[]) {
        const shot = s as Record<string, unknown>;
        if (!shot || typeof shot.prompt !== 'string')
          throw new BadRequest('multi_prompt[].prompt must be a string');
        if (!Number.isInteger(shot.duration))
          throw new BadRequest('multi_prompt[].duration must be an integer');
        const d = shot.duration as number;
        if (d < 1 || d > 12) throw new BadRequest('multi_prompt[].duration must be 1-12');
        if (Object.keys(shot).some((k) => k !== 'prompt' && k !== 'duration'))
          throw new BadRequest('multi_prompt[] has unknown fields');
        sum += d;
      }
      if (String(sum) !== i.duration)
        throw new BadRequest(`duration ${String(i.duration)} != sum of shots ${sum}`);
      if (i.sound === false) throw new BadRequest('sound:false is not allowed with multi_shots');
    } else {
      if (typeof i.prompt !== 'string' || i.prompt === '')
        throw new BadRequest('prompt is required');
      if (
        i.multi_prompt !== undefined &&
        (!Array.isArray(i.multi_prompt) || i.multi_prompt.length > 0)
      )
        throw new BadRequest('multi_prompt must be empty when multi_shots is false');
    }
    const elements = i.kling_elements;
    if (elements !== undefined) {
      if (!Array.isArray(elements) || elements.length > 3)
        throw new BadRequest('kling_elements: at most 3');
      for (const e of elements as Record<string, unknown>[]) {
        if (typeof e.name !== 'string' || typeof e.description !== 'string')
          throw new BadRequest('kling_elements[].name/description must be strings');
        const imgs = e.element_input_urls;
        const vids = e.element_input_video_urls;
        if ((imgs === undefined) === (vids === undefined))
          throw new BadRequest('kling_elements[]: images or a video, not both');
        if (imgs !== undefined && (!Array.isArray(imgs) || imgs.length < 2 || imgs.length > 4))
          throw new BadRequest('element_input_urls must have 2-4 URLs');
        if (vids !== undefined && (!Array.isArray(vids) || vids.length !== 1))
          throw new BadRequest('element_input_video_urls must have 1 URL');
      }
      if (!Array.isArray(urls) || urls.length === 0)
        throw new BadRequest('image_urls is required with elements');
    }
  }

  // ---- Kling -----------------------------------------------------------------------------

  async function klingAuth(req: IncomingMessage, res: ServerResponse): Promise<string | undefined> {
    const header = req.headers.authorization;
    const fail = (code: number, message: string) => {
      sendJson(res, 401, { code, message, request_id: randomUUID() });
      return undefined;
    };
    if (!header) return fail(1001, 'Authorization is empty');
    const m = /^Bearer ([^ ]+)$/.exec(header);
    if (!m) return fail(1002, 'Authorization is invalid');
    try {
      const { payload, protectedHeader } = await jose.jwtVerify(m[1]!, secret, {
        algorithms: ['HS256'],
        issuer: keys.klingAccessKey,
        currentDate: new Date(Date.now() + state.clockOffsetMs),
      });
      if (protectedHeader.typ !== 'JWT') return fail(1002, 'Authorization is invalid');
      if (typeof payload.exp !== 'number' || typeof payload.nbf !== 'number') {
        return fail(1002, 'exp and nbf are required');
      }
      return keys.klingAccessKey;
    } catch (err) {
      if (err instanceof jose.errors.JWTExpired) return fail(1004, 'token expired');
      if (err instanceof jose.errors.JWTClaimValidationFailed && err.claim === 'nbf')
        return fail(1003, 'token not yet valid');
      return fail(1002, 'Authorization is invalid');
    }
  }

  /** Kling's `final_unit_deduction` (a string): duration × the units rate once done, else "0". */
  function klingDeduction(t: KlingTask, done: boolean): string | undefined {
    const rate = state.costPerSecond.kling;
    if (rate === undefined) return undefined;
    if (!done) return '0';
    if (t.kind === 'ai-multi-shot') return '1';
    return String(rate * Number(t.body.duration ?? 5));
  }

  function klingTaskJson(t: KlingTask, noUrlYet = false): Record<string, unknown> {
    const done = t.status === 'succeed';
    const base: Record<string, unknown> = {
      task_id: t.taskId,
      task_status: t.status,
      task_status_msg: t.status === 'failed' && !t.outcome.ok ? t.outcome.message : '',
      task_info: t.externalTaskId ? { external_task_id: t.externalTaskId } : {},
      created_at: t.createdAt,
      updated_at: t.updatedAt,
      final_unit_deduction: klingDeduction(t, done),
    };
    if (t.kind === 'ai-multi-shot') {
      base.task_result = done
        ? {
            images: [
              {
                index: 0,
                url_1: `${baseUrl}/files/multishot/${t.taskId}-1.png`,
                url_2: `${baseUrl}/files/multishot/${t.taskId}-2.png`,
                url_3: `${baseUrl}/files/multishot/${t.taskId}-3.png`,
              },
            ],
          }
        : {};
    } else {
      base.task_result = done
        ? {
            videos: noUrlYet
              ? []
              : [
                  {
                    id: `v-${t.taskId}`,
                    url: `${baseUrl}/videos/${t.taskId}.mp4`,
                    watermark_url: `${baseUrl}/videos/${t.taskId}.mp4?wm=1`,
                    duration: String(t.body.duration ?? '5'),
                  },
                ],
          }
        : {};
    }
    return base;
  }

  function runningKlingVideos(): number {
    let n = 0;
    for (const t of state.klingTasks.values())
      if (t.kind !== 'ai-multi-shot' && (t.status === 'submitted' || t.status === 'processing'))
        n++;
    return n;
  }

  async function klingCreate(
    req: IncomingMessage,
    url: URL,
    body: Buffer,
    res: ServerResponse,
  ): Promise<void> {
    const ak = await klingAuth(req, res);
    if (!ak) return;
    const kind = url.pathname.endsWith('image2video') ? 'image2video' : 'text2video';
    const json = parseJson(body);
    validateKling(kind, json);
    const ext = json.external_task_id as string | undefined;
    if (ext !== undefined) {
      for (const t of state.klingTasks.values()) {
        if (t.externalTaskId === ext)
          throw new BadRequest(`external_task_id already exists: ${ext}`);
      }
    }
    if (opts.klingConcurrency !== undefined && runningKlingVideos() >= opts.klingConcurrency) {
      return sendJson(res, 429, {
        code: 1303,
        message: 'parallel task over resource pack limit',
        request_id: randomUUID(),
      });
    }
    createKlingTask(res, 800000000000000000n, ak, kind, json, ext);
  }

  /** Records a new Kling task (taking the next queued outcome) and answers with it. */
  function createKlingTask(
    res: ServerResponse,
    idBase: bigint,
    accessKey: string,
    kind: KlingTask['kind'],
    body: Record<string, unknown>,
    externalTaskId: string | undefined,
  ): void {
    const now = Date.now();
    const taskId = String(idBase + BigInt(++seq));
    const task: KlingTask = {
      taskId,
      accessKey,
      kind,
      body,
      externalTaskId,
      polls: 0,
      status: 'submitted',
      outcome: state.nextOutcomes.shift() ?? { ok: true },
      createdAt: now,
      updatedAt: now,
    };
    state.klingTasks.set(taskId, task);
    sendJson(res, 200, {
      code: 0,
      message: 'SUCCEED',
      request_id: randomUUID(),
      data: klingTaskJson(task),
    });
  }

  function advance(t: KlingTask): void {
    t.polls++;
    if (t.polls >= pollsToFinish) t.status = t.outcome.ok ? 'succeed' : 'failed';
    else t.status = 'processing';
    t.updatedAt = Date.now();
  }

  async function klingQuery(req: IncomingMessage, url: URL, res: ServerResponse): Promise<void> {
    if (!(await klingAuth(req, res))) return;
    const segments = url.pathname.split('/');
    const id = decodeURIComponent(segments[segments.length - 1]!);
    const kind =
      segments[segments.length - 2] === 'ai-multi-shot'
        ? 'ai-multi-shot'
        : segments[segments.length - 2];
    let task = state.klingTasks.get(id);
    if (!task && opts.externalIdOnSinglePath) {
      task = [...state.klingTasks.values()].find((t) => t.externalTaskId === id);
    }
    if (!task || task.kind !== kind) {
      return sendJson(res, 404, {
        code: 1203,
        message: 'task not found',
        request_id: randomUUID(),
      });
    }
    advance(task);
    const noUrlYet = task.status === 'succeed' && emptyResults > 0 && emptyResults-- > 0;
    sendJson(res, 200, {
      code: 0,
      message: 'SUCCEED',
      request_id: randomUUID(),
      data: klingTaskJson(task, noUrlYet),
    });
  }

  async function klingList(req: IncomingMessage, url: URL, res: ServerResponse): Promise<void> {
    if (!(await klingAuth(req, res))) return;
    const kind = url.pathname.endsWith('image2video') ? 'image2video' : 'text2video';
    const pageNum = Number(url.searchParams.get('pageNum') ?? '1');
    const pageSize = Number(url.searchParams.get('pageSize') ?? '30');
    if (
      !Number.isInteger(pageNum) ||
      pageNum < 1 ||
      pageNum > 1000 ||
      !Number.isInteger(pageSize) ||
      pageSize < 1 ||
      pageSize > 500
    ) {
      return sendJson(res, 400, {
        code: 1201,
        message: 'invalid pageNum/pageSize',
        request_id: randomUUID(),
      });
    }
    const all = [...state.klingTasks.values()].filter((t) => t.kind === kind).reverse();
    const page = all.slice((pageNum - 1) * pageSize, pageNum * pageSize);
    sendJson(res, 200, {
      code: 0,
      message: 'SUCCEED',
      request_id: randomUUID(),
      data: page.map((t) => klingTaskJson(t)),
    });
  }

  async function klingMultiShotCreate(
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
  ): Promise<void> {
    const ak = await klingAuth(req, res);
    if (!ak) return;
    const json = parseJson(body);
    for (const k of Object.keys(json))
      if (!['element_frontal_image', 'callback_url', 'external_task_id'].includes(k))
        throw new BadRequest(`unknown field: ${k}`);
    const image = json.element_frontal_image;
    if (typeof image !== 'string' || image === '')
      throw new BadRequest('element_frontal_image is required');
    if (image.startsWith('data:'))
      throw new BadRequest('element_frontal_image: raw base64 without data: prefix');
    const ext = json.external_task_id as string | undefined;
    // Kling keeps external ids unique here too: a second create under the same id is refused.
    for (const t of state.klingTasks.values())
      if (ext !== undefined && t.externalTaskId === ext)
        throw new BadRequest(`external_task_id already exists: ${ext}`);
    createKlingTask(res, 900000000000000000n, ak, 'ai-multi-shot', json, ext);
  }

  function validateKling(kind: 'text2video' | 'image2video', j: Record<string, unknown>): void {
    const allowed = kind === 'text2video' ? KLING_T2V_FIELDS : KLING_I2V_FIELDS;
    for (const k of Object.keys(j))
      if (!allowed.has(k)) throw new BadRequest(`unknown field for ${kind}: ${k}`);
    if (j.model_name !== 'kling-v3') throw new BadRequest('model_name must be kling-v3');
    if (j.multi_shot !== undefined && typeof j.multi_shot !== 'boolean')
      throw new BadRequest('multi_shot must be a boolean');
    if (typeof j.duration !== 'string' || !/^(3|4|5|6|7|8|9|10|11|12|13|14|15)$/.test(j.duration))
      throw new BadRequest('duration must be a string "3".."15"');
    if (j.sound !== undefined && j.sound !== 'on' && j.sound !== 'off')
      throw new BadRequest('sound must be "on" or "off"');
    if (j.mode !== undefined && j.mode !== 'std' && j.mode !== 'pro')
      throw new BadRequest('mode must be std or pro');
    if (j.aspect_ratio !== undefined && !['16:9', '9:16', '1:1'].includes(j.aspect_ratio as string))
      throw new BadRequest('aspect_ratio must be 16:9, 9:16 or 1:1');
    if (
      j.cfg_scale !== undefined &&
      (typeof j.cfg_scale !== 'number' || j.cfg_scale < 0 || j.cfg_scale > 1)
    )
      throw new BadRequest('cfg_scale must be a number in [0, 1]');
    if (
      j.negative_prompt !== undefined &&
      (typeof j.negative_prompt !== 'string' || j.negative_prompt.length > 2500)
    )
      throw new BadRequest('negative_prompt must be a string ≤ 2500');
    if (j.external_task_id !== undefined && typeof j.external_task_id !== 'string')
      throw new BadRequest('external_task_id must be a string');
    if (j.watermark_info !== undefined) {
      const w = j.watermark_info as Record<string, unknown>;
      if (
        !w ||
        typeof w !== 'object' ||
        typeof w.enabled !== 'boolean' ||
        Object.keys(w).length !== 1
      )
        throw new BadRequest('watermark_info must be {enabled: boolean}');
    }
    if (j.camera_control !== undefined) {
      const c = j.camera_control as Record<string, unknown>;
      const types = [
        'simple',
        'down_back',
        'forward_up',
        'right_turn_forward',
        'left_turn_forward',
      ];
      if (!c || typeof c !== 'object' || !types.includes(c.type as string))
        throw new BadRequest('camera_control.type invalid');
      if (c.type === 'simple') {
        const cfg = c.config as Record<string, unknown> | undefined;
        const axes = ['horizontal', 'vertical', 'pan', 'tilt', 'roll', 'zoom'];
        if (!cfg || typeof cfg !== 'object')
          throw new BadRequest('camera_control.config required for simple');
        const nonZero = axes.filter((a) => typeof cfg[a] === 'number' && cfg[a] !== 0);
        if (nonZero.length !== 1)
          throw new BadRequest('camera_control.config: exactly one non-zero axis');
      } else if (c.config !== undefined)
        throw new BadRequest('camera_control.config only for simple');
    }
    if (j.multi_shot === true) {
      if (j.shot_type !== 'customize' && j.shot_type !== 'intelligence')
        throw new BadRequest('shot_type must be customize or intelligence');
      if (j.shot_type === 'customize') {
        const shots = j.multi_prompt;
        if (!Array.isArray(shots) || shots.length < 1 || shots.length > 6)
          throw new BadRequest('multi_prompt must have 1-6 items');
        let sum = 0;
        for (const s of shots as Record<string, unknown>[]) {
          if (!Number.isInteger(s.index))
            throw new BadRequest('multi_prompt[].index must be an integer');
          if (typeof s.prompt !== 'string' || [...s.prompt].length > 512)
            throw new BadRequest('multi_prompt[].prompt must be a string ≤ 512');
          if (typeof s.duration !== 'string' || !/^\d+$/.test(s.duration) || Number(s.duration) < 1)
            throw new BadRequest('multi_prompt[].duration must be a string ≥ 1');
          sum += Number(s.duration);
        }
        if (String(sum) !== j.duration)
          throw new BadRequest(
            `sum of multi_prompt durations ${sum} != duration ${String(j.duration)}`,
          );
      } else if (typeof j.prompt !== 'string')
        throw new BadRequest('prompt required for intelligence');
      if (j.image_tail !== undefined)
        throw new BadRequest('image_tail is not supported with multi_shot');
    } else {
      if (typeof j.prompt !== 'string' || j.prompt === '' || [...j.prompt].length > 2500)
        throw new BadRequest('prompt is required (≤ 2500)');
    }
    if (kind === 'image2video') {
      const isImage = (v: unknown) => typeof v === 'string' && v !== '' && !v.startsWith('data:');
      if (j.image === undefined && j.image_tail === undefined)
        throw new BadRequest('image or image_tail is required');
      if (j.image !== undefined && !isImage(j.image))
        throw new BadRequest('image must be a URL or raw base64 (no data: prefix)');
      if (j.image_tail !== undefined && !isImage(j.image_tail))
        throw new BadRequest('image_tail must be a URL or raw base64 (no data: prefix)');
      if (j.image_tail !== undefined && j.camera_control !== undefined)
        throw new BadRequest('image_tail and camera_control are mutually exclusive');
      if (j.element_list !== undefined) {
        const list = j.element_list;
        if (!Array.isArray(list) || list.length > 3)
          throw new BadRequest('element_list: at most 3');
        for (const e of list as Record<string, unknown>[]) {
          const id = e?.element_id;
          if (!(typeof id === 'number' || (typeof id === 'string' && /^\d+$/.test(id))))
            throw new BadRequest('element_list[].element_id must be a long');
        }
      }
    }
  }

  // ---- media -----------------------------------------------------------------------------

  function serveVideo(url: URL, res: ServerResponse): void {
    const taskId = decodeURIComponent(url.pathname.slice('/videos/'.length)).replace(/\.mp4$/, '');
    state.videoHits.set(taskId, (state.videoHits.get(taskId) ?? 0) + 1);
    const exists =
      state.kieTasks.get(taskId)?.state === 'success' ||
      state.klingTasks.get(taskId)?.status === 'succeed';
    if (!exists || videoMissingOnce > 0) {
      if (exists) videoMissingOnce--;
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
      return;
    }
    const plain = typeof video === 'function' ? taskVideo(video, taskId) : video;
    // The watermarked copy: the same MP4 plus a trailing `free` box, so the two files differ.
    const bytes =
      url.searchParams.get('wm') === '1' ? Buffer.concat([plain, WATERMARK_BOX]) : plain;
    res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': String(bytes.length) });
    res.end(bytes);
  }

  function taskVideo(make: TaskVideo, taskId: string): Buffer {
    const kie = state.kieTasks.get(taskId);
    const body = kie
      ? (kie.body.input as Record<string, unknown> | undefined)
      : state.klingTasks.get(taskId)?.body;
    const ids = kie ? [...state.kieTasks.keys()] : [...state.klingTasks.keys()];
    const seconds = Number(body?.duration ?? 5) || 5;
    return make({ taskId, index: ids.indexOf(taskId), seconds });
  }

  function serveFile(url: URL, res: ServerResponse): void {
    const rel = decodeURIComponent(url.pathname.slice('/files/'.length));
    const mShot = /^multishot\/(\d+)-(\d)\.png$/.exec(rel);
    if (mShot) {
      res.writeHead(200, { 'Content-Type': 'image/png' });
      res.end(makePng(320, 320, Number(mShot[2])));
      return;
    }
    const f = files.get(rel);
    if (!f) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': f.mime, 'Content-Length': String(f.bytes.length) });
    res.end(f.bytes);
  }

  // ---- control (for the standalone server used by browser e2e tests) ----------------------

  async function control(
    url: URL,
    method: string,
    body: Buffer,
    res: ServerResponse,
  ): Promise<void> {
    if (method === 'GET' && url.pathname === '/__fake/state') {
      return sendJson(res, 200, {
        created: state.createdCount(),
        uploads: state.uploadCount(),
        kieTasks: [...state.kieTasks.values()].map((t) => ({
          taskId: t.taskId,
          state: t.state,
          body: t.body,
        })),
        klingTasks: [...state.klingTasks.values()].map((t) => ({
          taskId: t.taskId,
          kind: t.kind,
          status: t.status,
          externalTaskId: t.externalTaskId,
          body: t.body,
        })),
        pendingFaults: faults.pending(),
        credits: state.credits,
      });
    }
    if (method === 'POST' && url.pathname === '/__fake/credits') {
      state.credits = (JSON.parse(body.toString('utf8')) as { credits: number }).credits;
      return sendJson(res, 200, { ok: true });
    }
    if (method === 'POST' && url.pathname === '/__fake/faults') {
      const f = JSON.parse(body.toString('utf8')) as { route: Route; fault: Fault; times?: number };
      faults.add(f.route, f.fault, f.times);
      return sendJson(res, 200, { ok: true });
    }
    if (method === 'POST' && url.pathname === '/__fake/fail-next-task') {
      const f = JSON.parse(body.toString('utf8')) as { message: string; failCode?: string };
      faults.failNextTask(f.message, f.failCode);
      return sendJson(res, 200, { ok: true });
    }
    if (method === 'POST' && url.pathname === '/__fake/reset') {
      faults.clear();
      return sendJson(res, 200, { ok: true });
    }
    sendJson(res, 404, { error: 'unknown control path' });
  }

  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;

  return {
    url: baseUrl,
    state,
    faults,
    keys,
    hooks,
    reset() {
      delete hooks.beforeCreate;
      faults.clear();
      state.kieTasks.clear();
      state.klingTasks.clear();
      state.uploads.length = 0;
      state.log.length = 0;
      state.nextOutcomes.length = 0;
      state.videoHits.clear();
      state.clockOffsetMs = 0;
      state.credits = opts.credits ?? 1234.5;
      state.costPerSecond = { kie: 20, kling: 0.5, ...opts.costPerSecond };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

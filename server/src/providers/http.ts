// Shared HTTP plumbing for the KIE and Kling clients: timeouts, a User-Agent, tolerant JSON
// parsing, Retry-After, base-URL checks, redaction, and one error type that says whether a retry
// is safe and whether the request may already have reached (and been acted on by) the server.
// Which answers prove that a create made no task: server/docs/providers.md, "Creates that fail".
import type { Provider } from '../core/ast';

/** The provider union; its home is the AST (`Provider`). */
export type ProviderName = Provider;

export type ErrorKind =
  | 'timeout' // our per-request timer fired; the server may have acted on the request
  | 'network' // connection failed (refused, reset, DNS …)
  | 'http' // a non-2xx status without a recognisable API body
  | 'api' // the API answered with an error code (HTTP status or envelope code)
  | 'parse' // the body was not the JSON we expect
  | 'aborted'; // the caller cancelled

export interface ProviderErrorInit {
  provider: ProviderName;
  kind: ErrorKind;
  message: string;
  retryable: boolean;
  /**
   * true when the server may have acted on the request (timeout, reset, unreadable answer, a
   * 5xx or an undocumented code); false only when the answer proves nothing was done (a
   * documented refusal, a rate limit, a connection that never opened). A create with this flag
   * set may have made a task: it is never re-sent blindly.
   */
  mayHaveReachedServer: boolean;
  code?: number;
  httpStatus?: number;
  retryAfterMs?: number;
  /** true for rate/concurrency limits: wait, then try again without counting it as a failure. */
  rateLimited?: boolean;
}

/** One error type for every provider failure; `message` is a single user-facing line, never a key. */
export class ProviderError extends Error {
  readonly provider: ProviderName;
  readonly kind: ErrorKind;
  readonly retryable: boolean;
  readonly mayHaveReachedServer: boolean;
  readonly code?: number;
  readonly httpStatus?: number;
  readonly retryAfterMs?: number;
  readonly rateLimited: boolean;

  constructor(init: ProviderErrorInit) {
    super(init.message);
    this.name = 'ProviderError';
    this.provider = init.provider;
    this.kind = init.kind;
    this.retryable = init.retryable;
    this.mayHaveReachedServer = init.mayHaveReachedServer;
    this.code = init.code;
    this.httpStatus = init.httpStatus;
    this.retryAfterMs = init.retryAfterMs;
    this.rateLimited = init.rateLimited ?? false;
  }
}

export const USER_AGENT = 'kling-storyboard/0.1 (+https://github.com/; node)';

export interface HttpCall {
  provider: ProviderName;
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string | FormData;
  timeoutMs: number;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  /** Short human name of the call for messages, e.g. 'createTask'. */
  what: string;
  /** A paid create: an ambiguous failure says "may have been created" instead of "will be retried". */
  create?: boolean;
  /** Values removed from every message built from the answer (keys, tokens), before any cut. */
  secrets?: readonly (string | undefined)[];
}

export interface HttpResult {
  status: number;
  headers: Headers;
  /** Parsed JSON, or undefined when the body was empty. */
  json: unknown;
  retryAfterMs?: number;
}

/** Parses a Retry-After header (delta seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(
  value: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

// Connection errors raised before any byte was sent: the server cannot have acted on them.
const NEVER_REACHED_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_INVALID_URL',
  'UND_ERR_INVALID_ARG',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function causeCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The innermost error message (undici wraps the real reason in `cause`). */
function causeMessage(err: unknown): string | undefined {
  let message: string | undefined;
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    if (current.message) message = current.message;
    current = current.cause;
  }
  return message;
}

/** Scheme, host and port of a URL: where a connection went, without path or query. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the server';
  }
}

/**
 * The message of an error the caller has stopped retrying: a provider error's "will be
 * retried" clause becomes "gave up after retrying", so the last line shown is not a promise.
 */
export function finalMessage(err: unknown): string {
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
  if (!(err instanceof ProviderError) || !err.retryable) return message;
  return message.replace(/; will be retried( after waiting)?\.?$/, '; gave up after retrying.');
}

/** A provider error's message for a progress line, its retry clause replaced by when. */
export function retryingMessage(err: Error, waitMs: number): string {
  const when = `retrying in ${Math.round(waitMs / 1000)} s.`;
  const stripped = err.message.replace(/; will be retried( after waiting)?\.?$/, '');
  return stripped === err.message
    ? `${err.message} Retrying in ${Math.round(waitMs / 1000)} s.`
    : `${stripped}; ${when}`;
}

function providerLabel(provider: ProviderName): string {
  return provider === 'kie' ? 'KIE' : 'Kling';
}

/** Sends one request and returns status + parsed JSON; throws ProviderError for transport and parse failures only. */
export async function sendJson(call: HttpCall): Promise<HttpResult> {
  const doFetch = call.fetch ?? globalThis.fetch;
  const timeout = AbortSignal.timeout(call.timeoutMs);
  const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
  const label = providerLabel(call.provider);
  const headers: Record<string, string> = {
    'User-Agent': USER_AGENT,
    Accept: 'application/json',
    ...call.headers,
  };
  let response: Response;
  try {
    response = await doFetch(call.url, { method: call.method, headers, body: call.body, signal });
  } catch (err) {
    throw transportError(call, err, timeout, label);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (err) {
    // Headers arrived, so the server got the request; the body was cut off.
    const e = transportError(call, err, timeout, label);
    throw new ProviderError({
      provider: call.provider,
      kind: e.kind,
      message: e.message,
      retryable: e.kind !== 'aborted' && !call.create,
      mayHaveReachedServer: true,
      httpStatus: response.status,
    });
  }
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  let json: unknown;
  if (text.trim() !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      const ok = response.status >= 200 && response.status < 300;
      // A 2xx we cannot read may carry a created task; a gateway 5xx may hide one too.
      const maybe = ok || response.status >= 500;
      const snippet = describeSnippet(redact(text, call.secrets ?? []));
      const tail =
        call.create && maybe
          ? MAY_HAVE_CREATED
          : ok || retryableStatus(response.status)
            ? 'will be retried'
            : 'will not be retried';
      throw new ProviderError({
        provider: call.provider,
        kind: ok ? 'parse' : 'http',
        message: ok
          ? `${label} ${call.what}: the server answered HTTP ${response.status} with malformed JSON (${snippet}); ${tail}.`
          : `${label} ${call.what}: HTTP ${response.status} ${response.statusText || ''}`.trimEnd() +
            ` with a non-JSON body (${snippet}); ${tail}.`,
        retryable: call.create && maybe ? false : ok || retryableStatus(response.status),
        mayHaveReachedServer: maybe,
        httpStatus: response.status,
        retryAfterMs,
        rateLimited: response.status === 429,
      });
    }
  }
  return { status: response.status, headers: response.headers, json, retryAfterMs };
}

/** The clause that ends the message of a create that may have made a task. */
export const MAY_HAVE_CREATED = 'the task may have been created';

/**
 * An API error code in the answer (KIE's `code`, Kling's service code), as the provider's error
 * table (errors.ts) reads it; `mayHaveCreated`: a create that may have made a task all the same.
 */
export function apiError(
  provider: 'kie' | 'kling',
  info: { message: string; retryable: boolean; rateLimited?: boolean },
  code: number,
  res: Pick<HttpResult, 'status' | 'retryAfterMs'>,
  mayHaveCreated: boolean,
): ProviderError {
  return new ProviderError({
    provider,
    kind: 'api',
    message: info.message,
    retryable: info.retryable,
    mayHaveReachedServer: mayHaveCreated,
    code,
    httpStatus: res.status,
    retryAfterMs: res.retryAfterMs,
    rateLimited: info.rateLimited,
  });
}

/**
 * An answer whose body has not the documented shape. A create's may have made a task
 * (`mayHaveReachedServer`); `retryCreate` says whether the provider can safely resolve that by
 * sending again (Kling, whose external_task_id is looked up first) or not (KIE).
 */
export function shapeError(
  provider: 'kie' | 'kling',
  what: string,
  field: string,
  isCreate: boolean,
  retryCreate: boolean,
): ProviderError {
  const label = provider === 'kie' ? 'KIE' : 'Kling';
  return new ProviderError({
    provider,
    kind: 'parse',
    message: `${label} ${what}: the answer has an unexpected shape (${field} missing or wrong type); ${isCreate ? MAY_HAVE_CREATED : 'will be retried'}.`,
    retryable: !isCreate || retryCreate,
    mayHaveReachedServer: isCreate,
  });
}

function describeSnippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 60 ? `starts "${flat.slice(0, 60)}…"` : `"${flat}"`;
}

/** HTTP statuses worth retrying when the body tells us nothing more. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

function transportError(
  call: HttpCall,
  err: unknown,
  timeout: AbortSignal,
  label: string,
): ProviderError {
  if (call.signal?.aborted) {
    return new ProviderError({
      provider: call.provider,
      kind: 'aborted',
      message: `${label} ${call.what}: cancelled.`,
      retryable: false,
      // A cancelled POST may still have been delivered.
      mayHaveReachedServer: call.method === 'POST',
    });
  }
  if (timeout.aborted) {
    return new ProviderError({
      provider: call.provider,
      kind: 'timeout',
      message: `${label} ${call.what}: no answer within ${Math.round(call.timeoutMs / 1000)} s; ${call.create ? MAY_HAVE_CREATED : 'will be retried'}.`,
      retryable: !call.create,
      mayHaveReachedServer: true,
    });
  }
  const code = causeCode(err);
  const reached = !(code && NEVER_REACHED_CODES.has(code));
  // undici says only "fetch failed"; the useful part ("bad port", "other side closed") is its cause.
  const detail = redact(code ?? causeMessage(err) ?? 'unknown error', call.secrets ?? []);
  const ambiguousCreate = call.create === true && reached;
  return new ProviderError({
    provider: call.provider,
    kind: 'network',
    message: `${label} ${call.what}: connection to ${originOf(call.url)} failed (${detail}); ${ambiguousCreate ? MAY_HAVE_CREATED : 'will be retried'}.`,
    retryable: !ambiguousCreate,
    mayHaveReachedServer: reached,
  });
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new Error('aborted'));
      return;
    }
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Joins a host root and a documented path without doubling or dropping slashes. */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + '/' + path.replace(/^\/+/, '');
}

/**
 * Removes anything that looks like a bearer token, a JWT or one of `secrets` from a line. Call it
 * on the whole text before any cut: a key cut in half is no longer found.
 */
export function redact(line: string, secrets: readonly (string | undefined)[]): string {
  let out = line.replace(/Bearer\s+[A-Za-z0-9._~+/=-]+/gi, 'Bearer ***');
  // A signed JWT (header.payload.signature, base64url): Kling's bearer token echoed without "Bearer".
  out = out.replace(/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+/g, '***');
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('***');
  return out;
}

/**
 * A cost a provider reports as an optional extra (a number, or a decimal string such as Kling's
 * `final_unit_deduction`): a finite number ≥ 0, else undefined. Never throws, so an odd value
 * in an optional field cannot break polling.
 */
export function reportedCost(value: unknown): number | undefined {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value.trim()
        ? Number(value)
        : NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** Cuts a one-line text to `max` characters (redact first: see `redact`). */
export function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) + '…' : text;
}

/** A base URL (host root) that is not usable: wrong scheme, no host, or credentials in it. */
export class BaseUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BaseUrlError';
  }
}

/**
 * Checks a host root at start-up, before anything is sent: http or https, a host, no
 * `user:password@` (keys go in the Authorization header; a URL with credentials would be printed
 * and stored). Returns the URL as given. The message never repeats the credentials.
 */
export function checkBaseUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // An unparsable URL may still hold "user:pass@": show only what precedes any '@'.
    const shown = value.includes('@') ? '<hidden: the value contains "@">' : JSON.stringify(value);
    throw new BaseUrlError(
      `${name} is not a URL (${shown}); give a host root such as https://api.kie.ai.`,
    );
  }
  if (url.username || url.password) {
    throw new BaseUrlError(
      `${name} contains a user name or password (${url.protocol}//***@${url.host}); credentials in a base URL are refused — remove them (API keys are sent in the Authorization header).`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new BaseUrlError(
      `${name} must start with https:// or http:// (got ${JSON.stringify(url.protocol)}).`,
    );
  }
  if (!url.hostname) throw new BaseUrlError(`${name} has no host (${JSON.stringify(value)}).`);
  if (url.search || url.hash) {
    throw new BaseUrlError(
      `${name} must be a host root without ?query or #fragment (got ${url.origin}${url.pathname}…).`,
    );
  }
  return value;
}

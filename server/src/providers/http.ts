// Shared HTTP plumbing for the KIE and Kling clients: timeouts, a User-Agent, tolerant JSON
// parsing, Retry-After, and one error type that says whether a retry is safe and whether the
// request may already have reached (and been acted on by) the server.
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
   * true when the server may have acted on the request (timeout, reset, unreadable answer);
   * false when it never got it or answered with a definite error. A create with this flag set
   * must not be blindly re-sent.
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
      retryable: e.kind !== 'aborted',
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
      throw new ProviderError({
        provider: call.provider,
        kind: ok ? 'parse' : 'http',
        message: ok
          ? `${label} ${call.what}: the server answered HTTP ${response.status} with malformed JSON (${describeSnippet(text)}); will be retried.`
          : `${label} ${call.what}: HTTP ${response.status} ${response.statusText || ''}`.trimEnd() +
            ` with a non-JSON body (${describeSnippet(text)}); ${retryableStatus(response.status) ? 'will be retried' : 'will not be retried'}.`,
        retryable: ok || retryableStatus(response.status),
        // A 2xx we cannot read may carry a created task; a gateway 5xx may hide one too.
        mayHaveReachedServer: ok || response.status >= 500,
        httpStatus: response.status,
        retryAfterMs,
        rateLimited: response.status === 429,
      });
    }
  }
  return { status: response.status, headers: response.headers, json, retryAfterMs };
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
      message: `${label} ${call.what}: no answer within ${Math.round(call.timeoutMs / 1000)} s; will be retried.`,
      retryable: true,
      mayHaveReachedServer: true,
    });
  }
  const code = causeCode(err);
  const reached = !(code && NEVER_REACHED_CODES.has(code));
  // undici says only "fetch failed"; the useful part ("bad port", "other side closed") is its cause.
  const detail = code ?? causeMessage(err) ?? 'unknown error';
  return new ProviderError({
    provider: call.provider,
    kind: 'network',
    message: `${label} ${call.what}: connection to ${originOf(call.url)} failed (${detail}); will be retried.`,
    retryable: true,
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

/** Removes anything that looks like a bearer token or key from a line before it is shown. */
export function redact(line: string, secrets: (string | undefined)[]): string {
  let out = line.replace(/Bearer\s+[A-Za-z0-9._~+/=-]+/g, 'Bearer ***');
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

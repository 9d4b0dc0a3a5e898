// Every documented error code of both APIs (server/docs/providers.md, "Error codes") → one clear
// line that says what happened, what to do, and whether the client retries it. Server text is
// appended only when it adds detail; it is redacted (our keys removed) before it is cut short.
import { clip, MAY_HAVE_CREATED, redact } from './http';

export interface CodeInfo {
  /** What happened and what to do, without the retry clause. */
  text: string;
  retryable: boolean;
  /** Rate or concurrency limits: wait and retry without counting a failure. */
  rateLimited?: boolean;
  /** Auth failures that a freshly signed token may fix (Kling 1002/1003/1004). */
  reSign?: boolean;
  /**
   * Answered to a create, this code proves no task was made (a documented refusal or a limit
   * checked before the work). Codes without it (500, 5000–5002, any undocumented code) may hide a
   * task that was created anyway.
   */
  refusal?: boolean;
}

export const KIE_CODES: Record<number, CodeInfo> = {
  400: { text: 'bad request', retryable: false, refusal: true },
  401: {
    text: 'the API key is missing or invalid — set a valid KIE key (https://kie.ai/api-key)',
    retryable: false,
    refusal: true,
  },
  402: { text: 'insufficient credits — top up at https://kie.ai', retryable: false, refusal: true },
  404: { text: 'not found', retryable: false, refusal: true },
  422: { text: 'the request failed validation', retryable: false, refusal: true },
  429: {
    text: 'rate limited (20 new tasks per 10 s)',
    retryable: true,
    rateLimited: true,
    refusal: true,
  },
  433: {
    text: "this key's usage limit is exceeded — raise it at https://kie.ai/api-key",
    retryable: false,
    refusal: true,
  },
  455: { text: 'service unavailable (maintenance)', retryable: true, refusal: true },
  500: { text: 'server error', retryable: true },
  501: { text: 'generation failed', retryable: false, refusal: true },
  505: { text: 'this feature is disabled', retryable: false, refusal: true },
};

export const KLING_CODES: Record<number, CodeInfo> = {
  1000: {
    text: 'authentication failed — check the Kling access key and secret key',
    retryable: false,
    refusal: true,
  },
  1001: {
    text: 'the Authorization header is empty — set the Kling keys',
    retryable: false,
    refusal: true,
  },
  1002: {
    text: 'the Authorization token is invalid — check the Kling keys',
    retryable: false,
    reSign: true,
    refusal: true,
  },
  1003: {
    text: 'the token is not yet valid — check this computer’s clock',
    retryable: false,
    reSign: true,
    refusal: true,
  },
  1004: { text: 'the token has expired', retryable: false, reSign: true, refusal: true },
  1100: { text: 'account exception — check the Kling account', retryable: false, refusal: true },
  1101: {
    text: 'account in arrears — recharge the Kling account',
    retryable: false,
    refusal: true,
  },
  1102: {
    text: 'resource pack depleted or expired — buy a Kling resource pack',
    retryable: false,
    refusal: true,
  },
  1103: { text: 'no permission for this API or model', retryable: false, refusal: true },
  1200: { text: 'invalid request parameters', retryable: false, refusal: true },
  1201: { text: 'invalid parameter', retryable: false, refusal: true },
  1202: { text: 'invalid request method', retryable: false, refusal: true },
  1203: { text: 'the requested resource does not exist', retryable: false, refusal: true },
  1300: { text: 'platform policy triggered', retryable: false, refusal: true },
  1301: {
    text: 'content-safety policy triggered — change the prompt or images',
    retryable: false,
    refusal: true,
  },
  1302: { text: 'requests too fast', retryable: true, rateLimited: true, refusal: true },
  1303: {
    text: 'too many tasks running for the resource pack (concurrency limit)',
    retryable: true,
    rateLimited: true,
    refusal: true,
  },
  1304: {
    text: 'IP whitelist policy triggered — contact Kling support',
    retryable: false,
    refusal: true,
  },
  5000: { text: 'internal server error', retryable: true },
  5001: { text: 'temporarily unavailable (maintenance)', retryable: true },
  5002: { text: 'internal timeout (backlog)', retryable: true },
};

/** Context of an error line: which secrets to remove, and whether the call was a paid create. */
export interface ErrorContext {
  secrets?: readonly (string | undefined)[];
  /** A create: a code that is not a documented refusal means the task may exist. */
  create?: boolean;
}

/** Whether a code answered to a create may hide a task that was made anyway. */
export function mayHaveCreated(table: Record<number, CodeInfo>, code: number): boolean {
  return !table[code]?.refusal;
}

/** Describes a KIE envelope/HTTP code as one line (prefix 'KIE <what>:'). */
export function kieErrorInfo(
  code: number,
  serverMsg: string | undefined,
  what: string,
  context: ErrorContext = {},
): CodeInfo & { message: string } {
  const known = KIE_CODES[code];
  const info: CodeInfo = known ?? {
    text: 'unexpected error',
    retryable: code >= 500 || code === 429,
  };
  const maybe = context.create === true && mayHaveCreated(KIE_CODES, code);
  return {
    ...info,
    retryable: maybe ? false : info.retryable,
    message: `KIE ${what}: ${withDetail(info.text, serverMsg, context.secrets)} (code ${code}); ${maybe ? MAY_HAVE_CREATED : retryClause(info)}.`,
  };
}

/** Describes a Kling envelope code as one line (prefix 'Kling <what>:'). */
export function klingErrorInfo(
  code: number,
  serverMsg: string | undefined,
  what: string,
  httpStatus?: number,
  context: ErrorContext = {},
): CodeInfo & { message: string } {
  const known = KLING_CODES[code];
  const info: CodeInfo = known ?? {
    text: 'unexpected error',
    retryable: httpStatus !== undefined ? httpStatus >= 500 || httpStatus === 429 : false,
  };
  const maybe = context.create === true && mayHaveCreated(KLING_CODES, code);
  return {
    ...info,
    message: `Kling ${what}: ${withDetail(info.text, serverMsg, context.secrets)} (code ${code}); ${maybe ? MAY_HAVE_CREATED : retryClause(info)}.`,
  };
}

function retryClause(info: CodeInfo): string {
  // Kling calls re-sign and retry once on these codes, so this message is only ever shown
  // once that retry was refused too.
  if (info.reSign) return 'still refused with a freshly signed token; will not be retried';
  if (info.rateLimited) return 'will be retried after waiting';
  return info.retryable ? 'will be retried' : 'will not be retried';
}

/** Server text appended to our line: redacted first, then cut (a cut key would escape redaction). */
export function withDetail(
  text: string,
  serverMsg: string | undefined,
  secrets: readonly (string | undefined)[] = [],
): string {
  const msg = redact((serverMsg ?? '').replace(/\s+/g, ' ').trim(), secrets);
  if (!msg || /^success$/i.test(msg)) return text;
  if (text.toLowerCase().includes(msg.toLowerCase())) return text;
  return `${text}: ${clip(msg, 200)}`;
}

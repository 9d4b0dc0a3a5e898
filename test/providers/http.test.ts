import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  kieErrorInfo,
  KIE_CODES,
  klingErrorInfo,
  KLING_CODES,
} from '../../server/src/providers/errors';
import net from 'node:net';
import {
  finalMessage,
  joinUrl,
  parseRetryAfter,
  ProviderError,
  redact,
  retryingMessage,
  sendJson,
} from '../../server/src/providers/http';

describe('http helpers', () => {
  it('parses Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter('0.5'), 500);
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now), 10_000);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(null), undefined);
  });

  it('joins host roots and paths with one slash', () => {
    assert.equal(
      joinUrl('https://api.kie.ai/', '/api/v1/jobs/createTask'),
      'https://api.kie.ai/api/v1/jobs/createTask',
    );
    assert.equal(
      joinUrl('http://127.0.0.1:9/proxy', 'v1/videos/text2video'),
      'http://127.0.0.1:9/proxy/v1/videos/text2video',
    );
  });

  it('redacts bearer tokens and given secrets', () => {
    assert.equal(redact('Authorization: Bearer abc.def-ghi', []), 'Authorization: Bearer ***');
    assert.equal(redact('key is sk-12345 here', ['sk-12345']), 'key is *** here');
  });
});

describe('connection failures', () => {
  it('name the host and the reason, and say "gave up" once the caller stops retrying', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = await sendJson({
      provider: 'kie',
      method: 'GET',
      url: `http://127.0.0.1:${port}/api/v1/chat/credit?x=1`,
      timeoutMs: 2000,
      what: 'credit balance',
    }).then(
      () => assert.fail('expected a connection error'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ProviderError);
    assert.equal(err.mayHaveReachedServer, false);
    assert.equal(
      err.message,
      `KIE credit balance: connection to http://127.0.0.1:${port} failed (ECONNREFUSED); will be retried.`,
    );
    assert.equal(
      finalMessage(err),
      `KIE credit balance: connection to http://127.0.0.1:${port} failed (ECONNREFUSED); gave up after retrying.`,
    );
  });

  it('a fetch error without a code shows its cause, not "fetch failed"', async () => {
    // Port 1 is on the fetch spec's bad-port list: undici refuses it before connecting.
    const err = await sendJson({
      provider: 'kling',
      method: 'GET',
      url: 'http://127.0.0.1:1/v1/videos/text2video/1',
      timeoutMs: 2000,
      what: 'query',
    }).then(
      () => assert.fail('expected a connection error'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ProviderError);
    assert.match(
      err.message,
      /^Kling query: connection to http:\/\/127\.0\.0\.1:1 failed \(bad port\)/,
    );
  });

  it('a progress line says when the next try is, once', () => {
    const limited = new ProviderError({
      provider: 'kie',
      kind: 'api',
      message:
        'KIE createTask: rate limited (20 new tasks per 10 s) (code 429); will be retried after waiting.',
      retryable: true,
      mayHaveReachedServer: false,
      rateLimited: true,
    });
    assert.equal(
      retryingMessage(limited, 10_000),
      'KIE createTask: rate limited (20 new tasks per 10 s) (code 429); retrying in 10 s.',
    );
    assert.equal(retryingMessage(new Error('odd.'), 2000), 'odd. Retrying in 2 s.');
  });

  it('finalMessage leaves definite refusals as they are', () => {
    const refused = new ProviderError({
      provider: 'kie',
      kind: 'api',
      message: 'KIE createTask: insufficient credits (code 402); will not be retried.',
      retryable: false,
      mayHaveReachedServer: false,
    });
    assert.equal(finalMessage(refused), refused.message);
    assert.equal(finalMessage(new Error('plain\n  two lines')), 'plain two lines');
  });
});

describe('error messages', () => {
  it('every documented KIE code has a message that says whether it is retried', () => {
    for (const code of [200, 400, 401, 402, 404, 422, 429, 433, 455, 500, 501, 505].filter(
      (c) => c !== 200,
    )) {
      assert.ok(KIE_CODES[code], `KIE ${code} documented`);
      const info = kieErrorInfo(code, undefined, 'createTask');
      assert.match(
        info.message,
        new RegExp(
          `^KIE createTask: .*\\(code ${code}\\); (will be retried|will not be retried|will be retried after waiting)\\.$`,
        ),
      );
    }
    assert.equal(kieErrorInfo(455, undefined, 'x').retryable, true);
    assert.equal(kieErrorInfo(402, undefined, 'x').retryable, false);
  });

  it('every documented Kling code has a message that says whether it is retried', () => {
    const codes = [
      1000, 1001, 1002, 1003, 1004, 1100, 1101, 1102, 1103, 1104, 1200, 1201, 1202, 1203, 1300,
      1301, 1302, 1303, 1304, 5000, 5001, 5002,
    ];
    for (const code of codes.filter((c) => c !== 1104)) {
      assert.ok(KLING_CODES[code], `Kling ${code} documented`);
      const info = klingErrorInfo(code, 'detail from server', 'create', 400);
      assert.match(
        info.message,
        new RegExp(
          `\\(code ${code}\\); (will be retried|will not be retried|will be retried after waiting|still refused with a freshly signed token; will not be retried)\\.$`,
        ),
      );
    }
    assert.equal(klingErrorInfo(1303, undefined, 'x').rateLimited, true);
    assert.equal(klingErrorInfo(1102, undefined, 'x', 429).retryable, false);
  });

  it('an unknown code still yields one line and a retry decision from the HTTP status', () => {
    assert.equal(klingErrorInfo(1104, undefined, 'create', 503).retryable, true);
    assert.match(kieErrorInfo(599, 'odd', 'createTask').message, /unexpected error: odd/);
  });
});

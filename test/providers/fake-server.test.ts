// The fake server as the browser e2e tests use it: a separate process, scripted over HTTP.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';

describe('standalone fake server (test/fake-server/main.ts)', () => {
  it('prints its URL, serves the API and accepts faults over HTTP', async () => {
    const main = path.join(__dirname, '..', 'fake-server', 'main.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', main, '--port', '0'], {
      env: { ...process.env, FAKE_KIE_API_KEY: 'e2e-key' },
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let buf = '';
        child.stdout.on('data', (d) => {
          buf += d;
          const line = buf.split('\n')[0];
          if (buf.includes('\n') && line) resolve(line.trim());
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const credit = await fetch(`${url}/api/v1/chat/credit`, {
        headers: { Authorization: 'Bearer e2e-key' },
      });
      assert.equal(((await credit.json()) as { code: number }).code, 200);
      await fetch(`${url}/__fake/faults`, {
        method: 'POST',
        body: JSON.stringify({ route: 'kie.credit', fault: { type: 'kieCode', code: 455 } }),
      });
      const faulted = await fetch(`${url}/api/v1/chat/credit`, {
        headers: { Authorization: 'Bearer e2e-key' },
      });
      assert.equal(((await faulted.json()) as { code: number }).code, 455);
      const state = (await (await fetch(`${url}/__fake/state`)).json()) as {
        created: number;
        pendingFaults: number;
      };
      assert.deepEqual([state.created, state.pendingFaults], [0, 0]);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

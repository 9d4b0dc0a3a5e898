// The server keeps its scene cache "after the diagnostics are written" (server/src/afterWrites.ts):
// that rests on how vscode-jsonrpc writes a message (one event-loop turn after it is sent). This
// holds the real connection to it: with the language server's own createConnection over streams,
// work scheduled by afterWrites just before the diagnostics are sent (as the validation schedules
// it, then returns the diagnostics the server publishes) finds them written; one turn does not.
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import {
  createConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-languageserver/node';
import { afterWrites } from '../../server/src/afterWrites';

function connected() {
  const written: string[] = [];
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      done();
    },
  });
  const connection = createConnection(
    new StreamMessageReader(new PassThrough()),
    new StreamMessageWriter(output),
  );
  connection.listen();
  const sent = () => written.join('').includes('"textDocument/publishDiagnostics"');
  return { connection, sent };
}

const DIAGNOSTICS = { uri: 'file:///tmp/a.kling', version: 1, diagnostics: [] };

describe('afterWrites', () => {
  it('runs after the diagnostics sent next are written to the client', async () => {
    const { connection, sent } = connected();
    const seen = new Promise<boolean>((resolve) => afterWrites(() => resolve(sent())));
    void connection.sendDiagnostics(DIAGNOSTICS);
    assert.equal(await seen, true);
    connection.dispose();
  });

  it('one event-loop turn is not enough (why afterWrites waits two)', async () => {
    const { connection, sent } = connected();
    const seen = new Promise<boolean>((resolve) => setImmediate(() => resolve(sent())));
    void connection.sendDiagnostics(DIAGNOSTICS);
    assert.equal(await seen, false, 'vscode-jsonrpc writes within one turn now: one would do');
    connection.dispose();
  });
});

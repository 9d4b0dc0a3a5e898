// Work nobody waits for, run once the messages already sent are written to the client.

/**
 * Runs `work` after the messages sent before this call are written. vscode-jsonrpc's writer
 * starts each write one event-loop turn after the message is sent (its write lock runs every
 * write in a setImmediate), so a single setImmediate here ran the work between sending the
 * diagnostics and writing them — keeping 2,000 checked scenes held a first open's diagnostics
 * back by 3–4 ms. Two turns: the writes go first. test/lsp/after-writes.test.ts holds
 * vscode-jsonrpc to it.
 */
export function afterWrites(work: () => void): void {
  setImmediate(() => setImmediate(work));
}

// How the language server is started: the Node options every launcher passes to `node` before
// `dist/server.js` — the VS Code extension (client/src/extension.ts), the editor configurations
// in the README ("Other editors", a test keeps them equal to this list) and `npm run bench`.

/**
 * V8 starts the young generation at 1 MB and grows it only as objects survive. Opening a large
 * storyboard builds its whole tree at once, so each young-generation collection on the way
 * copies the tree built so far, and the collector's threads take the second core from the
 * optimising compiler. Starting the young generation at 16 MB (its usual largest size on
 * 64-bit) leaves the first parse of a 2,000-scene storyboard without a collection. Measured
 * (fresh server, 2,000-scene document, 10 alternating rounds each, README "Benchmarks"): open →
 * first diagnostics about 10 % sooner; resident memory after the 10 MB document 10–15 MB more.
 */
export const SERVER_NODE_OPTIONS: readonly string[] = [
  '--min-semi-space-size=16',
  /**
   * V8's background threads (optimising compiler, parallel GC helpers): Node starts 4 of them
   * whatever the machine, and 0 asks for one fewer than the processors (at least one). On a
   * 2-core machine, four compiler jobs at once shared the cores with the server's own thread,
   * so the first parse ran slower and its optimised code arrived later. Measured (fresh server,
   * 2,000-scene document, 10 alternating rounds each, README "Benchmarks"): open → first
   * diagnostics median 115 → 91 ms; in-process first parse + validation 73 → 52 ms.
   */
  '--v8-pool-size=0',
];

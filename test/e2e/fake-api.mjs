// Starts the fake KIE + Kling API server (test/fake-server, TypeScript) in this process through tsx,
// and gives back the environment that points the extension at it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const fakeDir = path.join(repoRoot, 'test/fake-server');

/** The fake server's module file: the one that exports startFakeServer. */
function findModule() {
  if (!existsSync(fakeDir)) return undefined;
  const candidates = readdirSync(fakeDir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .sort((a, b) => Number(b === 'index.ts') - Number(a === 'index.ts'));
  return candidates
    .map((f) => path.join(fakeDir, f))
    .find((f) => /export\s+(async\s+)?function\s+startFakeServer\b/.test(readFileSync(f, 'utf8')));
}

/**
 * Starts the fake API on 127.0.0.1, or returns undefined when test/fake-server does not exist yet.
 * Result: { url, env (KIE_API_BASE, KIE_UPLOAD_BASE, KLING_API_BASE), keyEnv (KIE_API_KEY,
 * KLING_ACCESS_KEY, KLING_SECRET_KEY: the fake server's keys), server, close() }.
 */
export async function startFakeApi(opts = {}) {
  const file = findModule();
  if (!file) return undefined;
  // tsx's CommonJS loader, because its ESM tsImport leaves __dirname wrong in the loaded module.
  const tsx = await import('tsx/cjs/api');
  const mod = tsx.require(file, import.meta.url);
  // `taskVideos: true`: each task's video is a real MP4 made with ffmpeg (test/fake-server/videos.ts)
  // until `setTaskVideos(false)`; then the fixed test/fixtures/tiny.mp4 again (what later phases expect).
  const { taskVideos, ...rest } = opts;
  let perTask = !!taskVideos;
  if (taskVideos) {
    const make = tsx.require(path.join(fakeDir, 'videos.ts'), import.meta.url).taskVideos();
    const tiny = readFileSync(path.join(repoRoot, 'test/fixtures/tiny.mp4'));
    rest.video = (task) => (perTask ? make(task) : tiny);
  }
  const server = await mod.startFakeServer(rest);
  const url = String(server.url).replace(/\/$/, '');
  return {
    url,
    server,
    env: { KIE_API_BASE: url, KIE_UPLOAD_BASE: url, KLING_API_BASE: url },
    keyEnv: {
      KIE_API_KEY: server.keys.kieApiKey,
      KLING_ACCESS_KEY: server.keys.klingAccessKey,
      KLING_SECRET_KEY: server.keys.klingSecretKey,
    },
    close: () => server.close(),
    setTaskVideos: (on) => {
      perTask = on;
    },
  };
}
